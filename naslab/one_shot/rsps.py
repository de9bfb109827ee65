"""RSPS: random search with parameter sharing (Li & Talwalkar, UAI 2019).

Each weight step trains the sub-network of one uniformly random architecture; nothing
else is learnt. To propose an architecture, ``candidates`` uniformly random
architectures are scored by the supernet, each on one random validation batch, and
the best is returned (NB201/NATS reference: D-X-Y/AutoDL-Projects
``exps/NATS-algos/search-cell.py``, ``--algo random``: ``set_cal_mode('urs')`` for the
weights, ``return_topK(100, use_random=True)`` + ``get_best_arch`` to derive).

One architecture per step, the same in every cell, as the paper samples it; NATS's
``forward_urs`` draws the ops of each cell separately (and redraws a node whose
inputs are all ``none``), which trains the shared weights on mixtures of cells no
single architecture contains.
"""

from __future__ import annotations

import torch

from naslab.one_shot.base import Arch, MethodContext, OneShotMethod, check_positive


class RSPS(OneShotMethod):
    name = "rsps"

    def __init__(self, context: MethodContext, candidates: int = 100) -> None:
        super().__init__(context)
        self.candidates = check_positive("candidates", candidates)

    def weight_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.supernet.forward_arch(x, self.uniform_arch())

    def derive(self) -> Arch:
        return self.best_on_one_batch([self.uniform_arch() for _ in range(self.candidates)])
