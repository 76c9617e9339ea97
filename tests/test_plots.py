"""Figures: written atomically as non-empty PNG files; bad input named; a clear error without matplotlib."""

from __future__ import annotations

import sys

import pytest
import torch

pytest.importorskip("matplotlib")

from models import GenerativeModel, random_gmm, random_network  # noqa: E402
from verify.counterexamples import get  # noqa: E402
from verify.plots import (  # noqa: E402
    plot_counterexample,
    plot_linear_regions,
    plot_pushforward_density,
    write_plots,
)
from verify.probe.data import bent_mixture_model  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    data = path.read_bytes()
    return len(data) > 1000 and data[:8] == PNG_SIGNATURE


def _no_temporary_files(folder) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_regions_2d(tmp_path):
    net = random_network((2, 6, 3), injective=False, generator=0)
    (path,) = write_plots("regions", net, tmp_path, resolution=120, points=torch.randn(50, 2))
    assert path == tmp_path / "regions.png" and _is_png(path) and _no_temporary_files(tmp_path)


def test_regions_1d_and_from_a_model(tmp_path):
    (path,) = write_plots("regions", bent_mixture_model(1), tmp_path)
    assert _is_png(path)


def test_density_1d_and_2d(tmp_path):
    (one,) = write_plots("density", bent_mixture_model(1), tmp_path / "one", n=2000)
    model = GenerativeModel(random_network((2, 2, 2), generator=1), random_gmm(2, 2, generator=1))
    (two,) = write_plots("density", model, tmp_path / "two", n=2000)
    noisy = GenerativeModel(model.decoder, model.prior, 0.3)
    (hist,) = write_plots("density", noisy, tmp_path / "hist", n=2000)
    assert _is_png(one) and _is_png(two) and _is_png(hist)


def test_counterexamples_side_by_side(tmp_path):
    (base,) = write_plots("counterexample", get("CE2a"), tmp_path, n=500)
    (embedded,) = write_plots("counterexample", get("CE5", embed_dim=4), tmp_path, n=500)
    assert base.name == "CE2a.png" and embedded.name == "CE5_R4.png"
    assert _is_png(base) and _is_png(embedded)


def test_catalog_writes_one_file_per_entry(tmp_path):
    paths = write_plots("catalog", None, tmp_path / "new" / "folder", n=300)
    assert [p.name for p in paths] == ["CE1.png", "CE1b.png", "CE2a.png", "CE2b.png", "CE3.png", "CE4.png", "CE5.png"]
    assert all(_is_png(p) for p in paths) and _no_temporary_files(paths[0].parent)


def test_overwrites_in_place(tmp_path):
    target = tmp_path / "r.png"
    target.write_bytes(b"old")
    plot_linear_regions(random_network((2, 4, 2), injective=False, generator=2), target, resolution=50)
    assert _is_png(target)


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        write_plots("histogram", None, tmp_path)
    with pytest.raises(ValueError, match="network"):
        plot_linear_regions(random_network((3, 4, 2), injective=False, generator=0), tmp_path / "x.png")
    with pytest.raises(ValueError, match="box"):
        plot_linear_regions(random_network((2, 4, 2), injective=False, generator=0), tmp_path / "x.png", box=-1.0)
    model = GenerativeModel(random_network((2, 3, 3), generator=0), random_gmm(2, 2, generator=0))
    with pytest.raises(ValueError, match="model"):
        plot_pushforward_density(model, tmp_path / "x.png")
    with pytest.raises(ValueError, match="counterexample"):
        plot_counterexample(model, tmp_path / "x.png")
    with pytest.raises(ValueError, match="path"):
        plot_linear_regions(random_network((2, 4, 2), injective=False, generator=0), tmp_path / "missing" / "x.png")
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(ValueError, match="directory"):
        write_plots("regions", random_network((2, 4, 2), injective=False, generator=0), a_file)


def test_missing_matplotlib_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match="pip install"):
        plot_linear_regions(random_network((2, 4, 2), injective=False, generator=0), tmp_path / "x.png")
