"""Probe by refitting: fit a model to samples of x and measure how far its latents are from an
affine image of the true ones (``docs/theory.md``, T1/T2 and the counterexamples).

- ``flow``: a square leaky-ReLU flow fitted by exact maximum likelihood (``fit_flow``,
  ``probe``), for square noise-free data;
- ``data``: the flow probe's generating models (``probe_data``, ``bent_mixture_model``).
"""

from .data import DROPS, ProbeData, bent_mixture_model, probe_data
from .flow import FittedFlow, affine_scores, fit_flow, probe

__all__ = ["DROPS", "FittedFlow", "ProbeData", "affine_scores", "bent_mixture_model", "fit_flow", "probe", "probe_data"]
