"""Which results of the hierarchy apply to a given model, with the evidence: ``report(decoder, prior)``.

For every result of the registry (``verify.theorems.REGISTRY``) the report decides each
assumption: the registry's own, by calling the check its dotted path names, and those the
registry leaves implicit (a piecewise-affine decoder, a continuous one for T2 and what builds
on it, a nondegenerate Gaussian-mixture prior, a known noise law for T5). Each is held,
failed or unknown with its evidence (witnesses included); a result applies when all its
assumptions hold, does not apply when one fails, and is undecided otherwise. The conclusion
says what follows for this model.

Decoder checks run on a box (by default the cube that holds at least 1 − 1e-6 of the prior's
mass, by per-component ellipsoids), with the prior mass it holds; a collision found outside the
box is reported as such, not as a failure on the box. A decoder with a final
squashing (Sigmoid, Tanh) is checked through the network before it: the squashing is a
known bijection, so the results speak of the observations mapped back through it. A decoder
with smooth activations is not piecewise affine, and none of the results apply.

Given data (observations), the report also finds their latents (``verify.compare.
estimate_latents``), their distance to the decoder's image (an estimate of the noise), and,
given their true latents, the MCC, affine MCC and affine R² against them.
"""

from __future__ import annotations

import html
import inspect
import math
import textwrap
from dataclasses import dataclass, field

import torch

from models import GaussianMixture, GenerativeModel
from models.io import LoadedDecoder, LoadedPrior, as_loaded_decoder, load_prior
from models.regions import EXACT_MAX_DIM
from models.validation import DTYPE, check_generator, check_real, check_tensor

from .analysis import (
    DEFAULT_TIME_LIMIT,
    box_mass,
    count_result,
    default_box,
    exact_box,
    linear_regions_result,
    piecewise_affine_result,
    sample_box,
    with_outside_collision,
)
from .check_result import CheckResult, as_data
from .compare import LatentEstimate, estimate_latents, latent_scores
from .theorems import REGISTRY, get, resolve_check

__all__ = ["Assumption", "Report", "TheoremVerdict", "evidence", "report"]

PA_POINTS = 256
"""Latent points at which a decoder that is not a leaky-ReLU network is tested for curvature."""

IMPLICIT = {
    "T1": ("piecewise_affine", "gaussian_mixture"),
    "T1'": ("piecewise_affine", "gaussian_mixture"),
    "T2": ("piecewise_affine", "continuous", "gaussian_mixture"),
    "T3": ("piecewise_affine", "continuous", "gaussian_mixture"),
    "T4.S1": ("piecewise_affine", "continuous", "gaussian_mixture", "T2"),
    "T4.S2": ("piecewise_affine", "continuous", "gaussian_mixture", "T2"),
    "T4.S3": ("piecewise_affine", "continuous", "gaussian_mixture", "T2"),
    "T5": ("piecewise_affine", "continuous", "gaussian_mixture", "noise_law"),
}
"""The hypotheses of each result that ``verify.theorems`` leaves implicit ("T2": T2's own assumptions,
which T4's conditions come on top of)."""

_IMPLICIT_NAMES = {"piecewise_affine": "f piecewise affine", "continuous": "f continuous",
                   "gaussian_mixture": "P a finite nondegenerate Gaussian mixture",
                   "noise_law": "noise law known (char. function ≠ 0 a.e.)"}

CONCLUSIONS = {
    "T1": "the prior is identified up to an invertible affine map: every model with a piecewise-affine decoder and a "
          "Gaussian-mixture prior P' giving the same law of x has h#P = P' for some invertible affine h",
    "T1'": "the number of components (J = {J}), their weights and the latent dimension (m = {m}) are identified exactly",
    "T2": "the decoder is identified with the prior, up to the same affine map: f = f' ∘ h on all of R^m, and the cluster "
          "posteriors P(U | x) agree",
    "T3": "h is orthogonal: the latents are identified up to a rotation or reflection, and no better",
    "T4.S1": "the latents are identified up to permutation and scaling (h = permutation × diagonal), among models whose prior "
             "also meets S1",
    "T4.S2": "the latents are identified up to permutation and scaling (h = permutation × diagonal), among models whose prior "
             "also meets S2",
    "T4.S3": "with this prior fixed and known, the decoder is identified exactly (h = id, f = f')",
    "T5": "the law of f(z) is determined by the law of the noisy x, so the results above carry over to the noisy observations",
}

