"""The theorem registry: every entry's trial holds, is a pure function of its seed, and can fail."""

from __future__ import annotations

import pytest

from verify.check_result import CheckResult
from verify.suite import Sizes, Step, TrialReport
from verify.theorems import REGISTRY, get, resolve_check

THEOREM_IDS = list(REGISTRY)


def test_registry_covers_the_hierarchy_of_the_theory_document():
    import re
    from pathlib import Path

    theory = (Path(__file__).resolve().parents[1] / "docs" / "theory.md").read_text()
    stated = set(re.findall(r"\*\*(T\d'?)[:\s]", theory)) | {f"T4.{s}" for s in re.findall(r"\*\*(S\d)\*\*", theory)}
    # Every result of the document's hierarchy is registered, and every registered id is one of them.
    assert {tid for tid in THEOREM_IDS} == stated - {"T4"}
    assert len(set(THEOREM_IDS)) == len(THEOREM_IDS)


@pytest.mark.parametrize("theorem_id", THEOREM_IDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_trial_holds(theorem_id, seed):
    report = REGISTRY[theorem_id].trial(seed)
    failed = [(s.role, s.result.name, s.result.statistic, s.result.details) for s in report.steps if not s.passed]
    assert report.held, failed
    roles = {s.role for s in report.steps}
    assert "conclusion" in roles and "assumption" in roles or theorem_id == "T5"
    if theorem_id != "T1'":
        # The converse: a model outside the class, or not equivalent, is rejected.
        assert any(s.role == "converse" for s in report.steps)


@pytest.mark.parametrize("theorem_id", ["T2", "T4.S1"])
def test_trial_is_a_pure_function_of_its_seed(theorem_id):
    first, second = (REGISTRY[theorem_id].trial(5).to_dict() for _ in range(2))
    first.pop("seconds"), second.pop("seconds")
    assert first == second


def test_a_failing_step_fails_the_trial_and_counts_its_witness():
    bad = Step("conclusion", CheckResult("affine_equivalence", False, 3.0, 1.0, witness=[0.0, 1.0]))
    report = TrialReport("T2", 0, Sizes(), "cpu", [bad])
    assert not report.held and report.witnesses == 1
    assert report.to_dict()["steps"][0]["result"]["witness"] == [0.0, 1.0]
    # A converse step that unexpectedly holds is also a failure.
    assert not TrialReport("T2", 0, Sizes(), "cpu", [Step("converse", CheckResult("laws_differ", True), expected=False)]).held


@pytest.mark.parametrize("theorem_id", THEOREM_IDS)
def test_every_named_check_resolves(theorem_id):
    assert all(callable(check) for check in REGISTRY[theorem_id].checks())


def test_lookup_and_bad_input():
    assert get("t1p").id == "T1'" and get("t4.s2").id == "T4.S2"
    with pytest.raises(ValueError, match="theorem"):
        get("T9")
    with pytest.raises(ValueError, match="path"):
        resolve_check("verify.nothing.here")
    with pytest.raises(ValueError, match="seed"):
        REGISTRY["T2"].trial(-1)
    with pytest.raises(ValueError, match="sizes"):
        REGISTRY["T2"].trial(0, sizes=(2, 3))


def test_vanilla_entry_finds_an_orthogonal_map_and_rejects_a_non_orthogonal_claim():
    report = REGISTRY["T3"].trial(2)
    orthogonal = [s for s in report.steps if s.result.name == "orthogonal"]
    found, claimed = orthogonal
    assert found.role == "conclusion" and found.result.holds and found.result.statistic < 1e-9
    assert claimed.role == "converse" and claimed.result.holds is False
    assert claimed.result.witness is not None and claimed.result.statistic > 1e-3


def test_posterior_check_fails_on_a_wrong_relabelling_with_a_witness():
    import torch

    from models import random_model
    from verify.equivalence import check_affine_equivalence
    from verify.mixtures import check_same_mixture
    from verify.posteriors import check_posteriors_agree
    from verify.suite import equivalent_model, random_invertible_affine

    gen = torch.Generator().manual_seed(0)
    model = random_model(2, 4, hidden=(3,), n_components=3, generator=gen)
    other = equivalent_model(model, random_invertible_affine(2, gen), gen)
    h = check_affine_equivalence(model, other).witness
    tau = check_same_mixture(model.prior.affine(h), other.prior).witness["permutation"]
    assert check_posteriors_agree(model, other, h, tau, n=200, generator=0).holds
    wrong = check_posteriors_agree(model, other, h, [tau[1], tau[0], tau[2]], n=200, generator=0)
    assert wrong.holds is False and wrong.witness.shape == (2,) and wrong.statistic > 0.1


def test_image_dimension_fails_for_a_rank_deficient_decoder():
    import torch

    from models import GenerativeModel, LeakyReLUNetwork, random_gmm
    from verify.image_dimension import check_image_dimension

    prior = random_gmm(2, 2, generator=0)
    full = GenerativeModel(LeakyReLUNetwork([torch.eye(3, 2, dtype=torch.float64)], [torch.zeros(3, dtype=torch.float64)]), prior)
    flat = GenerativeModel(LeakyReLUNetwork([torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 0.0]], dtype=torch.float64)],
                                            [torch.zeros(3, dtype=torch.float64)]), prior)
    assert check_image_dimension(full, full, n=100, generator=0).holds
    result = check_image_dimension(full, flat, n=100, generator=0)
    assert result.holds is False and result.witness == [2, 1]


def test_local_branch_fails_where_the_image_point_has_two_preimages():
    import torch

    from models import GaussianMixture, GenerativeModel, LeakyReLUNetwork
    from verify.local_branch import check_local_branch

    # f(z) = |z| (ReLU(z) + ReLU(−z)): every x > 0 has the two preimages ±x (CE1).
    fold = LeakyReLUNetwork([torch.tensor([[1.0], [-1.0]], dtype=torch.float64), torch.tensor([[1.0, 1.0]], dtype=torch.float64)],
                            [torch.zeros(2, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)], 0.0)
    prior = GaussianMixture(torch.ones(1, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64), torch.ones(1, 1, 1, dtype=torch.float64))
    model = GenerativeModel(fold, prior)
    result = check_local_branch(model, model, torch.tensor([0.7], dtype=torch.float64))
    assert result.holds is False and result.details["preimages"] == 2
    assert sorted(float(v) for v in result.witness[:, 0]) == pytest.approx([-0.7, 0.7])
