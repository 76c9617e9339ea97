"""The trials of the theorem suite: one construction per result of the hierarchy.

A trial is a pure function of (result id, seed, sizes, device): it draws a model
meeting the result's assumptions, builds an observationally equivalent second model
by a random reparametrisation that the checks never see (an affine map of the
latent space, shuffled component labels, the same noise), and checks that the
conclusion recovers the relation to tolerance. It also runs the converse: a model
that is *not* equivalent must give a measurably different law, or be rejected.

Files: ``trial.py`` (``Sizes``, ``Step``, ``TrialReport``, ``run_trial``),
``constructions.py`` (what the trials share), and one file per result:
``t1.py`` (T1, T1'), ``t2.py``, ``t3.py``, ``t4.py`` (S1, S2, S3), ``t5.py``.
``verify.theorems`` registers each trial with its statement.
"""

from .constructions import (
    equivalent_model,
    injective_model,
    mixing_rotation,
    other_seed,
    random_invertible_affine,
    random_permutation_scaling,
    relu_model,
    standard_normal,
)
from .t1 import trial_t1, trial_t1_prime
from .t2 import trial_t2
from .t3 import trial_t3
from .t4 import trial_t4_s1, trial_t4_s2, trial_t4_s3
from .t5 import trial_t5
from .trial import Sizes, Step, TrialReport, run_trial

__all__ = [
    "Sizes",
    "Step",
    "TrialReport",
    "equivalent_model",
    "injective_model",
    "mixing_rotation",
    "other_seed",
    "random_invertible_affine",
    "random_permutation_scaling",
    "relu_model",
    "run_trial",
    "standard_normal",
    "trial_t1",
    "trial_t1_prime",
    "trial_t2",
    "trial_t3",
    "trial_t4_s1",
    "trial_t4_s2",
    "trial_t4_s3",
    "trial_t5",
]
