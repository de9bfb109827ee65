"""The surrogate benchmark model: fitted on a sample, it answers any architecture of the space.

The NAS-Bench-301 recipe (Siems et al., ICLR 2022; github.com/automl/nasbench301,
``nasbench301/surrogate_models``), on a naslab sample file (``kind=sample``,
:mod:`naslab.build_sample`). Four targets, each a model of the features
``space.encode(archs, encoding)`` (the space's ``default_encoding`` unless told):

* ``val``: the mean validation accuracy over the seeds an architecture was trained with
  (last stored epoch); an ensemble (``family``: ``xgb``, bootstrap XGBoost members,
  :class:`naslab.surrogates.xgb.XGBEnsemble`; or ``mlp``, bootstrap scikit-learn MLPs).
* ``test``: the mean test accuracy, the same way, where the sample stores it.
* ``noise``: the seed-to-seed standard deviation of the validation accuracy, fitted on
  the multi-seed subset (NB301's noise model: a query may answer a draw
  ``mean + noise * N(0, 1)``, like one more training, instead of the mean).
* ``cost``: ``log(train_time_s)`` of the rows trained alone (one seed: replicas trained
  together share, and so understate, their time), answered as seconds.

**Inference is numpy only.** XGBoost's own ``inplace_predict`` costs ~570 µs for one row
of a 200-tree model here (2 loaded cores; ``perf/surrogate_benchmark_speed.py`` measures
it beside ours), so a query of five members would cost milliseconds. The fitted trees of
every member are flattened into arrays (:class:`Forest`) and evaluated level by level for
all trees at once; the boosters' own UBJ bytes are stored beside them (loadable by
``xgboost.Booster``) and :func:`fit` checks that both predict the same. MLP members are
stored as their weight matrices. Nothing is pickled.

**File** (HDF5, one file): the sample it was fitted on, as a sample benchmark (so
``load_benchmark`` reads it and every tool that reads a sample reads it), plus a group
``/surrogate``: attribute ``meta`` (JSON: space, encoding, family, seed, the held-out
evaluation, the best predicted accuracy of the sample...) and one subgroup per target.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from naslab.errors import InvalidValueError, NaslabError

FAMILIES = ("xgb", "mlp")
TARGETS = ("val", "test", "noise", "cost")
SURROGATE_GROUP = "surrogate"
MODEL_VERSION = 1
MIN_NOISE_ROWS = 10  # fewer multi-seed rows: the noise is one pooled value, not a model
# from this many rows on, XGBoost's own batched prediction beats the numpy forest
# (perf/surrogate_benchmark_speed.py: ~16 vs ~166 us per row of 256; one row: ~2,150 vs ~120 us)
XGBOOST_BATCH = 32
PACKED = {"compression": "gzip", "compression_opts": 6, "shuffle": True}


class SurrogateModelError(NaslabError, ValueError):
    """A surrogate benchmark that cannot be fitted or read, in one sentence."""


# ----- the flattened forest ----------------------------------------------------------------
@dataclass
class Forest:
    """The trees of several boosters as flat arrays; ``predict_members`` -> ``[members, n]``.

    Leaves point to themselves with an infinite threshold, so every tree is walked for
    ``depth`` levels without asking which nodes are leaves.
    """

    feature: np.ndarray    # int32 [nodes]
    threshold: np.ndarray  # float32 [nodes]; x < threshold goes left (XGBoost's rule)
    left: np.ndarray       # int32 [nodes], absolute
    right: np.ndarray      # int32 [nodes]
    value: np.ndarray      # float64 [nodes]; leaf values (0 elsewhere)
    roots: np.ndarray      # int32 [trees]
    member: np.ndarray     # int32 [trees]: which member each tree belongs to
    base: np.ndarray       # float64 [members]: each member's base score
    depth: int

    @classmethod
    def from_boosters(cls, boosters: list[Any]) -> Forest:
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "left", "right", "value")}
        roots, member, base = [], [], []
        offset, depth = 0, 0
        for m, booster in enumerate(boosters):
            model = json.loads(booster.save_raw("json"))["learner"]
            base.append(float(str(model["learner_model_param"]["base_score"]).strip("[]")))
            for tree in model["gradient_booster"]["model"]["trees"]:
                left = np.asarray(tree["left_children"], dtype=np.int64)
                right = np.asarray(tree["right_children"], dtype=np.int64)
                cond = np.asarray(tree["split_conditions"], dtype=np.float64)
                leaf = left < 0
                index = np.arange(left.size)
                parts["left"].append(np.where(leaf, index, left) + offset)
                parts["right"].append(np.where(leaf, index, right) + offset)
                parts["feature"].append(np.where(leaf, 0, np.asarray(tree["split_indices"], dtype=np.int64)))
                parts["threshold"].append(np.where(leaf, np.inf, cond).astype(np.float32))
                parts["value"].append(np.where(leaf, cond, 0.0))
                roots.append(offset)
                member.append(m)
                depth = max(depth, _tree_depth(left, right))
                offset += left.size
        return cls(
            feature=np.concatenate(parts["feature"]).astype(np.int32),
            threshold=np.concatenate(parts["threshold"]).astype(np.float32),
            left=np.concatenate(parts["left"]).astype(np.int32),
            right=np.concatenate(parts["right"]).astype(np.int32),
            value=np.concatenate(parts["value"]).astype(np.float64),
            roots=np.asarray(roots, dtype=np.int32),
            member=np.asarray(member, dtype=np.int32),
            base=np.asarray(base, dtype=np.float64),
            depth=depth,
        )

    @property
    def num_members(self) -> int:
        return int(self.base.size)

    def predict_members(self, x: np.ndarray) -> np.ndarray:
        node = np.broadcast_to(self.roots, (x.shape[0], self.roots.size))
        rows = np.arange(x.shape[0])[:, None]
        for _ in range(self.depth):
            go_left = x[rows, self.feature[node]] < self.threshold[node]
            node = np.where(go_left, self.left[node], self.right[node])
        sums = self.value[node] @ self._membership  # [n, trees] @ [trees, members]
        return (sums + self.base[None, :]).T

    @cached_property
    def _membership(self) -> np.ndarray:
        out = np.zeros((self.roots.size, self.num_members))
        out[np.arange(self.roots.size), self.member] = 1.0
        return out

    @classmethod
    def concatenate(cls, forests: list[Forest]) -> Forest:
        """One forest walking the trees of all ``forests`` (members numbered in order)."""
        nodes = np.cumsum([0] + [f.feature.size for f in forests])
        members = np.cumsum([0] + [f.num_members for f in forests])
        return cls(
            feature=np.concatenate([f.feature for f in forests]),
            threshold=np.concatenate([f.threshold for f in forests]),
            left=np.concatenate([f.left + n for f, n in zip(forests, nodes)]).astype(np.int32),
            right=np.concatenate([f.right + n for f, n in zip(forests, nodes)]).astype(np.int32),
            value=np.concatenate([f.value for f in forests]),
            roots=np.concatenate([f.roots + n for f, n in zip(forests, nodes)]).astype(np.int32),
            member=np.concatenate([f.member + m for f, m in zip(forests, members)]).astype(np.int32),
            base=np.concatenate([f.base for f in forests]),
            depth=max(f.depth for f in forests),
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in ("feature", "threshold", "left", "right", "value", "roots", "member", "base")}


def _tree_depth(left: np.ndarray, right: np.ndarray) -> int:
    depth = np.zeros(left.size, dtype=np.int64)
    for i in range(left.size):  # parents come before children in XGBoost's node order
        if left[i] >= 0:
            depth[left[i]] = depth[right[i]] = depth[i] + 1
    return int(depth.max())


# ----- one target ----------------------------------------------------------------------------
@dataclass
class TargetModel:
    """One predicted quantity: its members' predictions, in its own units."""

    name: str
    family: str                      # xgb | mlp | constant
    log: bool = False                # fitted on log(y), answered as exp
    forest: Forest | None = None
    mlp: list[list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=list)
    x_mean: np.ndarray | None = None
    x_scale: np.ndarray | None = None
    y_mean: float = 0.0
    y_scale: float = 1.0
    constant: float = math.nan
    raw: list[bytes] = field(default_factory=list)  # the XGBoost boosters' UBJ bytes

    def predict_members(self, x: np.ndarray) -> np.ndarray:
        """``[members, n]`` in the target's units (before ``exp`` for a log target)."""
        if self.family == "constant":
            return np.full((1, x.shape[0]), self.constant)
        if self.family == "xgb" and x.shape[0] >= XGBOOST_BATCH and self._boosters is not None:
            z = np.stack([b.inplace_predict(x) for b in self._boosters]).astype(np.float64)
        elif self.family == "xgb":
            z = self.forest.predict_members(x)  # type: ignore[union-attr]
        else:
            h0 = (x - self.x_mean) / self.x_scale
            outs = []
            for layers in self.mlp:
                h = h0
                for k, (w, b) in enumerate(layers):
                    h = h @ w + b
                    if k < len(layers) - 1:
                        np.maximum(h, 0.0, out=h)
                outs.append(h[:, 0])
            z = np.stack(outs)
        return z * self.y_scale + self.y_mean

    def predict(self, x: np.ndarray) -> np.ndarray:
        mean = self.predict_members(x).mean(axis=0)
        return np.exp(mean) if self.log else mean

    @cached_property
    def _boosters(self) -> list[Any] | None:
        """The XGBoost boosters of the stored bytes (for batches), None without xgboost."""
        try:
            import xgboost as xgb
        except ImportError:
            return None
        boosters = [xgb.Booster(model_file=bytearray(blob)) for blob in self.raw]
        for b in boosters:
            b.set_param({"nthread": 1})
        return boosters or None