_SHORT = {
    "T1": "the prior is identified up to an affine map",
    "T1'": "J = {J}, the weights and m = {m} are identified exactly",
    "T2": "the decoder with it (f = f' ∘ h)",
    "T3": "the latents up to an orthogonal map",
    "T4.S1": "T4.S1's prior assumption holds, so the latents are identified up to permutation and scaling",
    "T4.S2": "T4.S2's prior assumption holds, so the latents are identified up to permutation and scaling",
    "T4.S3": "T4.S3's prior assumption holds, so with the prior fixed the decoder is identified exactly",
    "T5": "they carry over to noisy observations with the given noise law",
}

_NEGATIONS = {
    "piecewise_affine": "the decoder is not piecewise affine", "weakly_injective": "the decoder is not weakly injective",
    "injective": "the decoder is not injective", "standard_normal": "the prior is not N(0, I)",
    "distinct_variance_ratios": "the prior has no pair of diagonal components with distinct variance ratios",
    "independent_coordinates": "the prior's coordinates are not independent with at most one Gaussian",
    "trivial_symmetry_group": "the prior has a nontrivial affine symmetry",
    "gaussian_mixture": "there is no Gaussian-mixture prior", "continuous": "the decoder is not continuous",
    "noise_law": "the noise law is not known",
}


_UNKNOWN = {"noise_law": "the noise law is not given", "gaussian_mixture": "no prior is given"}


@dataclass(frozen=True)
class Assumption:
    """One assumption of one result: its name, the check that decides it, the verdict and its evidence."""

    name: str
    check: str
    result: CheckResult
    evidence: str

    @property
    def verdict(self) -> str:
        return self.result.verdict

    def to_dict(self) -> dict:
        return {"name": self.name, "check": self.check, "verdict": self.verdict, "evidence": self.evidence,
                "result": self.result.to_dict()}


@dataclass(frozen=True)
class TheoremVerdict:
    """A result of the registry for this model: "applies", "does not apply" or "undecided"."""

    id: str
    title: str
    verdict: str
    assumptions: tuple[Assumption, ...]
    conclusion: str
    reason: str

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "verdict": self.verdict, "conclusion": self.conclusion, "reason": self.reason,
                "assumptions": [a.to_dict() for a in self.assumptions]}


