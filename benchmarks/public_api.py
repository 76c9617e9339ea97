"""The public callables of ``models`` and ``verify``, a valid call of each, and bad inputs by kind of argument.

Shared by ``benchmarks/validation_harness.py`` (counts outcomes over a fixed list of bad inputs)
and ``tests/test_fuzz_api.py`` (draws bad inputs with hypothesis).

``discover()`` walks the ``__all__`` of the packages ``models`` and ``verify``, of their public
subpackages, and of the modules those export (``models.random``, ``models.validation`` ...):
every class and function there, and every public method of those classes that takes an
argument. Each one needs an entry in ``SPECS`` (a valid call and the kind of each argument) or
in ``SKIP`` (with the reason), so a new public callable is covered as soon as it is exported.

A kind of argument (``Tensor``, ``Count``, ``Real`` ...) knows the bad values of its kind
(``bad``: a fixed list; ``strategy``: drawn by hypothesis) and the valid alternatives that
must be accepted (numpy arrays, lists, float32, numpy integers ...).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import io
import itertools
import math
import pkgutil
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.validation import MAX_COUNT

HUGE = 10**13
"""A count far above ``MAX_COUNT``: allocating it would exhaust memory."""


# ---------------------------------------------------------------------- discovery
def _subpackages(package) -> list:
    found = [package]
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if info.ispkg and not info.name.rsplit(".", 1)[1].startswith("_"):
            found += _subpackages(importlib.import_module(info.name))
    return found


def _public_modules() -> list:
    modules = []
    for top in ("models", "verify"):
        for package in _subpackages(importlib.import_module(top)):
            modules.append(package)
            modules += [getattr(package, n) for n in getattr(package, "__all__", ()) if inspect.ismodule(getattr(package, n))]
    return modules


def discover() -> dict[str, Callable]:
    """Every public callable by its first public name (``models.GaussianMixture.sample``)."""
    found: dict[str, Callable] = {}
    seen: set[int] = set()
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            qualified = f"{module.__name__}.{name}"
            found[qualified] = obj
            if inspect.isclass(obj) and not issubclass(obj, BaseException):
                for attribute, value in vars(obj).items():
                    if attribute.startswith("_") and attribute != "__call__":
                        continue
                    function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
                    if inspect.isfunction(function) and [p for p in inspect.signature(function).parameters if p not in ("self", "cls")]:
                        found[f"{qualified}.{attribute}"] = function
    return found


SKIP = {
    # Exceptions: they take a message, not data.
    "models.NotInjectiveError": "an exception", "models.OffImageError": "an exception",
    "verify.UnknownVerdictError": "an exception", "verify.injectivity.InfinitePreimagesError": "an exception",
    # The command line: argv strings, tested through subprocesses in tests/test_cli.py.
    "verify.cli.main": "the command line", "verify.cli.build_parser": "the command line",
    # Records of results: the toolkit fills them from values it has checked; nothing is computed from their fields.
    "verify.CheckResult": "a result record", "verify.CheckResult.replace": "a result record",
    "verify.CheckResult.with_details": "a result record", "verify.AffineFit": "a result record",
    "verify.CanonicalForm": "a result record", "verify.suite.Step": "a result record",
    "verify.suite.TrialReport": "a result record", "verify.injectivity.Tolerances": "a result record",
    "models.regions.Region": "a result record", "models.regions.RegionSet": "a result record", "models.regions.RegionCount": "a result record",
    "models.io.LoadedDecoder": "a result record", "models.io.LoadedPrior": "a result record",
    "models.solver.Block": "a result record", "models.solver.scip_available": "no arguments", "verify.counterexamples.Counterexample": "a result record",
    # The probe's and the sweep's records: made by the toolkit (ground_truth, fit_vade, run_sweep ...) from checked values.
    "verify.probe.ConditionResult": "a result record", "verify.probe.ExperimentResult": "a result record",
    "verify.probe.FittedFlow": "a result record", "verify.probe.FittedVAE": "a result record",
    "verify.probe.VAERestart": "a result record", "verify.probe.GroundTruth": "a result record (ground_truth checks its arguments)",
    "verify.probe.ProbeData": "a result record", "verify.sweep.SweepResult": "a result record",
    "verify.sweep.TaskKey": "a result record (Task.key makes it; TaskKey.from_dict reads a stored one)",
    "verify.sweep.DaskUnavailableError": "an exception",
    # Abstract bases and classes without arguments; their subclasses' methods are fuzzed.
    "verify.sweep.Executor": "an abstract base without arguments", "verify.sweep.Executor.run": "abstract (InProcessExecutor.run)",
    "verify.sweep.Store": "an abstract base without arguments", "verify.sweep.Store.append": "abstract (MemoryStore.append, JsonlStore.append)",
    "verify.sweep.InProcessExecutor": "takes no arguments", "verify.sweep.MemoryStore": "takes no arguments",
    "verify.sweep.package_version": "takes no arguments",
    "verify.sweep.without_timing": "takes any value: what is not a dict or a list comes back as it is",
    # It starts a Dask cluster (tests/test_sweep.py runs one); it checks its tasks and kinds as InProcessExecutor.run does.
    "verify.sweep.DaskExecutor.run": "starts a Dask cluster",
    # The validation helpers' own option arguments (dtype, minimum, ...) are set by the toolkit, not by a caller;
    # their data argument is fuzzed through the entries below.
}


# ---------------------------------------------------------------------- kinds of argument
def _complex(value: torch.Tensor) -> torch.Tensor:
    return value.to(torch.complex128) + 1e-3j


def _with(value: torch.Tensor, entry: float) -> torch.Tensor:
    out = value.detach().clone().to(torch.float64)
    if out.numel():
        out.reshape(-1)[out.numel() // 2] = entry
    return out


class Kind:
    """A kind of argument: its bad values and the valid alternatives to its value."""

    optional = False

    def bad(self, value) -> list[tuple[str, Any]]:
        return []

    def alternatives(self, value) -> list[tuple[str, Any]]:
        return []

    def strategy(self, value):
        from hypothesis import strategies as st

        return st.sampled_from(self.bad(value))


OBJECT = object()


@dataclass
class Tensor(Kind):
    """A real array; ``points``: rows of a fixed dimension (the last axis)."""

    points: bool = False
    optional: bool = False
    integral_ok: bool = True
    free_last: bool = False  # another last dimension is valid (a map's input dimension, a polytope's)
    allow_inf: bool = False  # infinite entries are valid (bounds)
    like: Callable[[], Any] | None = None  # a valid value to derive bad ones from, where the call's default is None

    def _template(self, value) -> torch.Tensor:
        if value is None:
            value = self.like() if self.like else torch.full((4, 2), 0.5, dtype=torch.float64)
        return torch.as_tensor(value, dtype=torch.float64)

    def bad(self, value):
        value = self._template(value)
        cases = [("complex", _complex(value)), ("NaN entry", _with(value, math.nan))] + (
            [] if self.allow_inf else [("infinite entry", _with(value, math.inf))]) + [
                 ("two extra axes", value.reshape(1, 1, *value.shape)), ("string", "abc"),
                 ("bool tensor", torch.ones(value.shape, dtype=torch.bool)), ("object", OBJECT),
                 ("complex numpy", _complex(value).numpy())]
        if value.ndim >= 1 and not self.free_last:
            cases.append(("wrong last dimension", torch.cat([value, value[..., :1]], dim=-1)))
        if not self.optional:
            cases.append(("None", None))
        return cases

    def alternatives(self, value):
        value = torch.as_tensor(value)
        cases = [("numpy", value.numpy()), ("list", value.tolist()), ("float32", value.to(torch.float32))]
        if self.integral_ok and value.numel() and bool((value == value.round()).all()):
            cases.append(("int64 tensor", value.to(torch.int64)))
        return cases

    def strategy(self, value):
        from hypothesis import strategies as st

        value = self._template(value)
        n = max(value.numel(), 1)

        @st.composite
        def drawn(draw):
            kind = draw(st.sampled_from(["complex", "nonfinite", "axis", "dimension", "type", "bool", "none"]))
            if kind == "complex":
                imag = draw(st.floats(1e-12, 1e3))
                return f"complex (imaginary {imag:g})", value.to(torch.complex128) + 1j * imag
            if kind == "nonfinite" and value.numel():
                out = value.clone()
                out.reshape(-1)[draw(st.integers(0, n - 1))] = draw(st.sampled_from([math.nan] + ([] if self.allow_inf else [math.inf, -math.inf])))
                return "non-finite entry", draw(st.sampled_from([lambda t: t, lambda t: t.numpy(), lambda t: t.tolist()]))(out)
            if kind == "axis":
                extra = draw(st.integers(2, 3))  # one leading axis could read as a batch of one
                return f"{extra} extra axes", value.reshape(*([1] * extra), *value.shape)
            if kind == "dimension" and value.ndim >= 1 and not self.free_last:
                more = draw(st.integers(1, 3))
                return f"{more} more columns", torch.cat([value] + [value[..., :1]] * more, dim=-1)
            if kind == "bool":
                return "bool tensor", torch.zeros(value.shape, dtype=torch.bool)
            if kind == "none" and not self.optional:
                return "None", None
            return "wrong type", draw(st.sampled_from(["abc", OBJECT, {"a": 1}, b"\x00", 1 + 2j]))

        return drawn()


@dataclass
class Count(Kind):
    """An integer count or size >= minimum."""

    minimum: int = 1
    optional: bool = False

    def bad(self, value):
        cases = [("below minimum", self.minimum - 1), ("negative", -5), ("float", 2.5), ("bool", True), ("string", "3"),
                 ("huge", HUGE), ("NaN", math.nan), ("float tensor", torch.tensor(2.0)), ("complex", 2 + 0j)]
        if not self.optional:
            cases.append(("None", None))
        return cases

    def alternatives(self, value):
        return [("numpy int64", np.int64(value)), ("numpy int32", np.int32(value)), ("0-d int tensor", torch.tensor(int(value)))]

    def strategy(self, value):
        from hypothesis import strategies as st

        return st.one_of(
            st.integers(-(2**70), self.minimum - 1).map(lambda v: ("below minimum", v)),
            st.integers(MAX_COUNT * 10, 2**80).map(lambda v: ("huge", v)),
            st.floats(allow_nan=True).filter(lambda v: not float(v).is_integer()).map(lambda v: ("non-integral float", v)),
            st.sampled_from([("bool", True), ("bool", False), ("numpy bool", np.bool_(True)), ("string", "3"),
                             ("complex", 3 + 0j)] + ([] if self.optional else [("None", None)])),
        )


@dataclass
class Real(Kind):
    """A real number in [low, high] (open ends with ``low_open``/``high_open``)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    allow_inf: bool = False
    optional: bool = False

    def _outside(self):
        cases = []
        if self.low is not None:
            cases.append(("below the range", self.low - 1.0))
            if self.low_open:
                cases.append(("at the open end", self.low))
        if self.high is not None:
            cases.append(("above the range", self.high + 1.0))
            if self.high_open:
                cases.append(("at the open end", self.high))
        return cases

    def bad(self, value):
        cases = [("NaN", math.nan), ("string", "0.5"), ("bool", True), ("complex", 0.5 + 1j), ("complex tensor", torch.tensor(0.5 + 1j))]
        if not self.allow_inf:
            cases += [("infinite", math.inf), ("-infinite", -math.inf)]
        if not self.optional:
            cases.append(("None", None))
        return cases + self._outside()

    def alternatives(self, value):
        cases = [("numpy float64", np.float64(value)), ("0-d tensor", torch.tensor(float(value), dtype=torch.float64))]
        if float(value).is_integer():
            cases.append(("int", int(value)))
        return cases

    def strategy(self, value):
        from hypothesis import strategies as st

        outside = []
        if self.low is not None:
            outside.append(st.floats(max_value=self.low, exclude_max=not self.low_open, allow_nan=False, allow_infinity=False)
                           .map(lambda v: ("below the range", v)))
        if self.high is not None:
            outside.append(st.floats(min_value=self.high, exclude_min=not self.high_open, allow_nan=False, allow_infinity=False)
                           .map(lambda v: ("above the range", v)))
        return st.one_of(st.sampled_from(self.bad(value)), *outside)


