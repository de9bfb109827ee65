"""ENAS (Pham et al., ICML 2018): efficient NAS via parameter sharing, with an LSTM controller.

An LSTM controller samples one op per edge (logits ``tanh_constant * tanh(logits /
temperature)``); each weight step trains the sub-network of one controller sample.
After each epoch the controller is trained with REINFORCE on the supernet's
accuracy: ``train_steps x num_aggregate`` samples, each scored on one random
validation batch, reward ``accuracy + entropy_weight * entropy``, a moving-average
baseline (decay ``baseline_decay``), the gradient averaged over ``num_aggregate``
samples and clipped to norm 5 before each Adam step. To propose, ``candidates``
controller samples are scored on one validation batch each and the best returned.

Reference: D-X-Y/AutoDL-Projects ``exps/NATS-algos/search-cell.py`` (``--algo enas
--arch_weight_decay 0 --arch_learning_rate 0.001 --arch_eps 0.001``, ``train_controller``:
50 x 20 samples, entropy weight 1e-4, decay 0.99) and
``xautodl/models/cell_searchs/generic_model.py`` (``Controller``: a 2-layer LSTM of
size 32, temperature 5, tanh constant 2.5, uniform(-0.1, 0.1) initialisation).
Differences, both towards the ENAS paper: the baseline is updated after every sample
(NATS keeps the previous epoch's baseline fixed within an epoch), and the reward is a
number, not a tensor the entropy's gradient flows through. The controller is tiny
and lives on the CPU, where the run's generator draws its samples.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from naslab.one_shot.base import Arch, MethodContext, OneShotError, OneShotMethod, check_positive
from naslab.one_shot.supernet import NUM_EDGES, NUM_OPS


class Controller(nn.Module):
    """Samples one op per edge, feeding each choice's embedding to the next LSTM step."""

    def __init__(self, lstm_size: int = 32, lstm_layers: int = 2, tanh_constant: float = 2.5,
                 temperature: float = 5.0) -> None:
        super().__init__()
        self.tanh_constant, self.temperature = tanh_constant, temperature
        self.input_vars = nn.Parameter(torch.empty(1, 1, lstm_size))
        self.lstm = nn.LSTM(input_size=lstm_size, hidden_size=lstm_size, num_layers=lstm_layers)
        self.embedding = nn.Embedding(NUM_OPS, lstm_size)
        self.predict = nn.Linear(lstm_size, NUM_OPS)
        initialised: list[torch.Tensor] = [self.input_vars, self.lstm.get_parameter("weight_hh_l0"), self.lstm.get_parameter("weight_ih_l0"),
                                           self.embedding.weight, self.predict.weight]
        for tensor in initialised:
            nn.init.uniform_(tensor, -0.1, 0.1)

    def forward(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, Arch]:
        """(summed log-probability, summed entropy, sampled architecture)."""
        inputs, hidden = self.input_vars, None
        log_probs, entropies, arch = [], [], []
        for _ in range(NUM_EDGES):
            outputs, hidden = self.lstm(inputs, hidden)
            logits = self.tanh_constant * torch.tanh(self.predict(outputs).view(-1) / self.temperature)
            log_p = F.log_softmax(logits, dim=-1)
            op = int(torch.multinomial(log_p.detach().exp(), 1, generator=generator))
            log_probs.append(log_p[op])
            entropies.append(-(log_p.exp() * log_p).sum())
            arch.append(op)
            inputs = self.embedding(torch.tensor([[op]]))
        return torch.stack(log_probs).sum(), torch.stack(entropies).sum(), tuple(arch)


class ENAS(OneShotMethod):
    name = "enas"

    def __init__(self, context: MethodContext, candidates: int = 100, train_steps: int = 50,
                 num_aggregate: int = 20, entropy_weight: float = 1e-4, baseline_decay: float = 0.99,
                 controller_lr: float = 1e-3, controller_eps: float = 1e-3, grad_clip: float = 5.0) -> None:
        super().__init__(context)
        self.candidates = check_positive("candidates", candidates)
        self.train_steps = check_positive("train_steps", train_steps)
        self.num_aggregate = check_positive("num_aggregate", num_aggregate)
        if not 0 <= float(baseline_decay) < 1:
            raise OneShotError(f"method.baseline_decay must be in [0, 1), got {baseline_decay!r}")
        self.entropy_weight, self.baseline_decay = float(entropy_weight), float(baseline_decay)
        self.grad_clip = check_positive("grad_clip", grad_clip, float)
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=context.generator))
        with torch.random.fork_rng(devices=[]):  # default LSTM init, reproducibly, global RNG untouched
            torch.manual_seed(seed)
            self.controller = Controller()
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=check_positive(
            "controller_lr", controller_lr, float), betas=(0.5, 0.999), eps=check_positive(
            "controller_eps", controller_eps, float), weight_decay=0.0)
        self.baseline: float | None = None

    def sample(self) -> Arch:
        with torch.no_grad():
            return self.controller(self.context.generator)[2]

    def weight_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.supernet.forward_arch(x, self.sample())

    def end_epoch(self, epoch: int) -> None:
        """Train the controller on the supernet's validation accuracy (``train_controller``)."""
        self.supernet.eval()
        self.controller.train()
        self.optimizer.zero_grad(set_to_none=True)
        for step in range(self.train_steps * self.num_aggregate):
            log_prob, entropy, arch = self.controller(self.context.generator)
            x, y = self.context.val_batch()
            with torch.no_grad(), self.context.autocast():
                accuracy = float((self.supernet.forward_arch(x, arch).argmax(-1) == y).float().mean())
            reward = accuracy + self.entropy_weight * entropy.item()
            if self.baseline is None:
                self.baseline = reward
            self.baseline = self.baseline - (1 - self.baseline_decay) * (self.baseline - reward)
            loss = -log_prob * (reward - self.baseline) / self.num_aggregate
            loss.backward()
            if (step + 1) % self.num_aggregate == 0:
                nn.utils.clip_grad_norm_(self.controller.parameters(), self.grad_clip)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
        self.supernet.train()

    def derive(self) -> Arch:
        return self.best_on_one_batch([self.sample() for _ in range(self.candidates)])

    def state(self) -> dict:
        return {"baseline": self.baseline}
