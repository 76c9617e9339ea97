"""A VaDE-style variational autoencoder fitted by the ELBO: the models the theory is about, with noise.

The model (``docs/theory.md``, §1 and T5): a latent label c ~ Categorical(π), z | c ~ N(μ_c, Σ_c)
(weights, means and full or diagonal covariances all learned), and x = f(z) + ε, ε ~ N(0, σ² I),
with f a leaky-ReLU network R^m -> R^n (n >= m) and σ learned or fixed. The approximate
posterior is q(z | x) = N(μ̃(x), diag σ̃²(x)), a leaky-ReLU encoder, and, as in VaDE (Jiang et al.,
IJCAI 2017), q(c | x) is the prior's responsibility of the encoder mean, γ_c = P(c | μ̃(x)). The
ELBO per sample is then

    E_q[log p(x | z)]                                        (one reparametrised draw)
  + log p_prior(μ̃) − ½ Σ_c γ_c tr(Σ_c⁻¹ diag σ̃²)           (= Σ_c γ_c (E_q[log π_c p(z | c)] − log γ_c))
  + ½ Σ_d (log 2π + 1 + log σ̃_d²)                           (the entropy of q(z | x)),

every Gaussian term in closed form; the mixture density is ``models.gaussian_mixture``'s one.

Each restart pretrains the encoder mean and the decoder as an autoencoder (by default one whose
codes are the data's principal components), fits the prior to the codes by EM
(``verify.mixtures.fit_gmm``), then maximises the ELBO by Adam on minibatches, a learned σ held
above a floor that falls during the first steps (``NOISE_START``).
The restart of highest estimated log-likelihood (an importance-weighted bound with q(z | x) as
proposal, ``importance_log_likelihood``) is the fit the theory speaks about; ``FittedVAE``
keeps every restart, so the spread over restarts is reported too. A seed fixes everything (one
CPU thread; the result is then the same on every run).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from models import GaussianMixture, GenerativeModel, LeakyReLUNetwork
from models.gaussian_mixture import LOG_2PI, component_log_probs, mixture_log_prob
from models.validation import DTYPE, check_generator, check_instance, check_int, check_real, check_tensor

from ..mixtures import fit_gmm
from .flow import _one_thread

COVARIANCES = ("full", "diagonal")
INITS = ("pca", "autoencoder")
# Adam's step size decays along a cosine from the given one to FINAL_LR_FRACTION of it.
FINAL_LR_FRACTION = 0.05
# q(z | x) starts with variances this fraction of the codes' variance.
INITIAL_POSTERIOR_FRACTION = 1e-2
# EM's reg_covar for the first prior, as a fraction of the codes' mean variance.
PRIOR_REG = 1e-4
# A learned σ is held above a floor that falls geometrically from NOISE_START (whitened data
# units, where the data's RMS is 1) to exp(MIN_LOG_NOISE) over the first NOISE_ANNEAL of the
# steps, so that the prior's terms weigh in the ELBO before the reconstruction's 1/σ² dominates
# it. On the "assumptions" truths at m = 2 (four seeds) this left likelihood gaps of 0.5–0.6 nats
# per sample against 1.3–2.2 without a floor (0.6–0.75 starting from 0.1), at about the same affine R².
NOISE_START = 0.5
NOISE_ANNEAL = 0.6
MIN_LOG_NOISE = math.log(1e-4)
# The ELBO is recorded every HISTORY_EVERY steps.
HISTORY_EVERY = 50
# The log-likelihood that ranks restarts: importance samples per point, points at most.
RANK_SAMPLES, RANK_POINTS = 16, 2000


@dataclass(frozen=True)
class VAERestart:
    """One restart of ``fit_vade``.

    Attributes
    ----------
    seed : int
        The seed of this restart's generator.
    model : GenerativeModel
        The fitted model in the data's units: decoder f (a ``LeakyReLUNetwork``), prior
        (a ``GaussianMixture``) and noise scale σ.
    encoder : LeakyReLUNetwork
        x -> (μ̃(x), log σ̃²(x)), 2m outputs, the data's standardisation folded in.
    elbo : float
        Mean ELBO per sample on the training data at the end (one fixed draw).
    log_likelihood : float
        Mean importance-weighted log-likelihood per sample (``importance_log_likelihood``,
        ``RANK_SAMPLES`` draws, at most ``RANK_POINTS`` training points): a lower bound in
        expectation, tighter than the ELBO.
    history : tuple of float
        The minibatch ELBO every ``HISTORY_EVERY`` steps of the ELBO phase.
    """

    seed: int
    model: GenerativeModel
    encoder: LeakyReLUNetwork
    elbo: float
    log_likelihood: float
    history: tuple = ()

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    def posterior(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ̃(x), log σ̃²(x)), each (N, m): the Gaussian q(z | x)."""
        out = self.encoder(_samples(x, self.model.observed_dim))
        m = self.latent_dim
        return out[:, :m], out[:, m:]

    def latents(self, x) -> torch.Tensor:
        """μ̃(x), the fitted latents of points x (N, m)."""
        return self.posterior(x)[0]


