"""A learned model against the truth: latent scores and the distance to affine equivalence.

``compare(learned, truth)`` pairs true latents with learned ones and reports

- MCC, affine MCC and affine R² (``verify.metrics``) with percentile bootstrap intervals;
- the affine map h fitted from the true to the learned latents, the prior error h#P vs P'
  (``check_same_mixture``'s matched parameter error and the normalised L2 distance), and the
  decoder error ‖f − f' ∘ h‖ on the box, as T2's conclusion f = f' ∘ h, h#P = P' predicts.

The learned latents of an observation x are its preimages under the learned decoder
(``estimate_latents``): the exact layerwise inverse where the decoder has one; otherwise a
damped Gauss–Newton iteration through the local affine pieces (a least-squares fit of the
latent). A point it maps back to x is a preimage, the only one when the decoder is known to
be injective on the box; for m <= 3 ``verify.injectivity.preimages`` lists all the preimages
of a few of them. Points off the image (noisy data, or another model's observations) get the
least-squares latent, an approximation the result names with its residual. An encoder can
give the starting points, or the learned latents themselves.
"""

from __future__ import annotations

import html
import math
import textwrap
from dataclasses import dataclass, field
from typing import Any

import torch

from models import GaussianMixture, GenerativeModel, LeakyReLUNetwork, NotInjectiveError
from models.io import LoadedDecoder, LoadedPrior, as_loaded_decoder, load_prior
from models.regions import EXACT_MAX_DIM
from models.validation import DTYPE, check_callable, check_generator, check_int, check_real, check_tensor, check_text

from .affine_fit import fit_affine
from .analysis import default_box
from .check_result import as_data
from .injectivity import InfinitePreimagesError, preimages
from .metrics import affine_mcc, affine_r2, mcc
from .mixtures import check_same_mixture

__all__ = ["Comparison", "LatentEstimate", "ON_IMAGE_RTOL", "compare", "estimate_latents", "latent_scores"]

ON_IMAGE_RTOL = 1e-9
"""Relative residual ‖f(ẑ) − x‖ / (‖x‖ + ‖A(ẑ)‖ρ) below which ẑ is a preimage of x: float64 rounding
through a few layers is ~1e-15, and solver-free least squares on one piece reaches it."""

GAUSS_NEWTON_STEPS = 60
"""Iterations of the piecewise least squares; each one moves to the least-squares latent of the
current piece (damped until the residual does not grow) and stops when no point moves."""

CANDIDATES = {1: 2048, 2: 96, 3: 24}
"""Grid points per axis of the box from which the iteration starts (the nearest image); 4096
uniform points for m > 3."""


# ---------------------------------------------------------------------------- latents from observations
@dataclass(frozen=True)
class LatentEstimate:
    """Latents ẑ of observations x under a decoder, and how they were found.

    Attributes
    ----------
    z : Tensor, shape (N, m)
    residual : Tensor, shape (N,)
        ‖f(ẑ) − x‖ / (‖x‖ + ‖A(ẑ)‖ρ) (in the network's output space for a squashed decoder).
    on_image : Tensor of bool, shape (N,)
        residual <= ``ON_IMAGE_RTOL``: ẑ is a preimage of x.
    exact : bool
        Every ẑ is a preimage and the only one (a layerwise inverse, or an injective decoder).
    method : str
        In words: which points were found how.
    non_unique : list of dict
        Observations found to have several preimages: {"x", "preimages"}.
    """

    z: torch.Tensor
    residual: torch.Tensor
    on_image: torch.Tensor
    exact: bool
    method: str
    non_unique: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"method": self.method, "exact": self.exact, "n": int(self.z.shape[0]), "on_image": int(self.on_image.sum()),
                "median_residual": float(self.residual.median()), "max_residual": float(self.residual.max()),
                "non_unique": as_data(self.non_unique)}


def _relative_residual(network, z, u, rho: float) -> torch.Tensor:
    a, _ = network.local_affine(z)
    size = u.norm(dim=1) + torch.linalg.matrix_norm(a, ord=2) * rho
    return (network(z) - u).norm(dim=1) / size.clamp_min(torch.finfo(DTYPE).tiny)


def _candidates(dim: int, box: float, generator) -> torch.Tensor:
    if dim in CANDIDATES:
        axis = torch.linspace(-box, box, CANDIDATES[dim], dtype=DTYPE)
        return torch.cartesian_prod(*([axis] * dim)).reshape(-1, dim)
    return (2 * torch.rand(4096, dim, generator=generator, dtype=DTYPE) - 1) * box


