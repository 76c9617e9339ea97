"""CheckResult: a three-valued verdict, the direction of its statistic, read-only details, witnesses as data."""

from __future__ import annotations

import json
import math

import pytest
import torch

from models import AffineMap, random_gmm, random_network
from verify import CheckResult, UnknownVerdictError, check_injective
from verify.check_result import as_data


def test_three_verdicts_and_bool():
    assert CheckResult("c", True).verdict == "holds" and bool(CheckResult("c", True))
    assert CheckResult("c", False).verdict == "fails" and not bool(CheckResult("c", False))
    unknown = CheckResult("c", None)
    assert unknown.verdict == "unknown" and not unknown.decided
    with pytest.raises(UnknownVerdictError, match="unknown"):
        bool(unknown)
    with pytest.raises(ValueError, match="^holds"):
        CheckResult("c", "yes")
    with pytest.raises(ValueError, match="^passes_when"):
        CheckResult("c", True, 1.0, 2.0, "below")


def test_ratio_points_the_way_the_statistic_fails():
    assert CheckResult("c", True, 1.0, 4.0, "<=").ratio == 0.25
    assert CheckResult("c", False, 8.0, 4.0, "<=").ratio == 2.0
    assert CheckResult("c", True, 8.0, 4.0, ">").ratio == 0.5  # passing above: tolerance / statistic
    assert CheckResult("c", False, 1.0, 4.0, ">").ratio == 4.0
    assert math.isnan(CheckResult("c", True, 1.0, 4.0).ratio)
    assert CheckResult("c", False, 1.0, 0.0, "<=").ratio == math.inf


def test_details_are_read_only_and_new_results_are_copies():
    result = CheckResult("c", True, details={"a": 1, "nested": {"b": 2}})
    with pytest.raises(TypeError):
        result.details["a"] = 3
    with pytest.raises(TypeError):
        result.details["nested"]["b"] = 3
    with pytest.raises(Exception):
        result.holds = False
    more = result.with_details(c=4)
    assert more.details["c"] == 4 and "c" not in result.details and more.details["a"] == 1
    assert result.replace(holds=None).verdict == "unknown" and result.verdict == "holds"


def test_to_dict_writes_witnesses_as_data():
    h = AffineMap(torch.tensor([[2.0, 0.0], [1.0, 1.0]], dtype=torch.float64), torch.tensor([1.0, -1.0], dtype=torch.float64))
    prior = random_gmm(2, 2, generator=0)
    result = CheckResult("c", True, 0.5, 1.0, "<=", h, domain="R^2", method="closed form",
                         details={"prior": prior, "inf": math.inf, "sub": CheckResult("d", None)})
    data = result.to_dict()
    assert data["witness"] == {"type": "AffineMap", "matrix": [[2.0, 0.0], [1.0, 1.0]], "offset": [1.0, -1.0]}
    assert data["details"]["prior"]["type"] == "GaussianMixture" and len(data["details"]["prior"]["weights"]) == 2
    assert data["details"]["inf"] == "inf" and data["details"]["sub"]["verdict"] == "unknown"
    assert data["verdict"] == "holds" and data["passes_when"] == "<=" and data["domain"] == "R^2"
    json.dumps(data, allow_nan=False)
    assert as_data((torch.ones(2), None)) == [[1.0, 1.0], None]


def test_repr_is_short_and_html_names_the_verdict():
    result = check_injective(random_network((2, 3, 4), 0.2, generator=0))
    text = repr(result)
    assert text.startswith("CheckResult(injective: holds") and len(text) < 300 and "R^2" in text
    html = result._repr_html_()
    assert "holds" in html and "<table>" in html