@dataclass(frozen=True)
class FittedVAE:
    """The restarts of ``fit_vade`` and the best of them (highest ``log_likelihood``).

    ``model``, ``encoder``, ``elbo``, ``log_likelihood``, ``history``, ``latents`` and
    ``posterior`` are the best restart's; ``spread`` summarises all of them.
    """

    restarts: tuple
    best_index: int
    options: dict = field(default_factory=dict)

    @property
    def best(self) -> VAERestart:
        return self.restarts[self.best_index]

    @property
    def model(self) -> GenerativeModel:
        return self.best.model

    @property
    def encoder(self) -> LeakyReLUNetwork:
        return self.best.encoder

    @property
    def elbo(self) -> float:
        return self.best.elbo

    @property
    def log_likelihood(self) -> float:
        return self.best.log_likelihood

    @property
    def history(self) -> tuple:
        return self.best.history

    def latents(self, x) -> torch.Tensor:
        return self.best.latents(x)

    def posterior(self, x):
        return self.best.posterior(x)

    def spread(self) -> dict:
        """Over restarts: the log-likelihoods and ELBOs, each restart's seed, and the best's index."""
        lls = [r.log_likelihood for r in self.restarts]
        return {"best_index": self.best_index, "seeds": [r.seed for r in self.restarts], "log_likelihood": lls,
                "elbo": [r.elbo for r in self.restarts], "log_likelihood_range": max(lls) - min(lls)}


