"""Probe by refitting: fit a model to samples of x and measure how far its latents are from an
affine image of the true ones (``docs/theory.md``: T1/T2, T5 and the counterexamples).

- ``vade``: the models the theory is about, fitted by the ELBO: a VaDE-style VAE with a learned
  Gaussian-mixture prior, a leaky-ReLU decoder and Gaussian noise, with restarts
  (``fit_vade`` -> ``FittedVAE``), and its importance-weighted likelihood;
- ``flow``: a square leaky-ReLU flow fitted by exact maximum likelihood (``fit_flow``, ``probe``),
  for square noise-free data;
- ``data``: the generating models: the experiments' ground truths (``ground_truth``: every
  assumption holds, or one is dropped), the flow probe's (``probe_data``), and a user's ``.npy``
  files (``load_samples``);
- ``experiments``: the registry ``EXPERIMENTS`` (assumptions, drop, noise, sample_size, flow) and
  ``run_experiment``;
- ``user_data``: ``probe_samples`` for a user's samples;
- ``figures``: the experiments' figures (imported on demand: it needs matplotlib).

The command line is ``python -m verify probe`` (``verify.cli.probe``).
"""

from .data import DROPS, TRUTHS, GroundTruth, ProbeData, bent_mixture_model, ground_truth, load_samples, probe_data
from .experiments import (
    BUDGETS,
    EXPERIMENTS,
    R2_TARGET,
    Budget,
    Condition,
    ConditionResult,
    Experiment,
    ExperimentResult,
    run_experiment,
)
from .flow import FittedFlow, affine_scores, fit_flow, probe
from .user_data import probe_samples
from .vade import FittedVAE, VAERestart, fit_vade, importance_log_likelihood

__all__ = [
    "BUDGETS",
    "Budget",
    "Condition",
    "ConditionResult",
    "DROPS",
    "EXPERIMENTS",
    "Experiment",
    "ExperimentResult",
    "FittedFlow",
    "FittedVAE",
    "GroundTruth",
    "ProbeData",
    "R2_TARGET",
    "TRUTHS",
    "VAERestart",
    "affine_scores",
    "bent_mixture_model",
    "fit_flow",
    "fit_vade",
    "ground_truth",
    "importance_log_likelihood",
    "load_samples",
    "probe",
    "probe_data",
    "probe_samples",
    "run_experiment",
]