def _fit_target(name: str, family: str, x: np.ndarray, y: np.ndarray, seed: int, log: bool = False,
                num_members: int = 5, num_trees: int = 200) -> TargetModel:
    y = np.log(y) if log else y
    if family == "xgb":
        from naslab.surrogates.xgb import XGBEnsemble

        ens = XGBEnsemble(num_members=num_members, num_trees=num_trees, nthread=1, random_state=seed).fit(x, y)
        forest = Forest.from_boosters(ens.boosters_)
        model = TargetModel(name, "xgb", log, forest=forest, y_mean=ens.y_mean_, y_scale=ens.y_scale_,
                            raw=[bytes(b.save_raw("ubj")) for b in ens.boosters_])
        # the flattened trees must answer what XGBoost answers (float32 thresholds alike)
        check = x[: min(64, len(x))]
        if not np.allclose(model.predict_members(check), ens.predict_members(check), atol=1e-4 * max(1.0, ens.y_scale_)):
            raise RuntimeError("the flattened XGBoost trees disagree with XGBoost's own predictions")
        return model
    if family == "mlp":
        from sklearn.neural_network import MLPRegressor

        from naslab.surrogates.xgb import _bootstrap_rows, _member_seeds

        x_mean = x.mean(axis=0)
        x_scale = x.std(axis=0)
        x_scale[x_scale == 0] = 1.0
        y_mean, y_scale = float(y.mean()), float(y.std()) or 1.0
        xs, zs = (x - x_mean) / x_scale, (y - y_mean) / y_scale
        members = []
        for seq in _member_seeds(seed, num_members):
            rows = _bootstrap_rows(seq, len(zs))
            net = MLPRegressor(hidden_layer_sizes=(64, 64), alpha=1e-2, max_iter=300, learning_rate_init=1e-3,
                               random_state=int(seq.generate_state(1)[0] & 0x7FFFFFFF))
            import warnings

            from sklearn.exceptions import ConvergenceWarning

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                net.fit(xs[rows], zs[rows])
            members.append([(w.astype(np.float64), b.astype(np.float64)) for w, b in zip(net.coefs_, net.intercepts_)])
        return TargetModel(name, "mlp", log, mlp=members, x_mean=x_mean.astype(np.float64),
                           x_scale=x_scale.astype(np.float64), y_mean=y_mean, y_scale=y_scale)
    raise InvalidValueError(f"surrogate family {family!r} is not one of {list(FAMILIES)}")