@dataclass(frozen=True)
class Report:
    """Which results apply to a model (module docstring). ``text()`` is the table, ``summary()`` the
    conclusion, ``to_dict()`` everything as data (every witness), ``_repr_html_`` for notebooks."""

    decoder: LoadedDecoder
    prior: LoadedPrior | None
    box: float
    box_mass: float | None
    theorems: tuple[TheoremVerdict, ...]
    checks: dict
    decoder_checks: tuple[CheckResult, ...]
    data: dict | None = None
    estimate: LatentEstimate | None = None
    scores: dict | None = None
    noise_scale: float | None = None
    seed: int = 0
    warnings: tuple[str, ...] = field(default_factory=tuple)
    observations: torch.Tensor | None = None
    box_given: bool = False

    # ------------------------------------------------------------------ reading it
    def theorem(self, theorem_id: str) -> TheoremVerdict:
        wanted = get(theorem_id).id
        for t in self.theorems:
            if t.id == wanted:
                return t
        raise ValueError(f"theorem: {theorem_id!r} is not in this report")

    def applies(self) -> list[str]:
        return [t.id for t in self.theorems if t.verdict == "applies"]

    def failures(self, theorems=None) -> list[tuple[str, Assumption]]:
        """(theorem id, assumption) for every failed assumption of the given results (default: all)."""
        wanted = None if theorems is None else {get(t).id for t in theorems}
        return [(t.id, a) for t in self.theorems if wanted is None or t.id in wanted for a in t.assumptions if a.verdict == "fails"]

    @property
    def subject(self) -> str:
        if self.decoder.kind == "squashed":
            return (f"for the observations mapped back through the decoder's final {self.decoder.decoder.label} "
                    "(a known bijection), that is for the network before it")
        return ""

    def summary(self) -> str:
        """The conclusion for this model, in one paragraph."""
        facts = {"J": self.prior.prior.n_components if self.prior else "J", "m": self.decoder.in_dim}
        applied = [t for t in self.theorems if t.verdict == "applies"]
        main = [t for t in applied if not t.id.startswith("T4")]
        parts = []
        if main:
            ids = _enumerate([t.id for t in main])
            where = f" (the decoder's assumptions decided on the box {self._box_text()})"
            said = "; ".join(_SHORT.get(t.id, t.title).format(**facts) for t in main)
            parts.append(f"{ids} appl{'ies' if len(main) == 1 else 'y'}{where}: {said}")
        parts += [_SHORT.get(t.id, t.title).format(**facts) for t in applied if t.id.startswith("T4")]
        parts += [f"{t.id} does not apply: {t.reason}" for t in self.theorems if t.verdict == "does not apply"]
        undecided = [t for t in self.theorems if t.verdict == "undecided"]
        if undecided:
            parts.append(f"{_enumerate([t.id for t in undecided])} undecided: "
                         + "; ".join(dict.fromkeys(t.reason for t in undecided)))
        text = "; ".join(parts) + "."
        if self.subject:
            text = self.subject[0].upper() + self.subject[1:] + ": " + text
        return text

    def _box_text(self) -> str:
        return f"[-{self.box:.3g}, {self.box:.3g}]^{self.decoder.in_dim}"

    # ------------------------------------------------------------------ output
    def text(self, width: int = 118) -> str:
        """The report as a per-theorem table with the evidence of every assumption."""
        lines = [f"decoder  {self.decoder.describe()}"]
        lines += _wrap(f"         activations: {self.decoder.activations}", width, 9)
        lines += _wrap("         layers: " + " · ".join(self.decoder.layers), width, 17)
        if self.prior is not None:
            p = self.prior.prior
            lines += _wrap(f"prior    {self.prior.source}: {p.n_components} component{'s' if p.n_components > 1 else ''} in "
                           f"R^{p.dim}" + "".join(f"; {n}" for n in self.prior.notes), width, 9)
        else:
            lines.append("prior    none given: the prior's assumptions are unknown")
        mass = f"; {self.box_mass:.2%} of the prior mass" if self.box_mass is not None else ""
        how = ("given" if self.box_given else "holds at least 1 − 1e-6 of the prior's mass" if self.prior is not None
               else "the default")
        lines.append(f"box      {self._box_text()} ({how}{mass})")
        for result in self.decoder_checks:
            if result.name == "linear_regions":
                lines += _wrap(f"regions  {int(result.statistic)} linear regions meet the box" if result.holds else
                               f"regions  {result.method}", width, 9)
            if result.name == "piecewise_affine" and self.decoder.kind != "piecewise_affine":
                lines += _wrap(f"decoder  not piecewise affine as a whole: {_evidence(result)}", width, 9)
        if self.data is not None:
            lines += _wrap(f"data     {self.data['text']}", width, 9)
        if self.scores is not None:
            s = self.scores
            lines += _wrap("latents  against the given true latents ({:.0%} bootstrap intervals): ".format(s["level"])
                           + ", ".join(f"{label} {s[k]['value']:.3f} [{s[k]['low']:.3f}, {s[k]['high']:.3f}]"
                                       for k, label in (("mcc", "MCC"), ("affine_mcc", "affine MCC"), ("affine_r2", "affine R²"))),
                           width, 9)
        lines.append("")
        shown: set[str] = set()
        for t in self.theorems:
            lines.append(f"{t.id:6} {t.title} — {t.verdict.upper()}")
            for a in t.assumptions:
                head = f"   {a.verdict:8} {a.name:52} "
                lines += _wrap(head + ("(as above)" if a.check in shown else a.evidence), width, len(head))
                shown.add(a.check)
            lines += _wrap(f"   ⇒ {t.conclusion if t.verdict == 'applies' else t.reason}", width, 5)
        lines.append("")
        lines += _wrap("conclusion: " + self.summary(), width, 12)
        for warning in self.warnings:
            lines += _wrap(f"warning: {warning}", width, 9)
        return "\n".join(lines)

    __str__ = text

    def to_dict(self) -> dict:
        return as_data({
            "decoder": self.decoder.to_dict(), "prior": self.prior.to_dict() if self.prior else None, "box": self.box,
            "box_mass": self.box_mass, "noise_scale": self.noise_scale, "seed": self.seed,
            "decoder_checks": [r.to_dict() for r in self.decoder_checks],
            "checks": {key: r.to_dict() for key, r in self.checks.items()},
            "theorems": [t.to_dict() for t in self.theorems], "summary": self.summary(), "data": self.data,
            "latent_estimate": self.estimate.to_dict() if self.estimate else None, "scores": self.scores,
            "warnings": list(self.warnings)})

    def _repr_html_(self) -> str:
        colour = {"applies": "#1a7f37", "does not apply": "#cf222e", "undecided": "#9a6700",
                  "holds": "#1a7f37", "fails": "#cf222e", "unknown": "#9a6700"}
        rows = []
        for t in self.theorems:
            rows.append(f"<tr><th style='text-align:left'>{html.escape(t.id)}</th><td colspan='2'>{html.escape(t.title)}</td>"
                        f"<td><b style='color:{colour[t.verdict]}'>{t.verdict}</b></td></tr>")
            for a in t.assumptions:
                rows.append(f"<tr><td></td><td>{html.escape(a.name)}</td><td style='color:{colour[a.verdict]}'>{a.verdict}</td>"
                            f"<td style='text-align:left'>{html.escape(a.evidence)}</td></tr>")
            rows.append(f"<tr><td></td><td colspan='3' style='text-align:left'><i>⇒ "
                        f"{html.escape(t.conclusion if t.verdict == 'applies' else t.reason)}</i></td></tr>")
        head = html.escape(self.decoder.describe())
        return (f"<div><p><code>{head}</code><br>activations: {html.escape(self.decoder.activations)}<br>box "
                f"{html.escape(self._box_text())}</p><table>{''.join(rows)}</table><p><b>conclusion:</b> "
                f"{html.escape(self.summary())}</p></div>")

    def plot(self, directory, **options):
        """Write the report's figures into ``directory`` (``verify.report_figures``); return their paths."""
        from .report_figures import write_report_figures  # deferred with the optional matplotlib

        return write_report_figures(self, directory, **options)


