"""Scoring one architecture with one zero-cost proxy: the network, the batch, failures.

A proxy scores an *untrained* network from at most a few forward/backward passes
(Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021; reference code
SamsungLabs/zero-cost-nas ``foresight/pruners/predictive.py`` and its NASLib port
automl/NASLib ``naslib/predictors/utils/pruners/predictive.py``). Each proxy is one
module of this package with a ``compute(net, batch) -> float`` function and a
:class:`ProxySpec` saying what it needs; this module supplies what they share:

* the network: the space's own builder (:meth:`CategoricalSpace.build_network`; NB201:
  :func:`naslab.training.models.build_network`), initialised by
  :func:`~naslab.training.models.init_replicas` from the scoring seed — the very weights
  the trainer starts from — returning logits ``[B, classes]``;
* the data: ``batch_size`` images of the training split, drawn without replacement by
  ``numpy.random.default_rng(seed)`` (the references take one shuffled minibatch of the
  train loader), never loaded for a data-independent proxy;
* the score per layer: the references sum a per-weight array over every ``Conv2d`` and
  ``Linear`` layer; here a *weight layer* is any module whose ``weight`` parameter has
  two or more dimensions (convolutions, linear layers, NB201's replica classifier) and
  BatchNorm's 1-D affine weights are left out, as the references leave them out;
* failures: a proxy that raises a numerical error or returns NaN/inf gives a failed
  :class:`ProxyScore` with the reason, never an exception.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np

from naslab.errors import NaslabError
from naslab.spaces import Arch, CategoricalSpace, get_space

Status = Literal["ok", "failed"]

# input channels, image size, classes of the datasets naslab's trainer knows, so a
# data-independent proxy gets the network's shape without opening the data
DATASET_SHAPES: dict[str, tuple[int, int, int]] = {"digits": (1, 8, 10), "cifar10": (3, 32, 10)}
# the network each dataset's benchmark trains (digits recipe: C=8, N=1; the NB201 paper: C=16, N=5)
NETWORK_DEFAULTS: dict[str, dict[str, int]] = {
    "digits": {"channels": 8, "cells_per_stage": 1},
    "cifar10": {"channels": 16, "cells_per_stage": 5},
}


class ZeroCostError(NaslabError, ValueError):
    """A proxy, space or dataset that cannot be scored; one sentence saying why."""


@dataclass(frozen=True)
class ProxySpec:
    """What a proxy needs: data or not, its batch size, BatchNorm kept or bypassed, precision."""

    name: str
    data_independent: bool
    batch_size: int = 64  # zero-cost-nas nasbench2_pred.py: --batch_size 64, one batch
    batch_norm: bool = True  # False: BN layers are bypassed (synflow, as its reference does)
    float64: bool = False
    reference: str = ""


@dataclass(frozen=True)
class ProxyScore:
    """One proxy's score of one architecture; ``time_s`` = build + data + compute seconds."""

    proxy: str
    arch: str
    value: float
    time_s: float
    status: Status = "ok"
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class Batch:
    """The images (and labels) a data-dependent proxy sees; shapes for the others."""

    inputs: Any  # torch.Tensor [B, C, H, W] or None for data-independent proxies
    targets: Any  # torch.Tensor [B] or None
    in_channels: int
    image_size: int
    num_classes: int
    seed: int
    generator: Any = None  # torch.Generator seeded from the scoring seed (zen's noise)


# ----- the registry --------------------------------------------------------------------
PROXY_NAMES: tuple[str, ...] = (
    "synflow", "jacob_cov", "nwot", "snip", "grasp", "fisher", "grad_norm",
    "l2_norm", "plain", "zen", "epe_nas", "params", "flops",
)


def proxy_module(name: str) -> Any:
    if name not in PROXY_NAMES:
        raise ZeroCostError(f"unknown zero-cost proxy {name!r}; choose from {list(PROXY_NAMES)}")
    return importlib.import_module(f"naslab.zero_cost.{name}")


def proxy_spec(name: str) -> ProxySpec:
    return proxy_module(name).SPEC


# ----- shared helpers for the proxies ----------------------------------------------------
def weight_layers(net: Any) -> list[Any]:
    """Modules with a >= 2-D ``weight`` (convs, linear layers), in module order."""
    out = []
    for module in net.modules():
        weight = getattr(module, "weight", None)
        if weight is not None and hasattr(weight, "dim") and weight.dim() >= 2:
            out.append(module)
    return out


def sum_over_layers(net: Any, per_weight: Callable[[Any], Any]) -> float:
    """Sum of ``per_weight(layer)`` over every weight layer, as a float64 total."""
    total = 0.0
    for layer in weight_layers(net):
        value = per_weight(layer)
        if value is not None:
            total += float(value.detach().double().sum())
    return total


