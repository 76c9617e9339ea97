"""Objects that describe a generative model: mixtures, networks, affine maps, linear regions.

No verdicts live here; ``verify`` checks them.

Modules: ``gaussian_mixture``, ``affine_map``, ``leaky_relu_network``, ``generative_model``
(the objects, re-exported here), ``regions`` (linear regions), ``joint_network`` (two networks
side by side), ``random`` (seeded factories), ``strategies`` (hypothesis strategies),
``validation`` (one argument check per kind of argument) and ``solver`` (the one HiGHS
wrapper for linear and mixed-integer programs).
"""

from . import random, regions, solver, validation
from .affine_map import AffineMap
from .errors import NotInjectiveError, OffImageError
from .gaussian_mixture import GaussianMixture
from .generative_model import GenerativeModel
from .joint_network import joint_network
from .leaky_relu_network import LeakyReLUNetwork
from .random import random_affine_map, random_gmm, random_model, random_network

__all__ = [
    "AffineMap",
    "GaussianMixture",
    "GenerativeModel",
    "LeakyReLUNetwork",
    "NotInjectiveError",
    "OffImageError",
    "joint_network",
    "random",
    "random_affine_map",
    "random_gmm",
    "random_model",
    "random_network",
    "regions",
    "solver",
    "validation",
]
