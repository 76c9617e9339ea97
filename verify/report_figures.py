"""Figures of ``verify.report`` and ``verify.compare``: pictures that answer the report's questions.

- ``plot_report_regions``: the latent box the checks ran on, coloured by the local volume
  factor ½ log det(AᵀA) of the decoder (colour bar), the boundaries of the linear regions,
  rank-deficient regions shaded, the prior's contours and samples over them, and the
  witnesses: a collision (z1, z2) of the injectivity check, the point z0 of weak
  injectivity, non-unique preimages found for the data. For m > 2, the plane of the first
  two latent coordinates through the prior mean (the title says so).
- ``plot_report_density``: the density of the observations (a histogram of model samples,
  and of the data beside it); for n > 2 the two output coordinates of largest variance
  (or those asked for), named in the title.
- ``plot_latent_scatter``: learned against true latents, coordinate by coordinate, matched
  as the MCC matches them, and the affine fit h(z) against the learned latents.

Titles name the model and the seed. Needs matplotlib (the ``plot`` extra); figures are drawn
without pyplot and written atomically (``verify.plots.save_atomic``).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from models.validation import DTYPE, check_generator, check_int

from .plots import new_figure, save_atomic

__all__ = ["plot_latent_scatter", "plot_report_density", "plot_report_regions", "write_report_figures"]

RANK_RTOL = 1e-9
"""σ_min / σ_max of the local piece below which a region is drawn as rank deficient."""


def write_report_figures(rep, directory, *, coords=None, resolution: int = 300) -> list[Path]:
    """The regions figure and, with a prior or data, the density figure of a report, in ``directory``."""
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"directory: {folder} exists and is not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    paths = [plot_report_regions(rep, folder / "regions.png", resolution=resolution)]
    if rep.prior is not None or rep.data is not None:
        paths.append(plot_report_density(rep, folder / "density.png", coords=coords))
    return paths


# ---------------------------------------------------------------------------- the latent box
def _jacobians(loaded, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(A(z) of shape (N, n, m), activation patterns or None) of the piecewise-affine part, else central differences."""
    network = loaded.network
    if network is not None:
        a, _ = network.local_affine(z)
        return a, network.activation_pattern(z)
    h = 1e-5 * (1.0 + z.abs())
    columns = []
    for k in range(z.shape[1]):
        e = torch.zeros_like(z)
        e[:, k] = h[:, k]
        columns.append((loaded(z + e) - loaded(z - e)) / (2 * h[:, k:k + 1]))
    return torch.stack(columns, dim=2), None


def _witness_points(rep):
    """[(label, points (k, m), style)] from the report's checks and data."""
    out = []
    injective = rep.checks.get("verify.injectivity.check_injective")
    if injective is not None and injective.holds is False and isinstance(injective.witness, (tuple, list)):
        z = torch.stack([torch.as_tensor(w, dtype=DTYPE) for w in injective.witness])
        out.append(("collision f(z1) = f(z2)", z, dict(color="red", marker="X", s=90, line="--")))
    weak = rep.checks.get("verify.injectivity.check_weakly_injective")
    if weak is not None and weak.holds and isinstance(weak.witness, dict) and "z0" in weak.witness:
        delta = weak.witness.get("delta")
        if delta is not None and delta != math.inf:
            z0 = torch.as_tensor(weak.witness["z0"], dtype=DTYPE).reshape(1, -1)
            out.append(("z0: f(z0) has one preimage (weak injectivity)", z0, dict(color="lime", marker="*", s=160, line=None)))
    whole = next((r for r in rep.decoder_checks if r.name == "piecewise_affine"), None)
    if whole is not None and whole.holds is False and isinstance(whole.witness, dict) and "z" in whole.witness:
        z = torch.as_tensor(whole.witness["z"], dtype=DTYPE)
        v = torch.as_tensor(whole.witness["direction"], dtype=DTYPE)
        h = float(torch.as_tensor(whole.witness["steps"])[0])
        out.append(("curvature: second difference along z ± h·v", torch.stack([z - h * v, z, z + h * v]),
                    dict(color="red", marker="o", s=30, line="-")))
    if rep.estimate is not None:
        for item in rep.estimate.non_unique[:3]:
            if isinstance(item["preimages"], torch.Tensor):
                out.append(("non-unique preimage of a data point", item["preimages"], dict(color="magenta", marker="o", s=50,
                                                                                         line=":")))
    return out


