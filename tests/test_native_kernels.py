"""The trainer's compiled CPU loops (grouped convs, 3x3 average pooling) against torch's ops, their fallbacks, their cache."""

from __future__ import annotations

import logging

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from naslab.training import avg_pool, grouped_conv, native  # noqa: E402

needs_kernels = pytest.mark.skipif(not native.available(), reason="no AVX2/FMA CPU or no C compiler")


def _conv(groups, ci, co, k, s):
    torch.manual_seed(ci * 1000 + co * 10 + k + s)
    return torch.nn.Conv2d(groups * ci, groups * co, k, s, k // 2, groups=groups, bias=False)


@needs_kernels
@pytest.mark.parametrize(
    "groups, ci, co, k, s, h, batch",
    [
        (6, 8, 8, 3, 1, 8, 33),  # NB201 cell conv, first stage
        (6, 16, 16, 3, 1, 4, 3),  # second stage
        (2, 8, 16, 3, 2, 8, 5),  # reduction conv_a, stride 2
        (3, 16, 32, 3, 2, 4, 2),
        (6, 8, 8, 1, 1, 8, 7),  # 1x1
        (1, 32, 32, 1, 1, 2, 4),  # one replica (the plain trainer), 32 channels: 4-vector blocks
        (4, 8, 24, 3, 1, 6, 1),  # a shape no NB201 recipe has: 3 vectors, 6-pixel rows
        (6, 1, 8, 3, 1, 8, 4),  # the stem: one input channel, no input gradient
    ],
)
def test_forward_and_gradients_match_torch(groups, ci, co, k, s, h, batch):
    conv = _conv(groups, ci, co, k, s)
    x = torch.randn(batch, groups * ci, h, h).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(ci % 8 == 0)
    assert grouped_conv.applies(conv, x)
    inputs = [x, conv.weight] if x.requires_grad else [conv.weight]
    expected = F.conv2d(x, conv.weight, stride=s, padding=k // 2, groups=groups)
    grad = torch.randn_like(expected)
    expected_grads = torch.autograd.grad(expected, inputs, grad)
    got = grouped_conv.conv2d(x, conv.weight, groups, s)
    got_grads = torch.autograd.grad(got, inputs, grad)
    assert got.shape == expected.shape and got.is_contiguous(memory_format=torch.channels_last)
    for a, b in zip((got, *got_grads), (expected, *expected_grads)):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5 * float(b.detach().abs().max()))


@needs_kernels
def test_a_contiguous_input_gives_the_same_numbers():
    conv = _conv(3, 8, 8, 3, 1)
    x = torch.randn(4, 24, 8, 8)
    assert torch.equal(grouped_conv.conv2d(x, conv.weight, 3),
                       grouped_conv.conv2d(x.contiguous(memory_format=torch.channels_last), conv.weight, 3))


@needs_kernels
@pytest.mark.parametrize("change", ["bias", "channels", "stride3", "padding", "wide_stride2_with_grad", "float64"])
def test_layers_it_does_not_serve_go_to_torch(change):
    ci, co, k, s, h, bias, dtype, padding = 8, 8, 3, 1, 8, False, torch.float32, 1
    if change == "channels":
        co = 12
    if change == "stride3":
        s = 3
    if change == "padding":
        padding = 0
    if change == "wide_stride2_with_grad":
        s, h = 2, 16  # a whole 16-pixel row does not fit in the registers of conv_input_grad
    if change == "bias":
        bias = True
    if change == "float64":
        dtype = torch.float64
    conv = torch.nn.Conv2d(2 * ci, 2 * co, k, s, padding, groups=2, bias=bias).to(dtype)
    x = torch.randn(2, 2 * ci, h, h, dtype=dtype, requires_grad=True)
    assert not grouped_conv.applies(conv, x)


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv(native.ENV_SWITCH, "0")
    conv = _conv(2, 8, 8, 3, 1)
    assert not grouped_conv.applies(conv, torch.randn(2, 16, 8, 8))


@needs_kernels
def test_a_failed_compile_warns_once_and_falls_back(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("NASLAB_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", "false")  # a "compiler" that always fails
    monkeypatch.setattr(native, "_libraries", {})
    monkeypatch.setitem(native._state, "available", None)
    conv = _conv(2, 8, 8, 3, 1)
    x = torch.randn(2, 16, 8, 8)
    with caplog.at_level(logging.WARNING, logger="naslab.training.native"):
        assert not grouped_conv.applies(conv, x)
        assert not grouped_conv.applies(conv, x)
    assert len([r for r in caplog.records if "compiling grouped_conv.c failed" in r.message]) == 1
    assert list(tmp_path.iterdir()) == []  # no half-written library left behind


@needs_kernels
def test_a_compiled_library_is_loaded_from_the_disk_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("NASLAB_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setattr(native, "_libraries", {})
    shape = grouped_conv.Shape(8, 8, 3, 1, 5, 5)
    assert grouped_conv._library(shape) is not None
    files = list(tmp_path.glob("grouped_conv-*.so"))
    assert len(files) == 1
    # a second process (here: an empty in-memory table) loads it without compiling
    monkeypatch.setattr(native, "_libraries", {})

    def no_compiler(*args, **kwargs):
        raise AssertionError("compiled again")

    monkeypatch.setattr(native.subprocess, "run", no_compiler)
    assert grouped_conv._library(shape) is not None
    # another shape is another library
    monkeypatch.undo()
    monkeypatch.setenv("NASLAB_KERNEL_CACHE", str(tmp_path))
    assert grouped_conv._library(grouped_conv.Shape(8, 16, 3, 1, 5, 5)) is not None
    assert len(list(tmp_path.glob("grouped_conv-*.so"))) == 2


@needs_kernels
def test_training_with_the_kernels_matches_training_without(monkeypatch):
    from naslab.training.data import load_dataset
    from naslab.training.trainer import Recipe, train_seeds

    recipe = Recipe(train_size=200, val_size=100, test_size=100, epochs=2, channels=8, precise_bn=True)
    splits = load_dataset("digits", 200, 100, 100)
    arch = (3, 3, 2, 4, 3, 1)  # every op kind
    with_kernels = train_seeds(arch, recipe, splits, [0, 1], device="cpu").metrics
    monkeypatch.setenv(native.ENV_SWITCH, "0")
    without = train_seeds(arch, recipe, splits, [0, 1], device="cpu").metrics
    for name in ("val_loss", "train_loss", "test_loss"):
        torch.testing.assert_close(torch.from_numpy(with_kernels[name]), torch.from_numpy(without[name]),
                                   rtol=1e-4, atol=1e-5)


@needs_kernels
def test_relu_inside_the_conv_equals_relu_before_it():
    conv = _conv(3, 8, 8, 3, 1)
    x = torch.randn(5, 24, 8, 8).contiguous(memory_format=torch.channels_last).requires_grad_()
    grad = torch.randn(5, 24, 8, 8)
    expected = F.conv2d(torch.relu(x), conv.weight, padding=1, groups=3)
    got = grouped_conv.conv2d(x, conv.weight, 3, relu_input=True)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    (expected_grad,) = torch.autograd.grad(expected, x, grad)
    (got_grad,) = torch.autograd.grad(got, x, grad)
    torch.testing.assert_close(got_grad, expected_grad, rtol=1e-5, atol=1e-5)
    assert torch.equal(got_grad[x <= 0], torch.zeros_like(got_grad[x <= 0]))


@needs_kernels
@pytest.mark.parametrize("channels, size, batch", [(48, 8, 33), (96, 4, 2), (192, 2, 3), (8, 5, 1)])
def test_avg_pool_gives_torch_numbers(channels, size, batch):
    x = torch.randn(batch, channels, size, size).contiguous(memory_format=torch.channels_last).requires_grad_()
    assert avg_pool.applies(x)
    expected = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    got = avg_pool.avg_pool_3x3(x)
    grad = torch.randn_like(expected)
    assert torch.equal(got, expected)  # the same sums in the same order
    assert torch.equal(torch.autograd.grad(got, x, grad)[0], torch.autograd.grad(expected, x, grad)[0])


def test_avg_pool_leaves_other_maps_to_torch():
    assert not avg_pool.applies(torch.randn(2, 12, 8, 8).contiguous(memory_format=torch.channels_last))
    assert not avg_pool.applies(torch.randn(2, 16, 8, 8))  # not channels-last
    assert not avg_pool.applies(torch.randn(2, 16, 8, 8, dtype=torch.float64).contiguous(memory_format=torch.channels_last))


@needs_kernels
def test_an_evaluation_mode_relu_conv_bn_applies_its_bn_inside_the_conv():
    from naslab.training.models import ReLUConvBN

    torch.manual_seed(3)
    op = ReLUConvBN(8, 16, 3, 1, 3).to(memory_format=torch.channels_last)
    bn = op[2]
    with torch.no_grad():
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.normal_()
        bn.bias.normal_()
    op.eval()
    x = torch.randn(4, 24, 8, 8).contiguous(memory_format=torch.channels_last)
    assert op[1].compiled(x)
    with torch.no_grad():
        got = op(x)
        expected = F.batch_norm(F.conv2d(torch.relu(x), op[1].weight, padding=1, groups=3), bn.running_mean,
                                bn.running_var, bn.weight, bn.bias, training=False, eps=bn.eps)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@needs_kernels
def test_evaluation_sees_the_weights_the_optimizer_just_changed():
    from naslab.training.models import ReLUConvBN

    op = ReLUConvBN(8, 8, 3, 1, 2).to(memory_format=torch.channels_last).eval()
    x = torch.randn(3, 16, 8, 8).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        before = op(x)
        op[1].weight.mul_(2.0)  # an in-place update, as SGD's
        after = op(x)
        expected = op[2](F.conv2d(torch.relu(x), op[1].weight, padding=1, groups=2))
    torch.testing.assert_close(after, expected, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(before, after)


@needs_kernels
def test_the_weight_gradient_comes_in_the_parameters_layout():
    conv = _conv(2, 8, 8, 3, 1).to(memory_format=torch.channels_last)
    x = torch.randn(3, 16, 8, 8).contiguous(memory_format=torch.channels_last)
    grouped_conv.conv2d(x, conv.weight, 2).sum().backward()
    assert conv.weight.grad.stride() == conv.weight.stride()


def test_the_dense_last_stage_conv_keeps_the_weights_dtype():
    from naslab.training.models import ReplicaConv2d

    conv = ReplicaConv2d(4, 4, 3, padding=1, groups=2, bias=False).double()
    x = torch.randn(3, 4, 2, 2, dtype=torch.float64, requires_grad=True)
    got = conv(x, compiled=False)  # float64 never reaches the compiled loops; this is the dense matmul
    expected = F.conv2d(x, conv.weight, padding=1, groups=2)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, expected)


@needs_kernels
def test_a_nan_input_stays_nan_through_the_fused_relu():
    # a diverged training must be seen as one: torch's ReLU keeps NaN, so must the fused one
    conv = _conv(2, 8, 8, 3, 1)
    x = torch.randn(2, 16, 8, 8).contiguous(memory_format=torch.channels_last)
    x[0, 3, 4, 4] = float("nan")
    out = grouped_conv.conv2d(x, conv.weight, 2, relu_input=True)
    expected = F.conv2d(torch.relu(x), conv.weight, padding=1, groups=2)
    assert torch.equal(torch.isnan(out), torch.isnan(expected)) and torch.isnan(out).any()
