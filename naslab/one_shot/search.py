"""The one-shot search loop: train a supernet with a method, look each derived architecture up.

Recipe (D-X-Y/AutoDL-Projects ``configs/nas-benchmark/algos/weight-sharing.config``,
the one config ``exps/NATS-algos/search-cell.py`` uses for every method): SGD with
Nesterov momentum 0.9, weight decay 5e-4, batch 64, learning rate cosine-annealed per
step from 0.025 to 0.001, 100 epochs. Per step the weights learn on a training batch
and the method's parameters on a validation batch of the same size (NATS pairs every
training image with a random validation one), so architecture parameters learn on
the validation split and weights on the training split, as in DARTS.

The supernet has the benchmark's macro skeleton and is trained on the benchmark's
own splits: channels, cells per stage, dataset and split sizes are read from the
benchmark file's recipe (``attrs['recipe']``), so the supernet cannot silently be of
another recipe than the table that judges it (settings override them only where the
file names none).

After every ``eval_every`` epochs the method's current architecture is looked up in
the benchmark (mean over its seeds, last epoch) and recorded with the measured search
time so far; the method never sees these numbers. The run folder is that of a search
(``trajectory.csv`` + ``summary.json``, :mod:`naslab.outputs`): one row per derived
architecture, ``sim_time_s`` = measured search seconds (training, the method's own
updates and the derivation; not the look-ups or the final ranking), the "incumbent"
= the architecture the method proposes at that point (a one-shot method cannot pick
the best of its proposals by benchmark accuracy), regret against the benchmark's best
test accuracy. At the end the supernet's ranking quality is measured
(:mod:`naslab.one_shot.ranking`) and written to ``ranking.csv`` and the summary.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from naslab.one_shot.base import MethodContext, OneShotError, OneShotMethod

log = logging.getLogger("naslab")

RANKING_FILE = "ranking.csv"


def _setting(cfg: DictConfig, key: str, kind: type = int, positive: bool = True) -> Any:
    value = OmegaConf.select(cfg, key)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise OneShotError(f"{key} must be a number, got {value!r}") from None
    if kind is int and number != value:
        raise OneShotError(f"{key} must be a whole number, got {value!r}")
    if positive and not number > 0:
        raise OneShotError(f"{key} must be > 0, got {value!r}")
    if not positive and number < 0:
        raise OneShotError(f"{key} must be >= 0, got {value!r}")
    return number


def recipe_of(cfg: DictConfig, benchmark: Any) -> dict[str, Any]:
    """Dataset, splits and network size: the benchmark's recipe, settings only where it names none."""
    recipe = dict(benchmark.attrs.get("recipe") or {})
    out: dict[str, Any] = {}
    for key, default in (("dataset", benchmark.dataset), ("train_size", None), ("val_size", None),
                         ("test_size", None), ("channels", None), ("cells_per_stage", None)):
        given = OmegaConf.select(cfg, f"supernet.{key}")
        if key in recipe and recipe[key] is not None:
            if given is not None and given != recipe[key]:
                raise OneShotError(
                    f"supernet.{key}={given!r} differs from the benchmark's recipe ({key}={recipe[key]!r}); "
                    "the supernet must match the benchmark that judges it, so drop the override"
                )
            out[key] = recipe[key]
        else:
            out[key] = given if given is not None else default
    for key in ("channels", "cells_per_stage"):
        if out[key] is None:
            raise OneShotError(f"the benchmark {benchmark.label} names no recipe {key}; set supernet.{key}")
    return out


def settings_of(cls: type) -> list[str]:
    """The keyword settings a method class takes (its own and its bases' ``__init__`` parameters)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.name not in ("self", "context") and p.kind is not inspect.Parameter.VAR_KEYWORD:
                names.add(p.name)
    return sorted(names)


def make_method(cfg: DictConfig, context: MethodContext) -> OneShotMethod:
    """Instantiate the method config, naming an unknown setting in one sentence."""
    from hydra.utils import get_class

    container = OmegaConf.to_container(cfg.method, resolve=True)
    assert isinstance(container, dict)
    node: dict[str, Any] = {str(k): v for k, v in container.items()}
    target = node.pop("_target_", None)
    node.pop("_partial_", None)
    if target is None:
        raise OneShotError("the method config has no _target_; pick one with method=<name> "
                           "(naslab/conf/one_shot/method/)")
    cls = get_class(str(target))
    known = settings_of(cls)
    unknown = sorted(set(node) - set(known))
    if unknown:
        raise OneShotError(f"method.{unknown[0]} is not a setting of {cls.__name__}; its settings are {known}")
    return cls(context, **node)


def _cosine(base: float, minimum: float, step: int, total: int) -> float:
    return minimum + 0.5 * (base - minimum) * (1.0 + math.cos(math.pi * step / total))


def supernet_step(method: OneShotMethod, w_optimizer: Any, xb: Any, yb: Any, xv: Any, yv: Any) -> None:
    """One search step: an SGD step of the shared weights on a training batch, then the method's own update."""
    import torch.nn.functional as F

    with method.context.autocast():
        logits = method.weight_logits(xb)
    loss = F.cross_entropy(logits.float(), yb)
    w_optimizer.zero_grad(set_to_none=True)
    loss.backward()
    w_optimizer.step()
    method.arch_step(xb, yb, xv, yv, w_optimizer)