# ---------------------------------------------------------------------------- building it
def _selected(theorems) -> list:
    """The registered results named in ``theorems`` (all of them for None); errors name ``theorems``."""
    if theorems is None:
        return list(REGISTRY.values())
    if isinstance(theorems, (str, bytes)) or not hasattr(theorems, "__iter__"):
        raise ValueError(f"theorems: expected a list of result ids such as ['T1', 'T2'], got {theorems!r}")
    selected = []
    for theorem in theorems:
        try:
            selected.append(get(theorem))
        except ValueError as exc:
            raise ValueError("theorems: " + str(exc).split(": ", 1)[-1]) from None
    return selected


def report(decoder, prior=None, *, data=None, z_true=None, box: float | None = None, noise_scale: float | None = None,
           theorems=None, module: str | None = None, time_limit: float | None = DEFAULT_TIME_LIMIT, generator=0) -> Report:
    """Which results apply to the model (decoder, prior), with the evidence (module docstring).

    Parameters
    ----------
    decoder : LoadedDecoder, LeakyReLUNetwork, nn.Module, ExportedProgram, path, or GenerativeModel
        (then its prior is used)
    prior : GaussianMixture, LoadedPrior, dict, JSON path or torch.distributions mixture, optional
    data : array_like, shape (N, n), optional
        Observations: their latents, distance to the image and noise are reported.
    z_true : array_like, shape (N, m), optional
        The true latents of ``data``: MCC, affine MCC, affine R² against the data's latents.
    box : float, optional
        Half-width of the latent box for the decoder checks (default: the cube holding at
        least 1 − 1e-6 of the prior's mass, ``analysis.default_box``, or 3 without a prior).
    noise_scale : float, optional
        σ of observation noise N(0, σ² I), when known (T5).
    theorems : iterable of str, optional
        The results to report (default: all).
    module : str, optional
        The submodule to read when ``decoder`` is a module or a path.
    time_limit : float or None
        Seconds each exact check of the decoder may take before it answers unknown.
    """
    if isinstance(decoder, GenerativeModel):
        if prior is not None:
            raise ValueError("prior: the GenerativeModel already has its prior")
        decoder, prior, noise_scale = decoder.decoder, decoder.prior, (decoder.noise_scale or noise_scale)
    loaded = as_loaded_decoder(decoder, module=module)
    loaded_prior = load_prior(prior, latent_dim=loaded.in_dim) if prior is not None else None
    mixture = loaded_prior.prior if loaded_prior else None
    box_given = box is not None
    box = default_box(mixture) if box is None else check_real(box, "box", low=0.0, low_open=True)
    if noise_scale is not None:
        noise_scale = check_real(noise_scale, "noise_scale", low=0.0)
    if time_limit is not None:
        time_limit = check_real(time_limit, "time_limit", low=0.0, low_open=True)
    selected = _selected(theorems)
    seed = generator if isinstance(generator, int) else 0
    gen = check_generator(generator)
    context = _Context(loaded, mixture, box, noise_scale, gen, time_limit)
    verdicts = tuple(_theorem_verdict(theorem, context) for theorem in selected)
    decoder_checks = [context.piecewise_affine_full()]
    network = loaded.network
    if network is not None and network.in_dim <= EXACT_MAX_DIM:
        injective = context.cache.get("verify.injectivity.check_injective")
        counted = injective.details.get("regions") if injective is not None and injective.domain != f"R^{network.in_dim}" else None
        exact = injective.details.get("regions_exact") if injective is not None else None
        if isinstance(counted, int) and exact is not None:  # the injectivity check enumerated the regions of the same box
            decoder_checks.append(count_result(counted, exact, injective.domain))
        else:
            decoder_checks.append(linear_regions_result(network, box))
    data_summary, estimate, scores, x = None, None, None, None
    if data is not None:
        x = check_tensor(data.detach().cpu() if isinstance(data, torch.Tensor) else data, "data", ndim=2)
        estimate, data_summary = _data(loaded, x, box, context, gen)
        if z_true is not None:
            zt = check_tensor(z_true.detach().cpu() if isinstance(z_true, torch.Tensor) else z_true, "z_true", ndim=2)
            if zt.shape != estimate.z.shape:
                raise ValueError(f"z_true: expected shape {tuple(estimate.z.shape)} to match the data, got {tuple(zt.shape)}")
            keep = torch.isfinite(estimate.z).all(dim=1)
            scores = latent_scores(zt[keep], estimate.z[keep], generator=gen)
    elif z_true is not None:
        raise ValueError("z_true: the true latents of data; give data too")
    warnings = tuple(loaded.warnings)
    return Report(loaded, loaded_prior, box, box_mass(mixture, box) if mixture is not None else None, verdicts,
                  dict(context.cache), tuple(decoder_checks), data_summary, estimate, scores, noise_scale, seed, warnings, x, box_given)


