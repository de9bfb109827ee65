"""Train NB201 networks: a plain reference loop and a fast seed-batched trainer.

Both follow one recipe (:class:`Recipe`): SGD with Nesterov momentum, a per-step cosine
learning rate from ``lr`` to 0, cross-entropy, batch ``batch_size``, evaluation of the
validation and test sets after every stored epoch (BatchNorm in eval mode, running
statistics).

* :func:`train_plain` — one network at a time, the textbook loop; the reference.
* :func:`train_seeds` — all seeds of one architecture in one module of replicas
  (grouped convolutions, see :mod:`naslab.training.models`). The replicas never mix,
  each has its own initialisation and data order drawn from its seed exactly as
  :func:`train_plain` draws them, so the two agree up to float rounding; the fast one
  pays Python and kernel-launch overhead once per step instead of once per seed.

Randomness: seed ``s`` initialises weights from ``torch.Generator().manual_seed(s)``
and orders the data from a second generator seeded ``s + DATA_SEED_OFFSET``; nothing
reads torch's global RNG, so equal seeds give identical results on CPU.

Device ``"auto"``: CUDA with bf16 autocast when a GPU is present, else CPU in float32
(:func:`select_device`). Two times are measured, both cumulative up to each stored epoch
(CUDA synchronised before reading the clock): ``train_time_s`` around the optimisation
steps only, and ``eval_time_s`` around what a stored epoch adds (the precise-BN pass and
the validation/test pass; 38 % of a digits build's wall time, so a simulated cost may
want it). With R replicas each seed is charged 1/R of the shared time.

A replica whose loss becomes non-finite is *diverged*: its metrics from then on are
NaN and the caller records a failed result; the other replicas are unaffected.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from naslab.errors import InvalidValueError

METRIC_NAMES = (
    "val_acc", "val_loss", "test_acc", "test_loss", "train_acc", "train_loss", "train_time_s", "eval_time_s",
)
# the measured times: cumulative seconds per seed, kept (not NaN'd) when a replica diverges
TIME_METRICS = ("train_time_s", "eval_time_s")
DATA_SEED_OFFSET = 1_000_003
# images per forward pass of the validation/test evaluation on a CPU (at most the recipe's eval_batch_size):
# BN is in eval mode there, so the chunking changes no number beyond float rounding, only speed.
# On one CPU thread the digits network evaluated 1,097 images 1.24x faster in chunks of 128 than in one
# pass at load 2.4 (activations stay in the L2 cache), 1.01x at load 4.1 (perf/trainer_speed.py --kernels);
# never slower. The precise-BN pass keeps eval_batch_size: its batches define the statistics.
EVAL_CHUNK = 128


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a training, apart from the architecture and seed."""

    dataset: str = "digits"
    train_size: int | None = None
    val_size: int | None = None
    test_size: int | None = None
    epochs: int = 6
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    channels: int = 16
    cells_per_stage: int = 1
    augment: bool = False
    precise_bn: bool = False
    eval_epochs: tuple[int, ...] | None = None
    test_every_epoch: bool = True
    eval_batch_size: int = 2048

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "channels", "cells_per_stage", "eval_batch_size"):
            if int(getattr(self, name)) < 1:
                raise InvalidValueError(f"recipe: {name}={getattr(self, name)!r} must be a positive integer")
        if not self.lr > 0:
            raise InvalidValueError(f"recipe: lr={self.lr!r} must be positive")
        if self.eval_epochs is not None:
            epochs = tuple(int(e) for e in self.eval_epochs)
            if not epochs or list(epochs) != sorted(set(epochs)) or epochs[0] < 1 or epochs[-1] != self.epochs:
                raise InvalidValueError(
                    f"recipe: eval_epochs={list(self.eval_epochs)} must be increasing epochs in 1..{self.epochs} "
                    "ending with the last epoch"
                )
            object.__setattr__(self, "eval_epochs", epochs)

    @property
    def stored_epochs(self) -> tuple[int, ...]:
        """The epochs at which metrics are evaluated and stored (1-based)."""
        return self.eval_epochs if self.eval_epochs is not None else tuple(range(1, self.epochs + 1))

    def tests_at(self, epoch: int) -> bool:
        return self.test_every_epoch or epoch == self.epochs

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["eval_epochs"] = list(self.eval_epochs) if self.eval_epochs is not None else None
        return out

    @classmethod
    def from_mapping(cls, values: Any) -> Recipe:
        """Build from a dict / DictConfig, naming an unknown field in one sentence."""
        data = dict(values)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidValueError(f"recipe: unknown field(s) {unknown}; known fields: {sorted(known)}")
        if data.get("eval_epochs") is not None:
            data["eval_epochs"] = tuple(int(e) for e in data["eval_epochs"])
        return cls(**data)