def fit_vade(x, latent_dim: int, n_components: int, *, hidden=(32, 32), negative_slope: float = 0.2,
             covariance: str = "full", noise: float | None = None, restarts: int = 3, steps: int = 2000,
             pretrain_steps: int | None = None, batch_size: int = 512, learning_rate: float = 5e-3,
             init="pca", seed: int = 0) -> FittedVAE:
    """Fit a VaDE-style VAE (Gaussian-mixture prior, leaky-ReLU decoder, Gaussian noise) by the ELBO.

    Parameters
    ----------
    x : array_like, shape (N, n)
        Observations, n >= ``latent_dim``; N >= 10 (m + 1) and >= ``n_components``.
    latent_dim : int
        m.
    n_components : int
        J of the prior.
    hidden : sequence of int
        Hidden widths of the encoder; the decoder has them reversed (m -> ... -> n).
    negative_slope : float
        The leaky ReLUs' slope, in (0, 1] (> 0 keeps a decoder with non-decreasing widths
        injective when its layers have full rank).
    covariance : {"full", "diagonal"}
        The prior's covariances.
    noise : float, optional
        σ in the data's units, fixed; by default it is learned.
    restarts : int
        Independent fits; the best by ``log_likelihood`` is ``FittedVAE.best``.
    steps : int
        Adam steps of the ELBO phase (minibatches of ``batch_size``).
    pretrain_steps : int, optional
        Autoencoder steps before the prior is fitted; default ``steps // 3``.
    batch_size : int
        Rows per minibatch (all rows when N is smaller).
    learning_rate : float
        Adam's initial step size (cosine decay to ``FINAL_LR_FRACTION`` of it).
    init : {"pca", "autoencoder"} or array_like of shape (N, m)
        What the pretraining aims at: the encoder regresses the first m principal components of
        x and the decoder maps them back ("pca", an affine chart of the data); a plain
        autoencoder ("autoencoder", a chart of the networks' choosing); or given codes, row
        for row (to start from known latents, e.g. the true ones as a diagnostic).
    seed : int
        Seeds a ``torch.Generator`` that draws every restart's seed.

    Returns
    -------
    FittedVAE

    Raises
    ------
    ValueError
        Naming the argument.
    """
    latent_dim = check_int(latent_dim, "latent_dim")
    data = _samples(x, None, name="x")
    n_rows, n_obs = data.shape
    if n_obs < latent_dim:
        raise ValueError(f"x: the decoder maps R^{latent_dim} into R^n with n >= m, got n = {n_obs}")
    if n_rows < 10 * (latent_dim + 1):
        raise ValueError(f"x: expected at least {10 * (latent_dim + 1)} samples, got {n_rows}")
    n_components = check_int(n_components, "n_components", maximum=n_rows)
    widths = _hidden(hidden)
    slope = check_real(negative_slope, "negative_slope", low=0.0, high=1.0, low_open=True)
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance: expected one of {', '.join(COVARIANCES)}, got {covariance!r}")
    if noise is not None:
        noise = check_real(noise, "noise", low=0.0, low_open=True)
    restarts = check_int(restarts, "restarts", maximum=1000)
    steps = check_int(steps, "steps")
    pretrain_steps = steps // 3 if pretrain_steps is None else check_int(pretrain_steps, "pretrain_steps", minimum=0)
    batch_size = check_int(batch_size, "batch_size", minimum=2)
    learning_rate = check_real(learning_rate, "learning_rate", low=0.0, high=1.0, low_open=True, high_open=True)
    seed = check_int(seed, "seed", minimum=0, maximum=2**62)
    shift = data.mean(0)
    scale = float((data - shift).square().mean().sqrt())
    if not scale > 0:
        raise ValueError("x: the samples are all equal")
    u = (data - shift) / scale
    codes, init_name = _initial_codes(init, u, latent_dim)
    options = {"latent_dim": latent_dim, "n_components": n_components, "hidden": widths, "negative_slope": slope,
               "covariance": covariance, "noise": noise, "restarts": restarts, "steps": steps,
               "pretrain_steps": pretrain_steps, "batch_size": batch_size, "learning_rate": learning_rate,
               "init": init_name, "seed": seed}
    master = torch.Generator().manual_seed(seed)
    seeds = [int(s) for s in torch.randint(0, 2**62, (restarts,), generator=master)]
    fits = []
    with _one_thread():
        for restart_seed in seeds:
            vae = _VAE.initial(u, latent_dim, n_components, widths, slope, covariance,
                               None if noise is None else noise / scale, torch.Generator().manual_seed(restart_seed))
            vae.pretrain(u, codes, pretrain_steps, batch_size, learning_rate)
            vae.fit_prior(u)
            history = vae.train(u, steps, batch_size, learning_rate)
            fits.append(vae.export(u, shift, scale, restart_seed, history))
    best = max(range(len(fits)), key=lambda i: fits[i].log_likelihood)
    return FittedVAE(tuple(fits), best, options)