@dataclass
class Seed(Kind):
    """An integer seed in [0, 2**63)."""

    optional: bool = False

    def bad(self, value):
        cases = [("negative", -1), ("float", 2.5), ("bool", True), ("string", "3"), ("too large", 2**63), ("NaN", math.nan),
                 ("float tensor", torch.tensor(2.0)), ("complex", 2 + 0j), ("generator", torch.Generator())]
        return cases + ([] if self.optional else [("None", None)])

    def alternatives(self, value):
        return [("numpy int64", np.int64(value)), ("0-d int tensor", torch.tensor(int(value)))]


@dataclass
class Generator(Kind):
    """A seed, a torch.Generator or None."""

    optional: bool = True

    def bad(self, value):
        cases = [("string", "seed"), ("negative seed", -1), ("float", 2.5), ("bool", True), ("huge seed", 2**64), ("object", OBJECT)]
        return cases + ([] if self.optional else [("None", None)])

    def alternatives(self, value):
        return [("numpy seed", np.int64(3)), ("generator", torch.Generator().manual_seed(3))]


@dataclass
class Device(Kind):
    optional: bool = True
    local: bool = True  # the device must exist here (not so for a task that a cluster's workers run)

    def bad(self, value):
        cases = [("tpu", "tpu"), ("cpu:1", "cpu:1"), ("nonsense", "gpu0"), ("number", 7), ("object", OBJECT)]
        if not self.local:
            return cases + ([] if self.optional else [("None", None)])
        if not torch.cuda.is_available():
            cases.append(("unavailable cuda", "cuda"))
        cases.append(("missing cuda index", f"cuda:{torch.cuda.device_count() + 3}"))
        return cases

    def alternatives(self, value):
        return [("torch.device", torch.device("cpu"))]


@dataclass
class Dtype(Kind):
    optional: bool = True

    def bad(self, value):
        return [("int dtype", torch.int64), ("complex dtype", torch.complex128), ("bool dtype", torch.bool), ("string", "float64"),
                ("numpy dtype", np.float64)]


@dataclass
class Box(Kind):
    """A latent box: r > 0, (low, high) or a (2, dim) array."""

    dim: int = 2
    optional: bool = True

    def bad(self, value):
        d = self.dim
        return [("negative radius", -1.0), ("zero radius", 0.0), ("NaN radius", math.nan), ("infinite radius", math.inf),
                ("string", "box"), ("bool", True), ("complex radius", 1 + 1j),
                ("swapped bounds", (np.ones(d), -np.ones(d))), ("wrong dimension", (-np.ones(d + 1), np.ones(d + 1))),
                ("NaN bound", (np.full(d, math.nan), np.ones(d))), ("complex bounds", (-np.ones(d) + 1j, np.ones(d) + 1j)),
                ("three arrays", (-np.ones(d), np.zeros(d), np.ones(d)))]

    def alternatives(self, value):
        if isinstance(value, (int, float)):
            return [("bounds", (-np.full(self.dim, value), np.full(self.dim, value))),
                    ("stacked", np.stack([-np.full(self.dim, value), np.full(self.dim, value)])), ("numpy float", np.float64(value))]
        return []


@dataclass
class Instance(Kind):
    """An object of a class; ``others``: explicit bad objects (of the class, but mismatched)."""

    others: Callable[[], list] | None = None
    alternates: Callable[[], list] | None = None
    optional: bool = False

    def bad(self, value):
        cases = [("string", "abc"), ("number", 3), ("tensor", torch.zeros(2, 2, dtype=torch.float64))] + (
            [] if self.optional else [("None", None)])
        return cases + (self.others() if self.others else [])

    def alternatives(self, value):
        return self.alternates() if self.alternates else []


@dataclass
class Function(Kind):
    """A callable argument."""

    optional: bool = False

    def bad(self, value):
        return [("string", "abc"), ("number", 3)] + ([] if self.optional else [("None", None)])


@dataclass
class Seeds(Kind):
    """Seeds: a sequence of distinct integers >= 0, or (``counts``) a number k of seeds 0..k-1."""

    counts: bool = True

    def bad(self, value):
        cases = [("string", "01"), ("None", None), ("object", OBJECT), ("negative seed", [-1]), ("float seed", [0.5]),
                 ("bool seed", [True]), ("too large", [2**63]), ("NaN seed", [math.nan])]
        if self.counts:
            return cases + [("zero", 0), ("negative count", -2), ("float", 2.5), ("bool", True), ("huge", HUGE), ("NaN", math.nan),
                            ("repeated", [0, 0]), ("empty", [])]
        return cases + [("number", 3)]

    def alternatives(self, value):
        cases = [("tuple", tuple(value)), ("numpy seeds", np.array(value)), ("range", range(len(value)))]
        return cases + ([("count", len(value)), ("numpy count", np.int64(len(value)))] if self.counts else [])


@dataclass
class Choice(Kind):
    """One string of a fixed set."""

    optional: bool = False

    def bad(self, value):
        return [("unknown name", "no-such-name"), ("number", 3), ("object", OBJECT)] + ([] if self.optional else [("None", None)])


@dataclass
class Text(Kind):
    """A string (a name, a description)."""

    optional: bool = True

    def bad(self, value):
        return [("number", 3), ("object", OBJECT), ("bytes", b"abc")] + ([] if self.optional else [("None", None)])


@dataclass
class Path_(Kind):
    """A file to read."""

    def bad(self, value):
        folder = Path(_scratch())
        return [("missing file", folder / "missing.pt"), ("a folder", folder), ("random bytes", folder / "random.bin"),
                ("number", 3), ("/proc file", "/proc/self/status")]


@dataclass
class Extra(Kind):
    """Only explicit bad values (relational cases a kind cannot derive)."""

    values: Callable[[], list] = list

    def bad(self, value):
        return self.values()


@cache
def _scratch() -> str:
    folder = tempfile.mkdtemp(prefix="public-api-")
    Path(folder, "random.bin").write_bytes(np.random.default_rng(0).bytes(300))
    return folder


# ---------------------------------------------------------------------- specs
@dataclass
class Spec:
    """A valid call: ``call(**args())``; ``kinds[name]`` says what is bad for argument ``name``.

    ``slow``: the valid call takes seconds (trials, reports), so its valid alternatives are tried
    once, all together. ``xfail``: {argument: reason} for arguments whose checks live in a module
    changed separately.
    """

    call: Callable
    args: Callable[[], dict]
    kinds: dict[str, Kind]
    slow: bool = False
    xfail: dict[str, str] = field(default_factory=dict)
    names: tuple[str, ...] = ()


F64 = torch.float64


@cache
def objects() -> dict:
    """Small valid objects the specs share (built once)."""
    from models import AffineMap, random_gmm, random_model, random_network
    from verify.counterexamples import get

    net = random_network((2, 3, 3), 0.5, generator=0)
    square = random_network((2, 2), 0.5, generator=1)
    mixture = random_gmm(2, 2, generator=0)
    model = random_model(2, 3, hidden=(3,), n_components=2, negative_slope=0.5, generator=0)
    h = AffineMap(torch.tensor([[2.0, 0.5], [0.0, 1.0]], dtype=F64), torch.tensor([0.5, -1.0], dtype=F64))
    other = model.reparametrize(h)
    diag = random_gmm(2, 2, covariance_type="diagonal", generator=0)
    ce = get("CE1")
    sampled = get("CE3").model_a
    z = torch.tensor([[0.1, -0.3], [0.7, 0.2], [-0.5, 0.4]], dtype=F64)
    return dict(net=net, square=square, mixture=mixture, model=model, h=h, other=other, diag=diag, ce=ce, sampled=sampled, z=z,
                x=net(z), wide=random_network((3, 4), 0.5, generator=2),
                different=random_model(2, 3, hidden=(3,), n_components=2, negative_slope=0.5, generator=5), model3=random_model(3, 4, n_components=2, generator=1))


def _o(name):
    return objects()[name]


def _samples(n=60, dim=2, seed=0):
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _net_others():
    return [("network of another input dimension", _o("wide"))]


def _model_others():
    return [("model of other dimensions", _o("model3"))]


def _model_alternates():
    return [("float32 model", _o("other").to(dtype=torch.float32))]


NET = Instance(others=_net_others)
MODEL = Instance(others=_model_others)
MODEL_B = Instance(others=_model_others, alternates=_model_alternates)
MIX = Instance(others=lambda: [("mixture of another dimension", __import__("models").random_gmm(3, 2, generator=0))])
MAP = Instance(others=lambda: [("map of another dimension", __import__("models").AffineMap(torch.eye(3, dtype=F64)))])
GEN_REQUIRED = Instance()


def _sizes():
    from verify.suite import Sizes

    return Sizes(latent_dim=2, observed_dim=3, hidden=(3,), n_components=2, n_samples=200)


SIZES = Instance()


def _trial(name):
    import verify.suite as suite

    function = getattr(suite, name)
    return Spec(function, lambda: dict(seed=0, sizes=_sizes(), device="cpu"),
                {"seed": Seed(), "sizes": SIZES, "device": Device()}, slow=True)


def _method(obj_name, method):
    return lambda **kw: getattr(_o(obj_name), method)(**kw)