@dataclass
class TrainingRecord:
    """Per-seed, per-epoch curves of one architecture: ``metrics[name]`` is ``[S, E]``."""

    seeds: list[int]
    epochs: list[int]
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    device: str = "cpu"

    @property
    def diverged(self) -> np.ndarray:
        """Per seed: did the training produce a non-finite loss or validation value?"""
        return ~np.isfinite(self.metrics["val_loss"][:, -1]) | ~np.isfinite(self.metrics["val_acc"][:, -1])


# ----- device -------------------------------------------------------------------------
def select_device(requested: str = "auto", cuda_available: bool | None = None) -> tuple[str, Any]:
    """``(device, autocast dtype or None)`` for ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    ``auto`` = CUDA with bf16 autocast when available, else CPU with float32.
    ``cuda_available`` overrides detection (the tests use it to cover the GPU branch).
    """
    import torch

    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    if requested == "auto":
        requested = "cuda" if cuda_available else "cpu"
    if requested == "cpu":
        return "cpu", None
    if requested == "cuda" or requested.startswith("cuda:"):
        if not cuda_available:
            raise InvalidValueError(f"device={requested!r} was asked for, but no CUDA GPU is available; use device=auto or cpu")
        return requested, torch.bfloat16
    raise InvalidValueError(f"device={requested!r} is not understood; expected auto, cpu, cuda or cuda:N")


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)


def _cosine_lr(base: float, step: int, total: int) -> float:
    return 0.5 * base * (1.0 + math.cos(math.pi * step / total))


def _data_generator(seed: int) -> torch.Generator:  # noqa: F821
    import torch

    return torch.Generator().manual_seed(int(seed) + DATA_SEED_OFFSET)


def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:  # noqa: F821
    """Random crop (4-pixel zero padding) + horizontal flip, drawn from ``generator``."""
    import torch

    n, _, h, w = x.shape
    shifts = torch.randint(0, 9, (n, 2), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    rows = (torch.arange(h)[None, :] + shifts[:, :1]).to(x.device)
    cols = torch.arange(w)[None, :] + shifts[:, 1:]
    cols = torch.where(flips[:, None], cols.flip(1), cols).to(x.device)
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]]  # [n, h, w, C]
    return out.permute(0, 3, 1, 2).contiguous()