class _Context:
    """The model and the checks already run (each check once, whichever results need it)."""

    def __init__(self, loaded: LoadedDecoder, prior: GaussianMixture | None, box: float, noise_scale, gen, time_limit=None):
        self.loaded, self.prior, self.box, self.noise_scale, self.gen = loaded, prior, box, noise_scale, gen
        self.time_limit = time_limit
        self.cache: dict[str, CheckResult] = {}
        self._full = None

    def piecewise_affine_full(self) -> CheckResult:
        """The decoder as a whole (with its final squashing)."""
        if self._full is None:
            points = sample_box(self.prior, self.box, self.loaded.in_dim, PA_POINTS, generator=1)
            self._full = piecewise_affine_result(self.loaded, points)
        return self._full

    def implicit(self, key: str) -> CheckResult:
        if key in self.cache:
            return self.cache[key]
        loaded = self.loaded
        if key == "piecewise_affine":
            result = self.piecewise_affine_full()
            if loaded.kind == "squashed":
                net = loaded.network
                result = CheckResult("piecewise_affine", True, domain=f"R^{loaded.in_dim}",
                                     method=(f"the network before the final {loaded.decoder.label}: affine layers and leaky ReLUs, "
                                             f"widths {net.widths}; the decoder with its {loaded.decoder.label} is not piecewise "
                                             "affine, and the results speak of the observations mapped back through it"),
                                     details={"whole_decoder": result.to_dict()})
        elif key == "continuous":
            what = ("affine layers and leaky ReLUs" if loaded.kind == "piecewise_affine" else
                    "affine layers and continuous activations")
            result = CheckResult("continuous", True, domain=f"R^{loaded.in_dim}", method=f"by construction: {what}")
        elif key == "gaussian_mixture":
            if self.prior is None:
                result = CheckResult("gaussian_mixture", None, method="no prior given")
            else:
                p = self.prior
                eig = float(torch.linalg.eigvalsh(p.covariances).min())
                result = CheckResult("gaussian_mixture", True, eig, 0.0, ">", domain="the prior",
                                     method=(f"{p.n_components} component{'s' if p.n_components > 1 else ''} in R^{p.dim}, weights "
                                             f">= {float(p.weights.min()):.3g}, smallest covariance eigenvalue {eig:.3g} (validated "
                                             "when read: positive definite, pairwise distinct components)"))
        elif key == "noise_law":
            if self.noise_scale is None:
                result = CheckResult("noise_law", None, method="the noise law is not recorded with the model; give noise_scale "
                                                                "(--noise-scale) if the observations are x = f(z) + N(0, σ² I)")
            else:
                result = CheckResult("noise_law", True, self.noise_scale, domain="the noise",
                                     method=f"N(0, σ² I) with σ = {self.noise_scale:g} given: a Gaussian characteristic "
                                            "function never vanishes")
        else:
            raise ValueError(f"assumption: unknown implicit assumption {key!r}")
        self.cache[key] = result
        return result

    def registry(self, name: str, path: str) -> CheckResult:
        if path in self.cache:
            return self.cache[path]
        fn = resolve_check(path)
        first = next(iter(inspect.signature(fn).parameters))
        short = path.rsplit(".", 1)[-1].removeprefix("check_")
        network = self.loaded.network
        if first == "prior":
            result = fn(self.prior) if self.prior is not None else CheckResult(short, None, method="no prior given")
        elif first == "network":
            if network is None:
                result = CheckResult(short, None, method="not decided: the exact methods need a piecewise-affine decoder, and this "
                                                         "one has smooth activations")
            else:
                limit = {"time_limit": self.time_limit} if "time_limit" in inspect.signature(fn).parameters else {}
                result = fn(network, box=exact_box(network, self.box), **limit)
                if short == "injective":
                    result = with_outside_collision(result, network, self.box)
        else:
            result = CheckResult(short, None, method=f"not decided: the report does not know how to call {path}")
        self.cache[path] = result
        return result


