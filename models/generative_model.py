"""The generative model x = f(z) + ε with z drawn from a Gaussian-mixture prior."""

from __future__ import annotations

from typing import Any

import torch

from .affine_map import AffineMap
from .gaussian_mixture import GaussianMixture
from .leaky_relu_network import LeakyReLUNetwork
from .validation import check_generator, check_int, check_points, check_real


class GenerativeModel:
    """z ~ P (a Gaussian mixture), x = f(z) + ε with ε ~ N(0, noise_scale² I).

    Parameters
    ----------
    decoder : LeakyReLUNetwork
        f: R^m -> R^n.
    prior : GaussianMixture
        P on R^m; its dimension must equal ``decoder.in_dim``.
    noise_scale : float
        σ >= 0; 0 gives the noise-free model x = f(z).
    """

    def __init__(self, decoder: LeakyReLUNetwork, prior: GaussianMixture, noise_scale: float = 0.0):
        if not isinstance(decoder, LeakyReLUNetwork):
            raise ValueError(f"decoder: expected a LeakyReLUNetwork, got {type(decoder).__name__}")
        if not isinstance(prior, GaussianMixture):
            raise ValueError(f"prior: expected a GaussianMixture, got {type(prior).__name__}")
        if prior.dim != decoder.in_dim:
            raise ValueError(f"prior: dimension {prior.dim} does not match the decoder's input dimension {decoder.in_dim}")
        if prior.device != decoder.device or prior.dtype != decoder.dtype:
            raise ValueError(
                f"prior: lives on {prior.device}/{prior.dtype} but the decoder on {decoder.device}/{decoder.dtype}; move one with .to()"
            )
        self._decoder = decoder
        self._prior = prior
        self._noise_scale = check_real(noise_scale, "noise_scale", low=0.0)

    @property
    def decoder(self) -> LeakyReLUNetwork:
        return self._decoder

    @property
    def prior(self) -> GaussianMixture:
        return self._prior

    @property
    def noise_scale(self) -> float:
        return self._noise_scale

    @property
    def latent_dim(self) -> int:
        return self._prior.dim

    @property
    def observed_dim(self) -> int:
        return self._decoder.out_dim

    def sample(self, n: int, generator: torch.Generator | int | None = None, return_labels: bool = False):
        """Draw (z, x), shapes (n, m) and (n, n_obs); and the component labels if asked."""
        check_int(n, "n", minimum=0)
        generator = check_generator(generator)
        z, labels = self._prior.sample(n, generator, return_labels=True)
        x = self._decoder(z)
        if self._noise_scale > 0:
            draw_device = generator.device if generator is not None else x.device
            noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=draw_device).to(x.device)
            x = x + self._noise_scale * noise
        return (z, x, labels) if return_labels else (z, x)

    def log_prob(self, x: Any) -> torch.Tensor:
        """Exact log density of x on the image, for noise-free layerwise-injective decoders.

        log p(x) = log P(f⁻¹(x)) − ½ log det(AᵀA), A the local matrix of f at f⁻¹(x)
        (the density with respect to the m-dimensional measure on the image);
        −inf for points off the image.

        Raises
        ------
        NotImplementedError
            When ``noise_scale > 0`` (the density is then a convolution with no closed form).
        NotInjectiveError
            When the decoder has no layerwise inverse.
        """
        if self._noise_scale > 0:
            raise NotImplementedError("log_prob: exact only for noise_scale = 0; the noisy density has no closed form")
        points, single = check_points(x, "x", self.observed_dim, dtype=self._decoder.dtype, device=self._decoder.device)
        z, on_image = self._decoder.inverse(points, return_on_image=True)
        result = torch.full((points.shape[0],), float("-inf"), dtype=points.dtype, device=points.device)
        if bool(on_image.any()):
            z_on = z[on_image]
            a, _ = self._decoder.local_affine(z_on)
            half_log_det = torch.log(torch.linalg.svdvals(a)).sum(dim=1)
            result[on_image] = self._prior.log_prob(z_on) - half_log_det
        return result[0] if single else result

    def reparametrize(self, h: AffineMap) -> "GenerativeModel":
        """The model (f ∘ h⁻¹, h#P): its law of x is the same as this model's."""
        if not isinstance(h, AffineMap):
            raise ValueError(f"h: expected an AffineMap, got {type(h).__name__}")
        if h.in_dim != self.latent_dim or h.out_dim != self.latent_dim:
            raise ValueError(f"h: expected a map of R^{self.latent_dim} to itself, got {h.out_dim}x{h.in_dim}")
        h = h.to(self._decoder.device, self._decoder.dtype)
        return GenerativeModel(self._decoder.precompose(h.inverse()), self._prior.affine(h), self._noise_scale)

    def to(self, device=None, dtype=None) -> "GenerativeModel":
        return GenerativeModel(self._decoder.to(device, dtype), self._prior.to(device, dtype), self._noise_scale)

    def __repr__(self) -> str:
        return f"GenerativeModel(decoder={self._decoder!r}, prior={self._prior!r}, noise_scale={self._noise_scale})"