# ----- evaluation ---------------------------------------------------------------------
def _evaluate(
    model: Any, x: Any, y: Any, replicas: int, batch: int, amp_dtype: Any, channels_last: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Per-replica per-image (correct, loss) on ``x``: two ``[R, n]`` arrays; NaN loss if diverged."""
    import torch
    import torch.nn.functional as F

    model.eval()
    device = x.device.type
    correct, losses = [], []
    with torch.no_grad(), torch.autocast(device, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
        for start in range(0, x.shape[0], batch):
            xb, yb = x[start : start + batch], y[start : start + batch]
            xb = xb.repeat(1, replicas, 1, 1)
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            logits = model(xb).float()  # [B, R, classes]
            targets = yb[:, None].expand(-1, replicas)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
            losses.append(loss.view(-1, replicas).T.double().cpu())
            correct.append((logits.argmax(-1) == targets).T.double().cpu())
    return torch.cat(correct, 1).numpy(), torch.cat(losses, 1).numpy()


def _summaries(correct: np.ndarray, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-replica (accuracy %, mean loss); accuracy NaN where the loss is not finite."""
    loss = losses.mean(axis=1)
    acc = 100.0 * correct.mean(axis=1)
    acc[~np.isfinite(loss)] = np.nan
    return acc, loss


def _evaluate_splits(
    model: Any, splits_on_device: dict[str, tuple[Any, Any]], names: Sequence[str], replicas: int,
    recipe: Recipe, amp_dtype: Any, channels_last: bool,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Evaluate several splits in one pass (BN is in eval mode, so images do not interact)."""
    import torch

    xs = [splits_on_device[n][0] for n in names]
    ys = [splits_on_device[n][1] for n in names]
    on_cpu = xs[0].device.type == "cpu"  # a GPU wants its passes large
    batch = min(recipe.eval_batch_size, EVAL_CHUNK) if on_cpu else recipe.eval_batch_size
    correct, losses = _evaluate(model, torch.cat(xs), torch.cat(ys), replicas, batch, amp_dtype, channels_last)
    out, start = {}, 0
    for name, x in zip(names, xs):
        stop = start + x.shape[0]
        out[name] = _summaries(correct[:, start:stop], losses[:, start:stop])
        start = stop
    return out


def _recompute_bn_statistics(model: Any, x: Any, replicas: int, batch: int, channels_last: bool) -> None:
    """Precise BN: replace the running averages by the exact statistics of the training set.

    After a few dozen steps the exponential running averages still lag the weights, so
    eval-mode predictions carry extra noise; one forward pass over the training images
    (no gradient, BN cumulative averaging) removes it.
    """
    import torch

    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for start in range(0, x.shape[0], batch):
            xb = x[start : start + batch].repeat(1, replicas, 1, 1)
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            model(xb)
    for m, momentum in zip(norms, saved):
        m.momentum = momentum


def _evaluate_epoch(
    model: Any, train_x: Any, splits_on_device: dict[str, tuple[Any, Any]], epoch: int, replicas: int,
    recipe: Recipe, amp_dtype: Any, channels_last: bool, device: str,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float]:
    """What a stored epoch adds after its training steps, and its measured seconds (``eval_time_s``):
    precise BN where the recipe asks for it, then validation (and test where the recipe tests)."""
    started = time.perf_counter()
    if recipe.precise_bn:
        _recompute_bn_statistics(model, train_x, replicas, recipe.eval_batch_size, channels_last)
    names = ("val", "test") if recipe.tests_at(epoch) else ("val",)
    results = _evaluate_splits(model, splits_on_device, names, replicas, recipe, amp_dtype, channels_last)
    _synchronize(device)
    return results, time.perf_counter() - started


# ----- the fast trainer ---------------------------------------------------------------
def train_seeds(
    arch: Sequence[int],
    recipe: Recipe,
    splits: Any,
    seeds: Sequence[int],
    device: str = "auto",
    on_epoch: Any = None,
    channels_last: bool = True,
    return_model: bool = False,
    space: Any = None,
) -> TrainingRecord | tuple[TrainingRecord, Any]:
    """Train ``arch`` once per seed, all seeds together as replicas of one network.

    The network is the space's (:meth:`CategoricalSpace.build_network`; NB201 when
    ``space`` is None). ``channels_last`` memory format makes oneDNN's grouped
    convolutions about 2-3x faster on CPU at these sizes (and suits tensor cores on a GPU).
    """
    import torch
    import torch.nn.functional as F

    from naslab.training.models import init_replicas, network_of

    device, amp_dtype = select_device(device)
    replicas = len(seeds)
    model = network_of(space, arch, recipe.channels, recipe.cells_per_stage, splits.num_classes,
                       splits.in_channels, replicas)
    init_replicas(model, seeds)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model.to(device=device, memory_format=memory_format)
    # foreach: one multi-tensor update instead of a Python loop over ~70 parameters, bitwise the same
    # numbers (checked), 1.7x faster a step on a CPU
    optimizer = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov,
        weight_decay=recipe.weight_decay, foreach=True,
    )
    train_x, train_y = splits.train_x.to(device), splits.train_y.to(device)
    on_device = {
        "val": (splits.val_x.to(device), splits.val_y.to(device)),
        "test": (splits.test_x.to(device), splits.test_y.to(device)),
    }
    n, c, h, w = train_x.shape
    total_steps = recipe.epochs * math.ceil(n / recipe.batch_size)
    data_generators = [_data_generator(s) for s in seeds]
    stored = recipe.stored_epochs

    curves = {name: np.full((replicas, len(stored)), np.nan) for name in METRIC_NAMES}
    alive = np.ones(replicas, dtype=bool)
    elapsed = evaluating = 0.0
    step = 0
    train_loss = torch.zeros(replicas, device=device)
    train_correct = torch.zeros(replicas, device=device)
    for epoch in range(1, recipe.epochs + 1):
        _synchronize(device)
        started = time.perf_counter()
        model.train()
        orders = torch.stack([torch.randperm(n, generator=g) for g in data_generators]).to(device)
        if recipe.augment:
            # one augmented copy of the training set per replica and epoch, from its own generator
            views = torch.stack([_augment(train_x, g) for g in data_generators])  # [R, n, C, H, W]
        train_loss.zero_()
        train_correct.zero_()
        for batch_start in range(0, n, recipe.batch_size):
            index = orders[:, batch_start : batch_start + recipe.batch_size]  # [R, B]
            if recipe.augment:
                xb = views[torch.arange(replicas, device=device)[:, None], index]
            else:
                xb = train_x[index]  # [R, B, C, H, W]
            b = index.shape[1]
            xb = xb.transpose(0, 1).reshape(b, replicas * c, h, w).contiguous(memory_format=memory_format)
            yb = train_y[index].T  # [B, R]
            for group in optimizer.param_groups:
                group["lr"] = _cosine_lr(recipe.lr, step, total_steps)
            with torch.autocast(device_type=device.split(":")[0], dtype=amp_dtype or torch.bfloat16,
                                enabled=amp_dtype is not None):
                logits = model(xb)
            logits = logits.float()
            losses = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1), reduction="none")
            # sum over replicas of each replica's batch mean: replica r's gradient is its own
            loss = losses.sum() / b
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                train_loss += losses.detach().view(b, replicas).sum(0)
                train_correct += (logits.detach().argmax(-1) == yb).sum(0)
            step += 1
        _synchronize(device)
        elapsed += time.perf_counter() - started
        epoch_loss = (train_loss / n).cpu().numpy().astype(np.float64)
        alive &= np.isfinite(epoch_loss)
        if epoch not in stored:
            if not alive.any():
                break
            continue
        k = stored.index(epoch)
        curves["train_loss"][:, k] = epoch_loss
        curves["train_acc"][:, k] = (100.0 * train_correct / n).cpu().numpy()
        curves["train_time_s"][:, k] = elapsed / replicas
        results, seconds = _evaluate_epoch(model, train_x, on_device, epoch, replicas, recipe, amp_dtype,
                                           channels_last, device)
        evaluating += seconds
        curves["eval_time_s"][:, k] = evaluating / replicas
        for name, (acc, loss_value) in results.items():
            curves[f"{name}_acc"][:, k], curves[f"{name}_loss"][:, k] = acc, loss_value
        alive &= np.isfinite(results["val"][1])
        for name in METRIC_NAMES:
            if name not in TIME_METRICS:
                curves[name][~alive, k] = np.nan
        if on_epoch is not None:
            on_epoch(epoch, {key: v[:, k] for key, v in curves.items()})
        if not alive.any():
            break  # every replica diverged: nothing left worth training
    # a training stopped early (every replica diverged) cost the time it ran
    for name, seconds in (("train_time_s", elapsed), ("eval_time_s", evaluating)):
        curves[name][np.isnan(curves[name])] = seconds / replicas
    record = TrainingRecord(
        seeds=[int(s) for s in seeds],
        epochs=list(stored),
        metrics={key: v.astype(np.float32) for key, v in curves.items()},
        device=device,
    )
    return (record, model) if return_model else record


# ----- the plain reference trainer ----------------------------------------------------
def train_plain(
    arch: Sequence[int],
    recipe: Recipe,
    splits: Any,
    seed: int,
    device: str = "auto",
    return_model: bool = False,
    on_epoch: Any = None,
    space: Any = None,
) -> TrainingRecord | tuple[TrainingRecord, Any]:
    """The textbook loop, one network, one seed: the reference the fast trainer must match."""
    import torch
    import torch.nn.functional as F

    from naslab.training.models import init_replicas, network_of

    device, amp_dtype = select_device(device)
    model = network_of(space, arch, recipe.channels, recipe.cells_per_stage, splits.num_classes,
                       splits.in_channels, 1)
    init_replicas(model, [seed])
    model.to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov,
        weight_decay=recipe.weight_decay,
    )
    n = splits.train_x.shape[0]
    total_steps = recipe.epochs * math.ceil(n / recipe.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _cosine_lr(1.0, s, total_steps))
    generator = _data_generator(seed)
    stored = recipe.stored_epochs
    curves = {name: np.full((1, len(stored)), np.nan) for name in METRIC_NAMES}
    train_x, train_y = splits.train_x.to(device), splits.train_y.to(device)
    on_device = {
        "val": (splits.val_x.to(device), splits.val_y.to(device)),
        "test": (splits.test_x.to(device), splits.test_y.to(device)),
    }
    elapsed = evaluating = 0.0
    for epoch in range(1, recipe.epochs + 1):
        _synchronize(device)
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=generator).to(device)
        data = _augment(train_x, generator) if recipe.augment else train_x
        loss_sum, correct = 0.0, 0
        for batch_start in range(0, n, recipe.batch_size):
            index = order[batch_start : batch_start + recipe.batch_size]
            xb, yb = data[index], train_y[index]
            with torch.autocast(device_type=device.split(":")[0], dtype=amp_dtype or torch.bfloat16,
                                enabled=amp_dtype is not None):
                logits = model(xb)[:, 0]
            loss = F.cross_entropy(logits.float(), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += float(loss.detach()) * len(index)
            correct += int((logits.detach().argmax(-1) == yb).sum())
        _synchronize(device)
        elapsed += time.perf_counter() - started
        diverged = not math.isfinite(loss_sum)
        if epoch in stored and not diverged:
            k = stored.index(epoch)
            curves["train_loss"][0, k] = loss_sum / n
            curves["train_acc"][0, k] = 100.0 * correct / n
            curves["train_time_s"][0, k] = elapsed
            results, seconds = _evaluate_epoch(model, train_x, on_device, epoch, 1, recipe, amp_dtype, False, device)
            evaluating += seconds
            curves["eval_time_s"][0, k] = evaluating
            for name, (acc, loss_value) in results.items():
                curves[f"{name}_acc"][0, k], curves[f"{name}_loss"][0, k] = acc[0], loss_value[0]
            diverged = not np.isfinite(curves["val_loss"][0, k])
            if on_epoch is not None:
                on_epoch(epoch, {key: v[:, k] for key, v in curves.items()})
        if diverged:
            k = stored.index(epoch) if epoch in stored else next(i for i, e in enumerate(stored) if e > epoch)
            for name in METRIC_NAMES:
                if name not in TIME_METRICS:
                    curves[name][0, k:] = np.nan
            break
    for name, seconds in (("train_time_s", elapsed), ("eval_time_s", evaluating)):  # stopped early: the time it ran
        curves[name][np.isnan(curves[name])] = seconds
    record = TrainingRecord(
        seeds=[int(seed)],
        epochs=list(stored),
        metrics={key: v.astype(np.float32) for key, v in curves.items()},
        device=device,
    )
    return (record, model) if return_model else record