def _specs() -> dict[str, Spec]:
    import models
    import models.regions as regions
    import models.solver as solver
    import models.validation as validation
    import verify
    import verify.counterexamples as ce
    import verify.injectivity as inj
    import verify.suite as suite
    from models import io

    t = torch.tensor
    eye = torch.eye(2, dtype=F64)
    weights = t([0.4, 0.6], dtype=F64)
    means = t([[0.0, 0.0], [1.0, 1.0]], dtype=F64)
    covs = torch.stack([eye, 2 * eye])
    net_w = lambda: [t([[1.0, 0.5], [0.0, 1.0], [1.0, 1.0]], dtype=F64)]
    net_b = lambda: [t([0.0, 0.1, 0.2], dtype=F64)]
    z = lambda: _o("z")
    specs = {
        # ------------------------------------------------------------- model objects
        "models.AffineMap": Spec(models.AffineMap, lambda: dict(matrix=t([[2.0, 0.5], [0.0, 1.0]], dtype=F64), offset=t([1.0, 0.0], dtype=F64),
                                                                dtype=None, device=None),
                                 {"matrix": Tensor(free_last=True), "offset": Tensor(optional=True), "dtype": Dtype(), "device": Device()}),
        "models.AffineMap.identity": Spec(models.AffineMap.identity, lambda: dict(dim=2), {"dim": Count()}),
        "models.AffineMap.__call__": Spec(lambda **kw: _o("h")(**kw), lambda: dict(z=z()), {"z": Tensor(points=True)}),
        "models.AffineMap.compose": Spec(_method("h", "compose"), lambda: dict(other=_o("h")), {"other": MAP}),
        "models.AffineMap.is_orthogonal": Spec(_method("h", "is_orthogonal"), lambda: dict(tol=1e-8), {"tol": Real(low=0.0)}),
        "models.AffineMap.to": Spec(_method("h", "to"), lambda: dict(device="cpu", dtype=F64), {"device": Device(), "dtype": Dtype()}),
        "models.GaussianMixture": Spec(models.GaussianMixture, lambda: dict(weights=weights, means=means, covariances=covs),
                                       {"weights": Tensor(), "means": Tensor(), "covariances": Tensor(), "dtype": Dtype(), "device": Device()}),
        "models.GaussianMixture.sample": Spec(_method("mixture", "sample"), lambda: dict(n=5, generator=0),
                                              {"n": Count(minimum=0), "generator": Generator()}),
        "models.GaussianMixture.component_log_prob": Spec(_method("mixture", "component_log_prob"), lambda: dict(z=z()), {"z": Tensor(points=True)}),
        "models.GaussianMixture.log_prob": Spec(_method("mixture", "log_prob"), lambda: dict(z=z()), {"z": Tensor(points=True)}),
        "models.GaussianMixture.posterior": Spec(_method("mixture", "posterior"), lambda: dict(z=z()), {"z": Tensor(points=True)}),
        "models.GaussianMixture.affine": Spec(_method("mixture", "affine"), lambda: dict(matrix=t([[2.0, 0.0], [1.0, 1.0]], dtype=F64),
                                                                                           offset=t([0.0, 1.0], dtype=F64)),
                                              {"matrix": Tensor(), "offset": Tensor(optional=True)}),
        "models.GaussianMixture.permute": Spec(_method("mixture", "permute"), lambda: dict(permutation=[1, 0]),
                                               {"permutation": Extra(lambda: [("repeated", [1, 1]), ("too short", [0]), ("float", [0.5, 1.0]),
                                                                              ("string", "ab"), ("None", None), ("bools", [True, False]),
                                                                              ("out of range", [0, 5]), ("2-D", [[0, 1]])])}),
        "models.GaussianMixture.to": Spec(_method("mixture", "to"), lambda: dict(device="cpu", dtype=F64), {"device": Device(), "dtype": Dtype()}),
        "models.GenerativeModel": Spec(models.GenerativeModel, lambda: dict(decoder=_o("net"), prior=_o("mixture"), noise_scale=0.1),
                                       {"decoder": NET, "prior": MIX, "noise_scale": Real(low=0.0)}),
        "models.GenerativeModel.sample": Spec(_method("model", "sample"), lambda: dict(n=5, generator=0), {"n": Count(minimum=0), "generator": Generator()}),
        "models.GenerativeModel.log_prob": Spec(_method("model", "log_prob"), lambda: dict(x=_o("model").decoder(z())), {"x": Tensor(points=True)}),
        "models.GenerativeModel.reparametrize": Spec(_method("model", "reparametrize"), lambda: dict(h=_o("h")), {"h": MAP}),
        "models.GenerativeModel.to": Spec(_method("model", "to"), lambda: dict(device="cpu", dtype=F64), {"device": Device(), "dtype": Dtype()}),
        "models.LeakyReLUNetwork": Spec(models.LeakyReLUNetwork, lambda: dict(weights=net_w(), biases=net_b(), negative_slope=0.2),
                                        {"weights": Extra(lambda: [("complex weight", [_complex(net_w()[0])]), ("NaN weight", [_with(net_w()[0], math.nan)]),
                                                                   ("a tensor", net_w()[0]), ("string", "abc"), ("empty", [])]),
                                         "biases": Extra(lambda: [("complex bias", [_complex(net_b()[0])]), ("inf bias", [_with(net_b()[0], math.inf)]),
                                                                  ("wrong length", [t([0.0, 1.0], dtype=F64)]), ("string", "abc")]),
                                         "negative_slope": Real(low=0.0), "dtype": Dtype(), "device": Device()}),
        "models.LeakyReLUNetwork.__call__": Spec(lambda **kw: _o("net")(**kw), lambda: dict(z=z()), {"z": Tensor(points=True)}),
        "models.LeakyReLUNetwork.activation_pattern": Spec(_method("net", "activation_pattern"), lambda: dict(z=z()), {"z": Tensor(points=True)}),
        "models.LeakyReLUNetwork.local_affine": Spec(_method("net", "local_affine"), lambda: dict(z=z()), {"z": Tensor(points=True)}),
        "models.LeakyReLUNetwork.inverse": Spec(_method("net", "inverse"), lambda: dict(x=_o("x"), rtol=1e-6),
                                                {"x": Tensor(points=True, integral_ok=False), "rtol": Real(low=0.0, optional=True)}),
        "models.LeakyReLUNetwork.precompose": Spec(_method("net", "precompose"), lambda: dict(h=_o("h")), {"h": MAP}),
        "models.LeakyReLUNetwork.from_torch": Spec(models.LeakyReLUNetwork.from_torch,
                                                   lambda: dict(module=_o("net").to_torch(), dtype=F64),
                                                   {"module": Instance(), "dtype": Dtype()}),
        "models.LeakyReLUNetwork.to_torch": Spec(_method("net", "to_torch"), lambda: dict(dtype=F64), {"dtype": Dtype()}),
        "models.LeakyReLUNetwork.to": Spec(_method("net", "to"), lambda: dict(device="cpu", dtype=F64), {"device": Device(), "dtype": Dtype()}),
        "models.joint_network": Spec(models.joint_network, lambda: dict(f=_o("net"), g=_o("net")), {"f": NET, "g": NET}),
        # ------------------------------------------------------------- random factories
        "models.random_affine_map": Spec(models.random_affine_map, lambda: dict(dim=2, max_condition=5.0, offset_scale=1.0, generator=0,
                                                                                device="cpu", dtype=F64),
                                         {"dim": Count(), "max_condition": Real(low=1.0), "offset_scale": Real(low=0.0),
                                          "generator": Generator(), "device": Device(), "dtype": Dtype()}),
        "models.random_gmm": Spec(models.random_gmm, lambda: dict(dim=2, n_components=2, mean_scale=3.0, max_condition=10.0, covariance_type="full",
                                                                  generator=0, device="cpu", dtype=F64),
                                  {"dim": Count(), "n_components": Count(), "mean_scale": Real(low=0.0), "max_condition": Real(low=1.0),
                                   "covariance_type": Choice(), "generator": Generator(), "device": Device(), "dtype": Dtype()}),
        "models.random_model": Spec(models.random_model, lambda: dict(latent_dim=2, observed_dim=3, hidden=(3,), n_components=2, negative_slope=0.2,
                                                                      noise_scale=0.0, max_condition=10.0, covariance_type="full", generator=0,
                                                                      device="cpu", dtype=F64),
                                    {"latent_dim": Count(), "observed_dim": Count(), "hidden": Extra(lambda: [("zero width", (0,)), ("float width", (2.5,)),
                                                                                                             ("string", "3"), ("huge", (HUGE,))]),
                                     "n_components": Count(), "negative_slope": Real(low=0.0, low_open=True), "noise_scale": Real(low=0.0),
                                     "max_condition": Real(low=1.0), "covariance_type": Choice(), "generator": Generator(),
                                     "device": Device(), "dtype": Dtype()}),
        "models.random_network": Spec(models.random_network, lambda: dict(widths=(2, 3, 3), negative_slope=0.2, max_condition=10.0, bias_scale=1.0,
                                                                          generator=0, device="cpu", dtype=F64),
                                      {"widths": Extra(lambda: [("one width", (2,)), ("zero width", (2, 0)), ("float", (2, 2.5)), ("bool", (2, True)),
                                                                ("string", "23"), ("huge", (2, HUGE)), ("None", None)]),
                                       "negative_slope": Real(low=0.0, low_open=True), "max_condition": Real(low=1.0), "bias_scale": Real(low=0.0),
                                       "generator": Generator(), "device": Device(), "dtype": Dtype()}),
        # ------------------------------------------------------------- regions and the solver
        "models.regions.box_scale": Spec(regions.box_scale, lambda: dict(network=_o("net"), box=2.0), {"network": Instance(), "box": Box()}),
        "models.regions.count_linear_regions": Spec(regions.count_linear_regions, lambda: dict(network=_o("net"), box=2.0, time_limit=None),
                                                    {"network": Instance(), "box": Box(), "time_limit": Real(low=0.0, low_open=True, optional=True)}),
        "models.regions.region_count": Spec(regions.region_count, lambda: dict(network=_o("net"), box=2.0, time_limit=None),
                                            {"network": Instance(), "box": Box(), "time_limit": Real(low=0.0, low_open=True, optional=True)}),
        "models.regions.linear_regions": Spec(regions.linear_regions, lambda: dict(network=_o("net"), box=2.0, time_limit=None),
                                              {"network": Instance(), "box": Box(), "time_limit": Real(low=0.0, low_open=True, optional=True)}),
        "models.regions.pattern_halfspaces": Spec(regions.pattern_halfspaces, lambda: dict(network=_o("net"), pattern=_o("net").activation_pattern(z()[:1])[0],
                                                                                           box=2.0),
                                                  {"network": Instance(), "pattern": Extra(lambda: [("wrong length", torch.ones(2, dtype=torch.bool)),
                                                                                                    ("string", "abc"), ("complex", torch.ones(3) + 1j),
                                                                                                    ("floats", torch.full((3,), 0.5)), ("None", None)]),
                                                   "box": Box()}),
        "models.regions.region_at": Spec(regions.region_at, lambda: dict(network=_o("net"), z=z()[0], box=2.0),
                                         {"network": Instance(), "z": Tensor(points=True), "box": Box()}),
        "models.regions.Region.contains": Spec(lambda **kw: regions.region_at(_o("net"), z()[0], 2.0).contains(**kw), lambda: dict(z=z(), tol=0.0),
                                               {"z": Tensor(points=True), "tol": Real(low=0.0)}),
        "models.solver.chebyshev_center": Spec(solver.chebyshev_center, lambda: dict(G=np.vstack([np.eye(2), -np.eye(2)]), g=np.ones(4), radius_cap=None),
                                               {"G": Tensor(free_last=True), "g": Tensor(), "radius_cap": Real(low=0.0, low_open=True, optional=True)}),
        "models.solver.chebyshev_centers": Spec(solver.chebyshev_centers, lambda: dict(polytopes=[(np.vstack([np.eye(2), -np.eye(2)]), np.ones(4))], radius_cap=5.0),
                                                {"polytopes": Extra(lambda: [("empty", []), ("string", "abc"), ("NaN", [(np.full((4, 2), math.nan), np.ones(4))]),
                                                                             ("mismatched", [(np.eye(2), np.ones(4))])]),
                                                 "radius_cap": Real(low=0.0, low_open=True)}),
        "models.solver.solve_blocks": Spec(solver.solve_blocks, lambda: dict(blocks=[solver.Block(np.ones(2), np.eye(2), np.ones(2), np.zeros(2), np.ones(2))]),
                                           {"blocks": Extra(lambda: [("string", "abc"), ("not blocks", [3])])}),
        "models.solver.solve_lp": Spec(solver.solve_lp, lambda: dict(cost=np.ones(2), A_ub=np.eye(2), b_ub=np.ones(2)),
                                       {"cost": Tensor(), "A_ub": Tensor(), "b_ub": Tensor()}),
        "models.solver.solve_milp": Spec(solver.solve_milp, lambda: dict(cost=np.ones(2), integrality=np.ones(2), lower=np.zeros(2), upper=np.ones(2),
                                                                         matrix=np.eye(2), row_lower=np.zeros(2), row_upper=np.ones(2)),
                                         {"cost": Tensor(), "lower": Tensor(allow_inf=True), "upper": Tensor(allow_inf=True), "matrix": Tensor(free_last=True),
                                          "row_lower": Tensor(allow_inf=True), "row_upper": Tensor(allow_inf=True), "solver": Choice()}),
        # ------------------------------------------------------------- validation helpers (their data argument)
        "models.validation.check_box": Spec(validation.check_box, lambda: dict(box=1.0, dim=2, name="box"), {"box": Box(optional=True), "dim": Count()}),
        "models.validation.check_array": Spec(validation.check_array, lambda: dict(value=z(), name="value", shape=(None, 2)),
                                              {"value": Tensor(points=True)}),
        "models.validation.check_callable": Spec(validation.check_callable, lambda: dict(value=len, name="value"), {"value": Function()}),
        "models.validation.check_choice": Spec(validation.check_choice, lambda: dict(value="a", choices=("a", "b"), name="value"),
                                               {"value": Choice()}),
        "models.validation.check_model_pair": Spec(validation.check_model_pair, lambda: dict(model_a=_o("model"), model_b=_o("other")),
                                                   {"model_a": MODEL, "model_b": MODEL_B}),
        "models.validation.check_permutation": Spec(validation.check_permutation, lambda: dict(value=[1, 0], n=2, name="value"),
                                                    {"value": Extra(lambda: [("repeated", [1, 1]), ("too short", [0]), ("float", [0.5, 1.0]),
                                                                             ("string", "ab"), ("None", None), ("bools", [True, False]),
                                                                             ("2-D", [[0, 1]]), ("complex", [1j, 0])])}),
        "models.validation.check_seed": Spec(validation.check_seed, lambda: dict(seed=3, name="seed"), {"seed": Seed()}),
        "models.validation.check_text": Spec(validation.check_text, lambda: dict(value="a", name="value"), {"value": Text(optional=False)}),
        "models.validation.check_device": Spec(validation.check_device, lambda: dict(device="cpu", name="device"), {"device": Device()}),
        "models.validation.check_dtype": Spec(validation.check_dtype, lambda: dict(dtype=F64, name="dtype"), {"dtype": Dtype()}),
        "models.validation.check_generator": Spec(validation.check_generator, lambda: dict(generator=0, name="generator"), {"generator": Generator()}),
        "models.validation.check_instance": Spec(validation.check_instance, lambda: dict(value=_o("h"), types=models.AffineMap, name="value"),
                                                 {"value": Instance()}),
        "models.validation.check_int": Spec(validation.check_int, lambda: dict(value=3, name="value"), {"value": Count()}),
        "models.validation.check_points": Spec(validation.check_points, lambda: dict(value=z(), name="value", dim=2), {"value": Tensor(points=True),
                                                                                                                      "dim": Count()}),
        "models.validation.check_real": Spec(validation.check_real, lambda: dict(value=0.5, name="value", low=0.0), {"value": Real(low=0.0)}),
        "models.validation.check_spd": Spec(validation.check_spd, lambda: dict(matrices=covs, name="matrices"), {"matrices": Tensor()}),
        "models.validation.check_tensor": Spec(validation.check_tensor, lambda: dict(value=z(), name="value", shape=(None, 2)),
                                               {"value": Tensor(points=True)}),
        "models.validation.resolve_device": Spec(validation.resolve_device, lambda: dict(device="cpu"), {"device": Device()}),
        "models.validation.resolve_dtype": Spec(validation.resolve_dtype, lambda: dict(dtype=F64), {"dtype": Dtype()}),
        # ------------------------------------------------------------- loaders
        "models.io.SmoothDecoder": Spec(io.SmoothDecoder, lambda: dict(steps=_smooth_steps(), in_dim=2),
                                        {"steps": Extra(lambda: [("string", "abc"), ("empty", ()), ("unknown step", (("warp", {}),))]),
                                         "in_dim": Count(optional=True)}),
        "models.io.SmoothDecoder.__call__": Spec(lambda **kw: io.SmoothDecoder(_smooth_steps(), in_dim=2)(**kw), lambda: dict(z=z()), {"z": Tensor(points=True)}),
        "models.io.SquashedNetwork": Spec(io.SquashedNetwork, lambda: dict(network=_o("net"), activation="sigmoid", params={},
                                                                           scale=torch.ones(3, dtype=F64), shift=torch.zeros(3, dtype=F64)),
                                          {"network": Instance(), "activation": Choice(), "scale": Tensor(), "shift": Tensor()}),
        "models.io.SquashedNetwork.__call__": Spec(lambda **kw: _squashed()(**kw), lambda: dict(z=z()), {"z": Tensor(points=True)}),
        "models.io.SquashedNetwork.to_network_space": Spec(lambda **kw: _squashed().to_network_space(**kw), lambda: dict(x=_squashed()(z()), clamp=False),
                                                           {"x": Tensor(points=True, integral_ok=False)}),
        "models.io.LoadedDecoder.__call__": Spec(lambda **kw: io.as_loaded_decoder(_o("net"))(**kw), lambda: dict(z=z()), {"z": Tensor(points=True)}),
        "models.io.as_loaded_decoder": Spec(io.as_loaded_decoder, lambda: dict(decoder=_o("net"), module=None),
                                            {"decoder": Extra(lambda: [("number", 3), ("None", None), ("tensor", torch.zeros(2))]), "module": Text()}),
        "models.io.load_decoder": Spec(io.load_decoder, lambda: dict(path=_saved_decoder(), negative_slope=0.5),
                                       {"path": Path_(), "negative_slope": Extra(lambda: [("NaN", "nan"), ("negative", -1.0), ("words", "leaky"), ("complex", 1j)]),
                                        "module": Text(), "spec": Extra(lambda: [("number", 3)])},
                                       names=("decoder",)),  # the file's errors name what it holds, as the command line's argument
        "models.io.load_prior": Spec(io.load_prior, lambda: dict(source={"weights": [0.5, 0.5], "means": [[0, 0], [1, 1]], "variances": [[1, 1], [2, 1]]},
                                                                 latent_dim=2),
                                     {"source": Extra(lambda: [("missing file", Path(_scratch()) / "missing.json"), ("random bytes", Path(_scratch()) / "random.bin"),
                                                               ("deeply nested JSON", _nested_json()), ("number", 3), ("empty dict", {}),
                                                               ("complex weights", {"weights": [0.5 + 1j, 0.5], "means": [[0, 0], [1, 1]],
                                                                                    "variances": [[1, 1], [2, 1]]})]),
                                      "latent_dim": Count(optional=True)},
                                     names=("prior",)),  # the file's errors name what it holds, as the command line's --prior
        "models.io.parse_slopes": Spec(io.parse_slopes, lambda: dict(value="0.1,0.3", name="value"),
                                       {"value": Extra(lambda: [("NaN", "nan"), ("negative", "-1"), ("words", "leaky"), ("complex", 1j), ("bool", True),
                                                                ("infinite", [math.inf])])}),
        "models.io.read_module": Spec(io.read_module, lambda: dict(module=_o("net").to_torch(), submodule=None),
                                      {"module": Instance(), "submodule": Text()}),
        # ------------------------------------------------------------- verify: maps, mixtures, metrics
        "verify.fit_affine": Spec(verify.fit_affine, lambda: dict(z_from=_samples(), z_to=_o("h")(_samples())),
                                  {"z_from": Tensor(points=True, free_last=True), "z_to": Tensor(points=True, free_last=True)}),
        "verify.check_identity": Spec(verify.check_identity, lambda: dict(h=_o("h"), rtol=1e-7, scale=1.0),
                                      {"h": Instance(), "rtol": Real(low=0.0), "scale": Real(low=0.0, low_open=True)}),
        "verify.check_orthogonal": Spec(verify.check_orthogonal, lambda: dict(h=_o("h"), rtol=1e-7, scale=1.0),
                                        {"h": Instance(), "rtol": Real(low=0.0), "scale": Real(low=0.0, low_open=True)}),
        "verify.check_permutation_scaling": Spec(verify.check_permutation_scaling, lambda: dict(h=_o("h"), rtol=1e-7),
                                                 {"h": Instance(), "rtol": Real(low=0.0)}),
        "verify.canonical_form": Spec(verify.canonical_form, lambda: dict(model=_o("model"), gap_rtol=1e-6, sign_rtol=1e-8),
                                      {"model": Instance(), "gap_rtol": Real(low=0.0), "sign_rtol": Real(low=0.0)}),
        "verify.check_trivial_symmetry": Spec(verify.check_trivial_symmetry, lambda: dict(prior=_o("mixture"), rtol=1e-9),
                                              {"prior": Instance(), "rtol": Real(low=0.0)}),
        "verify.compare": Spec(verify.compare, lambda: dict(learned=_o("other"), truth=_o("model"), n=50, n_bootstrap=5, box=2.0, generator=0),
                               {"learned": MODEL, "truth": MODEL, "n": Count(), "n_bootstrap": Count(minimum=0), "box": Real(low=0.0, low_open=True, optional=True),
                                "generator": Generator(), "data": Tensor(points=True, optional=True, like=lambda: _o("x")), "z_true": Tensor(points=True, optional=True),
                                "z_learned": Tensor(points=True, optional=True), "encoder": Extra(lambda: [("string", "abc"), ("number", 3)]),
                                "learned_prior": Extra(lambda: [("number", 3), ("string", "abc")]), "true_prior": Extra(lambda: [("number", 3)]),
                                "learned_module": Text(), "truth_module": Text()}, slow=True),
        "verify.check_continuous": Spec(verify.check_continuous, lambda: dict(fn=lambda z: z * 2.0, start=t([0.0, 0.0], dtype=F64), end=t([1.0, 1.0], dtype=F64),
                                                                              n_grid=16, n_candidates=2, rtol=1e-8),
                                        {"fn": Function(), "start": Tensor(points=True), "end": Tensor(points=True), "n_grid": Count(minimum=2),
                                         "n_candidates": Count(), "rtol": Real(low=0.0)}),
        "verify.check_full_rank_somewhere": Spec(verify.check_full_rank_somewhere, lambda: dict(network=_o("net"), points=z(), rtol=1e-10),
                                                 {"network": Instance(), "points": Tensor(points=True), "rtol": Real(low=0.0)}),
        "verify.check_full_support": Spec(verify.check_full_support, lambda: dict(log_density=_o("mixture").log_prob, points=z()),
                                          {"log_density": Function(), "points": Tensor(points=True)}),
        "verify.check_nondegenerate_covariance": Spec(verify.check_nondegenerate_covariance, lambda: dict(covariance=2 * eye, rtol=1e-10),
                                                      {"covariance": Tensor(), "rtol": Real(low=0.0)}),
        "verify.check_piecewise_affine": Spec(verify.check_piecewise_affine, lambda: dict(fn=_o("net"), points=z(), h_max=0.1, n_scales=4, rtol=1e-12,
                                                                                          generator=0),
                                              {"fn": Function(), "points": Tensor(points=True), "h_max": Real(low=0.0, low_open=True),
                                               "n_scales": Count(), "rtol": Real(low=0.0), "generator": Generator()}),
        "verify.counterexamples.dropped": Spec(ce.dropped, lambda: dict(assumption="continuity", check=verify.check_identity(_o("h"))),
                                               {"assumption": Text(optional=False), "check": Instance()}),
        "verify.counterexamples.catalog": Spec(ce.catalog, lambda: dict(embed_dim=None, seed=0), {"embed_dim": Count(optional=True), "seed": Seed()}, slow=True),
        "verify.counterexamples.get": Spec(ce.get, lambda: dict(name="CE1", embed_dim=None, seed=0),
                                           {"name": Choice(), "embed_dim": Count(optional=True), "seed": Seed()}),
        "verify.counterexamples.embedding_network": Spec(ce.embedding_network, lambda: dict(in_dim=2, out_dim=3, seed=0),
                                                         {"in_dim": Count(), "out_dim": Count(), "seed": Seed()}),
        "verify.counterexamples.Counterexample.sample": Spec(_method("ce", "sample"), lambda: dict(n=10, generator=0), {"n": Count(), "generator": Generator()}),
        "verify.counterexamples.Counterexample.evidence": Spec(_method("ce", "evidence"), lambda: dict(n_samples=200, seed=0),
                                                               {"n_samples": Count(), "seed": Seed()}, slow=True),
        "verify.counterexamples.Counterexample.embedded": Spec(_method("ce", "embedded"), lambda: dict(n=3, seed=0), {"n": Count(), "seed": Seed()}),
        "verify.counterexamples.SampledModel": Spec(ce.SampledModel, lambda: dict(prior=_o("mixture"), decoder=_o("net"), latent_dim=2, observed_dim=3,
                                                                                  description="a model"),
                                                    {"prior": Extra(lambda: [("number", 3), ("None", None)]), "decoder": Function(),
                                                     "latent_dim": Count(), "observed_dim": Count(), "description": Text(optional=False),
                                                     "latent_log_prob": Extra(lambda: [("string", "abc"), ("number", 3)])}),
        "verify.counterexamples.SampledModel.latent_log_prob": Spec(_method("sampled", "latent_log_prob"), lambda: dict(z=z() * 0.1 + 0.5),
                                                                    {"z": Tensor(points=True, integral_ok=False)}),
        "verify.counterexamples.SampledModel.sample_latent": Spec(_method("sampled", "sample_latent"), lambda: dict(n=5, generator=0),
                                                                  {"n": Count(minimum=0), "generator": Generator()}),
        "verify.counterexamples.SampledModel.sample": Spec(_method("sampled", "sample"), lambda: dict(n=5, generator=0), {"n": Count(minimum=0), "generator": Generator()}),
        "verify.check_same_decoder": Spec(verify.check_same_decoder, lambda: dict(f=_o("net"), g=_o("net"), latent_scale=1.0, points=z(), rtol=1e-8),
                                          {"f": NET, "g": NET, "latent_scale": Real(low=0.0, low_open=True), "points": Tensor(points=True, optional=True),
                                           "rtol": Real(low=0.0), "time_limit": Real(low=0.0, low_open=True, optional=True)}),
        "verify.check_deconvolution": Spec(verify.check_deconvolution, lambda: dict(x_noisy=_samples(80) + 0.1 * _samples(80, seed=1), x_clean=_samples(80, seed=2),
                                                                                    noise_scale=0.1, delta=0.01, n_frequencies=4, generator=0),
                                           {"x_noisy": Tensor(points=True), "x_clean": Tensor(points=True), "noise_scale": Real(low=0.0),
                                            "frequencies": Tensor(points=True, optional=True), "delta": Real(low=0.0, low_open=True, high=1.0, high_open=True),
                                            "n_frequencies": Count(), "generator": Generator()}),
        "verify.check_affine_equivalence": Spec(verify.check_affine_equivalence, lambda: dict(model_a=_o("model"), model_b=_o("other"), n=100, generator=0),
                                                {"model_a": MODEL, "model_b": MODEL_B, "n": Count(), "fit_rtol": Real(low=0.0, optional=True),
                                                 "decoder_rtol": Real(low=0.0), "prior_rtol": Real(low=0.0),
                                                 "generator": Generator(), "time_limit": Real(low=0.0, low_open=True, optional=True)}),
        "verify.recover_affine_map": Spec(verify.recover_affine_map, lambda: dict(model_a=_o("model"), model_b=_o("other"), n=100, generator=0),
                                          {"model_a": MODEL, "model_b": MODEL_B, "n": Count(), "generator": Generator()}),
        "verify.check_image_dimension": Spec(verify.check_image_dimension, lambda: dict(model_a=_o("model"), model_b=_o("other"), n=50, generator=0),
                                             {"model_a": MODEL, "model_b": MODEL_B, "n": Count(), "generator": Generator()}),
        "verify.check_injective": Spec(verify.check_injective, lambda: dict(network=_o("net"), box=2.0, method="auto", n_samples=64, generator=0),
                                       {"network": Instance(), "box": Box(), "method": Choice(), "time_limit": Real(low=0.0, low_open=True, optional=True),
                                        "n_samples": Count(), "generator": Generator()}),
        "verify.find_collision": Spec(verify.find_collision, lambda: dict(network=_o("net"), box=2.0, n_samples=64, max_pairs=16, generator=0),
                                      {"network": Instance(), "box": Box(), "n_samples": Count(minimum=2), "max_pairs": Count(), "generator": Generator()}),
        "verify.count_preimages": Spec(verify.count_preimages, lambda: dict(network=_o("net"), x=_o("x")[0], box=None),
                                       {"network": Instance(), "x": Tensor(points=True, integral_ok=False), "box": Box()}),
        "verify.preimages": Spec(verify.preimages, lambda: dict(network=_o("net"), x=_o("x")[0], box=None),
                                 {"network": Instance(), "x": Tensor(points=True, integral_ok=False), "box": Box()}),
        "verify.injectivity.tolerances": Spec(inj.tolerances, lambda: dict(network=_o("net"), box=2.0), {"network": Instance(), "box": Box()}),
        "verify.injectivity.Tolerances.collision_at": Spec(lambda **kw: inj.tolerances(_o("net"), 2.0).collision_at(kw["points"]), lambda: dict(points=_o("x")[0]),
                                                           {"points": Tensor(points=True, free_last=True)}),
        "verify.check_weakly_injective": Spec(verify.check_weakly_injective, lambda: dict(network=_o("square"), box=2.0, max_candidates=8, budget=200, generator=0),
                                              {"network": Instance(), "box": Box(), "max_candidates": Count(), "budget": Count(), "generator": Generator(),
                                               "time_limit": Real(low=0.0, low_open=True, optional=True)}),
        "verify.check_laws_differ": Spec(verify.check_laws_differ, lambda: dict(model_a=_o("model"), model_b=_o("different"), n=100, z_threshold=5.0, atol=1e-7,
                                                                                generator=0),
                                         {"model_a": Instance(), "model_b": Instance(), "n": Count(minimum=2), "z_threshold": Real(low=0.0, low_open=True),
                                          "atol": Real(low=0.0), "generator": Generator()}),
        "verify.check_same_law": Spec(verify.check_same_law, lambda: dict(model_a=_o("model"), model_b=_o("other"), n=100, atol=1e-7, generator=0),
                                      {"model_a": MODEL, "model_b": MODEL_B, "n": Count(minimum=2), "atol": Real(low=0.0), "generator": Generator()}),
        "verify.check_local_branch": Spec(verify.check_local_branch, lambda: dict(model_a=_o("model"), model_b=_o("other"), z0=z()[0]),
                                          {"model_a": MODEL, "model_b": MODEL_B, "z0": Tensor(points=True)}),
        "verify.affine_mcc": Spec(verify.affine_mcc, lambda: dict(z_true=_samples(), z_learned=_o("h")(_samples())),
                                  {"z_true": Tensor(points=True, free_last=True), "z_learned": Tensor(points=True, free_last=True)}),
        "verify.affine_r2": Spec(verify.affine_r2, lambda: dict(z_true=_samples(), z_learned=_o("h")(_samples())),
                                 {"z_true": Tensor(points=True, free_last=True), "z_learned": Tensor(points=True, free_last=True), "z_true_test": Tensor(points=True, optional=True),
                                  "z_learned_test": Tensor(points=True, optional=True)}),
        "verify.mcc": Spec(verify.mcc, lambda: dict(z_true=_samples(), z_learned=_o("h")(_samples())),
                           {"z_true": Tensor(points=True), "z_learned": Tensor(points=True)}),
        "verify.check_same_mixture": Spec(verify.check_same_mixture, lambda: dict(p=_o("mixture"), q=_o("mixture"), rtol=1e-6),
                                          {"p": MIX, "q": MIX, "rtol": Real(low=0.0)}),
        "verify.fit_gmm": Spec(verify.fit_gmm, lambda: dict(samples=_samples(60), n_components=2, n_init=1, max_iter=20, tol=1e-5, reg_covar=1e-6, generator=0),
                               {"samples": Tensor(points=True, free_last=True), "n_components": Count(), "n_init": Count(), "max_iter": Count(), "tol": Real(low=0.0),
                                "reg_covar": Real(low=0.0), "generator": Generator()}),
        "verify.gmm_l2_distance": Spec(verify.gmm_l2_distance, lambda: dict(p=_o("mixture"), q=_o("mixture")), {"p": MIX, "q": MIX}),
        "verify.match_mixtures": Spec(verify.match_mixtures, lambda: dict(p=_o("mixture"), q=_o("mixture")), {"p": MIX, "q": MIX}),
        "verify.check_posteriors_agree": Spec(verify.check_posteriors_agree, lambda: dict(model_a=_o("model"), model_b=_o("other"), h=_o("h"),
                                                                                          permutation=[0, 1], n=50, generator=0, atol=1e-8),
                                              {"model_a": MODEL, "model_b": MODEL_B, "h": MAP,
                                               "permutation": Extra(lambda: [("repeated", [1, 1]), ("too short", [0]), ("float", [0.5, 1.0]),
                                                                             ("string", "ab"), ("out of range", [0, 5])]),
                                               "n": Count(), "generator": Generator(), "atol": Real(low=0.0)}),
        "verify.check_distinct_variance_ratios": Spec(verify.check_distinct_variance_ratios, lambda: dict(prior=_o("diag"), rtol=1e-6),
                                                      {"prior": Instance(), "rtol": Real(low=0.0)}),
        "verify.check_independent_coordinates": Spec(verify.check_independent_coordinates, lambda: dict(prior=_o("diag"), rtol=1e-6, gaussian_rtol=1e-9),
                                                     {"prior": Instance(), "rtol": Real(low=0.0), "gaussian_rtol": Real(low=0.0)}),
        "verify.check_standard_normal": Spec(verify.check_standard_normal, lambda: dict(prior=_o("mixture"), atol=1e-9),
                                             {"prior": Instance(), "atol": Real(low=0.0)}),
        "verify.report": Spec(verify.report, lambda: dict(decoder=_o("net"), prior=_o("mixture"), box=2.0, theorems=["T1"], generator=0),
                              {"decoder": Extra(lambda: [("number", 3), ("None", None), ("tensor", torch.zeros(2))]),
                               "prior": Extra(lambda: [("number", 3), ("mixture of another dimension", __import__("models").random_gmm(3, 2, generator=0))]),
                               "data": Tensor(points=True, optional=True, like=lambda: _o("x")), "z_true": Tensor(points=True, optional=True),
                               "box": Real(low=0.0, low_open=True, optional=True), "noise_scale": Real(low=0.0, optional=True),
                               "theorems": Extra(lambda: [("unknown", ["T99"]), ("number", 3)]), "module": Text(), "generator": Generator()}, slow=True),
        "verify.check_same_distribution": Spec(verify.check_same_distribution, lambda: dict(x=_samples(40), y=_samples(40, seed=1), alpha=0.1, n_permutations=19,
                                                                                            generator=0),
                                               {"x": Tensor(points=True), "y": Tensor(points=True), "alpha": Real(low=0.0, low_open=True, high=1.0, high_open=True),
                                                "n_permutations": Count(), "generator": Generator()}),
        # ------------------------------------------------------------- the theorem suite
        "verify.suite.Sizes": Spec(suite.Sizes, lambda: dict(latent_dim=2, observed_dim=3, hidden=(3,), n_components=2, n_samples=200),
                                   {"latent_dim": Count(), "observed_dim": Count(), "hidden": Extra(lambda: [("zero width", (0,)), ("float width", (2.5,)),
                                                                                                            ("string", "3"), ("huge", (HUGE,))]),
                                    "n_components": Count(), "n_samples": Count(minimum=20)}),
        "verify.suite.equivalent_model": Spec(suite.equivalent_model, lambda: dict(model=_o("model"), h=_o("h"), generator=torch.Generator().manual_seed(0)),
                                              {"model": MODEL, "h": MAP, "generator": Generator(optional=False)}),
        "verify.suite.injective_model": Spec(suite.injective_model, lambda: dict(seed=0, sizes=_sizes(), device="cpu", prior=None, noise_scale=0.0),
                                             {"seed": Seed(), "sizes": SIZES, "device": Device(), "prior": Instance(optional=True, others=MIX.others), "noise_scale": Real(low=0.0)}),
        "verify.suite.mixing_rotation": Spec(suite.mixing_rotation, lambda: dict(dim=2), {"dim": Count()}),
        "verify.suite.other_seed": Spec(suite.other_seed, lambda: dict(seed=3), {"seed": Seed()}),
        "verify.suite.random_invertible_affine": Spec(suite.random_invertible_affine, lambda: dict(dim=2, generator=torch.Generator().manual_seed(0), max_condition=10.0),
                                                      {"dim": Count(), "generator": Generator(optional=False), "max_condition": Real(low=1.0)}),
        "verify.suite.random_permutation_scaling": Spec(suite.random_permutation_scaling, lambda: dict(dim=2, generator=torch.Generator().manual_seed(0)),
                                                        {"dim": Count(), "generator": Generator(optional=False)}),
        "verify.suite.relu_model": Spec(suite.relu_model, lambda: dict(seed=0, sizes=_sizes(), device="cpu"),
                                        {"seed": Seed(), "sizes": SIZES, "device": Device()}),
        "verify.suite.run_trial": Spec(suite.run_trial, lambda: dict(theorem_id="T1", trial=suite.trial_t1, seed=0, sizes=_sizes(), device="cpu"),
                                       {"theorem_id": Text(optional=False), "trial": Function(), "seed": Seed(), "sizes": SIZES, "device": Device()},
                                       slow=True),
        "verify.suite.standard_normal": Spec(suite.standard_normal, lambda: dict(dim=2), {"dim": Count()}),
        "verify.suite.trial_t5": Spec(suite.trial_t5, lambda: dict(seed=0, sizes=_sizes(), device="cpu", noise_scale=0.1),
                                      {"seed": Seed(), "sizes": SIZES, "device": Device(), "noise_scale": Real(low=0.0, low_open=True)}, slow=True),
    }
    for name in ("trial_t1", "trial_t1_prime", "trial_t2", "trial_t3", "trial_t4_s1", "trial_t4_s2", "trial_t4_s3"):
        specs[f"verify.suite.{name}"] = _trial(name)
    return specs