# ----- networks ---------------------------------------------------------------------------
def build_scoring_network(
    space: CategoricalSpace, arch: Arch, in_channels: int, num_classes: int, seed: int, **network: Any
) -> Any:
    """The initialised network of ``arch`` as the trainer builds it: the space's builder
    (:meth:`CategoricalSpace.build_network`, one replica) and
    :func:`~naslab.training.models.init_replicas` from ``seed``; logits ``[B, classes]``.
    ``ZeroCostError`` (one sentence) for a space without a builder or unknown options."""
    import torch
    from torch import nn

    from naslab.spaces.base import NotTrainableError
    from naslab.training.models import init_replicas, network_of

    try:
        space.check_trainable()
    except NotTrainableError as exc:
        raise ZeroCostError(f"{exc} (zero-cost proxies score the network a space builds)") from None
    unknown = set(network) - {"channels", "cells_per_stage"}
    if unknown:
        raise ZeroCostError(f"network options are channels and cells_per_stage; got {sorted(unknown)}")
    model = network_of(space, arch, int(network.get("channels", 16)), int(network.get("cells_per_stage", 1)),
                       num_classes, in_channels, replicas=1)
    init_replicas(model, [int(seed)])

    class Logits(nn.Module):
        """The builders' ``[B, replicas=1, classes]`` as ``[B, classes]``."""

        def __init__(self, body: nn.Module) -> None:
            super().__init__()
            self.body = body

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x).flatten(1)

    return Logits(model)


def bypass_batch_norm(net: Any) -> None:
    """Replace every BatchNorm by an identity (the references' ``bn=False`` copy)."""
    from torch import nn

    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(module, name, nn.Identity())


# ----- the scorer -----------------------------------------------------------------------
@dataclass
class ZeroCostScorer:
    """Scores architectures of one space on one dataset, for one seed.

    ``dataset`` is one the trainer knows (:data:`naslab.training.data.DATASETS`); the
    network options default to the dataset's benchmark network
    (:data:`NETWORK_DEFAULTS`). ``batch_size`` overrides every proxy's own. Loading the
    data is deferred to the first data-dependent proxy.
    """

    space: str | CategoricalSpace = "nb201"
    dataset: str = "digits"
    seed: int = 0
    data_root: str | None = None
    batch_size: int | None = None
    network: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # per-proxy keyword options

    def __post_init__(self) -> None:
        if isinstance(self.space, str):
            self.space = get_space(self.space)
        if self.dataset not in DATASET_SHAPES:
            raise ZeroCostError(f"unknown dataset {self.dataset!r} for zero-cost scoring; expected one of {list(DATASET_SHAPES)}")
        if self.batch_size is not None and int(self.batch_size) < 2:
            raise ZeroCostError(f"batch_size must be >= 2 (proxies compare images), got {self.batch_size}")
        net = dict(NETWORK_DEFAULTS.get(self.dataset, {}))
        net.update(self.network or {})
        self.network = net
        self._batches: dict[int, Batch] = {}

    @cached_property
    def _train(self) -> tuple[Any, Any]:
        from naslab.training.data import load_dataset

        splits = load_dataset(self.dataset, root=self.data_root, val_size=1, test_size=1)
        return splits.train_x, splits.train_y

    def batch(self, spec: ProxySpec) -> Batch:
        import torch

        in_channels, image_size, num_classes = DATASET_SHAPES[self.dataset]
        size = int(self.batch_size or spec.batch_size)
        generator = torch.Generator().manual_seed(int(self.seed))
        if spec.data_independent:
            return Batch(None, None, in_channels, image_size, num_classes, int(self.seed), generator)
        if size not in self._batches:
            x, y = self._train
            if size > x.shape[0]:
                raise ZeroCostError(f"batch_size {size} exceeds the {x.shape[0]} training images of {self.dataset}")
            rows = np.sort(np.random.default_rng(int(self.seed)).choice(x.shape[0], size, replace=False))
            index = torch.from_numpy(rows)
            self._batches[size] = Batch(x[index], y[index], in_channels, image_size, num_classes, int(self.seed))
        cached = self._batches[size]
        return Batch(cached.inputs.clone(), cached.targets.clone(), in_channels, image_size, num_classes,
                     int(self.seed), generator)

    def score(self, arch: Arch, proxy: str) -> ProxyScore:
        """One proxy's score of ``arch`` (a decision vector); failures are failed scores."""
        space: CategoricalSpace = self.space  # type: ignore[assignment]  # a space since __post_init__
        arch = space.validate(arch)
        module = proxy_module(proxy)
        spec: ProxySpec = module.SPEC
        name = space.to_string(arch)
        started = time.perf_counter()
        try:
            batch = self.batch(spec)
            net = build_scoring_network(space, arch, batch.in_channels, batch.num_classes, self.seed, **self.network)
            net.train()  # the references score in training mode: BN uses the batch's statistics
            if not spec.batch_norm:
                bypass_batch_norm(net)
            if spec.float64:
                net = net.double()
            with np.errstate(all="ignore"):
                value = float(module.compute(net, batch, **dict(self.options.get(proxy, {}))))
        except (RuntimeError, FloatingPointError, ArithmeticError, np.linalg.LinAlgError) as exc:
            # a numerical blow-up (singular matrix, NaN gradients): a failed score, not a crash
            return ProxyScore(proxy, name, math.nan, time.perf_counter() - started, "failed", _first_line(exc))
        elapsed = time.perf_counter() - started
        if not math.isfinite(value):
            return ProxyScore(proxy, name, math.nan, elapsed, "failed", f"{proxy} gave {value}")
        return ProxyScore(proxy, name, value, elapsed)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def score(
    arch: Arch | str,
    proxy: str = "synflow",
    space: str = "nb201",
    dataset: str = "digits",
    seed: int = 0,
    **options: Any,
) -> ProxyScore:
    """Score one architecture (decision vector or the space's string) with one proxy."""
    sp = get_space(space)
    vector = sp.from_string(arch) if isinstance(arch, str) else arch
    return ZeroCostScorer(sp, dataset, seed, **options).score(vector, proxy)
