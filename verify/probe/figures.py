"""Figures of the probe's experiments (PNG, matplotlib's Agg canvas, written atomically).

- ``plot_r2_distribution``: per condition, the best fit's affine R² over seeds, with its median,
  10–90 % interval, the principal-components baseline and the target;
- ``plot_latents``: for one seed, each true latent coordinate against its affine prediction from
  the fitted latents (on the diagonal when the relation is affine);
- ``plot_r2_vs_sample_size``: the median affine R² and its interval against N;
- ``plot_fitted_latents``: the same as ``plot_latents`` for any pair of latent samples (``--data``).

``write_figures(result, directory)`` draws those that apply to an ``ExperimentResult``. Needs the
``plot`` extra (matplotlib).
"""

from __future__ import annotations

from pathlib import Path

import torch

from models.validation import DTYPE

from ..affine_fit import fit_affine
from ..plots import new_figure, save_atomic
from .experiments import QUANTILES, R2_TARGET, ExperimentResult

# Axis floor of the R² figures: scores below it are drawn at it (marked as clipped).
R2_AXIS_FLOOR = -0.1
MAX_PANELS = 8


def _check_result(result) -> ExperimentResult:
    if not isinstance(result, ExperimentResult):
        raise ValueError(f"result: expected an ExperimentResult, got {type(result).__name__}")
    return result


def plot_r2_distribution(result: ExperimentResult, path) -> Path:
    """Affine R² of the best-likelihood fit over seeds, one column per condition."""
    result = _check_result(result)
    names = list(result.results)
    figure = new_figure(max(4.0, 1.1 * len(names) + 1.5), 4.2)
    ax = figure.add_subplot(1, 1, 1)
    gen = torch.Generator().manual_seed(0)
    for i, name in enumerate(names):
        rows = result.results[name]
        r2 = torch.tensor([r.scores["affine_r2"] for r in rows], dtype=DTYPE)
        shown = r2.clamp_min(R2_AXIS_FLOOR)
        jitter = 0.12 * (2 * torch.rand(len(rows), generator=gen, dtype=DTYPE) - 1)
        ax.scatter((i + jitter).numpy(), shown.numpy(), s=14, color="C0", alpha=0.7, linewidths=0, zorder=3)
        low, mid, high = (float(torch.quantile(r2, q)) for q in (QUANTILES[0], 0.5, QUANTILES[1]))
        ax.plot([i - 0.25, i + 0.25], [max(mid, R2_AXIS_FLOOR)] * 2, color="C3", lw=2, zorder=4)
        ax.plot([i, i], [max(low, R2_AXIS_FLOOR), max(high, R2_AXIS_FLOOR)], color="C3", lw=1, zorder=4)
        baseline = float(torch.tensor([r.scores["linear_affine_r2"] for r in rows], dtype=DTYPE).median())
        ax.scatter([i + 0.3], [max(baseline, R2_AXIS_FLOOR)], marker="_", s=120, color="0.4", zorder=2)
    ax.axhline(R2_TARGET, color="0.5", lw=0.8, ls="--")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("affine R² (held out)")
    ax.set_ylim(min(R2_AXIS_FLOOR, ax.get_ylim()[0]), 1.02)
    ax.set_title(f"{result.experiment}: best-likelihood fit over {len(result.seeds)} seed(s) (dots), median and "
                 f"{int(100 * QUANTILES[0])}–{int(100 * QUANTILES[1])} % (red),\nfirst m principal components of x (grey), "
                 f"target {R2_TARGET} (dashed)", fontsize=8)
    return save_atomic(figure, path)


def plot_latents(result: ExperimentResult, path, *, seed: int | None = None) -> Path:
    """Each true latent coordinate against its affine prediction from the fitted latents, one seed."""
    result = _check_result(result)
    seed = result.seeds[0] if seed is None else seed
    if seed not in result.seeds:
        raise ValueError(f"seed: expected one of {list(result.seeds)}, got {seed!r}")
    index = result.seeds.index(seed)
    names = list(result.results)[:MAX_PANELS]
    cols = min(4, len(names))
    rows_n = (len(names) + cols - 1) // cols
    figure = new_figure(3.0 * cols, 3.0 * rows_n + 0.4)
    for k, name in enumerate(names):
        row = result.results[name][index]
        ax = figure.add_subplot(rows_n, cols, k + 1)
        _latent_panel(ax, row.z_true, row.z_fitted, f"{name}: affine R² {row.scores['affine_r2']:.3f}", legend=k == 0)
    figure.suptitle(f"{result.experiment}, seed {seed}: true latent (x axis) against its affine prediction from the fitted "
                    "latents (y axis)", fontsize=9)
    # Room for the title above the panels: about 0.75 inch, whatever the number of rows.
    figure.subplots_adjust(hspace=0.45, wspace=0.3, top=1 - 0.75 / (3.0 * rows_n + 0.4))
    return save_atomic(figure, path)