def _theorem_verdict(theorem, context: _Context) -> TheoremVerdict:
    entries: list[tuple[str, str, CheckResult]] = []
    seen = set()
    for key in IMPLICIT.get(theorem.id, ("piecewise_affine", "gaussian_mixture")):
        if key == "T2":
            for name, path in REGISTRY["T2"].assumptions:
                if path not in seen:
                    seen.add(path)
                    entries.append((name, path, context.registry(name, path)))
            continue
        entries.append((_IMPLICIT_NAMES[key], f"implicit: {key}", context.implicit(key)))
    for name, path in theorem.assumptions:
        if path not in seen:
            seen.add(path)
            entries.append((name, path, context.registry(name, path)))
    assumptions = tuple(Assumption(name, path, result, _evidence(result, context)) for name, path, result in entries)
    failed = [a for a in assumptions if a.verdict == "fails"]
    unknown = [a for a in assumptions if a.verdict == "unknown"]
    facts = {"J": context.prior.n_components if context.prior is not None else "J", "m": context.loaded.in_dim}
    conclusion = CONCLUSIONS.get(theorem.id, theorem.statement).format(**facts)
    if failed:
        verdict = "does not apply"
        reason = "; ".join(_NEGATIONS.get(a.result.name, f"{a.name} fails") for a in failed)
    elif unknown:
        verdict = "undecided"
        reason = "; ".join(_UNKNOWN.get(a.result.name, f"{a.name} is unknown ({_first_clause(a.result)})") for a in unknown)
    else:
        verdict, reason = "applies", ""
    return TheoremVerdict(theorem.id, theorem.title, verdict, assumptions, conclusion, reason)


