"""Shared pytest configuration: hypothesis profiles and device parametrisation."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

# CI: derandomized with a fixed example budget, so every run checks the same examples.
settings.register_profile(
    "ci", derandomize=True, max_examples=40, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Local: more (random) examples.  HYPOTHESIS_PROFILE=dev pytest ...
settings.register_profile(
    "dev", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# The tests work on tiny matrices, where OpenMP threads only add synchronisation (and stall
# badly when the machine is busy); one thread keeps the suite's time predictable.
torch.set_num_threads(1)

# Independent references (the LP-based region enumeration, a plain big-M MILP) live with the benchmarks' baselines.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def pytest_collection_modifyitems(config, items):
    skip_cuda = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_cuda)