def _smooth_steps() -> tuple:
    return (("affine", torch.eye(2, dtype=F64), torch.zeros(2, dtype=F64)), ("act", torch.tanh, "Tanh"),
            ("affine", torch.ones(3, 2, dtype=F64), torch.zeros(3, dtype=F64)))


@cache
def _squashed():
    from models.io import SquashedNetwork

    return SquashedNetwork(_o("net"), "sigmoid", {}, torch.ones(3, dtype=F64), torch.zeros(3, dtype=F64))


@cache
def _saved_decoder() -> str:
    path = Path(_scratch()) / "decoder.pt"
    torch.save(_o("net").to_torch().state_dict(), path)
    return str(path)


@cache
def _nested_json() -> str:
    path = Path(_scratch()) / "nested.json"
    path.write_text("[" * 100000 + "]" * 100000)
    return str(path)


# ---------------------------------------------------------------------- the probe (verify.probe): tiny fits
@cache
def _probe_objects() -> dict:
    """Small valid objects of the probe's specs: samples, a tiny budget and experiment, fitted objects built directly."""
    from models import GenerativeModel
    from verify.probe import Budget, Condition, Experiment, FittedFlow, FittedVAE, VAERestart, ground_truth, probe_data

    flow = probe_data("none", 20, 0)
    noisy = GenerativeModel(_o("net"), _o("mixture"), 0.1)
    restart = VAERestart(0, noisy, _o("wide"), 0.0, 0.0)
    truth = ground_truth("all_hold", 1, 2, 0, n_components=2)
    npy = Path(_scratch()) / "samples.npy"
    np.save(npy, _samples(30).numpy())
    condition = Condition("c", "all_hold", 1, 2, 2, n_samples=30)
    return dict(vade_x=_samples(30), flow_x=flow.x, flow_z=flow.z, noisy=noisy, restart=restart, vae=FittedVAE((restart,), 0),
                flow=FittedFlow(GenerativeModel(_o("square"), _o("mixture")), _o("square"), 0.0), truth=truth,
                truth_zx=truth.sample(5, 0), npy=str(npy), budget=Budget("fuzz", 1, 2, 40, 20, 2, 2), condition=condition,
                experiment=Experiment("fuzz", "a tiny experiment", "one condition, for the fuzz test", (condition,)),
                other_noisy=GenerativeModel(_o("model3").decoder, _o("model3").prior, 0.1))


