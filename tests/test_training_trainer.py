"""Trainers: the fast seed-batched trainer matches the plain reference; device logic; NaN."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from naslab.spaces import get_space  # noqa: E402
from naslab.training import trainer as trainer_module  # noqa: E402
from naslab.training.data import DatasetError, load_dataset  # noqa: E402
from naslab.training.trainer import Recipe, select_device, train_plain, train_seeds  # noqa: E402

SPACE = get_space("nb201")


pytestmark = pytest.mark.usefixtures("one_torch_thread")
ARCH = SPACE.from_string("|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
TINY = Recipe(train_size=64, val_size=64, test_size=32, epochs=2, batch_size=32, channels=4)
SMALL_ARCH = SPACE.from_string("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|skip_connect~2|")


@pytest.fixture(scope="module")
def splits():
    return load_dataset("digits", TINY.train_size, TINY.val_size, TINY.test_size)


def test_fast_trainer_matches_plain_reference_per_seed(splits) -> None:
    fast = train_seeds(ARCH, TINY, splits, [0, 1])
    for r, seed in enumerate([0, 1]):
        plain = train_plain(ARCH, TINY, splits, seed)
        # same init, same data order: only float rounding (grouped, channels-last kernels) differs
        np.testing.assert_allclose(fast.metrics["val_loss"][r], plain.metrics["val_loss"][0], rtol=0.03)
        np.testing.assert_allclose(fast.metrics["val_acc"][r], plain.metrics["val_acc"][0], atol=3.2)
        np.testing.assert_allclose(fast.metrics["train_loss"][r], plain.metrics["train_loss"][0], rtol=0.03)
    # and the seeds really differ from one another
    assert not np.allclose(fast.metrics["val_loss"][0], fast.metrics["val_loss"][1])


def test_same_seed_gives_identical_results(splits) -> None:
    a = train_seeds(SMALL_ARCH, TINY, splits, [4, 7])
    b = train_seeds(SMALL_ARCH, TINY, splits, [4, 7])
    for name in ("val_acc", "val_loss", "test_acc", "train_loss"):
        np.testing.assert_array_equal(a.metrics[name], b.metrics[name])


def test_stored_epochs_and_test_only_at_the_end(splits) -> None:
    recipe = dataclasses.replace(TINY, epochs=3, eval_epochs=(1, 3), test_every_epoch=False)
    record = train_seeds(SMALL_ARCH, recipe, splits, [0])
    assert record.epochs == [1, 3]
    assert np.isnan(record.metrics["test_acc"][0, 0]) and np.isfinite(record.metrics["test_acc"][0, 1])
    times = record.metrics["train_time_s"][0]
    assert 0 < times[0] < times[1]  # cumulative


def test_nan_training_is_recorded_as_diverged_not_raised(splits) -> None:
    poisoned = dataclasses.replace(splits, train_x=torch.full_like(splits.train_x, float("nan")))
    record = train_seeds(SMALL_ARCH, TINY, poisoned, [0, 1])
    assert record.diverged.all()
    assert np.isnan(record.metrics["val_acc"]).all()
    assert (record.metrics["train_time_s"] > 0).all()  # the time it ran is still recorded
    plain = train_plain(SMALL_ARCH, TINY, poisoned, 0)
    assert plain.diverged.all()


def test_precise_bn_changes_only_evaluation(splits) -> None:
    precise = dataclasses.replace(TINY, precise_bn=True)
    a = train_seeds(SMALL_ARCH, TINY, splits, [0])
    b = train_seeds(SMALL_ARCH, precise, splits, [0])
    np.testing.assert_array_equal(a.metrics["train_loss"], b.metrics["train_loss"])  # same training
    assert not np.array_equal(a.metrics["val_loss"], b.metrics["val_loss"])  # other BN statistics
    plain = train_plain(SMALL_ARCH, precise, splits, 0)
    np.testing.assert_allclose(b.metrics["val_loss"][0], plain.metrics["val_loss"][0], rtol=0.03)


def test_device_selection() -> None:
    assert select_device("auto", cuda_available=False) == ("cpu", None)
    assert select_device("auto", cuda_available=True) == ("cuda", torch.bfloat16)
    assert select_device("cuda:1", cuda_available=True) == ("cuda:1", torch.bfloat16)
    assert select_device("cpu", cuda_available=True) == ("cpu", None)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        select_device("cuda", cuda_available=False)
    with pytest.raises(ValueError, match="not understood"):
        select_device("tpu", cuda_available=False)


def test_autocast_branch_trains_on_cpu(splits, monkeypatch) -> None:
    """The CUDA branch = autocast(bf16) + float32 loss; run that very code on the CPU."""
    fp32 = train_seeds(SMALL_ARCH, TINY, splits, [0])
    monkeypatch.setattr(trainer_module, "select_device", lambda requested="auto": ("cpu", torch.bfloat16))
    bf16 = trainer_module.train_seeds(SMALL_ARCH, TINY, splits, [0])
    assert np.isfinite(bf16.metrics["val_loss"]).all()
    np.testing.assert_allclose(bf16.metrics["val_loss"], fp32.metrics["val_loss"], rtol=0.15)


def test_digits_splits_are_fixed_disjoint_and_normalised() -> None:
    full = load_dataset("digits")
    assert (len(full.train_y), len(full.val_y), len(full.test_y)) == (700, 700, 397)
    small = load_dataset("digits", train_size=100)
    assert torch.equal(small.train_x, full.train_x[:100])  # nested subsets
    seen = {x.numpy().tobytes() for x in full.train_x}
    # digits has a few duplicate images; the pools are disjoint by index, so overlap stays tiny
    assert sum(x.numpy().tobytes() in seen for x in full.test_x) <= 3
    assert abs(float(full.train_x.mean())) < 1e-4 and abs(float(full.train_x.std()) - 1) < 1e-3


def test_dataset_errors_are_one_sentence(tmp_path) -> None:
    with pytest.raises(DatasetError, match="unknown dataset 'mnist'"):
        load_dataset("mnist")
    with pytest.raises(DatasetError, match="lacks data_batch_1"):
        load_dataset("cifar10", root=tmp_path)
    with pytest.raises(DatasetError, match="never downloads"):
        load_dataset("cifar10")
    with pytest.raises(DatasetError, match="train_size=701"):
        load_dataset("digits", train_size=701)


def test_recipe_rejects_bad_fields() -> None:
    with pytest.raises(ValueError, match="unknown field"):
        Recipe.from_mapping({"epochz": 3})
    with pytest.raises(ValueError, match="eval_epochs"):
        Recipe(epochs=4, eval_epochs=(1, 2))