def plot_report_regions(rep, path, *, resolution: int = 300, n_samples: int = 500) -> Path:
    """The checked box: volume factor, region boundaries, rank-deficient regions, prior and witnesses (module docstring)."""
    from matplotlib.colors import ListedColormap  # deferred: matplotlib is the optional plot extra
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    check_int(resolution, "resolution", minimum=10, maximum=2000)
    loaded, box, m = rep.decoder, rep.box, rep.decoder.in_dim
    prior = rep.prior.prior if rep.prior is not None else None
    if m == 1:
        return _regions_1d(rep, path)
    axis = torch.linspace(-box, box, resolution, dtype=DTYPE)
    a, b = torch.meshgrid(axis, axis, indexing="xy")
    plane = torch.stack([a.flatten(), b.flatten()], dim=1)
    centre = prior.mean() if prior is not None else torch.zeros(m, dtype=DTYPE)
    grid = centre.repeat(plane.shape[0], 1)
    grid[:, :2] = plane
    jac, patterns = _jacobians(loaded, grid)
    sv = torch.linalg.svdvals(jac)
    deficient = sv[:, -1] <= RANK_RTOL * sv[:, 0].clamp_min(torch.finfo(DTYPE).tiny)
    volume = torch.log(sv.clamp_min(torch.finfo(DTYPE).tiny)).sum(dim=1)
    image = torch.where(deficient, torch.full_like(volume, float("nan")), volume).reshape(resolution, resolution).numpy()
    figure = new_figure(7.4, 6.2)
    ax = figure.add_subplot(1, 1, 1)
    extent = (-box, box, -box, box)
    shown = ax.imshow(image, origin="lower", extent=extent, cmap="viridis", interpolation="nearest", aspect="equal")
    bar = figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("½ log det(AᵀA) of the local piece (log volume factor)" if patterns is not None else
                  "½ log det(JᵀJ), J the Jacobian (log volume factor)", fontsize=8)
    handles = []
    if bool(deficient.any()):
        mask = deficient.reshape(resolution, resolution).double().numpy()
        mask[mask == 0] = float("nan")
        ax.imshow(mask, origin="lower", extent=extent, cmap=ListedColormap(["0.55"]), alpha=0.9, interpolation="nearest")
        handles.append(Patch(facecolor="0.55", label="rank-deficient region (σ_min = 0)"))
    if patterns is not None:
        _, labels = torch.unique(patterns, dim=0, return_inverse=True)
        labels = labels.reshape(resolution, resolution)
        edge = torch.zeros_like(labels, dtype=torch.bool)
        edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
        edge[1:, :] |= labels[1:, :] != labels[:-1, :]
        edges = edge.double().numpy()
        edges[edges == 0] = float("nan")
        ax.imshow(edges, origin="lower", extent=extent, cmap=ListedColormap(["white"]), alpha=0.55, interpolation="nearest")
        handles.append(Line2D([], [], color="0.75", lw=1.5, label="boundaries of linear regions (white)"))
    gen = check_generator(rep.seed)
    if prior is not None:
        log_p = prior.log_prob(grid).reshape(resolution, resolution).numpy()
        samples = prior.sample(4000, gen)
        levels = sorted(set(float(v) for v in torch.quantile(prior.log_prob(samples), torch.tensor([0.01, 0.1, 0.5], dtype=DTYPE))))
        contours = ax.contour(a.numpy(), b.numpy(), log_p, levels=levels, colors="orange", linewidths=1.1, linestyles="solid")
        names = {0: "99%", 1: "90%", 2: "50%"}
        ax.clabel(contours, fmt={lv: names.get(i, "") for i, lv in enumerate(levels)}, fontsize=7)
        handles.append(Line2D([], [], color="orange", lw=1.1, label="prior: regions of 50 / 90 / 99% of its mass"))
        z = samples[:n_samples]
        ax.scatter(z[:, 0], z[:, 1], s=3, c="k", alpha=0.5, linewidths=0)
        handles.append(Line2D([], [], color="k", marker=".", lw=0, label=f"{len(z)} prior samples"))
    if rep.estimate is not None:
        z = rep.estimate.z[:n_samples]
        ax.scatter(z[:, 0], z[:, 1], s=4, c="deepskyblue", alpha=0.6, linewidths=0)
        handles.append(Line2D([], [], color="deepskyblue", marker=".", lw=0, label="latents of the data"))
    for label, points, style in _witness_points(rep):
        p = points[:, :2]
        if style["line"] and len(p) > 1:
            ax.plot(p[:, 0], p[:, 1], style["line"], color=style["color"], lw=1.2)
        ax.scatter(p[:, 0], p[:, 1], s=style["s"], c=style["color"], marker=style["marker"], edgecolors="k", linewidths=0.6,
                   zorder=5)
        handles.append(Line2D([], [], color=style["color"], marker=style["marker"], lw=0, markeredgecolor="k", label=label))
    ax.set_xlim(-box, box)
    ax.set_ylim(-box, box)
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    regions = next((int(r.statistic) for r in rep.decoder_checks if r.name == "linear_regions"), None)
    injective = rep.checks.get("verify.injectivity.check_injective")
    what = f"{regions} linear regions" if regions is not None else (
        "not piecewise affine: no linear regions" if loaded.kind == "smooth" else "linear regions")
    title = f"{loaded.name}: {what} on the checked box [-{box:.3g}, {box:.3g}]" + ("²" if m == 2 else f"^{m}")
    if injective is not None:
        title += f"\ninjective: {injective.verdict}"
    title += f" · seed {rep.seed}"
    if m > 2:
        fixed = "z3" if m == 3 else f"z3..z{m}"
        title += f"\nthe plane of z1, z2 through the prior mean ({fixed} fixed at {_vector(centre[2:])})"
    ax.set_title(title, fontsize=9)
    if handles:  # below the axes, so that it hides no witness
        ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, framealpha=0.9)
    return save_atomic(figure, path)