def run_one_shot(cfg: DictConfig, out_dir: Path, method_name: str | None = None) -> dict[str, Any]:
    """Run the one-shot search ``cfg`` describes and write its run folder; return the summary."""
    import torch

    from naslab import __version__
    from naslab.app import _seed, git_commit, git_dirty, retrain_command
    from naslab.benchmarks.registry import open_benchmark
    from naslab.evaluators.tabular import TabularEvaluator
    from naslab.one_shot.ranking import supernet_ranking
    from naslab.one_shot.supernet import build_supernet
    from naslab.outputs import atomic_write_text, file_sha256, json_float, write_run
    from naslab.runner import Trajectory
    from naslab.spaces.nb201 import OPS
    from naslab.training.data import load_dataset
    from naslab.training.trainer import select_device

    started = time.perf_counter()
    seed = _seed(cfg.seed)
    epochs = _setting(cfg, "epochs")
    batch_size = _setting(cfg, "batch_size")
    val_batch_size = _setting(cfg, "val_batch_size")
    eval_every = _setting(cfg, "eval_every")
    lr, lr_min = _setting(cfg, "lr", float), _setting(cfg, "lr_min", float, positive=False)
    momentum = _setting(cfg, "momentum", float, positive=False)
    weight_decay = _setting(cfg, "weight_decay", float, positive=False)
    if lr_min > lr:
        raise OneShotError(f"lr_min={lr_min} must not exceed lr={lr}")
    num_ranked = _setting(cfg, "ranking.num_archs", positive=False)
    path = OmegaConf.select(cfg, "benchmark.path")
    if not path:
        raise OneShotError("benchmark.path is not set; a one-shot search needs the benchmark that judges it")
    benchmark = open_benchmark(path)
    if benchmark.space_name != "nb201":
        raise OneShotError(f"the one-shot supernet is of the nb201 space, but {benchmark.label} is of "
                           f"{benchmark.space_name!r}")
    evaluator = TabularEvaluator(benchmark)
    space = evaluator.space
    recipe = recipe_of(cfg, benchmark)
    splits = load_dataset(recipe["dataset"], recipe["train_size"], recipe["val_size"], recipe["test_size"],
                          cfg.get("data_root"))
    device, amp_dtype = select_device(str(cfg.device))

    # independent streams from the run seed: supernet init, torch draws, arch sampling
    init_seq, torch_seq, arch_seq = np.random.SeedSequence(seed).spawn(3)
    generator = torch.Generator().manual_seed(int(torch_seq.generate_state(1)[0]))
    supernet = build_supernet(
        int(recipe["channels"]), int(recipe["cells_per_stage"]), splits.num_classes, splits.in_channels,
        int(init_seq.generate_state(1)[0]), bool(cfg.supernet.affine), bool(cfg.supernet.track_running_stats),
    ).to(device)
    train_x, train_y = splits.train_x.to(device), splits.train_y.to(device)
    val_x, val_y = splits.val_x.to(device), splits.val_y.to(device)
    n = train_x.shape[0]
    steps_per_epoch = math.ceil(n / batch_size)
    context = MethodContext(
        supernet=supernet, space=space, val_x=val_x, val_y=val_y, rng=np.random.default_rng(arch_seq),
        generator=generator, device=device, amp_dtype=amp_dtype, epochs=epochs,
        steps_per_epoch=steps_per_epoch, val_batch_size=val_batch_size,
    )
    method = make_method(cfg, context)
    method_name = method_name or method.name
    w_optimizer = torch.optim.SGD(supernet.parameters(), lr=lr, momentum=momentum,
                                  nesterov=bool(cfg.nesterov) and momentum > 0, weight_decay=weight_decay)
    log.info("one-shot %s on %s: %d epochs x %d steps, supernet C=%s N=%s, device %s", method_name,
             splits.describe(), epochs, steps_per_epoch, recipe["channels"], recipe["cells_per_stage"], device)

    trajectory = Trajectory()
    best_test = evaluator.best_test_acc()
    search_s = 0.0
    step = 0
    total_steps = epochs * steps_per_epoch
    autocast = context.autocast
    for epoch in range(epochs):
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)
        epoch_started = time.perf_counter()
        supernet.train()
        method.begin_epoch(epoch)
        order = torch.randperm(n, generator=generator).to(device)
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            xb, yb = train_x[index], train_y[index]
            xv, yv = context.val_batch(index.numel())
            for group in w_optimizer.param_groups:
                group["lr"] = _cosine(lr, lr_min, step, total_steps)
            supernet_step(method, w_optimizer, xb, yb, xv, yv)
            step += 1
        method.end_epoch(epoch)
        if (epoch + 1) % eval_every and epoch + 1 != epochs:
            if device.startswith("cuda"):
                torch.cuda.synchronize(device)
            search_s += time.perf_counter() - epoch_started
            continue
        arch = method.derive()
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)
        epoch_s = time.perf_counter() - epoch_started
        search_s += epoch_s
        result = evaluator.evaluate(arch)
        test, regret = evaluator.reference_test_acc(arch), evaluator.regret(arch)
        trajectory.rows.append((
            len(trajectory.rows), result.arch, epoch + 1, result.seed, result.status, result.val_acc,
            result.val_loss, result.test_acc, epoch_s, search_s, 0, result.params, result.flops,
            result.latency_ms, result.arch, result.val_acc, test, regret,
        ))
        trajectory.incumbent = result
        log.info("epoch %d/%d: %s  benchmark val_acc %.2f test_acc %.2f (regret %.2f), search %.1f s",
                 epoch + 1, epochs, result.arch, result.val_acc, test, regret, search_s)
    final = trajectory.incumbent
    assert final is not None
    trajectory.incumbent_test_acc = evaluator.reference_test_acc(space.from_string(final.arch))
    trajectory.regret = evaluator.regret(space.from_string(final.arch))
    trajectory.sim_time_s = search_s

    ranking_csv, ranking = supernet_ranking(supernet, evaluator, num_ranked, int(cfg.ranking.sample_seed),
                                            val_x, val_y, autocast)
    ops = space.from_string(final.arch)
    summary: dict[str, Any] = {
        "strategy": method_name,
        "one_shot": True,
        "seed": seed,
        "epochs": epochs,
        "steps": step,
        "num_evaluations": len(trajectory),
        "num_failed": sum(1 for row in trajectory.rows if row[4] != "ok"),
        "sim_time_s": search_s,
        "search_cost_s": search_s,
        "wall_time_s": round(time.perf_counter() - started, 4),
        "device": device,
        "incumbent": {
            "arch": final.arch,
            "val_acc": json_float(final.val_acc),
            "epoch": epochs,
            "test_acc": json_float(trajectory.incumbent_test_acc),
            "parameter_free_edges": sum(1 for o in ops if OPS[o] in ("none", "skip_connect", "avg_pool_3x3")),
            "skip_edges": sum(1 for o in ops if OPS[o] == "skip_connect"),
        },
        "best_test_acc_in_benchmark": json_float(best_test),
        "metrics": evaluator.metric_sources(),
        "final_regret": json_float(trajectory.regret),
        "supernet_ranking": ranking,
        "method_state": method.state(),
        "recipe": recipe,
        "retrain_command": retrain_command(final.arch, benchmark.dataset),
        "benchmark": {
            "path": str(benchmark.path),
            "sha256": file_sha256(benchmark.path) if benchmark.path else None,
            "space": benchmark.space_name,
            "dataset": benchmark.dataset,
        },
        "naslab": git_commit(),
        "naslab_version": __version__,
        "git_dirty": git_dirty(),
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    # before write_run: summary.json, written last, marks the folder finished
    atomic_write_text(out_dir / RANKING_FILE, ranking_csv)
    write_run(out_dir, trajectory, summary)
    log.info("derived %s: benchmark test_acc %.2f, regret %.2f; supernet Kendall tau %.3f over %d archs; "
             "search %.1f s", final.arch, trajectory.incumbent_test_acc, trajectory.regret,
             ranking.get("kendall_tau_val", math.nan) if ranking else math.nan, num_ranked, search_s)
    log.info("run folder: %s", out_dir)
    return summary