def _p(name):
    return _probe_objects()[name]


def _condition_names(valid: str):
    return Extra(lambda: [("unknown", ["no-such-condition"]), ("string", valid), ("number", 3), ("empty", []), ("repeated", [valid, valid]),
                          ("object", [OBJECT])])


RATE = Real(low=0.0, low_open=True, high=1.0, high_open=True)


def _probe_specs() -> dict[str, Spec]:
    import verify.probe as probe
    from verify.probe import Condition

    fast_flow = dict(steps=2, n_candidates=2, n_starts=1, start_steps=2, keep=1)
    return {
        "verify.probe.Budget": Spec(probe.Budget, lambda: dict(name="fuzz", restarts=1, steps=2, max_samples=40, test_samples=20,
                                                               importance_samples=2, flow_candidates=2),
                                    {"name": Text(optional=False), "restarts": Count(), "steps": Count(), "max_samples": Count(optional=True),
                                     "test_samples": Count(), "importance_samples": Count(), "flow_candidates": Count(optional=True)}),
        "verify.probe.Condition": Spec(Condition, lambda: dict(name="c", truth="all_hold", latent_dim=1, observed_dim=2, n_components=2,
                                                               n_samples=30, noise=0.03),
                                       {"name": Text(optional=False), "truth": Choice(), "latent_dim": Count(), "observed_dim": Count(),
                                        "n_components": Count(), "n_samples": Count(), "noise": Real(low=0.0, low_open=True)}),
        "verify.probe.Experiment": Spec(probe.Experiment, lambda: dict(name="fuzz", title="t", description="d", conditions=(_p("condition"),),
                                                                       engine="vade"),
                                        {"name": Text(optional=False), "title": Text(optional=False), "description": Text(optional=False),
                                         "conditions": Extra(lambda: [("empty", ()), ("string", "c"), ("number", 3), ("None", None), ("names", ("c",)),
                                                                      ("repeated", (_p("condition"), _p("condition"))),
                                                                      ("a truth of the flow", (Condition("d", "none", 1, 1, 2),))]),
                                         "engine": Choice()}),
        # Its errors name the condition asked for, as the command line's --conditions.
        "verify.probe.Experiment.condition": Spec(lambda **kw: _p("experiment").condition(**kw), lambda: dict(name="c"), {"name": Choice()},
                                                  names=("condition",)),
        "verify.probe.Experiment.run": Spec(lambda **kw: _p("experiment").run(**kw), lambda: dict(seed=0, budget=_p("budget"), conditions=["c"]),
                                            {"seed": Seed(), "budget": Choice(), "conditions": _condition_names("c")}, slow=True),
        "verify.probe.run_experiment": Spec(probe.run_experiment, lambda: dict(name="drop", seeds=[0], budget=_p("budget"), conditions=["all_hold"],
                                                                               progress=None),
                                            {"name": Choice(), "seeds": Seeds(), "budget": Choice(), "conditions": _condition_names("all_hold"),
                                             "progress": Function(optional=True)},
                                            slow=True, names=("experiment",)),  # its errors name the experiment, as --experiment
        "verify.probe.affine_scores": Spec(probe.affine_scores, lambda: dict(z_reference=_samples(20), z_fitted=_o("h")(_samples(20))),
                                           {"z_reference": Tensor(points=True, free_last=True), "z_fitted": Tensor(points=True, free_last=True)}),
        "verify.probe.bent_mixture_model": Spec(probe.bent_mixture_model, lambda: dict(dim=1), {"dim": Count()}),
        "verify.probe.probe_data": Spec(probe.probe_data, lambda: dict(drop="none", n=20, seed=0),
                                        {"drop": Choice(), "n": Count(minimum=10), "seed": Seed()}),
        "verify.probe.ground_truth": Spec(probe.ground_truth, lambda: dict(name="all_hold", latent_dim=1, observed_dim=2, seed=0, n_components=2,
                                                                           noise=0.03),
                                          {"name": Choice(), "latent_dim": Count(), "observed_dim": Count(), "seed": Seed(), "n_components": Count(),
                                           "noise": Real(low=0.0, low_open=True)}),
        "verify.probe.GroundTruth.sample": Spec(lambda **kw: _p("truth").sample(**kw), lambda: dict(n=5, generator=0),
                                                {"n": Count(), "generator": Generator()}),
        "verify.probe.GroundTruth.log_likelihood": Spec(lambda **kw: _p("truth").log_likelihood(**kw),
                                                        lambda: dict(x=_p("truth_zx")[1], z=_p("truth_zx")[0], samples=4, generator=0),
                                                        {"x": Tensor(points=True), "z": Tensor(points=True), "samples": Count(), "generator": Generator()}),
        "verify.probe.load_samples": Spec(probe.load_samples, lambda: dict(path=_p("npy"), name="data"), {"path": Path_(), "name": Text(optional=False)}),
        "verify.probe.fit_vade": Spec(probe.fit_vade, lambda: dict(x=_p("vade_x"), latent_dim=1, n_components=2, hidden=(4,), negative_slope=0.2,
                                                                   covariance="full", noise=None, restarts=1, steps=2, pretrain_steps=1, batch_size=16,
                                                                   learning_rate=5e-3, init="pca", seed=0),
                                      {"x": Tensor(points=True, free_last=True), "latent_dim": Count(), "n_components": Count(),
                                       "hidden": Extra(lambda: [("zero width", (0,)), ("float width", (2.5,)), ("string", "3"), ("huge", (HUGE,)),
                                                                ("number", 4), ("None", None), ("bool width", (True,))]),
                                       "negative_slope": Real(low=0.0, low_open=True, high=1.0), "covariance": Choice(),
                                       "noise": Real(low=0.0, low_open=True, optional=True), "restarts": Count(), "steps": Count(),
                                       "pretrain_steps": Count(minimum=0, optional=True), "batch_size": Count(minimum=2), "learning_rate": RATE,
                                       "init": Extra(lambda: [("unknown name", "no-such-init"), ("number", 3), ("None", None), ("wrong shape", torch.ones(5, 1)),
                                                              ("NaN codes", _with(_p("vade_x")[:, :1], math.nan)), ("constant codes", torch.ones(30, 1))]),
                                       "seed": Seed()}, slow=True),
        "verify.probe.fit_flow": Spec(probe.fit_flow, lambda: dict(x_samples=_p("flow_x"), latent_dim=1, n_components=2, hidden_layers=1,
                                                                   learning_rate=0.03, seed=0, **fast_flow),
                                      {"x_samples": Tensor(points=True), "latent_dim": Count(), "n_components": Count(), "hidden_layers": Count(minimum=0),
                                       "steps": Count(), "n_candidates": Count(optional=True), "n_starts": Count(), "start_steps": Count(), "keep": Count(),
                                       "learning_rate": RATE, "seed": Seed()}, slow=True),
        "verify.probe.probe": Spec(probe.probe, lambda: dict(x_samples=_p("flow_x"), latent_dim=1, z_reference=_p("flow_z"), threshold=0.99,
                                                             n_components=2, seed=0, **fast_flow),
                                   {"x_samples": Tensor(points=True), "latent_dim": Count(), "z_reference": Tensor(points=True, optional=True, free_last=True),
                                    "threshold": Real(low=0.0, low_open=True, high=1.0), "n_components": Count(), "seed": Seed(), "steps": Count()},
                                   slow=True),
        "verify.probe.probe_samples": Spec(probe.probe_samples, lambda: dict(x=_p("vade_x"), latents=_p("vade_x")[:, :1], latent_dim=1, n_components=2,
                                                                             engine="vade", budget=_p("budget"), seed=0),
                                           {"x": Tensor(points=True, free_last=True), "latents": Tensor(points=True, optional=True),
                                            "latent_dim": Count(optional=True), "n_components": Count(), "engine": Choice(), "budget": Choice(),
                                            "seed": Seed()}, slow=True),
        "verify.probe.importance_log_likelihood": Spec(probe.importance_log_likelihood, lambda: dict(model=_p("noisy"), encoder=_o("wide"), x=_o("x"),
                                                                                                     samples=4, generator=0),
                                                       {"model": Instance(others=lambda: [("noise-free model", _o("model")),
                                                                                          ("model of other dimensions", _p("other_noisy"))]),
                                                        "encoder": Instance(others=lambda: [("encoder of other dimensions", _o("net"))]),
                                                        "x": Tensor(points=True, integral_ok=False), "samples": Count(), "generator": Generator()}),
        "verify.probe.VAERestart.latents": Spec(lambda **kw: _p("restart").latents(**kw), lambda: dict(x=_o("x")), {"x": Tensor(points=True, integral_ok=False)}),
        "verify.probe.VAERestart.posterior": Spec(lambda **kw: _p("restart").posterior(**kw), lambda: dict(x=_o("x")),
                                                  {"x": Tensor(points=True, integral_ok=False)}),
        "verify.probe.FittedVAE.latents": Spec(lambda **kw: _p("vae").latents(**kw), lambda: dict(x=_o("x")), {"x": Tensor(points=True, integral_ok=False)}),
        "verify.probe.FittedVAE.posterior": Spec(lambda **kw: _p("vae").posterior(**kw), lambda: dict(x=_o("x")), {"x": Tensor(points=True, integral_ok=False)}),
        "verify.probe.FittedFlow.latents": Spec(lambda **kw: _p("flow").latents(**kw), lambda: dict(x=_o("z")), {"x": Tensor(points=True)}),
    }