# ----- the data of a sample --------------------------------------------------------------------
@dataclass
class SampleData:
    """What a sample file says per row, at the last stored epoch."""

    archs: list[tuple[int, ...]]
    strings: list[str]
    val: np.ndarray         # [N, S] per-seed val_acc (NaN = not trained / failed)
    test: np.ndarray | None  # [N, S]
    cost: np.ndarray | None  # [N, S] train_time_s

    @classmethod
    def of(cls, bench: Any) -> SampleData:
        space = bench.space
        test = bench.metrics.get("test_acc")
        cost = bench.metrics.get("train_time_s")
        return cls(
            archs=[space.from_string(a) for a in bench.archs],
            strings=list(bench.archs),
            val=bench.metric("val_acc")[:, :, -1].astype(np.float64),
            test=None if test is None or not np.isfinite(test[:, :, -1]).any() else test[:, :, -1].astype(np.float64),
            cost=None if cost is None else cost[:, :, -1].astype(np.float64),
        )

    def subset(self, rows: np.ndarray) -> SampleData:
        take = [int(r) for r in rows]
        return SampleData([self.archs[r] for r in take], [self.strings[r] for r in take], self.val[take],
                          None if self.test is None else self.test[take], None if self.cost is None else self.cost[take])

    @property
    def seeds_trained(self) -> np.ndarray:
        return np.isfinite(self.val).sum(axis=1)