# ---------------------------------------------------------------------------- data
def _data(loaded: LoadedDecoder, x: torch.Tensor, box: float, context: _Context, gen):
    if x.shape[1] != loaded.out_dim:
        raise ValueError(f"data: expected observations of dimension {loaded.out_dim}, got shape {tuple(x.shape)}")
    injective = context.cache.get("verify.injectivity.check_injective")
    estimate = estimate_latents(loaded, x, box=box, injective=bool(injective and injective.holds), generator=gen)
    fitted = loaded(estimate.z.nan_to_num(0.0))
    residual = (x - fitted)
    sigma = float(residual.square().mean().sqrt())
    spread = float(x.std(0).mean())
    on = int(estimate.on_image.sum())
    if on == x.shape[0]:
        text = f"{x.shape[0]} observations, all on the decoder's image: the noise-free model describes them"
    else:
        text = (f"{x.shape[0]} observations, {x.shape[0] - on} off the decoder's image: residual RMS {sigma:.3g} per coordinate "
                f"(the data's spread {spread:.3g}), the scale of the observation noise if the model fits; T5 carries the results "
                "to noisy data when the noise law is known")
    text += f". Latents: {estimate.method}"
    summary = {"n": int(x.shape[0]), "on_image": on, "residual_rms": sigma, "spread": spread, "text": text,
               "latents": estimate.to_dict()}
    return estimate, summary


# ---------------------------------------------------------------------------- evidence in words
def _vec(v, digits: int = 3) -> str:
    t = torch.as_tensor(v, dtype=DTYPE).reshape(-1)
    return "(" + ", ".join(f"{float(a):.{digits}g}" for a in t) + ")"


def _first_clause(result: CheckResult) -> str:
    text = result.details.get("reason") or result.method or "not decided"
    return str(text).split(";")[0]


def evidence(result: CheckResult, network=None) -> str:
    """A check's evidence in one sentence, its witness included (the network, when given, re-measures a collision)."""
    return _evidence(result, None if network is None else _NetworkOnly(network))


class _NetworkOnly:
    def __init__(self, network):
        self.loaded = as_loaded_decoder(network)


