"""Objects that describe a generative model: mixtures, networks, affine maps, regions.

No verdicts live here; ``verify`` checks them.
"""

from . import random, regions
from .affine_map import AffineMap
from .errors import NotInjectiveError, OffImageError
from .gaussian_mixture import GaussianMixture
from .generative_model import GenerativeModel
from .leaky_relu_network import LeakyReLUNetwork
from .random import random_affine_map, random_gmm, random_model, random_network

__all__ = [
    "AffineMap",
    "GaussianMixture",
    "GenerativeModel",
    "LeakyReLUNetwork",
    "NotInjectiveError",
    "OffImageError",
    "random",
    "regions",
    "random_affine_map",
    "random_gmm",
    "random_model",
    "random_network",
]