# ---------------------------------------------------------------------- sweeps (verify.sweep): a task kind that echoes its seed
def _echo(task) -> dict:
    return {"seed": task.seed}


ECHO = {"echo": _echo}
_FILES = itertools.count()


def _echo_task(seed: int = 0):
    from verify.sweep import Task

    return Task.of("echo", "a", seed, size=2)


def _echo_record(seed: int = 0) -> dict:
    from verify.sweep import run_task

    task = _echo_task(seed)
    return run_task(task, _echo, task.key())


def _error_record() -> dict:
    from verify.sweep import trial_task
    from verify.sweep.tasks import error_record

    task = trial_task("T1", 0)
    return error_record(task, task.key(), RuntimeError("planted"), "")


def _with_key(**fields) -> dict:
    return {**_echo_task().key().to_dict(), **fields}


def _fresh_jsonl() -> Path:
    return Path(_scratch()) / f"store-{next(_FILES)}.jsonl"


def _append(store, record) -> None:
    with store:
        store.append(record)


def _register(kind, function=None, replace=False):
    """``register_task_kind``, the registry restored afterwards."""
    from verify.sweep import register_task_kind
    from verify.sweep.tasks import TASK_KINDS

    before = dict(TASK_KINDS)
    try:
        return register_task_kind(kind, function, replace=replace)
    finally:
        TASK_KINDS.clear()
        TASK_KINDS.update(before)


