"""EM fit time of ``verify.mixtures.fit_gmm`` against scikit-learn's ``GaussianMixture``.

Both fit the same sample (drawn from ``models.random_gmm``) with the same number of
components, one initialisation each, the same ``tol`` (change of the mean log-likelihood
per sample, the criterion both use), ``max_iter`` and ``reg_covar``; scikit-learn keeps its
default initialisation (a full k-means). Each time is the best of ``--repeats`` runs with
the same seed. The table gives the wall-clock ratio sklearn / ours (> 1: we are faster),
both mean log-likelihoods (so a speed-up bought with a worse optimum shows), the EM
iterations (ours/sklearn), and the ratio of CPU times, which a busy machine disturbs less.

Both libraries get the same number of CPU threads (``--threads``; torch's intra-op pool and
the BLAS under NumPy). On a machine shared with other jobs, ``--threads 1`` gives the
steadiest numbers: oversubscribed thread pools make both timings erratic.

    python benchmarks/bench_em.py [--quick] [--repeats 3] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from threadpoolctl import threadpool_limits

from models import random_gmm
from verify.mixtures import ConvergenceWarning, fit_gmm

TOL = 1e-4
MAX_ITER = 1000
REG_COVAR = 1e-6


def _best_time(fit, repeats: int):
    """Best wall-clock and best CPU time (seconds) over ``repeats`` runs, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fit()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), result


def _ours(x: torch.Tensor, k: int, seed: int, device: str):
    samples = x.to(device)

    def fit():
        out = fit_gmm(samples, k, n_init=1, max_iter=MAX_ITER, tol=TOL, reg_covar=REG_COVAR, generator=seed)
        if device == "cuda":
            torch.cuda.synchronize()
        return out

    return fit


def _sklearn(x: np.ndarray, k: int, seed: int):
    def fit():
        model = SklearnGaussianMixture(k, covariance_type="full", n_init=1, max_iter=MAX_ITER, tol=TOL,
                                       reg_covar=REG_COVAR, random_state=seed)
        return model.fit(x)

    return fit


def run(sizes, dims, components, repeats: int, device: str, seed: int = 0) -> list[dict]:
    rows = []
    for n in sizes:
        for m in dims:
            for k in components:
                prior = random_gmm(m, k, generator=seed)
                x = prior.sample(n, generator=seed + 1)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", (ConvergenceWarning, SklearnConvergenceWarning))
                    ours_s, ours_cpu, ours = _best_time(_ours(x, k, seed, device), repeats)
                    sk_s, sk_cpu, sk = _best_time(_sklearn(x.numpy(), k, seed), repeats)
                rows.append({
                    "N": n, "m": m, "K": k, "ours_s": ours_s, "sklearn_s": sk_s, "ratio": sk_s / ours_s,
                    "cpu_ratio": sk_cpu / ours_cpu,
                    "loglik_ours": ours.log_likelihood, "loglik_sklearn": float(sk.score(x.numpy())),
                    "iter_ours": ours.n_iter, "iter_sklearn": int(sk.n_iter_),
                })
                print(_format(rows[-1]), flush=True)
    return rows


HEADER = (f"{'N':>7} {'m':>2} {'K':>3} {'ours s':>8} {'sklearn s':>9} {'ratio':>6} {'loglik ours':>12} "
          f"{'loglik sklearn':>14} {'iters':>9} {'cpu ratio':>9}")


def _format(row: dict) -> str:
    return (f"{row['N']:>7} {row['m']:>2} {row['K']:>3} {row['ours_s']:>8.3f} {row['sklearn_s']:>9.3f} "
            f"{row['ratio']:>6.2f} {row['loglik_ours']:>12.5f} {row['loglik_sklearn']:>14.5f} "
            f"{row['iter_ours']:>4}/{row['iter_sklearn']:<4} {row['cpu_ratio']:>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1e4 only")
    parser.add_argument("--repeats", type=int, default=3, help="timing runs per cell; the best counts")
    parser.add_argument("--device", default="cpu", help="device for our fit (scikit-learn runs on the CPU)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="CPU threads for both libraries")
    args = parser.parse_args()
    sizes = (10_000,) if args.quick else (10_000, 100_000)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} CPU thread(s) each; tol={TOL}, n_init=1, device={args.device}")
    print(HEADER)
    with threadpool_limits(args.threads):
        rows = run(sizes, (2, 8), (3, 10), args.repeats, args.device, args.seed)
    ratios = np.array([r["ratio"] for r in rows])
    gaps = np.array([r["loglik_ours"] - r["loglik_sklearn"] for r in rows])
    print(f"geometric mean ratio sklearn/ours: {np.exp(np.log(ratios).mean()):.2f}; "
          f"loglik ours - sklearn: min {gaps.min():+.2e}, max {gaps.max():+.2e}")


if __name__ == "__main__":
    main()