def plot_fitted_latents(z_true, z_fitted, path, *, title: str = "") -> Path:
    """Each coordinate of ``z_true`` (N, m) against its affine prediction from ``z_fitted`` (N, k)."""
    z_true = torch.as_tensor(z_true).detach().to("cpu", DTYPE)
    z_fitted = torch.as_tensor(z_fitted).detach().to("cpu", DTYPE)
    if z_true.ndim != 2 or z_fitted.ndim != 2 or z_true.shape[0] != z_fitted.shape[0] or z_true.shape[0] <= z_fitted.shape[1]:
        raise ValueError(f"z_fitted: expected (N, k) rows matching z_true (N, m) with N > k, got {tuple(z_fitted.shape)} "
                         f"and {tuple(z_true.shape)}")
    figure = new_figure(4.2, 4.0)
    _latent_panel(figure.add_subplot(1, 1, 1), z_true, z_fitted, title or "true latent against its affine prediction", legend=True)
    return save_atomic(figure, path)


def _latent_panel(ax, z_true, z_fitted, title: str, *, legend: bool) -> None:
    z_true, z_fit = z_true.to(DTYPE), z_fitted.to(DTYPE)
    predicted = fit_affine(z_fit, z_true).map(z_fit)
    for i in range(z_true.shape[1]):
        ax.scatter(z_true[:, i].numpy(), predicted[:, i].numpy(), s=2, alpha=0.35, linewidths=0, color=f"C{i}",
                   label=f"z{i + 1}")
    low, high = float(z_true.min()), float(z_true.max())
    ax.plot([low, high], [low, high], color="k", lw=0.7)
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=7)
    if legend:
        ax.legend(fontsize=6, markerscale=4)


def plot_r2_vs_sample_size(result: ExperimentResult, path) -> Path:
    """The median affine R² and its interval over seeds against the sample size N."""
    result = _check_result(result)
    points = []
    for rows in result.results.values():
        r2 = torch.tensor([r.scores["affine_r2"] for r in rows], dtype=DTYPE)
        baseline = float(torch.tensor([r.scores["linear_affine_r2"] for r in rows], dtype=DTYPE).median())
        points.append((rows[0].scores["n_samples"], *(float(torch.quantile(r2, q)) for q in (QUANTILES[0], 0.5, QUANTILES[1])),
                       baseline))
    if len({p[0] for p in points}) < 2:
        raise ValueError("result: its conditions do not vary the sample size")
    points.sort()
    n, low, mid, high, baseline = (list(v) for v in zip(*points))
    figure = new_figure(5.5, 4.0)
    ax = figure.add_subplot(1, 1, 1)
    ax.fill_between(n, low, high, color="C0", alpha=0.25, label=f"{int(100 * QUANTILES[0])}–{int(100 * QUANTILES[1])} % over seeds")
    ax.plot(n, mid, "o-", color="C0", label="median, best-likelihood fit")
    ax.plot(n, baseline, "s--", color="0.5", ms=4, label="first m principal components of x")
    ax.axhline(R2_TARGET, color="0.5", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("training samples N")
    ax.set_ylabel("affine R² (held out)")
    ax.legend(fontsize=7)
    ax.set_title(f"{result.experiment}: affine R² against N ({len(result.seeds)} seed(s))", fontsize=9)
    return save_atomic(figure, path)


def write_figures(result: ExperimentResult, directory) -> list[Path]:
    """``<experiment>_r2.png`` and ``<experiment>_latents.png``, and ``<experiment>_r2_vs_n.png``
    when the conditions vary the sample size; the folder is created if missing."""
    result = _check_result(result)
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"directory: {folder} exists and is not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    paths = [plot_r2_distribution(result, folder / f"{result.experiment}_r2.png"),
             plot_latents(result, folder / f"{result.experiment}_latents.png")]
    sizes = {rows[0].scores["n_samples"] for rows in result.results.values()}
    if len(sizes) > 1:
        paths.append(plot_r2_vs_sample_size(result, folder / f"{result.experiment}_r2_vs_n.png"))
    return paths


__all__ = ["plot_fitted_latents", "plot_latents", "plot_r2_distribution", "plot_r2_vs_sample_size", "write_figures"]
