"""Seconds per VaDE fit (``verify.probe.fit_vade``) against a plain PyTorch VAE training loop.

Both train the same architecture on the same sample of ``ground_truth("all_hold", m, n)``
(N = 10^4, float64, one CPU thread): an encoder n -> 32 -> 32 -> 2m and a decoder m -> 32 -> 32 -> n of
``nn.Linear`` and ``nn.LeakyReLU(0.2)`` layers, minibatches of 512, Adam at 5e-3, the same number
of steps. The plain loop is the textbook one (``nn.Module``, ``torch.optim.Adam`` with its
defaults, a standard-normal prior, the closed-form KL, a learned noise scale); ours is one restart
of ``fit_vade`` with its default schedule (``steps // 3`` autoencoder steps, EM for the mixture
prior, the ELBO with the mixture's closed-form terms, the noise floor, an importance-weighted
likelihood at the end), so the plain loop gets the same total of steps. The ratio is ours / plain
(< 1: ours is faster).

    python benchmarks/bench_probe.py [--quick] [--steps 2000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import nn

from verify.probe import fit_vade, ground_truth

N = 10_000
HIDDEN = (32, 32)
BATCH = 512
LEARNING_RATE = 5e-3
SLOPE = 0.2


class PlainVAE(nn.Module):
    """The textbook VAE of the same widths: Gaussian q(z | x), N(0, I) prior, Gaussian noise with a learned scale."""

    def __init__(self, n: int, m: int):
        super().__init__()
        self.m = m
        self.encoder = nn.Sequential(nn.Linear(n, HIDDEN[0]), nn.LeakyReLU(SLOPE), nn.Linear(HIDDEN[0], HIDDEN[1]),
                                     nn.LeakyReLU(SLOPE), nn.Linear(HIDDEN[1], 2 * m))
        self.decoder = nn.Sequential(nn.Linear(m, HIDDEN[1]), nn.LeakyReLU(SLOPE), nn.Linear(HIDDEN[1], HIDDEN[0]),
                                     nn.LeakyReLU(SLOPE), nn.Linear(HIDDEN[0], n))
        self.log_sigma = nn.Parameter(torch.zeros(()))

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        mean, log_var = self.encoder(x).chunk(2, dim=1)
        z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
        sigma2 = torch.exp(2 * self.log_sigma)
        reconstruction = 0.5 * (x - self.decoder(z)).square().sum(1) / sigma2 + x.shape[1] * (self.log_sigma + 0.5 * math.log(2 * math.pi))
        kl = 0.5 * (mean.square() + log_var.exp() - 1 - log_var).sum(1)
        return (reconstruction + kl).mean()


def plain_fit(x: torch.Tensor, m: int, steps: int, seed: int) -> float:
    torch.manual_seed(seed)
    u = (x - x.mean(0)) / (x - x.mean(0)).square().mean().sqrt()
    model = PlainVAE(x.shape[1], m).to(torch.float64)
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    for _ in range(steps):
        rows = torch.randint(0, u.shape[0], (BATCH,))
        optimiser.zero_grad()
        loss = model.loss(u[rows])
        loss.backward()
        optimiser.step()
    return float(loss.detach())


def _best(fit, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="m = 2, 4 and n = 10, 20 only")
    parser.add_argument("--steps", type=int, default=2000, help="ELBO steps of fit_vade (default 2000, its default)")
    parser.add_argument("--repeats", type=int, default=1, help="timing runs per cell; the best counts")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    dims = (2, 4) if args.quick else (2, 4, 8)
    observed = (10, 20) if args.quick else (10, 20, 50)
    total_steps = args.steps + args.steps // 3
    print(f"torch {torch.__version__}, 1 CPU thread, float64; N = {N}, hidden {HIDDEN}, batch {BATCH}; "
          f"fit_vade: 1 restart, {args.steps // 3} + {args.steps} steps; plain VAE loop: {total_steps} steps")
    print(f"{'m':>3} {'n':>3} {'ours s':>8} {'plain s':>8} {'ratio':>6} {'ours ms/step':>13} {'plain ms/step':>14}")
    ratios = []
    for m in dims:
        for n in observed:
            _, x = ground_truth("all_hold", m, n, args.seed).sample(N, args.seed + 1)
            ours = _best(lambda: fit_vade(x, m, 3, restarts=1, steps=args.steps, seed=args.seed), args.repeats)
            plain = _best(lambda: plain_fit(x, m, total_steps, args.seed), args.repeats)
            ratios.append(ours / plain)
            print(f"{m:>3} {n:>3} {ours:>8.2f} {plain:>8.2f} {ours / plain:>6.2f} {1e3 * ours / total_steps:>13.2f} "
                  f"{1e3 * plain / total_steps:>14.2f}", flush=True)
    print(f"geometric mean ratio ours/plain: {math.exp(sum(map(math.log, ratios)) / len(ratios)):.2f}")


if __name__ == "__main__":
    main()
