"""PNG figures: linear regions, pushforward densities, and each counterexample's two models.

Needs matplotlib (the ``plot`` extra: ``pip install 'identifiable-dgm[plot]'``); it is
imported only when a figure is drawn. Figures are drawn on matplotlib's Agg canvas
without pyplot (no global state, no display) and written atomically: a temporary file in
the target folder, then ``os.replace``.

Examples
--------
>>> from verify.plots import write_plots
>>> from models import random_network
>>> write_plots("regions", random_network((2, 8, 3), injective=False, generator=0), "figures")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from models import GenerativeModel, LeakyReLUNetwork
from models.regions import region_count
from models.validation import DTYPE, check_generator, check_int

from .atomic import write_atomic
from .counterexamples import catalog
from .counterexamples.maps import pieces_1d

KINDS = ("regions", "density", "counterexample", "catalog")
DPI = 110


def _matplotlib():
    """(Figure, FigureCanvasAgg), or an ImportError that says how to install matplotlib."""
    try:  # deferred: matplotlib is an optional dependency (the plot extra)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("verify.plots needs matplotlib; install it with: pip install 'identifiable-dgm[plot]'") from exc
    return Figure, FigureCanvasAgg


def new_figure(width: float, height: float):
    """A matplotlib Figure on an Agg canvas (no pyplot), for modules that draw their own figures."""
    figure_class, canvas_class = _matplotlib()
    figure = figure_class(figsize=(width, height), dpi=DPI)
    canvas_class(figure)
    return figure



def save_atomic(figure, path) -> Path:
    """Write ``figure`` as PNG to ``path`` through a temporary file in the same folder and a rename."""
    return write_atomic(path, lambda handle: figure.savefig(handle, format="png", dpi=DPI, bbox_inches="tight"), binary=True)


# --------------------------------------------------------------------------- linear regions
def plot_linear_regions(network: LeakyReLUNetwork, path, *, box: float = 3.0, resolution: int = 400, points=None) -> Path:
    """The linear regions of a network of 1 or 2 inputs, coloured by activation pattern.

    2 inputs: the pattern of every point of a ``resolution``² grid of [−box, box]², one
    colour per distinct pattern (the title also gives the exact count of
    ``models.regions.count_linear_regions`` when that module is present). 1 input: the
    coordinates of f along [−box, box], with the exact kinks as vertical lines.

    Parameters
    ----------
    network : LeakyReLUNetwork
    path : str or Path
        The PNG to write.
    box : float
        Half-width of the square (or interval) shown.
    resolution : int
        Grid points per axis.
    points : array_like, shape (N, 2), optional
        Latent samples to overlay (e.g. prior samples).
    """
    if not isinstance(network, LeakyReLUNetwork):
        raise ValueError(f"network: expected a LeakyReLUNetwork, got {type(network).__name__}")
    if not (isinstance(box, (int, float)) and box > 0 and math.isfinite(box)):
        raise ValueError(f"box: expected a positive number, got {box!r}")
    check_int(resolution, "resolution", minimum=2)
    network = network.to("cpu", DTYPE)
    if network.in_dim == 1:
        return _plot_regions_1d(network, path, box, resolution)
    if network.in_dim != 2:
        raise ValueError(f"network: linear regions are drawn for 1 or 2 inputs, got in_dim = {network.in_dim}")
    axis = torch.linspace(-box, box, resolution, dtype=DTYPE)
    a, b = torch.meshgrid(axis, axis, indexing="xy")
    grid = torch.stack([a.flatten(), b.flatten()], dim=1)
    patterns = network.activation_pattern(grid)
    _, labels = torch.unique(patterns, dim=0, return_inverse=True)
    n_seen = int(labels.max()) + 1
    # A fixed shuffle of the labels keeps neighbouring regions apart in the colour map.
    order = torch.randperm(n_seen, generator=torch.Generator().manual_seed(0))
    palette = _palette()
    image = (order[labels] % palette.N).reshape(resolution, resolution).numpy()
    figure = new_figure(6.0, 5.4)
    ax = figure.add_subplot(1, 1, 1)
    ax.imshow(image, origin="lower", extent=(-box, box, -box, box), cmap=palette, vmin=0, vmax=palette.N - 1,
              interpolation="nearest")
    if points is not None:
        pts = torch.as_tensor(points, dtype=DTYPE)
        ax.scatter(pts[:, 0], pts[:, 1], s=2, c="k", alpha=0.4, linewidths=0)
    title = f"{n_seen} activation patterns on a {resolution}² grid of [−{box:g}, {box:g}]²"
    count, exact = region_count(network, float(box))
    title += f"\n({'exact count' if exact else 'count, not exact (slivers below 1e-13 of the box)'} of linear regions: {count})"
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    return save_atomic(figure, path)


def _palette():
    """60 distinct colours (tab20, tab20b, tab20c)."""
    # Deferred with the rest of matplotlib: an optional dependency, imported only to draw.
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    return ListedColormap([c for name in ("tab20", "tab20b", "tab20c") for c in colormaps[name].colors])


def _plot_regions_1d(network, path, box, resolution) -> Path:
    z = torch.linspace(-box, box, resolution, dtype=DTYPE).unsqueeze(1)
    x = network(z)
    kinks = sorted({p[0] for p in pieces_1d(network) if math.isfinite(p[0]) and -box < p[0] < box})
    figure = new_figure(6.0, 4.0)
    ax = figure.add_subplot(1, 1, 1)
    for i in range(x.shape[1]):
        ax.plot(z[:, 0], x[:, i], lw=1.5, label=f"f_{i + 1}(z)")
    for k in kinks:
        ax.axvline(k, color="0.5", lw=0.8, ls="--")
    ax.set_title(f"{len(kinks) + 1} linear pieces on [−{box:g}, {box:g}] (kinks dashed)", fontsize=9)
    ax.set_xlabel("z")
    if x.shape[1] <= 6:
        ax.legend(fontsize=7)
    return save_atomic(figure, path)


# --------------------------------------------------------------------------- densities
def plot_pushforward_density(model, path, *, n: int = 20000, bins: int = 80, generator=0) -> Path:
    """The law of x for a model with 1- or 2-dimensional observations.

    A histogram of ``n`` samples, with the exact density of ``GenerativeModel.log_prob``
    over it where that exists (noise-free, layerwise-injective decoder); in 2-D the exact
    density is drawn when available, else the histogram.
    """
    if not hasattr(model, "sample") or not hasattr(model, "observed_dim"):
        raise ValueError(f"model: expected a GenerativeModel or another model with sample() and observed_dim, got {type(model).__name__}")
    check_int(n, "n", minimum=10)
    check_int(bins, "bins", minimum=2)
    if model.observed_dim not in (1, 2):
        raise ValueError(f"model: densities are drawn for 1- or 2-dimensional x, got observed_dim = {model.observed_dim}")
    _, x = model.sample(n, check_generator(generator))
    x = x.detach().to("cpu", DTYPE)
    figure = new_figure(6.0, 4.6)
    ax = figure.add_subplot(1, 1, 1)
    low, high = torch.quantile(x, 0.001, dim=0), torch.quantile(x, 0.999, dim=0)
    pad = 0.1 * (high - low)
    low, high = low - pad, high + pad
    if model.observed_dim == 1:
        ax.hist(x[:, 0].numpy(), bins=bins, range=(float(low[0]), float(high[0])), density=True, color="0.75", label=f"{n} samples")
        grid = torch.linspace(float(low[0]), float(high[0]), 600, dtype=DTYPE).unsqueeze(1)
        exact = _exact_log_density(model, grid)
        if exact is not None:
            ax.plot(grid[:, 0], exact.exp(), color="C3", lw=1.5, label="exact density")
        ax.legend(fontsize=8)
        ax.set_xlabel("x")
    else:
        axis0 = torch.linspace(float(low[0]), float(high[0]), 300, dtype=DTYPE)
        axis1 = torch.linspace(float(low[1]), float(high[1]), 300, dtype=DTYPE)
        a, b = torch.meshgrid(axis0, axis1, indexing="xy")
        grid = torch.stack([a.flatten(), b.flatten()], dim=1)
        exact = _exact_log_density(model, grid)
        extent = (float(low[0]), float(high[0]), float(low[1]), float(high[1]))
        if exact is not None:
            ax.imshow(exact.exp().reshape(300, 300).numpy(), origin="lower", extent=extent, aspect="auto", cmap="viridis")
            ax.set_title("exact density of x", fontsize=9)
        else:
            ax.hist2d(x[:, 0].numpy(), x[:, 1].numpy(), bins=bins, range=[extent[:2], extent[2:]], density=True, cmap="viridis")
            ax.set_title(f"histogram of {n} samples of x", fontsize=9)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    return save_atomic(figure, path)


def save_samples_figure(x, path, *, title: str = "", bins: int = 80) -> Path:
    """A histogram of samples x of shape (N, d): 1-D for d = 1, else of the first two coordinates."""
    x = torch.as_tensor(x).detach().to("cpu", DTYPE)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"x: expected samples of shape (N, d) with N >= 2, got {tuple(x.shape)}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure = new_figure(6.0, 4.6)
    ax = figure.add_subplot(1, 1, 1)
    if x.shape[1] == 1:
        ax.hist(x[:, 0].numpy(), bins=bins, density=True, color="0.6")
        ax.set_xlabel("x")
    else:
        ax.hist2d(x[:, 0].numpy(), x[:, 1].numpy(), bins=bins, density=True, cmap="viridis")
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    ax.set_title(title or f"{x.shape[0]} samples", fontsize=9)
    return save_atomic(figure, path)


def _exact_log_density(model, grid) -> torch.Tensor | None:
    if not isinstance(model, GenerativeModel) or model.noise_scale > 0:
        return None
    try:
        values = model.log_prob(grid.to(model.decoder.device, model.decoder.dtype)).to("cpu", DTYPE)
    except ValueError:  # no layerwise inverse (NotInjectiveError is a ValueError)
        return None
    return torch.where(torch.isfinite(values), values, torch.full_like(values, -math.inf))


# --------------------------------------------------------------------------- counterexamples
def plot_counterexample(counterexample, path, *, n: int = 3000, generator=0) -> Path:
    """Model a beside model b: their latents (top) and their observations (bottom), same axes.

    Points are coloured by their latent's first coordinate, in both rows, so that the two
    models' different ways of producing the same x show. Observations of more than 2
    dimensions are shown by their first two coordinates.
    """
    for attribute in ("model_a", "model_b", "name", "drops"):
        if not hasattr(counterexample, attribute):
            raise ValueError(f"counterexample: expected a verify.counterexamples.Counterexample, got {type(counterexample).__name__}")
    check_int(n, "n", minimum=10)
    gen = check_generator(generator)
    z_a, x_a = counterexample.model_a.sample(n, gen)
    z_b, x_b = counterexample.model_b.sample(n, gen)
    figure = new_figure(9.0, 7.6)
    rows = [("latent z", z_a, z_b), ("observation x" + (" (coordinates 1, 2)" if x_a.shape[1] > 2 else ""), x_a, x_b)]
    colours = (z_a[:, 0].detach().cpu().numpy(), z_b[:, 0].detach().cpu().numpy())
    for row, (label, a, b) in enumerate(rows):
        a, b = a.detach().to("cpu", DTYPE), b.detach().to("cpu", DTYPE)
        both = torch.cat([a, b])
        low, high = both.min(0).values, both.max(0).values
        flat = (high - low) <= 1e-12 * (high.abs() + 1.0)  # a coordinate that never varies (CE5's z2 = 0)
        low, high = torch.where(flat, low - 1.0, low), torch.where(flat, high + 1.0, high)
        for col, (data, model) in enumerate(((a, counterexample.model_a), (b, counterexample.model_b))):
            ax = figure.add_subplot(2, 2, 2 * row + col + 1)
            if data.shape[1] == 1:
                ax.hist(data[:, 0].numpy(), bins=60, range=(float(low[0]), float(high[0])), density=True, color=f"C{col}")
            else:
                ax.scatter(data[:, 0].numpy(), data[:, 1].numpy(), s=2, alpha=0.5, c=colours[col], cmap="coolwarm", linewidths=0)
                ax.set_xlim(float(low[0]), float(high[0]))
                ax.set_ylim(float(low[1]), float(high[1]))
            which = "a" if col == 0 else "b"
            ax.set_title(f"model {which}: {label}\n{_describe(model)}", fontsize=8)
    figure.suptitle(f"{counterexample.name}: drops {counterexample.drops}", fontsize=11)
    figure.subplots_adjust(hspace=0.4)
    return save_atomic(figure, path)


def _describe(model) -> str:
    text = getattr(model, "description", None)
    if text:
        return text
    if isinstance(model, GenerativeModel):
        return f"GenerativeModel: J = {model.prior.n_components}, decoder widths {model.decoder.widths}"
    return type(model).__name__


# --------------------------------------------------------------------------- one entry point
def write_plots(kind: str, obj, directory, **options) -> list[Path]:
    """Draw figures of ``kind`` for ``obj`` into ``directory`` (created if missing); return the paths.

    Parameters
    ----------
    kind : {"regions", "density", "counterexample", "catalog"}
        ``"regions"``: a ``LeakyReLUNetwork`` (or a model, for its decoder) -> regions.png;
        ``"density"``: a model -> density.png; ``"counterexample"``: one Counterexample ->
        <name>.png; ``"catalog"``: a list of them (None for ``catalog()``) -> one PNG each.
    obj : object
    directory : str or Path
    **options
        Passed to the drawing function (``box``, ``resolution``, ``n``, ...).
    """
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"directory: {folder} exists and is not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "regions":
        network = obj.decoder if isinstance(obj, GenerativeModel) else obj
        return [plot_linear_regions(network, folder / "regions.png", **options)]
    if kind == "density":
        return [plot_pushforward_density(obj, folder / "density.png", **options)]
    if kind == "counterexample":
        return [plot_counterexample(obj, folder / _file_name(obj), **options)]
    if obj is None:
        obj = catalog()
    return [plot_counterexample(ce, folder / _file_name(ce), **options) for ce in obj]


def _file_name(counterexample) -> str:
    embedded = getattr(counterexample, "embedding", None) is not None
    return f"{counterexample.name}_R{counterexample.observed_dim}.png" if embedded else f"{counterexample.name}.png"
