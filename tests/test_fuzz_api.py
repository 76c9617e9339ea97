"""Bad input to any public callable raises a ValueError naming an argument; valid alternatives are accepted.

The callables are discovered (``benchmarks/public_api.py``: the ``__all__`` of ``models``,
``verify``, their public subpackages and the modules they export, and the public methods of
those classes), so a newly exported callable fails ``test_every_public_callable_has_a_spec``
until it has a valid call and the kinds of its arguments. Bad inputs of every class —
complex, NaN and infinite entries, wrong shapes and dimensions, wrong types, negative, zero
and huge sizes, bools for integers, bad dtypes and devices — must raise a ``ValueError``
whose message starts with the name of an argument of the callable: no other exception, and
never silent acceptance. Hypothesis draws them (derandomized in CI, see ``conftest.py``);
a fixed list of each class runs too.
"""

from __future__ import annotations

import warnings

import public_api
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

API = public_api.discover()
SPECS = public_api.specs()


def _params(pairs):
    """pytest params, xfail (not strict) where the spec says the argument's checks are fixed separately."""
    params = []
    for name, argument in pairs:
        reason = SPECS[name].xfail.get(argument) if argument else next(iter(SPECS[name].xfail.values()), None)
        marks = [pytest.mark.xfail(reason=reason, strict=False)] if reason else []
        params.append(pytest.param(name, argument, marks=marks, id=f"{name}-{argument}" if argument else name))
    return params


def _expect_clear(name: str, spec, argument: str, label: str, value) -> None:
    __tracebackhide__ = True
    result, what = public_api.outcome(spec, name, argument, value)
    assert result == "clear", f"{name}({argument}={label}): {result}: {what}"


def test_every_public_callable_has_a_spec():
    missing = sorted(set(API) - set(SPECS) - set(public_api.SKIP))
    assert not missing, f"public callables without a spec in benchmarks/public_api.py: {missing}"
    stale = sorted(set(SPECS) - set(API))
    assert not stale, f"specs of callables that are no longer public: {stale}"


def test_every_spec_names_real_arguments():
    """A kind for an argument the callable does not take would test nothing."""
    import inspect

    for name, spec in SPECS.items():
        target = API[name]
        parameters = inspect.signature(target.__init__ if inspect.isclass(target) else target).parameters
        if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            continue
        unknown = set(spec.kinds) - set(parameters)
        assert not unknown, f"{name}: no arguments {sorted(unknown)}"


@pytest.mark.parametrize("name, argument", _params((n, a) for n in sorted(SPECS) for a in SPECS[n].kinds))
def test_fixed_bad_inputs_raise_a_value_error_naming_the_argument(name, argument):
    spec = SPECS[name]
    kind = spec.kinds[argument]
    for label, value in kind.bad(spec.args().get(argument)):
        _expect_clear(name, spec, argument, label, value)


# A budget per callable: the profile's (40 in CI), at most 100, so that the ~140 callables stay within a minute or so.
EXAMPLES = min(settings().max_examples, 100)


@pytest.mark.parametrize("name, argument", _params((n, None) for n in sorted(SPECS)))
@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                        HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_drawn_bad_inputs_raise_a_value_error_naming_the_argument(name, argument, data):
    spec = SPECS[name]
    argument = data.draw(st.sampled_from(sorted(spec.kinds)), label="argument")
    label, value = data.draw(spec.kinds[argument].strategy(spec.args().get(argument)), label="bad value")
    _expect_clear(name, spec, argument, label, value)


def _alternatives(spec):
    valid = spec.args()
    return [(argument, label, value) for argument, kind in spec.kinds.items() if valid.get(argument) is not None
            for label, value in kind.alternatives(valid[argument])]


@pytest.mark.parametrize("name, argument", _params((n, None) for n in sorted(SPECS)))
def test_valid_alternatives_are_accepted(name, argument):
    """numpy arrays, lists, float32 and int tensors, numpy integers and floats, 0-d tensors, generators."""
    spec = SPECS[name]
    alternatives = _alternatives(spec)
    if spec.slow:
        # A slow call (a trial, a report) runs once, with one alternative of each argument.
        firsts = {}
        for argument, label, value in alternatives:
            firsts.setdefault(argument, (label, value))
        alternatives = [("+".join(firsts), "+".join(label for label, _ in firsts.values()), {a: v for a, (_, v) in firsts.items()})]
    for argument, label, value in alternatives:
        kwargs = spec.args()
        kwargs.update(value if spec.slow else {argument: value})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                spec.call(**kwargs)
            except Exception as exc:  # noqa: BLE001 - the message says which alternative was refused
                pytest.fail(f"{name}({argument}={label}) refused: {type(exc).__name__}: {exc}")


def test_the_fixed_list_has_every_class_of_bad_input():
    """Each kind of argument offers the classes the module docstring lists."""
    tensor = {label for label, _ in public_api.Tensor(points=True).bad(torch.zeros(3, 2))}
    assert {"complex", "NaN entry", "infinite entry", "two extra axes", "wrong last dimension", "string", "bool tensor"} <= tensor
    count = {label for label, _ in public_api.Count().bad(1)}
    assert {"below minimum", "negative", "float", "bool", "huge", "NaN"} <= count
    assert {"tpu", "cpu:1"} <= {label for label, _ in public_api.Device().bad("cpu")}
    assert {"int dtype", "complex dtype"} <= {label for label, _ in public_api.Dtype().bad(None)}
