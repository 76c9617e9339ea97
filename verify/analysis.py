"""The verdicts about a user's decoder that ``check`` prints and ``report`` builds on.

Piecewise affine?  (By construction for a leaky-ReLU network, saying whether its activations
were read from the file or given by the caller; by a check with a witness, the second
difference along a segment, for a decoder with smooth activations or a final squashing.)
Injective?  Weakly injective?  How many linear regions in the box?
"""

from __future__ import annotations

import torch

from models import GaussianMixture, LeakyReLUNetwork
from models.deadline import TimeLimitExceeded
from models.io import LoadedDecoder, as_loaded_decoder
from models.regions import EXACT_MAX_DIM, region_count
from models.validation import DTYPE, MAX_DIM, check_generator, check_instance, check_int, check_points, check_real

from .check_result import CheckResult
from .counterexamples import check_piecewise_affine
from .injectivity import check_injective, check_weakly_injective, find_collision
from .prior_box import DEFAULT_BOX, PRIOR_MASS, default_box

__all__ = ["DEFAULT_BOX", "DEFAULT_TIME_LIMIT", "PRIOR_MASS", "analyse_decoder", "box_mass", "default_box", "exact_box", "linear_regions_result",
           "piecewise_affine_result", "sample_box", "with_outside_collision"]

PA_POINTS = 256
"""Points at which a decoder that is not a leaky-ReLU network is tested for curvature."""


DEFAULT_TIME_LIMIT = 60.0
"""Seconds each exact check of ``python -m verify check`` may take before it answers unknown."""


def box_mass(prior: GaussianMixture, box: float, *, n: int = 20000, generator=0) -> float:
    """The fraction of ``n`` prior samples inside [−box, box]^m (a Monte Carlo estimate of the prior mass it holds)."""
    check_instance(prior, GaussianMixture, "prior")
    box = _half_width(box)
    z = prior.to("cpu", DTYPE).sample(check_int(n, "n"), check_generator(generator))
    return float((z.abs() <= box).all(dim=1).double().mean())


def exact_box(decoder: LeakyReLUNetwork, box: float):
    """The box the exact checks run on: the box itself, for every m (the methods above
    ``EXACT_MAX_DIM`` work on a box without enumerating regions)."""
    check_instance(decoder, LeakyReLUNetwork, "decoder")
    return _half_width(box)


def _half_width(box) -> float:
    return check_real(box, "box", low=0.0, low_open=True)


def sample_box(prior: GaussianMixture | None, box: float, dim: int, n: int, generator=0) -> torch.Tensor:
    """Latent points where the decoder matters: prior samples, or uniform points of the box without a prior."""
    gen = check_generator(generator)
    box, dim, n = _half_width(box), check_int(dim, "dim", maximum=MAX_DIM), check_int(n, "n")
    if prior is not None:
        check_instance(prior, GaussianMixture, "prior")
        return prior.to("cpu", DTYPE).sample(n, gen)
    return (2 * torch.rand(n, dim, generator=gen, dtype=DTYPE) - 1) * box


def piecewise_affine_result(loaded: LoadedDecoder, points: torch.Tensor) -> CheckResult:
    """Is the decoder piecewise affine?  By construction for a leaky-ReLU network (saying where its
    activations came from); otherwise ``check_piecewise_affine`` at ``points``, whose witness is the
    second difference along a segment."""
    check_instance(loaded, LoadedDecoder, "loaded")
    points = check_points(points, "points", loaded.in_dim)[0]
    domain = f"R^{loaded.in_dim}"
    if loaded.kind == "piecewise_affine":
        net = loaded.decoder
        if loaded.activations_given:
            how = (f"by construction of the given activations, not read from the file: affine layers and leaky ReLUs, widths "
                   f"{net.widths}")
        else:
            how = f"by construction: affine layers and leaky ReLUs, widths {net.widths}, activations {loaded.activations}"
        return CheckResult("piecewise_affine", True, domain=domain, method=how,
                           details={"activations": loaded.activations, "kind": loaded.kind})
    # Steps from 0.5 down to 0.004 only: curvature shows at every scale, while a point within 0.004 of a kink of the
    # network part is rare; the smallest steps would hide the small curvature of a saturated final squashing.
    result = check_piecewise_affine(lambda z: loaded.decoder(z), points, h_max=0.5, n_scales=8)
    if loaded.kind == "squashed":
        part = (f"the network before the final {loaded.decoder.label} is piecewise affine (widths {loaded.decoder.network.widths}); "
                f"the {loaded.decoder.label} is a strictly increasing bijection onto its range, so injectivity is that of the "
                "network, and the results apply to the observations mapped back through it")
    else:
        part = f"smooth activations between the layers: {', '.join(loaded.decoder.activations)}"
    return result.with_details(kind=loaded.kind, structure=part, activations=loaded.activations)


