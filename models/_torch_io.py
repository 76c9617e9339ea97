"""Conversion between ``LeakyReLUNetwork`` layers and ``torch.nn`` modules."""

from __future__ import annotations

import torch
from torch import nn

SUPPORTED = "Linear, LeakyReLU, ReLU (and Identity)"


def network_layers_from_torch(module: nn.Module, dtype: torch.dtype):
    """(weights, biases, slopes) of a Sequential of Linear layers separated by activations."""
    if isinstance(module, nn.Linear):
        module = nn.Sequential(module)
    if not isinstance(module, nn.Sequential):
        raise ValueError(f"module: expected an nn.Sequential of {SUPPORTED}, got {type(module).__name__}")
    weights, biases, slopes = [], [], []
    expect_linear = True
    for index, layer in enumerate(module):
        if isinstance(layer, nn.Identity):
            continue
        if isinstance(layer, nn.Linear):
            if not expect_linear:
                raise ValueError(f"module[{index}]: two Linear layers in a row; put an activation between them or merge them")
            weight = layer.weight.detach().to(dtype=dtype).clone()
            bias = layer.bias.detach().to(dtype=dtype).clone() if layer.bias is not None else torch.zeros(weight.shape[0], dtype=dtype, device=weight.device)
            weights.append(weight)
            biases.append(bias)
            expect_linear = False
        elif isinstance(layer, (nn.LeakyReLU, nn.ReLU)):
            if expect_linear:
                where = "first module" if not weights else "activation after an activation"
                raise ValueError(f"module[{index}]: {type(layer).__name__} as {where}; expected a Linear layer")
            slopes.append(float(layer.negative_slope) if isinstance(layer, nn.LeakyReLU) else 0.0)
            expect_linear = True
        else:
            raise ValueError(f"module[{index}]: unsupported module {type(layer).__name__}; supported: {SUPPORTED}")
    if not weights:
        raise ValueError("module: contains no Linear layer")
    if expect_linear:  # a trailing activation: an identity last layer keeps f exactly
        width = weights[-1].shape[0]
        weights.append(torch.eye(width, dtype=dtype, device=weights[-1].device))
        biases.append(torch.zeros(width, dtype=dtype, device=weights[-1].device))
    return weights, biases, slopes


def network_to_torch(weights, biases, slopes, dtype: torch.dtype) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (w, b) in enumerate(zip(weights, biases)):
        linear = nn.Linear(w.shape[1], w.shape[0], dtype=dtype, device=w.device)
        with torch.no_grad():
            linear.weight.copy_(w)
            linear.bias.copy_(b)
        layers.append(linear)
        if i < len(slopes):
            layers.append(nn.ReLU() if slopes[i] == 0 else nn.LeakyReLU(slopes[i]))
    return nn.Sequential(*layers)
