"""What every one-shot method is to the search loop, and what they share.

A one-shot method is not an ask/tell strategy: it owns the architecture parameters
(or controller) of a supernet and, step by step, decides how the shared weights are
trained and how its own parameters learn. The loop (:mod:`naslab.one_shot.search`)
calls, per supernet step, :meth:`OneShotMethod.weight_logits` on a training batch
(the loop then takes the SGD step on the weights) and :meth:`OneShotMethod.arch_step`
with that batch and a validation batch; after each epoch :meth:`end_epoch` and
:meth:`derive`, whose architecture the loop looks up in the benchmark. That is the
order of ``search_func`` and ``get_best_arch`` in D-X-Y/AutoDL-Projects
``exps/NATS-algos/search-cell.py``, the NB201/NATS reference.

Architectures are naslab decision vectors (op index per edge in
:data:`naslab.spaces.nb201.EDGES` order, the order of NATS's sorted ``edge2index``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from naslab.errors import InvalidValueError
from naslab.one_shot.supernet import NUM_EDGES, NUM_OPS, Supernet
from naslab.spaces.base import CategoricalSpace

Arch = tuple[int, ...]


class OneShotError(InvalidValueError):
    """A one-shot setting is wrong; the message is one sentence for the user."""


@dataclass
class MethodContext:
    """What a method may use: the supernet, the validation split and its own random streams."""

    supernet: Supernet
    space: CategoricalSpace
    val_x: torch.Tensor  # on the device
    val_y: torch.Tensor
    rng: np.random.Generator  # architecture sampling
    generator: torch.Generator  # torch-side draws (Gumbel noise, controller samples, batches), on the CPU
    device: str
    amp_dtype: Any  # torch.bfloat16 on CUDA, None on the CPU
    epochs: int
    steps_per_epoch: int
    val_batch_size: int

    def autocast(self) -> Any:
        return torch.autocast(self.device.split(":")[0], dtype=self.amp_dtype or torch.bfloat16,
                              enabled=self.amp_dtype is not None)

    def val_batch(self, size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A random batch of the validation split (drawn from the run's generator)."""
        n = self.val_x.shape[0]
        size = min(int(size or self.val_batch_size), n)
        index = torch.randperm(n, generator=self.generator)[:size].to(self.val_x.device)
        return self.val_x[index], self.val_y[index]


def check_positive(name: str, value: Any, kind: type = int) -> Any:
    """``value`` as a positive ``kind``, or a one-sentence error naming the setting."""
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise OneShotError(f"method.{name} must be a positive number, got {value!r}") from None
    if not number > 0 or (kind is int and number != value) or (kind is float and not math.isfinite(number)):
        raise OneShotError(f"method.{name} must be a positive {'whole number' if kind is int else 'number'}, "
                           f"got {value!r}")
    return number


class OneShotMethod:
    """Base class: a method trains the supernet's weights through its forward and learns its own parameters."""

    name = "one_shot"

    def __init__(self, context: MethodContext) -> None:
        self.context = context
        self.supernet = context.supernet

    # ----- the loop's calls --------------------------------------------------------------
    def begin_epoch(self, epoch: int) -> None:
        """Before epoch ``epoch`` (0-based) of ``context.epochs``."""

    def weight_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the forward whose loss trains the shared weights on a training batch."""
        raise NotImplementedError

    def arch_step(self, train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor, val_y: torch.Tensor,
                  w_optimizer: torch.optim.SGD) -> None:
        """Update the method's own parameters after the weight step (nothing by default)."""

    def end_epoch(self, epoch: int) -> None:
        """After the weight steps of epoch ``epoch`` (ENAS trains its controller here)."""

    def derive(self) -> Arch:
        """The architecture the method proposes now."""
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        """What the summary records of the method's parameters (e.g. the final op weights)."""
        return {}

    # ----- shared pieces -------------------------------------------------------------
    def best_on_one_batch(self, candidates: list[Arch]) -> Arch:
        """The candidate with the best supernet accuracy, each on its own random validation batch.

        NATS ``get_best_arch`` (``--eval_candidate_num``, 100): one batch per candidate,
        the supernet in eval mode, ties to the first.
        """
        scores = []
        with torch.no_grad():
            self.supernet.eval()
            for arch in candidates:
                x, y = self.context.val_batch()
                with self.context.autocast():
                    logits = self.supernet.forward_arch(x, arch)
                scores.append(float((logits.argmax(-1) == y).float().mean()))
            self.supernet.train()
        return candidates[int(np.argmax(scores))]

    def uniform_arch(self) -> Arch:
        return self.context.space.sample(self.context.rng)


class AlphaMethod(OneShotMethod):
    """A method with architecture logits ``alpha [6, 5]`` learnt by Adam on the validation split.

    Initialised as NATS ``set_algo``: ``1e-3 * randn``; Adam with ``betas=(0.5, 0.999)``,
    learning rate 3e-4 and weight decay 1e-3 (``search-cell.py`` defaults).
    """

    def __init__(self, context: MethodContext, arch_lr: float = 3e-4, arch_weight_decay: float = 1e-3,
                 arch_eps: float = 1e-8) -> None:
        super().__init__(context)
        arch_lr = check_positive("arch_lr", arch_lr, float)
        if not float(arch_weight_decay) >= 0:
            raise OneShotError(f"method.arch_weight_decay must be >= 0, got {arch_weight_decay!r}")
        alpha = 1e-3 * torch.randn(NUM_EDGES, NUM_OPS, generator=context.generator)
        self.alpha = torch.nn.Parameter(alpha.to(context.device))
        self.a_optimizer = torch.optim.Adam([self.alpha], lr=arch_lr, betas=(0.5, 0.999),
                                            weight_decay=float(arch_weight_decay),
                                            eps=check_positive("arch_eps", arch_eps, float))

    def argmax_arch(self) -> Arch:
        """NATS ``genotype``: the op of largest logit on each edge."""
        return tuple(int(i) for i in self.alpha.detach().argmax(-1).cpu().tolist())

    def weighted_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with self.context.autocast():
            logits = self.supernet.forward_weighted(x, F.softmax(self.alpha, dim=-1))
        return F.cross_entropy(logits.float(), y)

    def first_order_step(self, val_x: torch.Tensor, val_y: torch.Tensor) -> None:
        """One Adam step on the validation loss of the relaxed supernet (DARTS first order)."""
        loss = self.weighted_loss(val_x, val_y)
        (grad,) = torch.autograd.grad(loss, [self.alpha])
        self.alpha.grad = grad
        self.a_optimizer.step()

    def state(self) -> dict[str, Any]:
        probs = F.softmax(self.alpha.detach().float(), dim=-1).cpu().numpy()
        return {"op_weights": [[round(float(v), 6) for v in row] for row in probs]}
