"""SETN (Dong & Yang, ICCV 2019): one-shot neural architecture search via self-evaluated template network.

The shared weights are trained on uniformly sampled architectures (the "template"
side), the architecture distribution ``softmax(alpha)`` learns as in DARTS-V1 on
validation batches (the "evaluator" side). To propose, the ``candidates`` most
probable architectures under ``softmax(alpha)`` are scored by the supernet, each on
one random validation batch, and the best is returned.

Reference: D-X-Y/AutoDL-Projects ``exps/NATS-algos/search-cell.py`` (``--algo setn``:
``dync_genotype(True)`` = uniform sampling for the weight step, ``set_cal_mode('joint')``
for the alpha step, ``return_topK(100)`` + ``get_best_arch`` to derive) and
``xautodl/models/cell_searchs/generic_model.py`` (``return_topK`` ranks all cells by
the summed log-probability of their ops).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from naslab.one_shot.base import AlphaMethod, Arch, MethodContext, check_positive


class SETN(AlphaMethod):
    name = "setn"

    def __init__(self, context: MethodContext, candidates: int = 100, **alpha_settings: float) -> None:
        super().__init__(context, **alpha_settings)
        self.candidates = check_positive("candidates", candidates)

    def weight_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.supernet.forward_arch(x, self.uniform_arch())

    def arch_step(self, train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor, val_y: torch.Tensor,
                  w_optimizer: torch.optim.SGD) -> None:
        self.first_order_step(val_x, val_y)

    def most_probable(self, k: int) -> list[Arch]:
        """The ``k`` architectures of highest probability under softmax(alpha) (ties: lower index first)."""
        log_p = F.log_softmax(self.alpha.detach().float(), dim=-1).cpu().numpy()
        archs = self.context.space.all_archs
        scores = log_p[np.arange(archs.shape[1])[None, :], archs.astype(np.int64)].sum(axis=1)
        top = np.argsort(-scores, kind="stable")[:k]
        return [tuple(int(v) for v in archs[i]) for i in top]

    def derive(self) -> Arch:
        return self.best_on_one_batch(self.most_probable(self.candidates))
