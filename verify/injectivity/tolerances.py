"""The frame and the tolerances of one injectivity check, derived from the problem's geometry.

Every program of a check runs in normalized coordinates, so that no tolerance depends on
where the geometry sits or how large the numbers are:

- latents z = anchor + scale · u, with the anchor and the scale taken from the geometry:
  the box's centre and largest half-width, or, on all of R^m, the least-squares point of
  the first layer's hyperplanes and their largest distance from it (at least 1 / ‖W₁‖,
  the length over which a first-layer unit changes by one unit of its input scale);
- outputs x = f(anchor) + out · x̃, with out = scale × the largest local gain ‖A(z)‖₂ seen
  at points of the domain (a bound of the output's variation, not of its size: a constant
  offset of f changes nothing).

So translating the latent space, rescaling it, shifting or rescaling the outputs leaves the
normalized problem, hence every verdict, unchanged. The normalized network (``Frame.unit``)
is only a finder: witnesses are mapped back to the original coordinates and accepted when
an exact rational forward pass of the *original* network confirms them (``verify.exact``).

In normalized units, a pair (u1, u2) is a collision candidate when ‖f̃(u1) − f̃(u2)‖ <=
``COLLISION_RTOL`` × out_n, a piece is rank deficient when σ_min(A) <= ``RANK_RTOL`` × its
Lipschitz bound, and linear programs count a collision only when the separation
w·(u − u') / rho exceeds ``SEPARATION_RTOL`` (``verify.tolerances`` says why each value).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from models import AffineMap, LeakyReLUNetwork
from models.regions import box_scale
from models.validation import DTYPE, check_array, check_box, check_instance

from ..exact import ExactNetwork
from ..tolerances import COLLISION_RTOL, RANK_RTOL, REGION_RADIUS_RTOL, SEPARATION_RTOL

# Points at which the local gain is measured (the anchor, the corners' directions, random points).
GAIN_SAMPLES = 64


@dataclass(frozen=True)
class Tolerances:
    """Scales and tolerances of one check, in the frame's normalized units (see the module docstring)."""

    rho: float
    lipschitz: float
    out: float
    collision: float
    rank: float
    separation: float
    radius: float

    def collision_at(self, *points: np.ndarray) -> float:
        """The collision tolerance for points possibly outside the domain's scale (unbounded domains)."""
        reach = max([self.rho] + [float(np.linalg.norm(check_array(p, "points", ndim=1))) for p in points])
        return self.collision + COLLISION_RTOL * self.lipschitz * (reach - self.rho)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class Frame:
    """Normalized coordinates of a check: z = anchor + scale · u and x = f(anchor) + out · x̃.

    Attributes
    ----------
    network : LeakyReLUNetwork
        The network checked (float64, CPU).
    exact : ExactNetwork
        The same network in exact rationals: every witness is confirmed on it.
    anchor : ndarray (m,), scale : float, out : float, f_anchor : ndarray (n,)
    unit : LeakyReLUNetwork
        u -> (f(anchor + scale · u) − f(anchor)) / out.
    box : (low, high) of tensors (m,), or None
        The domain in normalized units (R^m when None).
    latent_box : (low, high) of tensors (m,), or None
        The domain as given, in the original units (exact certificates start from it).
    domain : str
        The domain in the original units, for ``CheckResult.domain``.
    """

    network: LeakyReLUNetwork
    exact: ExactNetwork
    anchor: np.ndarray
    scale: float
    out: float
    f_anchor: np.ndarray
    unit: LeakyReLUNetwork
    box: tuple | None
    domain: str
    latent_box: tuple | None = None

    def to_latent(self, u) -> np.ndarray:
        return self.anchor + self.scale * np.asarray(u, dtype=np.float64)

    def to_unit(self, z) -> np.ndarray:
        return (np.asarray(z, dtype=np.float64) - self.anchor) / self.scale

    def output_to_unit(self, x) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.f_anchor) / self.out


def check_network(network) -> LeakyReLUNetwork:
    """The network in float64 on the CPU, or ``ValueError`` naming ``network``."""
    check_instance(network, LeakyReLUNetwork, "network")
    return network.to(device="cpu", dtype=DTYPE)


def lipschitz_bound(network: LeakyReLUNetwork) -> float:
    norms = [float(torch.linalg.matrix_norm(w, ord=2)) for w in network.weights]
    return math.prod(norms) * math.prod(max(1.0, s) for s in network.slopes)