def _initial_codes(init, u: torch.Tensor, m: int):
    """The pretraining targets (whitened, N × m) and the name of the choice."""
    if isinstance(init, str):
        if init not in INITS:
            raise ValueError(f"init: expected one of {', '.join(INITS)} or latents of shape (N, {m}), got {init!r}")
        if init == "autoencoder":
            return None, init
        _, values, vectors = torch.linalg.svd(u - u.mean(0), full_matrices=False)
        codes = (u - u.mean(0)) @ vectors[:m].T
    else:
        codes = check_tensor(init, "init", dtype=DTYPE, device=torch.device("cpu"), shape=(u.shape[0], m))
        init = "given codes"
    spread = codes.std(0)
    if not bool((spread > 0).all()):
        raise ValueError("init: the initial codes have a constant coordinate")
    return (codes - codes.mean(0)) / spread, init


def importance_log_likelihood(model: GenerativeModel, encoder: LeakyReLUNetwork, x, *, samples: int = 64,
                              generator=None) -> torch.Tensor:
    """Importance-weighted estimates of log p(x) per row under a model with a Gaussian q(z | x).

    log (1/K) Σ_k p(z_k) N(x; f(z_k), σ² I) / q(z_k | x), z_k ~ q(z | x) = N(μ̃, diag σ̃²) from
    ``encoder`` (2m outputs: means, then log-variances). In expectation a lower bound on
    log p(x), tighter as K grows (Burda et al., 2016; K = 1 is the ELBO with a sampled KL).

    Parameters
    ----------
    model : GenerativeModel
        With ``noise_scale`` > 0.
    encoder : LeakyReLUNetwork
        n -> 2m.
    x : array_like, shape (N, n)
    samples : int
        K.
    generator : torch.Generator or int, optional
    """
    check_instance(model, GenerativeModel, "model")
    check_instance(encoder, LeakyReLUNetwork, "encoder")
    if not model.noise_scale > 0:
        raise ValueError("model: importance sampling needs observation noise (noise_scale > 0)")
    m = model.latent_dim
    if encoder.in_dim != model.observed_dim or encoder.out_dim != 2 * m:
        raise ValueError(f"encoder: expected {model.observed_dim} -> {2 * m}, got {encoder.in_dim} -> {encoder.out_dim}")
    data = _samples(x, model.observed_dim)
    samples = check_int(samples, "samples")
    gen = check_generator(generator)
    prior = model.prior
    out = encoder(data)
    mean, log_var = out[:, :m], out[:, m:]
    std = (0.5 * log_var).exp()
    eps = torch.randn(samples, *mean.shape, generator=gen, dtype=DTYPE)
    z = mean + std * eps  # (K, N, m)
    flat = z.reshape(-1, m)
    log_q = (-0.5 * (eps.square() + log_var + LOG_2PI)).sum(-1)
    log_prior = mixture_log_prob(flat, prior.weights.log(), prior.means, prior.scale_tril).reshape(samples, -1)
    sigma = model.noise_scale
    residual = (data - model.decoder(flat).reshape(samples, *data.shape)).square().sum(-1)
    log_lik = -0.5 * residual / sigma**2 - data.shape[1] * (math.log(sigma) + 0.5 * LOG_2PI)
    return torch.logsumexp(log_prior + log_lik - log_q, dim=0) - math.log(samples)


# ---------------------------------------------------------------------------- internals
def _samples(x, dim: int | None, name: str = "x") -> torch.Tensor:
    data = check_tensor(x.detach() if isinstance(x, torch.Tensor) else x, name, dtype=DTYPE, device=torch.device("cpu"), ndim=2)
    if dim is not None and data.shape[1] != dim:
        raise ValueError(f"{name}: expected points of dimension {dim} (shape (N, {dim})), got shape {tuple(data.shape)}")
    return data


def _hidden(hidden) -> tuple[int, ...]:
    if isinstance(hidden, (str, bytes, int)) or not hasattr(hidden, "__iter__"):
        raise ValueError(f"hidden: expected a sequence of widths, got {hidden!r}")
    return tuple(check_int(w, "hidden", maximum=4096) for w in hidden)