def _evidence(result: CheckResult, context=None) -> str:
    """The verdict's evidence in one sentence, witnesses included."""
    name, w, d = result.name, result.witness, result.details
    where = f" on {result.domain}" if result.domain else ""
    try:
        if name == "piecewise_affine" and result.holds is False and isinstance(w, dict):
            ratio = torch.as_tensor(w["second_difference_over_h2"])
            steps = torch.as_tensor(w["steps"])
            text = (f"not piecewise affine: at z = {_vec(w['z'])} along v = {_vec(w['direction'])}, the second difference "
                    f"‖f(z+hv) − 2f(z) + f(z−hv)‖ / h² stays at {float(ratio[0]):.3g} … {float(ratio[-1]):.3g} from h = "
                    f"{float(steps[0]):.2g} to {float(steps[-1]):.2g} (curvature; an affine piece gives 0)")
            return text + (f"; {d['structure']}" if "structure" in d else "")
        if name == "piecewise_affine" and result.holds is None:
            return f"no curvature found at {d.get('n_points')} points (only curvature is conclusive); {d.get('structure', '')}"
        if name == "injective":
            if result.holds is False and isinstance(w, (tuple, list)) and len(w) == 2:
                z1, z2 = (torch.as_tensor(v, dtype=DTYPE) for v in w)
                gap = ""
                if context is not None and context.loaded.network is not None:
                    net = context.loaded.network
                    gap = f", ‖f(z1) − f(z2)‖ = {float((net(z1) - net(z2)).norm()):.2g}"
                return (f"collision: f(z1) = f(z2) with z1 = {_vec(z1)} ≠ z2 = {_vec(z2)}{gap} (re-checked by a forward pass)"
                        f"{where}; {result.method}")
            if result.holds and isinstance(w, dict) and "min_sigma_ratio" in w:
                return (f"layerwise rank criterion: slopes > 0 and every layer of full column rank (least σ_min/σ_max "
                        f"{w['min_sigma_ratio']:.3g}), so injective on all of R^{context.loaded.in_dim if context else 'm'}")
            if result.holds and isinstance(w, dict) and "regions" in w:
                programs = w.get("pairs_checked", 0)
                how = f"transversality, then {programs} pairwise linear programs" if programs else "transversality clears every pair"
                return f"exact{where}: no two of the {w['regions']} linear regions collide ({how})"
            return f"{result.method or ''}{where}" + (f"; {d['reason']}" if "reason" in d else "")
        if name == "weakly_injective":
            if result.holds and isinstance(w, dict) and "z0" in w:
                delta = w.get("delta")
                if delta == math.inf or d.get("rests_on", "").startswith("injective"):
                    return f"{d.get('rests_on', result.method)}"
                return (f"x0 = f(z0) at z0 = {_vec(w['z0'])} has exactly one preimage, and so does every image point within "
                        f"{float(delta):.3g} (∞-distance) of x0{where}; {d.get('rests_on', '')}")
            if result.holds is False and isinstance(w, dict):
                return f"condition {w.get('condition', '?')} fails{where}: {w.get('reason', result.method)}"
            return f"{result.method or ''}{where}"
        if name == "standard_normal":
            if result.holds:
                return f"N(0, I): max(|μ|, |Σ − I|) = {result.statistic:.2g} <= {result.tolerance:.0e}"
            if "reason" in d:
                return f"not N(0, I): {d['reason']}"
            return f"not N(0, I): max(|μ|, |Σ − I|) = {result.statistic:.3g} > {result.tolerance:.0e}"
        if name == "distinct_variance_ratios":
            if result.holds:
                return (f"diagonal covariances; components {tuple(w)} have variance ratios pairwise distinct by a relative gap of "
                        f"{result.statistic:.3g} (> {result.tolerance:.0e})")
            if "reason" in d:
                return f"fails: {d['reason']}"
            return f"fails: no pair of components has distinct variance ratios (best relative gap {result.statistic:.3g})"
        if name == "independent_coordinates":
            gaussian = d.get("gaussian_coordinates", [])
            if result.holds:
                return f"the prior is the product of its 1-D marginals; Gaussian coordinates: {list(gaussian) or 'none'}"
            if result.holds is False and isinstance(w, list):
                return f"coordinates {w} are each Gaussian: more than one"
            if result.holds is False and isinstance(w, dict) and w.get("reason"):
                return (f"not the product of its marginals: {w['reason']} {tuple(w.get('n_components', ()))}")
            if result.holds is False:
                return f"not the product of its marginals (matched parameter error {result.statistic:.3g})"
            return result.method or ""
        if name == "trivial_symmetry_group":
            if result.holds:
                return f"the canonical form is unique ({d.get('reason', '')}), so the only affine symmetry is the identity"
            if result.holds is False:
                return (f"a symmetry h ≠ id with h#P = P: A = {_matrix(w.matrix)}, b = {_vec(w.offset)} (verified in closed form)")
            return f"{result.method}; {d.get('reason', '')}"
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):  # an unexpected witness layout: fall back
        pass
    where = where if result.domain and (result.domain.startswith("box") or result.domain[:1].isdigit()) else ""
    return (result.method or result.summary()) + where + (f"; witness {_short(w)}" if w is not None and result.holds is False else "")


def _matrix(a) -> str:
    return "[" + ", ".join(_vec(row).replace("(", "[").replace(")", "]") for row in torch.as_tensor(a)) + "]"


def _short(value) -> str:
    text = repr(as_data(value))
    return text if len(text) <= 160 else text[:157] + "..."


def _enumerate(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _wrap(text: str, width: int, indent: int) -> list[str]:
    return textwrap.wrap(text, width=width, subsequent_indent=" " * indent, break_long_words=False, break_on_hyphens=False) or [""]