def _held_store():
    from verify.sweep import MemoryStore

    store = MemoryStore()
    store.append(_echo_record(5))
    return store


def _tasks_bad():
    from verify.sweep import Task

    return [("string", "abc"), ("number", 3), ("None", None), ("one task", _echo_task()), ("not tasks", [3]), ("a dict", {"kind": "echo"}),
            ("unknown kind", [Task.of("no-such-kind", "a", 0)])]


TASKS = Extra(_tasks_bad)
KINDS = Extra(lambda: [("string", "abc"), ("number", 3), ("not callable", {"echo": 3}), ("number names", {3: _echo}), ("list", [_echo])])
RECORD = Extra(lambda: [("string", "abc"), ("number", 3), ("None", None), ("no key", {"status": "ok"}), ("malformed key", {"key": {"kind": "echo"}}),
                        ("negative seed", {"key": _with_key(seed=-1), "status": "ok"}), ("list", [_echo_record()])])
SUMMARY_RECORD = Extra(lambda: [("string", "abc"), ("number", 3), ("None", None), ("no key", {"status": "error"}),
                                ("no status", {"key": _with_key()}), ("unknown status", {"key": _with_key(), "status": "exploded"})])


def _sweep_specs() -> dict[str, Spec]:
    import verify.sweep as sweep

    namespace = argparse.Namespace
    missing_folder = lambda: str(Path(_scratch()) / "missing" / "s.jsonl")
    return {
        "verify.sweep.Task": Spec(sweep.Task, lambda: dict(kind="echo", id="a", seed=0, parameters=(("size", 2),)),
                                  {"kind": Text(optional=False), "id": Text(optional=False), "seed": Seed(),
                                   "parameters": Extra(lambda: [("string", "ab"), ("number", 3), ("None", None), ("not pairs", (("a",),)),
                                                                ("repeated", (("a", 1), ("a", 2))), ("unkeyable", (("a", OBJECT),)),
                                                                ("NaN", (("a", math.nan),)), ("number name", ((3, 1),))])}),
        "verify.sweep.Task.key": Spec(lambda **kw: _echo_task().key(**kw), lambda: dict(version=None), {"version": Text()}),
        "verify.sweep.Task.of": Spec(sweep.Task.of, lambda: dict(kind="echo", id="a", seed=0),
                                     {"kind": Text(optional=False), "id": Text(optional=False), "seed": Seed()}),
        # Its errors name the key it reads (a record's "key").
        "verify.sweep.TaskKey.from_dict": Spec(sweep.TaskKey.from_dict, lambda: dict(data=_with_key()),
                                               {"data": Extra(lambda: [("string", "abc"), ("number", 3), ("None", None), ("list", [_with_key()]),
                                                                       ("no version", {k: v for k, v in _with_key().items() if k != "version"}),
                                                                       ("string seed", _with_key(seed="0")), ("bool seed", _with_key(seed=True)),
                                                                       ("negative seed", _with_key(seed=-1)), ("number kind", _with_key(kind=3))])},
                                               names=("key",)),
        "verify.sweep.parameters_hash": Spec(sweep.parameters_hash, lambda: dict(parameters={"size": 2, "name": "a"}),
                                             {"parameters": Extra(lambda: [("object", OBJECT), ("NaN", {"a": math.nan}), ("infinite", [math.inf]),
                                                                           ("number keys", {3: 1}), ("tensor", torch.zeros(2)), ("set", {1, 2}), ("bytes", b"ab")])}),
        "verify.sweep.register_task_kind": Spec(_register, lambda: dict(kind="fuzz-echo", function=_echo, replace=False),
                                                {"kind": Extra(lambda: [("number", 3), ("object", OBJECT), ("bytes", b"abc"), ("None", None), ("empty", ""),
                                                                        ("registered", "trial")]),
                                                 "function": Function(optional=True)}),
        "verify.sweep.task_kind": Spec(sweep.task_kind, lambda: dict(kind="echo", kinds=ECHO), {"kind": Text(optional=False), "kinds": KINDS}),
        "verify.sweep.run_task": Spec(sweep.run_task, lambda: dict(task=_echo_task(), function=_echo, key=_echo_task().key()),
                                      {"task": Instance(others=lambda: [("another task", _echo_task(1))]), "function": Function(),
                                       "key": Instance(others=lambda: [("another task's key", _echo_task(1).key())])}),
        "verify.sweep.trial_task": Spec(sweep.trial_task, lambda: dict(theorem="T1", seed=0, sizes=None, device="cpu"),
                                        {"theorem": Choice(), "seed": Seed(), "sizes": Instance(optional=True), "device": Device(optional=False, local=False)}),
        "verify.sweep.trial_tasks": Spec(sweep.trial_tasks, lambda: dict(theorems=["T1"], seeds=[0, 1], sizes=None, device="cpu"),
                                         {"theorems": Extra(lambda: [("string", "T1"), ("number", 3), ("None", None), ("unknown", ["T99"]), ("not ids", [3])]),
                                          "seeds": Seeds(counts=False), "sizes": Instance(optional=True), "device": Device(optional=False, local=False)}),
        "verify.sweep.InProcessExecutor.run": Spec(lambda **kw: list(sweep.InProcessExecutor().run(**kw)), lambda: dict(tasks=[_echo_task()], kinds=ECHO),
                                                   {"tasks": TASKS, "kinds": KINDS}),
        "verify.sweep.DaskExecutor": Spec(sweep.DaskExecutor, lambda: dict(workers=1, retries=2, batch_size=1, max_in_flight=10),
                                          {"workers": Count(optional=True), "scheduler": Text(), "retries": Count(minimum=0), "batch_size": Count(),
                                           "max_in_flight": Count()}),
        "verify.sweep.run_sweep": Spec(sweep.run_sweep, lambda: dict(tasks=[_echo_task()], executor=None, store=None, resume=False, progress=None,
                                                                     kinds=ECHO, compact=True),
                                       {"tasks": TASKS, "executor": Instance(optional=True, others=lambda: [("a store", sweep.MemoryStore())]),
                                        "store": Instance(optional=True, others=lambda: [("an executor", sweep.InProcessExecutor()),
                                                                                         ("a store that holds records", _held_store())]),
                                        "progress": Function(optional=True), "kinds": KINDS}),
        "verify.sweep.JsonlStore": Spec(sweep.JsonlStore, lambda: dict(path=Path(_scratch()) / "store.jsonl"),
                                        {"path": Extra(lambda: [("a folder", _scratch()), ("missing folder", missing_folder()), ("number", 3), ("None", None),
                                                                ("object", OBJECT), ("bytes", b"s.jsonl")])},
                                        names=("jsonl",)),  # its errors name the file, as the command line's --jsonl
        "verify.sweep.JsonlStore.append": Spec(lambda **kw: _append(sweep.JsonlStore(_fresh_jsonl()), **kw), lambda: dict(record=_echo_record()),
                                               {"record": RECORD}),
        "verify.sweep.MemoryStore.append": Spec(lambda **kw: sweep.MemoryStore().append(**kw), lambda: dict(record=_echo_record()), {"record": RECORD}),
        "verify.sweep.ProgressBar": Spec(sweep.ProgressBar, lambda: dict(stream=io.StringIO(), interactive=False, width=10),
                                         {"stream": Instance(optional=True), "width": Count()}),
        "verify.sweep.ProgressBar.__call__": Spec(lambda **kw: sweep.ProgressBar(io.StringIO(), interactive=False)(**kw),
                                                  lambda: dict(done=1, total=2, record=_echo_record()),
                                                  {"done": Count(minimum=0), "total": Count(minimum=0), "record": Instance(optional=True)}),
        "verify.sweep.summary_rows": Spec(sweep.summary_rows, lambda: dict(records=[_error_record()]),
                                          {"records": Extra(lambda: [("string", "abc"), ("number", 3), ("None", None), ("one record", _error_record()),
                                                                     ("not records", [3]), ("no status", [{"key": _with_key()}]),
                                                                     ("a trial without its report", [{**_error_record(), "status": "ok"}])])}),
        "verify.sweep.describe_failure": Spec(sweep.describe_failure, lambda: dict(record=_error_record()), {"record": SUMMARY_RECORD}),
        "verify.sweep.add_sweep_arguments": Spec(sweep.add_sweep_arguments, lambda: dict(parser=argparse.ArgumentParser()), {"parser": Instance()}),
        # Their errors name the command-line option (--batch-size, --resume, --jsonl) that the arguments came from.
        "verify.sweep.executor_from_arguments": Spec(sweep.executor_from_arguments, lambda: dict(args=namespace(workers=None, scheduler=None, batch_size=1)),
                                                     {"args": Extra(lambda: [("string", "abc"), ("number", 3), ("None", None), ("a dict", {"workers": None}),
                                                                             ("batch size without a cluster", namespace(workers=None, scheduler=None, batch_size=4))])},
                                                     names=("--batch-size",)),
        "verify.sweep.store_from_arguments": Spec(sweep.store_from_arguments, lambda: dict(args=namespace(jsonl=str(Path(_scratch()) / "args.jsonl"), resume=False)),
                                                  {"args": Extra(lambda: [("string", "abc"), ("number", 3), ("None", None), ("a dict", {"resume": True}),
                                                                          ("resume without a file", namespace(jsonl=None, resume=True)),
                                                                          ("missing folder", namespace(jsonl=missing_folder(), resume=False))])},
                                                  names=("--resume", "jsonl")),
    }