def _anchor_and_scale(net: LeakyReLUNetwork, bounds) -> tuple[np.ndarray, float]:
    if bounds is not None:
        low, high = bounds[0].numpy(), bounds[1].numpy()
        return 0.5 * (low + high), float(0.5 * (high - low).max())
    w = net.weights[0].numpy()
    b = net.biases[0].numpy()
    norms = np.linalg.norm(w, axis=1)
    usable = norms > 1e-12 * max(float(norms.max()), 1e-300)
    if not usable.any():
        return np.zeros(net.in_dim), 1.0
    unit_w, unit_b = w[usable] / norms[usable, None], b[usable] / norms[usable]
    # The point nearest (in least squares) to every first-layer hyperplane, and how far they spread from it.
    anchor = np.linalg.lstsq(unit_w, -unit_b, rcond=None)[0]
    spread = float(np.abs(unit_w @ anchor + unit_b).max())
    return anchor, max(spread, 1.0 / float(np.linalg.norm(w, ord=2)))


def _local_gain(net: LeakyReLUNetwork, anchor: np.ndarray, scale: float) -> float:
    gen = torch.Generator().manual_seed(0)
    m = net.in_dim
    points = torch.as_tensor(anchor) + scale * (2 * torch.rand(GAIN_SAMPLES, m, generator=gen, dtype=DTYPE) - 1)
    points = torch.cat([torch.as_tensor(anchor).unsqueeze(0), points])
    a, _ = net.local_affine(points)
    return float(torch.linalg.matrix_norm(a, ord=2).max())


def frame(network: LeakyReLUNetwork, box) -> Frame:
    """The normalized frame of a check of ``network`` on ``box`` (None: all of R^m)."""
    net = check_network(network)
    bounds = check_box(box, net.in_dim)
    anchor, scale = _anchor_and_scale(net, bounds)
    f_anchor = net(torch.as_tensor(anchor)).numpy()
    # A zero Lipschitz bound (a zero layer) means f is constant: any output unit will do, and 1 keeps
    # the normalized weights finite. Otherwise the floor keeps the units defined where no sample moved f.
    lipschitz = lipschitz_bound(net)
    gain = max(_local_gain(net, anchor, scale), 1e-12 * lipschitz) if lipschitz > 0 else 1.0
    out = scale * gain
    moved = net.precompose(AffineMap(scale * torch.eye(net.in_dim, dtype=DTYPE), torch.as_tensor(anchor)))
    weights, biases = moved.weights, moved.biases
    weights[-1] = weights[-1] / out
    biases[-1] = (biases[-1] - torch.as_tensor(f_anchor)) / out
    unit = LeakyReLUNetwork(weights, biases, list(net.slopes) if net.slopes else 0.0)
    unit_box = None
    if bounds is not None:
        unit_box = tuple(torch.as_tensor((t.numpy() - anchor) / scale) for t in bounds)
    return Frame(net, ExactNetwork.of(net), anchor, scale, out, f_anchor, unit, unit_box, domain_name(net, box), bounds)


def tolerances(network: LeakyReLUNetwork, box) -> Tolerances:
    """The tolerances of a check of ``network`` on ``box``, for the network as given: call it on
    ``Frame.unit`` and ``Frame.box`` to get those of the normalized problem."""
    net = check_network(network)
    bounds = check_box(box, net.in_dim)
    rho = math.sqrt(net.in_dim) * box_scale(net, box)
    centre = torch.zeros(net.in_dim, dtype=DTYPE) if bounds is None else 0.5 * (bounds[0] + bounds[1])
    lipschitz = lipschitz_bound(net)
    out = max(lipschitz * rho + float(net(centre).norm()), 1e-12)
    return Tolerances(rho, lipschitz, out, COLLISION_RTOL * out, RANK_RTOL * lipschitz, SEPARATION_RTOL,
                      REGION_RADIUS_RTOL * box_scale(net, box))


def domain_name(network: LeakyReLUNetwork, box) -> str:
    """``"R^m"`` or the box written out, for ``CheckResult.domain``."""
    bounds = check_box(box, network.in_dim)
    m = network.in_dim
    if bounds is None:
        return f"R^{m}"
    low, high = bounds
    if bool((low == low[0]).all()) and bool((high == high[0]).all()):
        return f"box [{float(low[0]):g}, {float(high[0]):g}]^{m}"
    return "box " + " × ".join(f"[{float(a):g}, {float(b):g}]" for a, b in zip(low, high))
