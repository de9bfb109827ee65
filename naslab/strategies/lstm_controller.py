"""Zoph & Le's LSTM controller in numpy: sampling, the policy-gradient backward pass, Adam.

The controller of :class:`naslab.strategies.reinforce.LSTMReinforce` is tiny (one
64-unit LSTM cell unrolled over the space's decisions, a batch of 8): in torch its
time went into per-call overhead, not arithmetic (1.63 s of a 300-query run; this
numpy version does the same work in tens of milliseconds, measured by
``perf/strategy_speed.py``). It is the same network as ``torch.nn.LSTMCell`` +
one ``nn.Linear`` head and one ``nn.Embedding`` per decision, in float64, with the
same parameter layout (gate order input, forget, cell, output), and torch's Adam
update; ``tests/test_lstm_controller.py`` checks sampling, the gradients and the
Adam step against torch autograd. Written from the equations of torch's
``LSTMCell`` and ``Adam`` documentation (backpropagation through the unroll by hand).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free, as exact as 1 / (1 + exp(-x))


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@dataclass
class _Step:
    """What the backward pass needs from one decision of the unroll."""

    x: np.ndarray  # input [n, H]
    h_prev: np.ndarray
    c_prev: np.ndarray
    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    tanh_c: np.ndarray
    h: np.ndarray
    squashed: np.ndarray | None  # tanh(logits / T) where tanh_constant is set
    log_p: np.ndarray
    picked: np.ndarray


class LSTMController:
    """Parameters, unroll, gradient and Adam state of the controller.

    ``names`` lists the parameters in the order torch's ``Controller.parameters()``
    yields them (start, LSTM cell, heads, embeddings), so that initialising them from
    one generator in that order gives the same network as the torch version did.
    """

    def __init__(
        self,
        cardinalities: tuple[int, ...],
        hidden_size: int,
        temperature: float = 1.0,
        tanh_constant: float | None = None,
    ) -> None:
        h = hidden_size
        shapes: dict[str, tuple[int, ...]] = {
            "start": (1, h),
            "w_ih": (4 * h, h),
            "w_hh": (4 * h, h),
            "b_ih": (4 * h,),
            "b_hh": (4 * h,),
        }
        for d, c in enumerate(cardinalities):
            shapes[f"head{d}.weight"] = (c, h)
            shapes[f"head{d}.bias"] = (c,)
        for d, c in enumerate(cardinalities):
            shapes[f"embedding{d}"] = (c, h)
        self.shapes = shapes
        self.names = list(shapes)
        # every parameter is a view into one flat vector: Adam is then a few whole-vector
        # operations per step instead of a few per parameter
        sizes = [int(np.prod(shape)) for shape in shapes.values()]
        self._offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        self.flat = np.zeros(self._offsets[-1])
        self.params = self._views(self.flat)
        self.cardinalities = tuple(cardinalities)
        self.hidden_size = h
        self.temperature = temperature
        self.tanh_constant = tanh_constant
        self._m = np.zeros_like(self.flat)
        self._v = np.zeros_like(self.flat)
        self._t = 0

    def _views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        return {
            name: flat[self._offsets[k] : self._offsets[k + 1]].reshape(shape)
            for k, (name, shape) in enumerate(self.shapes.items())
        }

    def init_uniform(self, rng: np.random.Generator, bound: float = 0.1) -> None:
        """Every weight uniform in ±bound (ENAS), drawn in ``names`` order."""
        for name in self.names:
            self.params[name][...] = rng.uniform(-bound, bound, self.shapes[name])

    # ----- forward ----------------------------------------------------------------------
    def unroll(
        self, n: int, u: np.ndarray | None = None, given: np.ndarray | None = None
    ) -> tuple[np.ndarray, list[_Step]]:
        """Sample ``n`` decision vectors by inverse CDF on ``u`` [n, D], or score ``given`` [n, D].

        Returns the choices [n, D] and the per-decision record for :meth:`gradient`.
        """
        p = self.params
        hs = self.hidden_size
        w_ih_t, w_hh_t = p["w_ih"].T, p["w_hh"].T
        bias = p["b_ih"] + p["b_hh"]
        x = np.repeat(p["start"], n, axis=0)
        h = np.zeros((n, hs))
        c = np.zeros((n, hs))
        steps: list[_Step] = []
        choices = np.empty((n, len(self.cardinalities)), dtype=np.int64)
        for d, card in enumerate(self.cardinalities):
            gates = x @ w_ih_t + h @ w_hh_t + bias
            act = _sigmoid(gates)  # the cell gate's slice is replaced by its tanh below
            i, f, o = act[:, :hs], act[:, hs : 2 * hs], act[:, 3 * hs :]
            g = np.tanh(gates[:, 2 * hs : 3 * hs])
            c_new = f * c + i * g
            tanh_c = np.tanh(c_new)
            h_new = o * tanh_c
            logits = (h_new @ p[f"head{d}.weight"].T + p[f"head{d}.bias"]) / self.temperature
            squashed = None
            if self.tanh_constant is not None:
                squashed = np.tanh(logits)
                logits = self.tanh_constant * squashed
            log_p = _log_softmax(logits)
            if given is None:
                assert u is not None
                cumulative = np.cumsum(np.exp(log_p), axis=1)
                picked = np.minimum((cumulative <= u[:, d : d + 1]).sum(axis=1), card - 1)
            else:
                picked = np.asarray(given[:, d], dtype=np.int64)
            choices[:, d] = picked
            steps.append(_Step(x, h, c, i, f, g, o, tanh_c, h_new, squashed, log_p, picked))
            x = p[f"embedding{d}"][picked]
            h, c = h_new, c_new
        return choices, steps

    # ----- backward ---------------------------------------------------------------------
    def gradient(self, steps: list[_Step], advantages: np.ndarray, entropy_weight: float) -> np.ndarray:
        """∇ of ``-mean(advantage · log π(arch) + entropy_weight · H(π))``, flat (:meth:`grads_by_name` names it)."""
        p = self.params
        hs = self.hidden_size
        n = advantages.shape[0]
        flat = np.zeros_like(self.flat)
        grads = self._views(flat)
        rows = np.arange(n)
        dh_next = np.zeros((n, hs))
        dc_next = np.zeros((n, hs))
        dx_next: np.ndarray | None = None
        for d in range(len(self.cardinalities) - 1, -1, -1):
            s = steps[d]
            if dx_next is not None:  # this step's choice was the next step's input
                np.add.at(grads[f"embedding{d}"], s.picked, dx_next)
            prob = np.exp(s.log_p)
            chosen = np.zeros_like(prob)
            chosen[rows, s.picked] = 1.0
            # d(log p[k])/d logits = onehot(k) - p;  dH/d logits = -p (log p + H)
            dlogits = advantages[:, None] * (chosen - prob)
            if entropy_weight:
                entropy = -(prob * s.log_p).sum(axis=1, keepdims=True)
                dlogits += entropy_weight * (-prob * (s.log_p + entropy))
            dlogits *= -1.0 / n
            if s.squashed is not None:
                assert self.tanh_constant is not None
                dlogits = dlogits * self.tanh_constant * (1.0 - s.squashed * s.squashed)
            dlogits /= self.temperature
            grads[f"head{d}.weight"] += dlogits.T @ s.h
            grads[f"head{d}.bias"] += dlogits.sum(axis=0)
            dh = dlogits @ p[f"head{d}.weight"] + dh_next
            dc = dh * s.o * (1.0 - s.tanh_c * s.tanh_c) + dc_next
            dgates = np.concatenate(
                [
                    dc * s.g * s.i * (1.0 - s.i),
                    dc * s.c_prev * s.f * (1.0 - s.f),
                    dc * s.i * (1.0 - s.g * s.g),
                    dh * s.tanh_c * s.o * (1.0 - s.o),
                ],
                axis=1,
            )
            grads["w_ih"] += dgates.T @ s.x
            grads["w_hh"] += dgates.T @ s.h_prev
            db = dgates.sum(axis=0)
            grads["b_ih"] += db
            grads["b_hh"] += db
            dx_next = dgates @ p["w_ih"]
            dh_next = dgates @ p["w_hh"]
            dc_next = dc * s.f
        assert dx_next is not None
        grads["start"] += dx_next.sum(axis=0, keepdims=True)
        return flat

    def grads_by_name(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        return self._views(flat)

    def adam_step(
        self, grad: np.ndarray, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        """One step of ``torch.optim.Adam`` (defaults: no weight decay, no amsgrad), minimising."""
        self._t += 1
        bias1 = 1.0 - beta1**self._t
        bias2_sqrt = (1.0 - beta2**self._t) ** 0.5
        m, v = self._m, self._v
        m *= beta1
        m += (1.0 - beta1) * grad
        v *= beta2
        v += (1.0 - beta2) * grad * grad
        self.flat -= (lr / bias1) * m / (np.sqrt(v) / bias2_sqrt + eps)