def _nearest_start(fn, targets: torch.Tensor, dim: int, box: float, generator) -> torch.Tensor:
    cand = _candidates(dim, box, generator)
    images = fn(cand)
    best = torch.empty(targets.shape[0], dtype=torch.long)
    for start in range(0, targets.shape[0], 2048):
        best[start:start + 2048] = torch.cdist(targets[start:start + 2048], images).argmin(dim=1)
    return cand[best].clone()


def _gauss_newton(step, value, z: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Damped iteration z <- z + t (solution(z) − z), t halved until ‖value(z) − u‖ does not grow."""
    err = (value(z) - u).norm(dim=1)
    for _ in range(GAUSS_NEWTON_STEPS):
        target = step(z)
        moved = torch.zeros(z.shape[0], dtype=torch.bool)
        t = 1.0
        for _ in range(6):
            trial = z + t * (target - z)
            trial_err = (value(trial) - u).norm(dim=1)
            better = (trial_err < err) & ~moved
            z = torch.where(better.unsqueeze(1), trial, z)
            err = torch.where(better, trial_err, err)
            moved |= better
            t *= 0.5
        if not bool(moved.any()):
            break
    return z


def _piecewise_step(network: LeakyReLUNetwork, u: torch.Tensor):
    def step(z):
        a, c = network.local_affine(z)
        return torch.linalg.lstsq(a, (u - c).unsqueeze(-1), driver="gelsd").solution.squeeze(-1)
    return step


def _smooth_step(fn, u: torch.Tensor):
    def step(z):
        h = 1e-6 * (1.0 + z.abs())
        columns = []
        for k in range(z.shape[1]):
            e = torch.zeros_like(z)
            e[:, k] = h[:, k]
            columns.append((fn(z + e) - fn(z - e)) / (2 * h[:, k:k + 1]))
        jac = torch.stack(columns, dim=2)
        return z + torch.linalg.lstsq(jac, (u - fn(z)).unsqueeze(-1), driver="gelsd").solution.squeeze(-1)
    return step


def estimate_latents(decoder, x, *, box: float | None = None, encoder=None, injective: bool | None = None, max_exact: int = 4,
                     generator=0) -> LatentEstimate:
    """The latents of observations x under ``decoder`` (module docstring).

    Parameters
    ----------
    decoder : LoadedDecoder, LeakyReLUNetwork or nn.Module
    x : array_like, shape (N, n)
    box : float, optional
        Half-width of the latent box searched for starting points (default 3).
    encoder : callable, optional
        x -> latents (N, m) (or a tuple whose first entry is), used as starting points.
    injective : bool, optional
        Whether the decoder is known injective on the box (then a preimage found is the only one).
    max_exact : int
        For m <= 3 and a decoder not known injective, how many on-image points get all their
        preimages listed by ``verify.injectivity.preimages``.
    """
    loaded = as_loaded_decoder(decoder)
    targets = check_tensor(x.detach().cpu() if isinstance(x, torch.Tensor) else x, "x", ndim=2)
    if targets.shape[1] != loaded.out_dim:
        raise ValueError(f"x: expected observations of dimension {loaded.out_dim}, got shape {tuple(targets.shape)}")
    box = 3.0 if box is None else check_real(box, "box", low=0.0, low_open=True)
    gen = check_generator(generator)
    m = loaded.in_dim
    network = loaded.network
    parts, notes = [], []
    u = targets
    if loaded.kind == "squashed":
        u, inside = loaded.decoder.to_network_space(targets, clamp=1e-6)
        if not bool(inside.all()):
            notes.append(f"{int((~inside).sum())} observations outside the range of the final {loaded.decoder.label}, "
                         "moved to within 1e-6 of it")
    start = None
    if encoder is not None:
        dtype = next((p.dtype for p in encoder.parameters()), torch.float32) if isinstance(encoder, torch.nn.Module) else DTYPE
        with torch.no_grad():
            out = encoder(targets.to(dtype))
        out = out[0] if isinstance(out, (tuple, list)) else out
        start = check_tensor(out.detach().cpu() if isinstance(out, torch.Tensor) else out, "encoder", ndim=2)[:, :m]
        if start.shape != (targets.shape[0], m):
            raise ValueError(f"encoder: expected latents of shape ({targets.shape[0]}, {m}), got {tuple(start.shape)}")
    if network is None:  # smooth: finite-difference Gauss–Newton, approximate by nature
        fn = loaded.decoder
        z = start if start is not None else _nearest_start(fn, targets, m, box, gen)
        z = _gauss_newton(_smooth_step(fn, targets), fn, z, targets)
        residual = (fn(z) - targets).norm(dim=1) / (targets.norm(dim=1) + 1.0)
        method = ("approximate: Gauss–Newton with finite-difference Jacobians of the smooth decoder, from "
                  + ("the encoder's latents" if start is not None else "the nearest image of a grid of the box"))
        return LatentEstimate(z, residual, residual <= ON_IMAGE_RTOL, False, method + _join(notes))
    rho = box
    z = torch.full((targets.shape[0], m), float("nan"), dtype=DTYPE)
    done = torch.zeros(targets.shape[0], dtype=torch.bool)
    try:
        inverted, on = network.inverse(u, return_on_image=True)
        z[on] = inverted[on]
        done |= on
        if bool(on.any()):
            parts.append(f"exact: the layerwise inverse for {int(on.sum())} of {len(on)} points")
    except NotInjectiveError:
        pass
    rest = ~done
    if bool(rest.any()):
        u_rest = u[rest]
        z0 = start[rest] if start is not None else _nearest_start(network, u_rest, m, box, gen)
        z[rest] = _gauss_newton(_piecewise_step(network, u_rest), network, z0, u_rest)
    residual = _relative_residual(network, z, u, rho)
    on_image = residual <= ON_IMAGE_RTOL
    found = rest & on_image
    off = rest & ~on_image
    non_unique = []
    if bool(found.any()):
        if injective:
            parts.append(f"exact: {int(found.sum())} points mapped back onto x by least squares through the local affine pieces, "
                         "each the only preimage (the decoder is injective on the box)")
        else:
            parts.append(f"{int(found.sum())} points mapped back onto x by least squares through the local affine pieces "
                         "(a preimage; the decoder is not known injective)")
            if m <= EXACT_MAX_DIM and max_exact > 0:
                listed = 0
                for i in torch.nonzero(found).flatten()[:check_int(max_exact, "max_exact", minimum=0)].tolist():
                    try:
                        all_z = preimages(network, u[i], box=box)
                    except InfinitePreimagesError:
                        non_unique.append({"x": targets[i], "preimages": "infinitely many", "z": z[i]})
                        continue
                    listed += 1
                    if all_z.shape[0] > 1:
                        non_unique.append({"x": targets[i], "preimages": all_z, "z": z[i]})
                parts.append(f"all preimages listed exactly (verify.injectivity.preimages) for {listed} of them: "
                             f"{len(non_unique)} with more than one")
    if bool(off.any()):
        parts.append(f"approximate: {int(off.sum())} points off the image, their latents fitted by least squares through the "
                     f"local affine pieces (median relative residual {float(residual[off].median()):.2g})")
    exact = bool(on_image.all()) and (bool(done.all()) or bool(injective))
    return LatentEstimate(z, residual, on_image, exact, "; ".join(parts) + _join(notes), non_unique)


def _join(notes) -> str:
    return "".join(f"; {n}" for n in notes)


# ---------------------------------------------------------------------------- scores
def latent_scores(z_true, z_learned, *, n_bootstrap: int = 200, level: float = 0.95, generator=0) -> dict:
    """MCC, affine MCC and affine R² of learned against true latents, with percentile bootstrap intervals.

    Returns
    -------
    dict
        {name: {"value", "low", "high"}} for "mcc", "affine_mcc", "affine_r2", and
        "n_bootstrap", "level", "matching" (the learned coordinate paired with each true one).
    """
    true = check_tensor(z_true.detach().cpu() if isinstance(z_true, torch.Tensor) else z_true, "z_true", ndim=2)
    learned = check_tensor(z_learned.detach().cpu() if isinstance(z_learned, torch.Tensor) else z_learned, "z_learned", ndim=2)
    if learned.shape[0] != true.shape[0]:
        raise ValueError(f"z_learned: expected {true.shape[0]} rows to match z_true, got {learned.shape[0]}")
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", minimum=0, maximum=100_000)
    level = check_real(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
    functions = {"mcc": mcc, "affine_mcc": affine_mcc, "affine_r2": affine_r2}
    values = {name: fn(true, learned) for name, fn in functions.items()}
    _, matching = mcc(true, learned, return_matching=True)
    gen = check_generator(generator)
    draws = {name: [] for name in functions}
    for _ in range(n_bootstrap):
        index = torch.randint(0, true.shape[0], (true.shape[0],), generator=gen)
        for name, fn in functions.items():
            try:
                draws[name].append(fn(true[index], learned[index]))
            except ValueError:  # a resample with a constant column: skipped
                pass
    out = {"n_bootstrap": n_bootstrap, "level": level, "matching": list(matching)}
    for name, value in values.items():
        sample = torch.tensor(draws[name], dtype=DTYPE)
        low, high = ((float(torch.quantile(sample, (1 - level) / 2)), float(torch.quantile(sample, (1 + level) / 2)))
                     if sample.numel() else (math.nan, math.nan))
        out[name] = {"value": float(value), "low": low, "high": high}
    return out


# ---------------------------------------------------------------------------- the comparison
@dataclass(frozen=True)
class Comparison:
    """What ``compare`` found; ``text()`` prints it, ``to_dict()`` writes it as data."""

    learned: LoadedDecoder
    truth: LoadedDecoder
    learned_prior: LoadedPrior | None
    true_prior: LoadedPrior | None
    z_true: torch.Tensor
    z_learned: torch.Tensor
    labels: torch.Tensor | None
    latents: str
    estimate: LatentEstimate | None
    scores: dict
    fit: Any
    prior_error: dict | None
    decoder_error: dict
    box: float
    seed: int

    @property
    def h(self):
        """The affine map fitted from the true to the learned latents."""
        return self.fit.map

    def to_dict(self) -> dict:
        return as_data({
            "learned": self.learned.to_dict(), "truth": self.truth.to_dict(),
            "learned_prior": self.learned_prior.to_dict() if self.learned_prior else None,
            "true_prior": self.true_prior.to_dict() if self.true_prior else None,
            "latents": self.latents, "estimate": self.estimate.to_dict() if self.estimate else None,
            "scores": self.scores, "h": self.h, "fit_relative_residual": self.fit.relative_residual, "fit_r2": self.fit.r2,
            "prior_error": self.prior_error, "decoder_error": self.decoder_error, "box": self.box, "seed": self.seed})

    def text(self) -> str:
        lines = [f"learned: {self.learned.describe()}", f"truth:   {self.truth.describe()}"]
        for label, prior in (("learned prior", self.learned_prior), ("true prior", self.true_prior)):
            if prior is not None:
                p = prior.prior
                lines.append(f"{label}: {prior.source}, {p.n_components} components in R^{p.dim}"
                             + "".join(f"; {n}" for n in prior.notes))
        lines.append(f"latents: {self.latents}")
        if self.estimate is not None:
            lines.append(f"  learned latents: {self.estimate.method}")
            for item in self.estimate.non_unique[:3]:
                lines.append(f"  non-unique preimage: x = {_vector(item['x'])} has preimages {_points(item['preimages'])}")
        s = self.scores
        lines.append(f"scores ({s['level']:.0%} bootstrap intervals, {s['n_bootstrap']} resamples):")
        for name, label in (("mcc", "MCC"), ("affine_mcc", "affine MCC"), ("affine_r2", "affine R²")):
            v = s[name]
            lines.append(f"  {label:11} {v['value']:.4f}  [{v['low']:.4f}, {v['high']:.4f}]")
        lines.append(f"  matching: true coordinate i ↔ learned coordinate {s['matching']}")
        h = self.h
        lines.append("distance to affine equivalence (h fitted from the true to the learned latents, z' ≈ h(z) = A z + b):")
        lines.append(f"  h: A = {_matrix(h.matrix)}, b = {_vector(h.offset)}; fit relative residual {self.fit.relative_residual:.3g} "
                     f"(R² {self.fit.r2:.4f})")
        if self.prior_error is not None:
            p = self.prior_error
            lines.append(f"  prior: h#P vs P': matched parameter error {p['parameter_error']:.3g} (equal mixtures: <= {p['rtol']:.0e}), "
                         f"normalised L2 distance {p['normalized_l2_distance']:.3g}, components {p['n_components']}")
        else:
            lines.append("  prior: not compared (give both priors)")
        d = self.decoder_error
        lines.append(f"  decoder: ‖f − f'∘h‖ on the box [-{self.box:.3g}, {self.box:.3g}]^{self.z_true.shape[1]}: max {d['max']:.3g}, "
                     f"RMS {d['rms']:.3g} (relative to the spread of f, {d['scale']:.3g}), largest at z = {_vector(d['worst_z'])} "
                     f"({d['points']} points)")
        return "\n".join(w for line in lines for w in (textwrap.wrap(line, width=118, subsequent_indent="    ",
                                                                   break_long_words=False, break_on_hyphens=False) or [""]))

    __str__ = text

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.text()) + "</pre>"


def _model(model, prior, module, what: str, argument: str):
    """The decoder and prior of ``learned`` or ``truth``; errors name the caller's arguments (``truth:``, ``true_prior:``)."""
    module = check_text(module, f"{argument}_module", allow_none=True)
    if isinstance(model, GenerativeModel):
        if prior is not None:
            raise ValueError(f"{what}_prior: the {what} model already has its prior")
        return as_loaded_decoder(model.decoder), load_prior(model.prior)
    if isinstance(model, tuple) and len(model) == 2:
        model, prior = model
    try:
        loaded = as_loaded_decoder(model, module=module)
    except ValueError as exc:
        raise ValueError(_renamed(str(exc), {"decoder": argument, "module": f"{argument}_module"})) from None
    try:
        return loaded, (load_prior(prior, latent_dim=loaded.in_dim) if prior is not None else None)
    except ValueError as exc:
        raise ValueError(_renamed(str(exc), {"prior": f"{what}_prior"})) from None


def _renamed(message: str, names: dict[str, str]) -> str:
    """``message`` with its leading argument name replaced by the caller's."""
    for old, new in names.items():
        if message.startswith(f"{old}:"):
            return new + message[len(old):]
    return message


def compare(learned, truth, *, learned_prior=None, true_prior=None, data=None, z_true=None, z_learned=None, encoder=None,
            n: int = 2000, box: float | None = None, n_bootstrap: int = 200, learned_module: str | None = None,
            truth_module: str | None = None, generator=0) -> Comparison:
    """A learned model against the true one (module docstring).

    Parameters
    ----------
    learned, truth : GenerativeModel, (decoder, prior), or a decoder (LoadedDecoder, LeakyReLUNetwork,
        nn.Module, path) with its prior in ``learned_prior`` / ``true_prior``
    data : array_like, shape (N, n), optional
        Observations; their true latents are ``z_true`` (else the truth's preimages), their
        learned latents ``z_learned`` (else the learned decoder's preimages, or the encoder's).
        Without data, n samples of the truth (its prior, its decoder, no noise) are used.
    z_true, z_learned : array_like, shape (N, m), optional
    encoder : callable, optional
        x -> learned latents, used as starting points of the learned preimages.
    box : float, optional
        Half-width of the latent box of the truth on which the decoders are compared
        (default: the cube holding at least 1 − 1e-6 of the true prior's mass).
    n_bootstrap : int
        Resamples of the bootstrap intervals.
    """
    learned_dec, learned_p = _model(learned, learned_prior, learned_module, "learned", "learned")
    truth_dec, true_p = _model(truth, true_prior, truth_module, "true", "truth")
    if learned_dec.in_dim != truth_dec.in_dim or learned_dec.out_dim != truth_dec.out_dim:
        raise ValueError(f"learned: maps R^{learned_dec.in_dim} -> R^{learned_dec.out_dim}, the truth R^{truth_dec.in_dim} -> "
                         f"R^{truth_dec.out_dim}")
    check_int(n, "n", minimum=truth_dec.in_dim + 2)
    check_int(n_bootstrap, "n_bootstrap", minimum=0)
    seed = generator if isinstance(generator, int) else 0
    gen = check_generator(generator)
    box = default_box(true_p.prior if true_p else None) if box is None else check_real(box, "box", low=0.0, low_open=True)
    if encoder is not None:
        check_callable(encoder, "encoder")
    # Every array is checked, with its dimension and its number of rows, before any latent is estimated.
    given = {}
    for name, value, dim in (("data", data, truth_dec.out_dim), ("z_true", z_true, truth_dec.in_dim),
                             ("z_learned", z_learned, learned_dec.in_dim)):
        if value is not None:
            given[name] = check_tensor(_cpu(value), name, shape=(None, dim))
    if data is None and (z_true is None) != (z_learned is None):
        alone = "z_true" if z_learned is None else "z_learned"
        raise ValueError(f"{alone}: without data it needs {'z_learned' if alone == 'z_true' else 'z_true'}, the latents to pair it with")
    rows = {name: t.shape[0] for name, t in given.items()}
    if len(set(rows.values())) > 1:
        first = next(iter(rows))
        other = next(name for name in rows if rows[name] != rows[first])
        raise ValueError(f"{other}: {rows[other]} rows, {first} has {rows[first]}")
    learned_box = default_box(learned_p.prior if learned_p else None)
    labels, estimate = None, None
    if z_true is not None and z_learned is not None:
        zt, zl = given["z_true"], given["z_learned"]
        latents = f"{zt.shape[0]} given pairs of true and learned latents"
    else:
        if data is not None:
            x = given["data"]
            if z_true is not None:
                zt = given["z_true"]
                how = "the given true latents"
            else:
                true_est = estimate_latents(truth_dec, x, box=box, generator=gen)
                zt, how = true_est.z, f"the truth's latents ({true_est.method})"
            latents = f"{x.shape[0]} given observations; true latents: {how}"
        else:
            if true_p is None:
                raise ValueError("true_prior: needed to sample the truth when no data are given")
            zt, labels = true_p.prior.sample(n, gen, return_labels=True)
            x = truth_dec(zt)
            latents = f"{n} samples of the truth (z ~ its prior, x = f(z), no noise; seed {seed})"
        if z_learned is not None:
            zl = given["z_learned"]
        else:
            estimate = estimate_latents(learned_dec, x, box=learned_box, encoder=encoder, generator=gen)
            zl = estimate.z
    keep = torch.isfinite(zl).all(dim=1) & torch.isfinite(zt).all(dim=1)
    zt, zl = zt[keep], zl[keep]
    if labels is not None:
        labels = labels[keep]
    scores = latent_scores(zt, zl, n_bootstrap=n_bootstrap, generator=gen)
    fit = fit_affine(zt, zl)
    prior_error = None
    if learned_p is not None and true_p is not None:
        try:
            same = check_same_mixture(true_p.prior.affine(fit.map), learned_p.prior)
            prior_error = {"parameter_error": same.statistic, "rtol": same.tolerance,
                           "normalized_l2_distance": same.details["normalized_l2_distance"],
                           "n_components": list(same.details["n_components"]), "verdict": same.verdict, "check": same.to_dict()}
        except ValueError as exc:  # h singular: no pushforward mixture
            prior_error = {"parameter_error": math.inf, "rtol": math.nan, "normalized_l2_distance": math.nan,
                           "n_components": [true_p.prior.n_components, learned_p.prior.n_components], "verdict": "fails",
                           "reason": str(exc)}
    decoder_error = _decoder_error(truth_dec, learned_dec, fit.map, box, true_p.prior if true_p else None, gen)
    return Comparison(learned_dec, truth_dec, learned_p, true_p, zt, zl, labels, latents, estimate, scores, fit, prior_error,
                      decoder_error, box, seed)


def _cpu(value):
    return value.detach().cpu() if isinstance(value, torch.Tensor) else value


def _decoder_error(truth: LoadedDecoder, learned: LoadedDecoder, h, box: float, prior: GaussianMixture | None, gen) -> dict:
    """‖f(z) − f'(h(z))‖ over a grid of the box (and prior samples in it), relative to the spread of f."""
    m = truth.in_dim
    per_axis = {1: 2001, 2: 81, 3: 21}.get(m)
    if per_axis:
        axis = torch.linspace(-box, box, per_axis, dtype=DTYPE)
        z = torch.cartesian_prod(*([axis] * m)).reshape(-1, m)
    else:
        z = (2 * torch.rand(8192, m, generator=gen, dtype=DTYPE) - 1) * box
    if prior is not None:
        extra = prior.sample(2000, gen)
        z = torch.cat([z, extra[(extra.abs() <= box).all(dim=1)]])
    f = truth(z)
    g = learned(h(z))
    error = (f - g).norm(dim=1)
    scale = float((f - f.mean(0)).norm(dim=1).square().mean().sqrt()) or 1.0
    worst = int(error.argmax())
    return {"max": float(error[worst]) / scale, "rms": float(error.square().mean().sqrt()) / scale, "scale": scale,
            "worst_z": z[worst], "points": int(z.shape[0]),
            "how": f"a grid of the box{' and prior samples in it' if prior is not None else ''}"}


def _vector(v) -> str:
    if isinstance(v, str):
        return v
    return "(" + ", ".join(f"{float(a):.3g}" for a in torch.as_tensor(v).reshape(-1)) + ")"


def _matrix(a) -> str:
    return "[" + ", ".join("[" + ", ".join(f"{float(x):.3g}" for x in row) + "]" for row in torch.as_tensor(a)) + "]"


def _points(p) -> str:
    if isinstance(p, str):
        return p
    return ", ".join(_vector(row) for row in p)