def _regions_1d(rep, path) -> Path:
    loaded, box = rep.decoder, rep.box
    z = torch.linspace(-box, box, 1001, dtype=DTYPE).unsqueeze(1)
    x = loaded(z)
    figure = new_figure(7.0, 4.6)
    ax = figure.add_subplot(1, 1, 1)
    for i in range(min(x.shape[1], 8)):
        ax.plot(z[:, 0], x[:, i], lw=1.4, label=f"f_{i + 1}(z)")
    if loaded.network is not None:
        patterns = loaded.network.activation_pattern(z)
        changes = torch.nonzero((patterns[1:] != patterns[:-1]).any(dim=1)).flatten()
        for k in changes.tolist():
            ax.axvline(float(z[k, 0]), color="0.6", lw=0.7, ls="--")
    if rep.prior is not None:
        twin = ax.twinx()
        twin.fill_between(z[:, 0], rep.prior.prior.log_prob(z).exp(), color="orange", alpha=0.25, label="prior density")
        twin.set_ylabel("prior density", fontsize=8)
    for label, points, style in _witness_points(rep):
        for p in points[:, 0].tolist():
            ax.axvline(p, color=style["color"], lw=1.5)
        ax.plot([], [], color=style["color"], label=label)
    ax.set_xlabel("z")
    injective = rep.checks.get("verify.injectivity.check_injective")
    verdict = f" · injective: {injective.verdict}" if injective is not None else ""
    ax.set_title(f"{loaded.name} on the checked box [-{box:.3g}, {box:.3g}] (kinks dashed){verdict} · seed {rep.seed}", fontsize=9)
    ax.legend(fontsize=7)
    return save_atomic(figure, path)


def _vector(v) -> str:
    return "(" + ", ".join(f"{float(a):.3g}" for a in v) + ")"


