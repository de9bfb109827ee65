"""The numpy LSTM controller of reinforce_lstm against the same network in torch autograd."""

from __future__ import annotations

import numpy as np
import pytest

from naslab.strategies.lstm_controller import LSTMController

torch = pytest.importorskip("torch")

CARDS = (5, 5, 3, 5, 4, 5)


def torch_twin(ctrl: LSTMController):
    """The torch controller reinforce_lstm used before, holding ``ctrl``'s weights."""
    nn = torch.nn
    hidden = ctrl.hidden_size

    class Controller(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.start = nn.Parameter(torch.zeros(1, hidden))
            self.cell = nn.LSTMCell(hidden, hidden)
            self.heads = nn.ModuleList(nn.Linear(hidden, c) for c in ctrl.cardinalities)
            self.embeddings = nn.ModuleList(nn.Embedding(c, hidden) for c in ctrl.cardinalities)

    twin = Controller().double()
    params = list(twin.parameters())
    assert [tuple(q.shape) for q in params] == [ctrl.shapes[name] for name in ctrl.names]
    with torch.no_grad():
        for q, name in zip(params, ctrl.names):
            q.copy_(torch.from_numpy(ctrl.params[name]))
    return twin, dict(zip(ctrl.names, params))


def torch_unroll(twin, ctrl: LSTMController, n: int, u=None, given=None):
    inputs, hidden = twin.start.expand(n, -1), None
    log_prob = torch.zeros(n, dtype=torch.float64)
    entropy = torch.zeros(n, dtype=torch.float64)
    picks = []
    for d in range(len(ctrl.cardinalities)):
        hidden = twin.cell(inputs, hidden)
        logits = twin.heads[d](hidden[0]) / ctrl.temperature
        if ctrl.tanh_constant is not None:
            logits = ctrl.tanh_constant * torch.tanh(logits)
        log_p = torch.log_softmax(logits, dim=-1)
        if given is None:
            cumulative = np.cumsum(log_p.exp().detach().numpy(), axis=1)
            picked = np.minimum((cumulative <= u[:, d : d + 1]).sum(axis=1), cumulative.shape[1] - 1)
        else:
            picked = given[:, d]
        index = torch.from_numpy(np.asarray(picked, dtype=np.int64))
        log_prob = log_prob + log_p.gather(1, index[:, None])[:, 0]
        entropy = entropy - (log_p.exp() * log_p).sum(dim=1)
        picks.append(np.asarray(picked))
        inputs = twin.embeddings[d](index)
    return np.stack(picks, axis=1), log_prob, entropy


@pytest.mark.parametrize("temperature, tanh_constant, entropy_weight", [(1.0, None, 0.0), (1.7, 2.5, 0.3)])
def test_sampling_gradient_and_adam_match_torch(temperature, tanh_constant, entropy_weight):
    rng = np.random.default_rng(0)
    ctrl = LSTMController(CARDS, 16, temperature, tanh_constant)
    ctrl.init_uniform(rng, bound=0.5)  # larger than the default so that the policy is far from uniform
    twin, named = torch_twin(ctrl)
    optimizer = torch.optim.Adam(twin.parameters(), lr=0.05)
    for _ in range(3):  # a few steps: Adam's moments and bias correction take part
        u = rng.random((8, len(CARDS)))
        ours, _ = ctrl.unroll(8, u=u)
        with torch.no_grad():
            theirs, _, _ = torch_unroll(twin, ctrl, 8, u=u)
        assert np.array_equal(ours, theirs)

        advantages = rng.standard_normal(8)
        _, steps = ctrl.unroll(8, given=ours)
        flat = ctrl.gradient(steps, advantages, entropy_weight)
        grads = ctrl.grads_by_name(flat)
        _, log_prob, entropy = torch_unroll(twin, ctrl, 8, given=ours)
        loss = -(torch.from_numpy(advantages) * log_prob + entropy_weight * entropy).mean()
        optimizer.zero_grad()
        loss.backward()
        for name, q in named.items():  # the last decision's embedding feeds nothing: no grad in torch
            expected = q.grad.numpy() if q.grad is not None else np.zeros(q.shape)
            np.testing.assert_allclose(grads[name], expected, rtol=1e-9, atol=1e-12, err_msg=name)
        assert np.abs(grads["w_ih"]).max() > 1e-6  # the comparison is not between zeros
        optimizer.step()
        ctrl.adam_step(flat, lr=0.05)
        for name, q in named.items():
            np.testing.assert_allclose(ctrl.params[name], q.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
