"""GDAS (Dong & Yang, CVPR 2019): searching with a differentiable sampler (Gumbel-softmax).

Each forward samples one op per edge from ``softmax((log_softmax(alpha) + g) / tau)``
with Gumbel noise ``g``; only the sampled op runs, multiplied by its straight-through
one-hot weight ``one_hot - p.detach() + p``, so alpha gets a gradient while the cost
is that of one sub-network. The weights learn on training batches, alpha (Adam) on
validation batches, each with its own sample. ``tau`` falls linearly from
``tau_max`` (10) to ``tau_min`` (0.1) over the epochs; the proposal is the argmax
op of each edge.

Reference: D-X-Y/AutoDL-Projects ``exps/NATS-algos/search-cell.py`` (``--algo gdas``,
``set_tau``), ``xautodl/models/cell_searchs/generic_model.py`` (``normalize_archp``:
redraw if the noise is not finite) and ``search_cells.py`` (``forward_gdas``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from naslab.one_shot.base import AlphaMethod, Arch, MethodContext, OneShotError


class GDAS(AlphaMethod):
    name = "gdas"

    def __init__(self, context: MethodContext, tau_max: float = 10.0, tau_min: float = 0.1,
                 **alpha_settings: float) -> None:
        super().__init__(context, **alpha_settings)
        if not 0 < float(tau_min) <= float(tau_max):
            raise OneShotError(f"method.tau_min and tau_max must satisfy 0 < tau_min <= tau_max, "
                               f"got {tau_min!r} and {tau_max!r}")
        self.tau_max, self.tau_min = float(tau_max), float(tau_min)
        self.tau = self.tau_max

    def begin_epoch(self, epoch: int) -> None:
        span = max(1, self.context.epochs - 1)
        self.tau = self.tau_max - (self.tau_max - self.tau_min) * epoch / span

    def sample(self) -> tuple[torch.Tensor, list[int]]:
        """Straight-through one-hot weights ``[6, 5]`` and the sampled op per edge."""
        while True:
            noise = torch.empty(self.alpha.shape).exponential_(generator=self.context.generator)
            gumbels = (-noise.log()).to(self.alpha.device)
            probs = F.softmax((F.log_softmax(self.alpha, dim=-1) + gumbels) / self.tau, dim=-1)
            if torch.isfinite(gumbels).all() and torch.isfinite(probs).all():
                break
        index = probs.argmax(-1, keepdim=True)
        hard = torch.zeros_like(probs).scatter_(-1, index, 1.0) - probs.detach() + probs
        return hard, index.view(-1).tolist()

    def weight_logits(self, x: torch.Tensor) -> torch.Tensor:
        hard, index = self.sample()
        return self.supernet.forward_gdas(x, hard.detach(), index)

    def arch_step(self, train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor, val_y: torch.Tensor,
                  w_optimizer: torch.optim.SGD) -> None:
        hard, index = self.sample()
        with self.context.autocast():
            logits = self.supernet.forward_gdas(val_x, hard, index)
        (grad,) = torch.autograd.grad(F.cross_entropy(logits.float(), val_y), [self.alpha])
        self.alpha.grad = grad
        self.a_optimizer.step()

    def derive(self) -> Arch:
        return self.argmax_arch()

    def state(self) -> dict:
        return {**super().state(), "tau": self.tau}