# ---------------------------------------------------------------------------- the observations
def plot_report_density(rep, path, *, coords=None, n: int = 20000, bins: int = 80) -> Path:
    """The density of x: model samples, and the data beside them; for n > 2, two coordinates (module docstring)."""
    from matplotlib.colors import PowerNorm  # deferred: matplotlib is the optional plot extra

    check_int(n, "n", minimum=10)
    loaded = rep.decoder
    gen = check_generator(rep.seed)
    panels = []
    if rep.prior is not None:
        panels.append((f"model: x = f(z), z ~ the prior, {n} samples", loaded(rep.prior.prior.sample(n, gen))))
    if rep.observations is not None:
        panels.append((f"the data, {rep.observations.shape[0]} observations", rep.observations))
    if not panels:
        raise ValueError("rep: the density of x needs a prior (to sample the model) or data")
    out_dim = loaded.out_dim
    if out_dim <= 2:
        chosen, how = tuple(range(out_dim)), ""
    elif coords is not None:
        chosen = tuple(int(c) for c in coords)
        if len(chosen) != 2 or not all(0 <= c < out_dim for c in chosen) or chosen[0] == chosen[1]:
            raise ValueError(f"coords: expected two distinct output coordinates in 0..{out_dim - 1}, got {coords!r}")
        how = " (the coordinates asked for)"
    else:
        order = torch.argsort(panels[0][1].var(0), descending=True)
        chosen, how = tuple(sorted(int(c) for c in order[:2])), " (the two coordinates of largest variance)"
    figure = new_figure(5.6 * len(panels), 4.8)
    stacked = torch.cat([x[:, list(chosen)] for _, x in panels])
    low, high = torch.quantile(stacked, 0.002, dim=0), torch.quantile(stacked, 0.998, dim=0)
    pad = 0.08 * (high - low) + 1e-9
    low, high = low - pad, high + pad
    for i, (label, x) in enumerate(panels):
        ax = figure.add_subplot(1, len(panels), i + 1)
        values = x[:, list(chosen)].numpy()
        if len(chosen) == 1:
            ax.hist(values[:, 0], bins=bins, range=(float(low[0]), float(high[0])), density=True, color="C0" if i == 0 else "C1")
            ax.set_xlabel("x1")
            ax.set_ylabel("density")
        else:
            _, _, _, shown = ax.hist2d(values[:, 0], values[:, 1], bins=bins, density=True, cmap="magma", norm=PowerNorm(0.5),
                                       range=[[float(low[0]), float(high[0])], [float(low[1]), float(high[1])]])
            bar = figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
            bar.set_label("density (square-root scale)", fontsize=8)
            ax.set_xlabel(f"x{chosen[0] + 1}")
            ax.set_ylabel(f"x{chosen[1] + 1}")
        ax.set_title(label, fontsize=8)
    names = " and ".join(f"x{c + 1}" for c in chosen)
    figure.suptitle(f"{loaded.name}: density of {names}{how} of x ∈ R^{out_dim} · seed {rep.seed}", fontsize=9)
    figure.subplots_adjust(wspace=0.45)
    return save_atomic(figure, path)


# ---------------------------------------------------------------------------- learned against true latents
def plot_latent_scatter(comparison, directory, *, max_points: int = 3000) -> Path:
    """Learned against true latents (matched as the MCC matches them), and h(z) against the learned latents."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    zt, zl = comparison.z_true[:max_points], comparison.z_learned[:max_points]
    m = min(zt.shape[1], 4)
    matching = comparison.scores["matching"]
    labels = comparison.labels[:max_points].numpy() if comparison.labels is not None else None
    figure = new_figure(3.0 * m + 0.6, 3.0 * (m + 1))
    colour = dict(c=labels, cmap="tab10", vmin=0, vmax=9) if labels is not None else dict(c="0.3")
    for row in range(m):
        learned_k = matching[row] if row < len(matching) else row
        for col in range(m):
            ax = figure.add_subplot(m + 1, m, row * m + col + 1)
            ax.scatter(zt[:, col], zl[:, learned_k], s=2, alpha=0.5, linewidths=0, **colour)
            if col == row:
                for spine in ax.spines.values():
                    spine.set_edgecolor("C3")
                    spine.set_linewidth(1.6)
            ax.set_xlabel(f"true z{col + 1}", fontsize=7)
            ax.set_ylabel(f"learned z{learned_k + 1}", fontsize=7)
            ax.tick_params(labelsize=6)
    fitted = comparison.h(zt)
    for k in range(m):
        ax = figure.add_subplot(m + 1, m, m * m + k + 1)
        ax.scatter(fitted[:, k], zl[:, k], s=2, alpha=0.5, linewidths=0, **colour)
        lo = float(torch.minimum(fitted[:, k].min(), zl[:, k].min()))
        hi = float(torch.maximum(fitted[:, k].max(), zl[:, k].max()))
        ax.plot([lo, hi], [lo, hi], color="C3", lw=1)
        ax.set_xlabel(f"h(z_true), coordinate {k + 1}", fontsize=7)
        ax.set_ylabel(f"learned z{k + 1}", fontsize=7)
        ax.tick_params(labelsize=6)
    s = comparison.scores
    figure.suptitle(f"learned {comparison.learned.name} against true {comparison.truth.name} · seed {comparison.seed}\n"
                    f"MCC {s['mcc']['value']:.3f}, affine MCC {s['affine_mcc']['value']:.3f}, affine R² {s['affine_r2']['value']:.3f}"
                    "\nmatched pairs framed in red; bottom row: the affine fit h against the learned latents"
                    + ("; colours: prior components" if labels is not None else ""), fontsize=8)
    figure.subplots_adjust(hspace=0.45, wspace=0.4)
    return save_atomic(figure, folder / "latents.png")
