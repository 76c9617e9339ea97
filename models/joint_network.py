"""One network computing two networks side by side: z -> (f(z), g(z)).

Its linear regions are the common refinement of the regions of f and g, which is
what an exact comparison of two piecewise-affine maps needs.
"""

from __future__ import annotations

import torch

from .leaky_relu_network import LeakyReLUNetwork
from .validation import check_instance


def _padded(network: LeakyReLUNetwork, depth: int, slopes: tuple[float, ...]):
    """Layers of ``network`` lengthened to ``depth`` by exact identity blocks before its last layer.

    t = (σ(t) − σ(−t)) / (1 + s) for the leaky ReLU σ of any slope s >= 0, so a hidden layer
    [W; −W] followed by [I, −I] / (1 + s) reproduces the affine last layer W h + b.
    """
    weights, biases = network.weights, network.biases
    while len(weights) < depth:
        s = slopes[len(weights) - 1]
        w, b = weights[-1], biases[-1]
        eye = torch.eye(w.shape[0], dtype=w.dtype, device=w.device)
        weights[-1:] = [torch.cat([w, -w]), torch.cat([eye, -eye], dim=1) / (1.0 + s)]
        biases[-1:] = [torch.cat([b, -b]), torch.zeros(w.shape[0], dtype=w.dtype, device=w.device)]
    return weights, biases


def joint_network(f: LeakyReLUNetwork, g: LeakyReLUNetwork) -> LeakyReLUNetwork | None:
    """The network z -> (f(z), g(z)), or None when no single network of this class computes it
    (a hidden layer where both networks have units with different slopes).

    The shallower network is lengthened exactly (see ``_padded``); hidden layers are
    stacked block-diagonally. Outputs: the first ``f.out_dim`` coordinates are f's.
    """
    check_instance(f, LeakyReLUNetwork, "f")
    check_instance(g, LeakyReLUNetwork, "g")
    if f.in_dim != g.in_dim:
        raise ValueError(f"g: input dimension {g.in_dim} differs from f's {f.in_dim}")
    g = g.to(f.device, f.dtype)
    depth = max(f.depth, g.depth)
    # Where only one network has hidden units, its slope is the layer's; where both do, they must agree.
    slopes = []
    for i in range(depth - 1):
        own = {net.slopes[i] for net in (f, g) if i < len(net.slopes)}
        if len(own) > 1:
            return None
        slopes.append(own.pop() if own else 0.0)
    slopes = tuple(slopes)
    wf, bf = _padded(f, depth, slopes)
    wg, bg = _padded(g, depth, slopes)
    weights = [torch.cat([wf[0], wg[0]])] + [torch.block_diag(a, b) for a, b in zip(wf[1:], wg[1:])]
    biases = [torch.cat([a, b]) for a, b in zip(bf, bg)]
    return LeakyReLUNetwork(weights, biases, list(slopes))
