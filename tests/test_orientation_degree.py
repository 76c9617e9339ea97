"""Coherent orientation is necessary for injectivity of a square PA map, not sufficient:
the orientation method also counts the preimages of a regular value (the degree)."""

from __future__ import annotations

import torch

from models import LeakyReLUNetwork, random_network
from verify.injectivity import check_injective

F64 = torch.float64


def _doubling() -> LeakyReLUNetwork:
    """g(x, y) = (|x| − |y|, (|x + y| − |x − y|)/2): determinant +1 on all eight cones, and even."""
    units = torch.tensor([[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [-1, -1], [1, -1], [-1, 1]], dtype=F64)
    readout = torch.tensor([[1, 1, -1, -1, 0, 0, 0, 0], [0, 0, 0, 0, 0.5, 0.5, -0.5, -0.5]], dtype=F64)
    return LeakyReLUNetwork([units, readout], [torch.zeros(8, dtype=F64), torch.zeros(2, dtype=F64)], 0.0)


def test_coherent_map_of_degree_two_fails_with_a_verified_collision():
    net = _doubling()
    result = check_injective(net, method="orientation")
    assert result.holds is False
    assert result.details["preimages"] == 2
    z1, z2 = result.witness
    assert result.details["witness_verified"]
    assert float((net(z1) - net(z2)).norm()) <= 1e-9 and float((z1 - z2).norm()) > 1e-6


def test_coherent_map_of_degree_two_fails_on_a_box():
    assert check_injective(_doubling(), box=2.0, method="orientation").holds is False


def test_homeomorphism_is_certified_with_its_regular_value():
    net = random_network((2, 2, 2), 0.5, generator=3)
    result = check_injective(net, method="orientation")
    assert result.holds and result.verified and result.domain == "R^2"
    assert result.details["preimages"] == 1
    assert "degree one" in result.witness["criterion"] and result.witness["certificate"].startswith("exact")


def test_degree_one_without_an_exact_certificate_is_unknown(monkeypatch):
    # Planted failure of the exact step: the float count says one preimage, the certificate refuses.
    from verify.injectivity import _certificate
    monkeypatch.setattr(_certificate, "certify_unique_preimage",
                        lambda *args, **kwargs: _certificate.Certificate(False, reason="planted refusal"))
    result = check_injective(random_network((2, 2, 2), 0.5, generator=3), method="orientation")
    assert result.holds is None and not result.verified and "planted refusal" in result.details["reason"]


def test_an_exact_determinant_of_the_other_sign_refuses_the_certificate():
    import numpy as np

    from verify.injectivity import _certificate
    from verify.injectivity.tolerances import frame
    net = random_network((2, 2, 2), 0.5, generator=3)
    fr = frame(net, None)
    sign = int(np.sign(np.linalg.det(net.local_affine(torch.zeros(1, 2, dtype=F64))[0][0].numpy())))
    assert _certificate.certify_degree_one(fr, fr.to_unit(np.zeros(2)), sign).verified
    refused = _certificate.certify_degree_one(fr, fr.to_unit(np.zeros(2)), -sign)
    assert not refused.verified and "determinant" in refused.reason