def encode(space: Any, archs: Any, encoding: str) -> np.ndarray:
    """``[n, F]`` float32 features: the space's encodings named in ``encoding`` (``a+b``) side by side."""
    vectors = np.asarray(archs, dtype=np.int64).reshape(-1, space.num_decisions)
    parts = [np.asarray(space.encode(vectors, kind), dtype=np.float32) for kind in encoding.split("+")]
    return parts[0] if len(parts) == 1 else np.hstack(parts)


# ----- the model -----------------------------------------------------------------------------
@dataclass
class SurrogateBenchmarkModel:
    """Predicts val (mean), noise (seed std), cost (s) and test of any architecture of one space."""

    space_name: str
    encoding: str
    targets: dict[str, TargetModel]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def space(self) -> Any:
        from naslab.spaces import get_space

        return get_space(self.space_name)

    def predict_features(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Per target ``[n]``: ``val``, ``val_std`` (members' spread), ``noise``, ``cost``, ``test`` (NaN if absent)."""
        members = self._members(x)
        out = {}
        for name in ("noise", "cost", "test"):
            z = members.get(name)
            if z is None:
                out[name] = np.full(x.shape[0], np.nan)
            else:
                mean = z.mean(axis=0)
                out[name] = np.exp(mean) if self.targets[name].log else mean
        out["val"], out["val_std"] = members["val"].mean(axis=0), members["val"].std(axis=0)
        out["noise"] = np.maximum(out["noise"], 0.0)
        return out

    def _members(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every target's member predictions; for a few rows, the XGBoost targets in one walk of
        their trees together (a walk's numpy calls cost as much as its work at one row)."""
        combined, slices = self._combined
        if combined is None or x.shape[0] >= XGBOOST_BATCH:
            return {name: t.predict_members(x) for name, t in self.targets.items()}
        z = combined.predict_members(x)
        out = {name: z[part] * self.targets[name].y_scale + self.targets[name].y_mean for name, part in slices.items()}
        for name, target in self.targets.items():
            if name not in out:
                out[name] = target.predict_members(x)
        return out

    @cached_property
    def _combined(self) -> tuple[Forest | None, dict[str, slice]]:
        names = [n for n in sorted(self.targets) if self.targets[n].family == "xgb"]
        if not names:
            return None, {}
        forests = [self.targets[n].forest for n in names]
        starts = np.cumsum([0] + [f.num_members for f in forests])  # type: ignore[union-attr]
        return Forest.concatenate(forests), {n: slice(int(a), int(b)) for n, a, b in zip(names, starts[:-1], starts[1:])}  # type: ignore[arg-type]

    def predict(self, archs: Any) -> dict[str, np.ndarray]:
        return self.predict_features(encode(self.space, archs, self.encoding))


def fit(data: SampleData, space: Any, family: str = "xgb", encoding: str = "auto", seed: int = 0,
        num_members: int = 5, num_trees: int = 200) -> SurrogateBenchmarkModel:
    """Fit every target on the rows of ``data`` that have a result (deterministic for ``seed``)."""
    from naslab.surrogates.features import resolve_encoding

    if family not in FAMILIES:
        raise SurrogateModelError(f"family={family!r} is not one of {', '.join(FAMILIES)}")
    encoding = resolve_encoding(space, encoding)
    x = encode(space, data.archs, encoding)
    counts = data.seeds_trained
    ok = counts > 0
    if ok.sum() < 10:
        raise SurrogateModelError(f"the sample has {int(ok.sum())} architectures with a result; the surrogate needs at least 10")
    val_mean = np.nanmean(data.val[ok], axis=1)
    targets = {"val": _fit_target("val", family, x[ok], val_mean, seed, num_members=num_members, num_trees=num_trees)}
    if data.test is not None:
        has_test = np.isfinite(data.test).any(axis=1)
        if has_test.sum() >= 10:
            test_mean = np.nanmean(data.test[has_test], axis=1)
            targets["test"] = _fit_target("test", family, x[has_test], test_mean, seed + 1,
                                          num_members=num_members, num_trees=num_trees)
    multi = counts >= 2
    if multi.sum() >= MIN_NOISE_ROWS:
        std = np.nanstd(data.val[multi], axis=1, ddof=1)
        targets["noise"] = _fit_target("noise", "xgb", x[multi], std, seed + 2, num_members=1, num_trees=100)
    else:
        pooled = float(np.sqrt(np.nanmean(np.nanvar(data.val[multi], axis=1, ddof=1)))) if multi.any() else 0.0
        targets["noise"] = TargetModel("noise", "constant", constant=pooled)
    if data.cost is not None:
        alone = (counts == 1) & np.isfinite(data.cost).any(axis=1)
        rows = alone if alone.sum() >= 10 else np.isfinite(data.cost).any(axis=1) & (np.nanmax(data.cost, axis=1) > 0)
        if rows.sum() >= 2:
            seconds = np.nanmean(data.cost[rows], axis=1)
            targets["cost"] = _fit_target("cost", "xgb", x[rows], np.maximum(seconds, 1e-6), seed + 3, log=True,
                                          num_members=1, num_trees=100)
    model = SurrogateBenchmarkModel(space.name, encoding, targets, {
        "family": family, "seed": int(seed), "num_members": num_members, "num_trees": num_trees,
        "fitted_rows": int(ok.sum()), "multi_seed_rows": int(multi.sum()),
        "pooled_noise": float(np.sqrt(np.nanmean(np.nanvar(data.val[multi], axis=1, ddof=1)))) if multi.any() else math.nan,
    })
    # the regret reference of a search: the best noise-free prediction over the sample
    predicted = model.predict_features(x)
    reference = predicted["test"] if "test" in targets else predicted["val"]
    best = int(np.argmax(reference))
    model.meta.update(best_reference=float(reference[best]), best_reference_arch=data.strings[best],
                      reference_metric="test_acc" if "test" in targets else "val_acc")
    return model


# ----- held-out evaluation (NB301, section 5) ------------------------------------------------
def heldout_evaluation(data: SampleData, space: Any, family: str = "xgb", encoding: str = "auto", seed: int = 0,
                       fraction: float = 0.3, **fit_options: Any) -> dict[str, Any]:
    """Rank agreement on held-out multi-seed architectures, surrogate vs one more seed.

    A ``fraction`` of the multi-seed architectures (drawn with ``seed``) is held out; the
    model is fitted on every other row. For each seed position ``s``, on the held-out
    architectures: Kendall tau and Spearman rho between the prediction and the mean of
    the *other* seeds, and between seed ``s`` alone and that same mean; averaged over
    ``s``. The surrogate "beats one seed" when its tau is the higher one.
    """
    from scipy.stats import kendalltau, spearmanr

    counts = data.seeds_trained
    full = np.flatnonzero(counts == data.val.shape[1])
    if full.size < 6:
        raise SurrogateModelError(
            f"held-out evaluation needs at least 6 architectures trained with every seed, the sample has {full.size}"
        )
    rng = np.random.default_rng(seed)
    held = np.sort(rng.choice(full, size=max(3, int(round(fraction * full.size))), replace=False))
    train = np.setdiff1d(np.arange(len(data.archs)), held)
    left = int((counts[train] > 0).sum())
    if left < 10:
        raise SurrogateModelError(
            f"held-out evaluation: holding out {held.size} architectures leaves {left} with a result to fit on; "
            "the surrogate needs at least 10 (train a bigger sample or hold out a smaller fraction)"
        )
    model = fit(data.subset(train), space, family, encoding, seed, **fit_options)
    predicted = model.predict([data.archs[i] for i in held])
    pred = predicted["val"]
    values = data.val[held]
    measured_std = values.std(axis=1, ddof=1)
    taus, rhos, taus_one, rhos_one = [], [], [], []
    for s in range(values.shape[1]):
        others = np.delete(values, s, axis=1).mean(axis=1)
        taus.append(kendalltau(pred, others)[0])
        rhos.append(spearmanr(pred, others)[0])
        taus_one.append(kendalltau(values[:, s], others)[0])
        rhos_one.append(spearmanr(values[:, s], others)[0])
    return {
        "family": family, "heldout_archs": int(held.size), "train_rows": int(train.size),
        "seeds": int(values.shape[1]), "fraction": fraction, "split_seed": int(seed),
        "kendall_tau_surrogate": float(np.mean(taus)), "spearman_surrogate": float(np.mean(rhos)),
        "kendall_tau_one_seed": float(np.mean(taus_one)), "spearman_one_seed": float(np.mean(rhos_one)),
        "rmse_surrogate": float(np.sqrt(np.mean((pred - values.mean(axis=1)) ** 2))),
        # the noise model on the same architectures: its scale and whether it ranks them
        "noise_predicted_mean": float(predicted["noise"].mean()), "noise_measured_mean": float(measured_std.mean()),
        "noise_spearman": float(spearmanr(predicted["noise"], measured_std)[0]),
    }


# ----- the file ------------------------------------------------------------------------------
def write_model(path: str | os.PathLike[str], model: SurrogateBenchmarkModel, sample: Any) -> Path:
    """Write ``sample`` (a sample benchmark) with ``model`` in ``/surrogate``, atomically."""
    import tempfile

    import h5py

    from naslab.benchmarks.tabular import write_benchmark
    from naslab.files import publish

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write_benchmark(tmp, sample, compress=True)
        with h5py.File(tmp, "a", track_order=True) as f:
            f.attrs["surrogate_model"] = True  # read by require_table: say which evaluator answers this file
            group = f.create_group(SURROGATE_GROUP, track_order=True)
            meta = dict(model.meta, version=MODEL_VERSION, space=model.space_name, encoding=model.encoding)
            group.attrs["meta"] = json.dumps(meta, sort_keys=True)
            for name in sorted(model.targets):
                _write_target(group.create_group(name, track_order=True), model.targets[name])
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_target(group: Any, target: TargetModel) -> None:
    group.attrs["family"] = target.family
    group.attrs["log"] = bool(target.log)
    group.attrs["y_mean"] = float(target.y_mean)
    group.attrs["y_scale"] = float(target.y_scale)
    group.attrs["constant"] = float(target.constant)
    if target.family == "xgb":
        forest = group.create_group("forest", track_order=True)
        forest.attrs["depth"] = int(target.forest.depth)  # type: ignore[union-attr]
        for key, values in target.forest.arrays().items():  # type: ignore[union-attr]
            forest.create_dataset(key, data=values, **PACKED)
        raw = group.create_group("xgboost_ubj", track_order=True)
        for i, blob in enumerate(target.raw):
            raw.create_dataset(f"member_{i}", data=np.frombuffer(blob, dtype=np.uint8), **PACKED)
    elif target.family == "mlp":
        group.create_dataset("x_mean", data=target.x_mean)
        group.create_dataset("x_scale", data=target.x_scale)
        for i, layers in enumerate(target.mlp):
            member = group.create_group(f"member_{i}", track_order=True)
            for k, (w, b) in enumerate(layers):
                member.create_dataset(f"w{k}", data=w)
                member.create_dataset(f"b{k}", data=b)


def has_model(path: str | os.PathLike[str]) -> bool:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return SURROGATE_GROUP in f
    except OSError:
        return False


def read_model(path: str | os.PathLike[str]) -> SurrogateBenchmarkModel:
    """The model of a surrogate benchmark file; one sentence if the file has none."""
    import h5py

    label = str(path)
    try:
        with h5py.File(path, "r") as f:
            if SURROGATE_GROUP not in f:
                raise SurrogateModelError(
                    f"{label} holds no surrogate model; fit one: python -m naslab.surrogate_benchmark fit sample={label} output=FILE"
                )
            group = f[SURROGATE_GROUP]
            meta = json.loads(group.attrs["meta"])
            if meta.get("version") != MODEL_VERSION:
                raise SurrogateModelError(f"{label}: surrogate model version {meta.get('version')!r}, naslab reads {MODEL_VERSION}")
            targets = {name: _read_target(name, group[name]) for name in group}
    except OSError as exc:
        raise SurrogateModelError(f"{label} is not a readable HDF5 file ({exc})") from None
    return SurrogateBenchmarkModel(meta["space"], meta["encoding"], targets, meta)


def _read_target(name: str, group: Any) -> TargetModel:
    attrs = group.attrs
    target = TargetModel(name, str(attrs["family"]), bool(attrs["log"]), y_mean=float(attrs["y_mean"]),
                         y_scale=float(attrs["y_scale"]), constant=float(attrs["constant"]))
    if target.family == "xgb":
        forest = group["forest"]
        arrays = {k: forest[k][()] for k in forest}
        target.forest = Forest(**arrays, depth=int(forest.attrs["depth"]))
        raw = group["xgboost_ubj"]
        target.raw = [raw[f"member_{i}"][()].tobytes() for i in range(len(raw))]
    elif target.family == "mlp":
        target.x_mean, target.x_scale = group["x_mean"][()], group["x_scale"][()]
        members = sorted((k for k in group if k.startswith("member_")), key=lambda k: int(k.split("_")[1]))
        for key in members:
            m = group[key]
            layers = sorted(int(k[1:]) for k in m if k.startswith("w"))
            target.mlp.append([(m[f"w{k}"][()], m[f"b{k}"][()]) for k in layers])
    return target