def linear_regions_result(network: LeakyReLUNetwork, box: float, *, time_limit: float | None = None) -> CheckResult:
    check_instance(network, LeakyReLUNetwork, "network")
    box = _half_width(box)
    domain = f"box [-{box:g}, {box:g}]^{network.in_dim}"
    try:
        regions, exact = region_count(network, box, time_limit=time_limit)
    except TimeLimitExceeded as stop:
        return CheckResult("linear_regions", None, domain=domain, method=f"stopped: {stop}")
    return count_result(regions, exact, domain)


def count_result(regions: int, exact: bool, domain: str) -> CheckResult:
    """The region count as a result: exact, or unknown with the number found."""
    if exact:
        return CheckResult("linear_regions", True, float(regions), domain=domain, verified=True,
                           method=f"exact enumeration: {regions} regions meet the box")
    return CheckResult("linear_regions", None, float(regions), domain=domain,
                       method=f"{regions} regions found, not exact: a hyperplane passes within 1e-13 of the box's scale of a "
                              "vertex without passing through it, and slivers that thin are not resolved")


def analyse_decoder(decoder, prior: GaussianMixture | None = None, *, box: float | None = None,
                    time_limit: float | None = DEFAULT_TIME_LIMIT) -> list[CheckResult]:
    """Piecewise affine?  Injective?  Weakly injective?  How many linear regions in the box?

    Each exact check stops after ``time_limit`` seconds with an unknown verdict that says where.

    ``decoder`` is a ``LoadedDecoder`` (or anything ``models.io.as_loaded_decoder`` reads). For a
    decoder with a final squashing the injectivity checks speak of the network before it;
    for a smooth decoder they are not run (the exact methods need a piecewise-affine map).
    """
    loaded = as_loaded_decoder(decoder)
    if prior is not None:
        check_instance(prior, GaussianMixture, "prior")
    box = default_box(prior) if box is None else check_real(box, "box", low=0.0, low_open=True)
    results = [piecewise_affine_result(loaded, sample_box(prior, box, loaded.in_dim, PA_POINTS))]
    network = loaded.network
    if network is None:
        reason = "not decided: the exact methods need a piecewise-affine decoder"
        return results + [CheckResult("injective", None, method=reason), CheckResult("weakly_injective", None, method=reason)]
    where = exact_box(network, box)
    injective = with_outside_collision(check_injective(network, box=where, time_limit=time_limit), network, box)
    results.append(injective)
    results.append(check_weakly_injective(network, box=where, time_limit=time_limit))
    counted = injective.details.get("regions")
    if isinstance(counted, int) and injective.details.get("decided_by") == "injective/regions":
        # The exact injectivity check enumerated the regions of the same box: no second enumeration.
        results.append(CheckResult("linear_regions", True, float(counted), domain=injective.domain,
                                   method=f"exact enumeration: {counted} regions meet the box"))
    elif network.in_dim <= EXACT_MAX_DIM:
        results.append(linear_regions_result(network, box, time_limit=time_limit))
    return results


def with_outside_collision(result: CheckResult, network: LeakyReLUNetwork, box: float) -> CheckResult:
    """The verdict on the box, with a collision outside it (a search on R^m) reported as such: it is
    not a "no" on the box, and says where it lies."""
    if result.holds is False:
        return result
    found = find_collision(network, box=None)
    if found.holds is not False or not found.verified:
        return result
    witness = found.witness
    z1, z2 = (witness["z1"], witness["z2"]) if isinstance(witness, dict) else witness[:2]
    reach = float(torch.maximum(z1.abs().max(), z2.abs().max()))
    if reach <= box:
        return result
    note = f"; outside the box, a collision at |z|∞ = {reach:.3g} (f(z1) = f(z2), verified in rationals)"
    return result.replace(method=(result.method or "") + note).with_details(outside_collision={"z1": z1, "z2": z2, "reach": reach})