@cache
def specs() -> dict[str, Spec]:
    return {**_specs(), **_probe_specs(), **_sweep_specs()}


# ---------------------------------------------------------------------- outcomes
OUTCOMES = ("clear", "unclear", "other exception", "accepted")


def parameter_names(spec: Spec, name: str) -> tuple[str, ...]:
    """The argument names a clear message may start with: the callable's parameters and the spec's keywords."""
    return tuple(set(spec.kinds) | set(spec.args()) | set(spec.names))


def names_argument(message: str, names) -> bool:
    """Whether ``message`` starts with one of ``names`` (``z:``, ``weights[1]:``, ``box (low):`` ...)."""
    return any(re.match(rf"{re.escape(n)}(\[[^\]]*\])*( \([^)]*\))?:", message) for n in names)


def call_with(spec: Spec, argument: str | None = None, value: Any = None):
    kwargs = spec.args()
    if argument is not None:
        kwargs[argument] = value
    return spec.call(**kwargs)


def outcome(spec: Spec, name: str, argument: str, value: Any) -> tuple[str, str]:
    """(outcome class, what happened) of calling with ``argument=value``."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call_with(spec, argument, value)
    except ValueError as exc:
        message = str(exc)
        names = parameter_names(spec, name)
        if "name" in spec.args():
            names = names + (spec.args()["name"],)
        return ("clear" if names_argument(message, names) else "unclear"), f"ValueError: {message[:160]}"
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - every other exception is what is being counted
        return "other exception", f"{type(exc).__name__}: {str(exc)[:160]}"
    return "accepted", "no error"


def cases(spec: Spec) -> list[tuple[str, str, Any]]:
    """(argument, label, bad value) of the fixed list."""
    valid = spec.args()
    found = []
    for argument, kind in spec.kinds.items():
        for label, value in kind.bad(valid.get(argument)):
            found.append((argument, label, value))
    return found
