"""DARTS (Liu, Simonyan & Yang, ICLR 2019): differentiable architecture search, first and second order.

Every edge outputs the softmax(alpha)-weighted sum of its ops (the continuous
relaxation); the shared weights take an SGD step on a training batch, then alpha an
Adam step on a validation batch. The proposed architecture is the argmax op of each
edge (NB201 has no "top-2 inputs" rule: every edge is kept).

* ``order=1`` (DARTS-V1): alpha's gradient is that of the validation loss at the
  current weights.
* ``order=2`` (DARTS-V2): at the weights after one virtual SGD step
  ``w' = w - lr * (momentum * buffer + dL_train/dw + wd * w)``, minus ``lr`` times the
  Hessian-vector product ``d2L_train/(dalpha dw) . dL_val/dw'``, approximated by central
  finite differences at ``w +- r/||v|| * v`` with ``r = 0.01`` (DARTS eq. 8).

Reference: D-X-Y/AutoDL-Projects ``exps/NATS-algos/search-cell.py``
(``backward_step_unrolled``, ``_hessian_vector_product``; ``--algo darts-v1/darts-v2``)
and ``xautodl/models/cell_searchs/search_cells.py`` (``forward_joint``); the original
DARTS code (quark0/darts ``cnn/architect.py``) computes the same quantities. The
virtual step is applied to the supernet's parameters in place and undone from a
copy, instead of NATS's ``deepcopy`` of the whole network.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from naslab.one_shot.base import AlphaMethod, Arch, MethodContext, OneShotError


class DARTS(AlphaMethod):
    name = "darts"

    def __init__(self, context: MethodContext, order: int = 1, hvp_r: float = 1e-2, **alpha_settings: float) -> None:
        super().__init__(context, **alpha_settings)
        if order not in (1, 2):
            raise OneShotError(f"method.order must be 1 (DARTS-V1) or 2 (DARTS-V2), got {order!r}")
        if not float(hvp_r) > 0:
            raise OneShotError(f"method.hvp_r must be > 0, got {hvp_r!r}")
        self.order, self.hvp_r = int(order), float(hvp_r)
        self.name = f"darts_v{self.order}"

    def weight_logits(self, x: torch.Tensor) -> torch.Tensor:
        # alpha's gradient from the weight step is discarded by NATS (zero_grad): detach it
        return self.supernet.forward_weighted(x, F.softmax(self.alpha.detach(), dim=-1))

    def arch_step(self, train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor, val_y: torch.Tensor,
                  w_optimizer: torch.optim.SGD) -> None:
        if self.order == 1:
            self.first_order_step(val_x, val_y)
        else:
            self.second_order_step(train_x, train_y, val_x, val_y, w_optimizer)

    def derive(self) -> Arch:
        return self.argmax_arch()

    # ----- DARTS-V2 ----------------------------------------------------------------------
    def _grads(self, loss: torch.Tensor, params: list[torch.Tensor]) -> list[torch.Tensor]:
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]

    def second_order_step(self, train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor,
                          val_y: torch.Tensor, w_optimizer: torch.optim.SGD) -> None:
        weights: list[torch.Tensor] = [p for p in self.supernet.parameters() if p.requires_grad]
        group = w_optimizer.param_groups[0]
        lr, wd, momentum = float(group["lr"]), float(group["weight_decay"]), float(group["momentum"])
        saved = [p.detach().clone() for p in weights]
        # the virtual step w' = w - lr * (momentum * buffer + grad + wd * w)
        grads = self._grads(self.weighted_loss(train_x, train_y), weights)
        with torch.no_grad():
            for p, g in zip(weights, grads):
                buffer = w_optimizer.state.get(p, {}).get("momentum_buffer")
                step = g + wd * p
                if buffer is not None:
                    step = step + momentum * buffer
                p.sub_(lr * step)
        unrolled = self._grads(self.weighted_loss(val_x, val_y), [self.alpha, *weights])
        d_alpha, vector = unrolled[0], unrolled[1:]
        implicit = self._hessian_vector_product(weights, saved, vector, train_x, train_y)
        self.alpha.grad = d_alpha - lr * implicit
        self.a_optimizer.step()

    def _hessian_vector_product(self, weights: list[torch.Tensor], saved: list[torch.Tensor],
                                vector: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``d/dalpha (dL_train/dw . v)`` by central differences; leaves the weights at ``saved``."""
        norm = torch.stack([(v.float() ** 2).sum() for v in vector]).sum().sqrt()
        radius = self.hvp_r / max(float(norm), 1e-12)
        results = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for p, w, v in zip(weights, saved, vector):
                    p.copy_(w + sign * radius * v)
            (g,) = torch.autograd.grad(self.weighted_loss(x, y), [self.alpha])
            results.append(g)
        with torch.no_grad():
            for p, w in zip(weights, saved):
                p.copy_(w)
        return (results[0] - results[1]) / (2 * radius)
