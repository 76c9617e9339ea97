"""Decoder agreement on R^m from the pieces on the common cells, decided in rationals."""

import torch

from models import AffineMap, LeakyReLUNetwork
from verify.decoder_agreement import check_same_decoder

F64 = torch.float64


def _net(weights, biases, slope=0.1):
    return LeakyReLUNetwork([torch.tensor(w, dtype=F64) for w in weights], [torch.tensor(b, dtype=F64) for b in biases],
                            [slope] * (len(weights) - 1))


def _split(offset=0.0, share=0.5, bump=0.0):
    """f(z) = w · σ(W z + b) + offset, and g: the same map with its first unit doubled, the outgoing
    weight shared between the copies (``share``), plus ``bump`` on the second output."""
    W, b, w = [[1.0, 2.0], [-1.0, 0.5]], [0.5, -1.0], [[1.0, -2.0], [0.5, 1.0]]
    f = _net([W, w], [b, [offset, offset]])
    g_out = [[share * w[0][0], (1 - share) * w[0][0], w[0][1]], [share * w[1][0], (1 - share) * w[1][0] + bump, w[1][1]]]
    g = _net([[W[0], W[0], W[1]], g_out], [[b[0], b[0], b[1]], [offset, offset]])
    return f, g


def test_the_same_map_in_another_architecture_agrees_verified_on_the_space():
    f, g = _split()
    result = check_same_decoder(f, g, latent_scale=1.0)
    assert result.holds is True and result.verified and result.domain == "R^2"
    assert result.details["exact"] and result.details["piece_pairs"] >= 4
    assert result.statistic == 0.0  # the pieces are equal exactly


def test_a_planted_slope_difference_fails_with_a_witness_checked_exactly():
    f, g = _split(share=0.25, bump=1e-6)
    result = check_same_decoder(f, g, latent_scale=1.0)
    assert result.holds is False and result.verified
    z = result.witness[None]
    assert float((f(z) - g(z)).abs().max()) > 0


def test_an_output_offset_does_not_loosen_the_tolerance():
    # The maps differ by 1e-6 · σ(z1 + 2 z2 + 0.5) on the second output; an offset of 1e9 on both
    # outputs must not make that agreement (a relative error against ‖f(z)‖ would be 1e-15).
    for offset in (0.0, 1e9):
        f, g = _split(offset=offset, bump=1e-6)
        result = check_same_decoder(f, g, latent_scale=1.0, rtol=1e-8)
        assert result.holds is False and result.verified, (offset, result)


def test_a_translated_latent_space_keeps_the_verdict():
    f, g = _split()
    shift = torch.tensor([1e8, -1e8], dtype=F64)
    h = AffineMap(torch.eye(2, dtype=F64), -shift)  # the kinks move out to around 1e8
    result = check_same_decoder(f.precompose(h), g.precompose(h), latent_scale=1.0, centre=shift)
    assert result.holds is True and result.verified and result.domain == "R^2"