def _linear_init(fan_in: int, fan_out: int, slope: float, gen) -> tuple[torch.Tensor, torch.Tensor]:
    """He-normal weights for leaky ReLUs, biases uniform within ±1/sqrt(fan_in) (torch's default range)."""
    gain = math.sqrt(2.0 / (1.0 + slope**2))
    weight = torch.randn(fan_out, fan_in, generator=gen, dtype=DTYPE) * (gain / math.sqrt(fan_in))
    bias = (2 * torch.rand(fan_out, generator=gen, dtype=DTYPE) - 1) / math.sqrt(fan_in)
    return weight, bias


def _mlp(h, weights, biases, slope: float):
    for w, b in zip(weights[:-1], biases[:-1]):
        h = torch.nn.functional.leaky_relu(h @ w.T + b, slope)
    return h @ weights[-1].T + biases[-1]


def _cosine(step: int, steps: int) -> float:
    return FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * step / max(steps, 1)))


class _VAE:
    """The parameters of one restart, in whitened data units (u = (x − shift) / scale)."""

    def __init__(self, enc_w, enc_b, dec_w, dec_b, slope, covariance, n_components, fixed_log_noise, gen):
        self.enc_w, self.enc_b, self.dec_w, self.dec_b = enc_w, enc_b, dec_w, dec_b
        self.slope, self.covariance, self.gen = slope, covariance, gen
        m = dec_w[0].shape[1]
        self.m = m
        self.logits = torch.zeros(n_components, dtype=DTYPE)
        self.means = torch.zeros(n_components, m, dtype=DTYPE)
        self.log_diag = torch.zeros(n_components, m, dtype=DTYPE)
        self.lower = torch.zeros(n_components, m, m, dtype=DTYPE)
        self.log_noise = torch.tensor(0.0 if fixed_log_noise is None else fixed_log_noise, dtype=DTYPE)
        self.learn_noise = fixed_log_noise is None
        self.floor = MIN_LOG_NOISE

    @classmethod
    def initial(cls, u, m, n_components, widths, slope, covariance, fixed_noise, gen) -> "_VAE":
        n = u.shape[1]
        enc_sizes = (n, *widths, 2 * m)
        dec_sizes = (m, *reversed(widths), n)
        enc = [_linear_init(a, b, slope, gen) for a, b in zip(enc_sizes, enc_sizes[1:])]
        dec = [_linear_init(a, b, slope, gen) for a, b in zip(dec_sizes, dec_sizes[1:])]
        fixed = None if fixed_noise is None else math.log(fixed_noise)
        return cls([w for w, _ in enc], [b for _, b in enc], [w for w, _ in dec], [b for _, b in dec], slope, covariance,
                   n_components, fixed, gen)

    # -------------------------------------------------------------- parameters
    def network_parameters(self) -> list[torch.Tensor]:
        return [*self.enc_w, *self.enc_b, *self.dec_w, *self.dec_b]

    def prior_parameters(self) -> list[torch.Tensor]:
        params = [self.logits, self.means, self.log_diag]
        return params + ([self.lower] if self.covariance == "full" else [])

    def parameters(self) -> list[torch.Tensor]:
        return self.network_parameters() + self.prior_parameters() + ([self.log_noise] if self.learn_noise else [])

    def scale_tril(self) -> torch.Tensor:
        diag = torch.diag_embed(self.log_diag.exp())
        return diag + torch.tril(self.lower, -1) if self.covariance == "full" else diag

    def noise_log(self) -> torch.Tensor:
        """log σ, held above the current floor when σ is learned."""
        return self.log_noise.clamp_min(self.floor) if self.learn_noise else self.log_noise

    # -------------------------------------------------------------- the objective
    def encode(self, u):
        out = _mlp(u, self.enc_w, self.enc_b, self.slope)
        return out[:, : self.m], out[:, self.m:]

    def decode(self, z):
        return _mlp(z, self.dec_w, self.dec_b, self.slope)

    def elbo(self, u, eps) -> torch.Tensor:
        """The ELBO of every row of u (see the module's docstring), with the draws ``eps``."""
        mean, log_var = self.encode(u)
        var = log_var.exp()
        z = mean + var.sqrt() * eps
        log_sigma = self.noise_log()
        n = u.shape[1]
        reconstruction = (-0.5 * (u - self.decode(z)).square().sum(1) * torch.exp(-2 * log_sigma)
                          - n * (log_sigma + 0.5 * LOG_2PI))
        tril = self.scale_tril()
        log_components = component_log_probs(mean, torch.log_softmax(self.logits, 0), self.means, tril)  # (B, J)
        responsibilities = torch.softmax(log_components, 1)
        # tr(Σ_c⁻¹ diag σ̃²) = Σ_d σ̃_d² (Σ_c⁻¹)_dd.
        precision_diag = torch.diagonal(torch.cholesky_inverse(tril), dim1=-2, dim2=-1)  # (J, m)
        trace = var @ precision_diag.T  # (B, J)
        prior_term = torch.logsumexp(log_components, 1) - 0.5 * (responsibilities * trace).sum(1)
        entropy = 0.5 * (log_var + 1 + LOG_2PI).sum(1)
        return reconstruction + prior_term + entropy

    # -------------------------------------------------------------- the phases
    def _batches(self, n_rows: int, batch_size: int, steps: int):
        """Row indices of ``steps`` minibatches: shuffled epochs, drawn from the restart's generator."""
        size = min(batch_size, n_rows)
        order, position = torch.randperm(n_rows, generator=self.gen), 0
        for _ in range(steps):
            if position + size > n_rows:
                order, position = torch.randperm(n_rows, generator=self.gen), 0
            yield order[position: position + size]
            position += size

    def pretrain(self, u, codes, steps: int, batch_size: int, learning_rate: float) -> None:
        """The encoder mean and the decoder as an autoencoder (squared errors): with ``codes`` (N, m),
        the encoder regresses them and the decoder maps them back to u; with None, a plain autoencoder."""
        if steps == 0:
            return
        params = self.network_parameters()
        for p in params:
            p.requires_grad_()
        optimiser = torch.optim.Adam(params, lr=learning_rate, fused=True)
        for step, rows in enumerate(self._batches(u.shape[0], batch_size, steps)):
            for group in optimiser.param_groups:
                group["lr"] = learning_rate * _cosine(step, steps)
            batch = u[rows]
            optimiser.zero_grad()
            mean, _ = self.encode(batch)
            if codes is None:
                loss = (batch - self.decode(mean)).square().sum(1).mean()
            else:
                target = codes[rows]
                loss = (batch - self.decode(target)).square().sum(1).mean() + (mean - target).square().sum(1).mean()
            loss.backward()
            optimiser.step()
        for p in params:
            p.requires_grad_(False)

    def fit_prior(self, u) -> None:
        """The prior by EM on the codes (``fit_gmm``); q(z | x) narrow; σ from the reconstruction error."""
        with torch.no_grad():
            codes, _ = self.encode(u)
            spread = codes.std(0)
            fit = fit_gmm(codes, self.logits.shape[0], n_init=2, reg_covar=PRIOR_REG * float(spread.square().mean()),
                          generator=int(torch.randint(0, 2**62, (), generator=self.gen)))
            mixture = fit.mixture
            chol = mixture.scale_tril
            if self.covariance == "diagonal":
                chol = torch.diag_embed(torch.diagonal(mixture.covariances, dim1=-2, dim2=-1).sqrt())
            self.logits.copy_(mixture.weights.log())
            self.means.copy_(mixture.means)
            self.log_diag.copy_(torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)))
            self.lower.copy_(torch.tril(chol, -1))
            # The log-variance head: zero weights, a bias giving variances a small fraction of the codes'.
            self.enc_w[-1][self.m:] = 0.0
            self.enc_b[-1][self.m:] = torch.log(INITIAL_POSTERIOR_FRACTION * spread.square())
            if self.learn_noise:
                rms = (u - self.decode(codes)).square().mean().sqrt()
                self.log_noise.fill_(float(torch.log(rms.clamp_min(math.exp(MIN_LOG_NOISE)))))

    def train(self, u, steps: int, batch_size: int, learning_rate: float) -> list[float]:
        """Adam on the ELBO, every parameter at once; returns the ELBO every ``HISTORY_EVERY`` steps."""
        params = self.parameters()
        for p in params:
            p.requires_grad_()
        optimiser = torch.optim.Adam(params, lr=learning_rate, fused=True)
        history = []
        for step, rows in enumerate(self._batches(u.shape[0], batch_size, steps)):
            for group in optimiser.param_groups:
                group["lr"] = learning_rate * _cosine(step, steps)
            batch = u[rows]
            # σ is held above a floor that falls geometrically from NOISE_START to MIN_LOG_NOISE.
            progress = min(step / max(NOISE_ANNEAL * steps, 1.0), 1.0)
            self.floor = math.log(NOISE_START) + progress * (MIN_LOG_NOISE - math.log(NOISE_START))
            eps = torch.randn(batch.shape[0], self.m, generator=self.gen, dtype=DTYPE)
            optimiser.zero_grad()
            loss = -self.elbo(batch, eps).mean()
            loss.backward()
            optimiser.step()
            if step % HISTORY_EVERY == 0:
                history.append(-float(loss.detach()))
        for p in params:
            p.requires_grad_(False)
        self.floor = MIN_LOG_NOISE
        return history

    # -------------------------------------------------------------- the result
    def export(self, u, shift, scale, seed, history) -> VAERestart:
        """The restart in the data's units: x = shift + scale · u, folded into the first encoder
        layer and the last decoder layer; log-densities shift by −n log(scale)."""
        n = u.shape[1]
        with torch.no_grad():
            enc_w = [w.clone() for w in self.enc_w]
            enc_b = [b.clone() for b in self.enc_b]
            enc_b[0] = enc_b[0] - enc_w[0] @ shift / scale
            enc_w[0] = enc_w[0] / scale
            dec_w = [w.clone() for w in self.dec_w]
            dec_b = [b.clone() for b in self.dec_b]
            dec_w[-1] = dec_w[-1] * scale
            dec_b[-1] = dec_b[-1] * scale + shift
            encoder = LeakyReLUNetwork(enc_w, enc_b, self.slope)
            decoder = LeakyReLUNetwork(dec_w, dec_b, self.slope)
            tril = self.scale_tril()
            covariances = tril @ tril.transpose(1, 2)
            prior = GaussianMixture(torch.softmax(self.logits, 0), self.means.clone(), 0.5 * (covariances + covariances.mT))
            model = GenerativeModel(decoder, prior, float(self.noise_log().exp()) * scale)
            evaluation = torch.Generator().manual_seed(seed ^ 0x5EED)
            eps = torch.randn(u.shape[0], self.m, generator=evaluation, dtype=DTYPE)
            elbo = float(self.elbo(u, eps).mean()) - n * math.log(scale)
            rows = torch.randperm(u.shape[0], generator=evaluation)[:RANK_POINTS]
            x = shift + scale * u[rows]
            log_likelihood = float(importance_log_likelihood(model, encoder, x, samples=RANK_SAMPLES, generator=evaluation).mean())
        return VAERestart(seed, model, encoder, elbo, log_likelihood, tuple(h - n * math.log(scale) for h in history))


__all__ = ["COVARIANCES", "INITS", "FittedVAE", "VAERestart", "fit_vade", "importance_log_likelihood"]
