"""A toy search space that lives OUTSIDE the naslab package, as a third-party plug-in would.

A small MLP: the widths of three hidden layers (0 = the layer is absent, 16, 32 or 64),
an activation and a dropout rate, written like ``"64-0-32/relu/0.1"``: 4*4*4*3*2 = 384
architectures. Absent layers vanish, so ``64-0-32`` and ``0-64-32`` are the same network
(canonical key ``64-32/relu/0.1``), and a net without hidden layers is a linear model
whatever its activation and dropout (key ``linear``).

It subclasses :class:`naslab.spaces.CategoricalSpace` and nothing else of naslab's
knows it: it is registered by name (``naslab.spaces.register("toy_mlp", ToyMLPSpace)``,
or the entry point ``toy_mlp = naslab_toy:ToyMLPSpace`` in the group ``naslab.spaces``),
gets the generic encodings (one-hot and counts), the synthetic benchmark, and no network
builder (naslab then says so in one sentence when asked to train it).
"""

from __future__ import annotations

from naslab.spaces import CategoricalSpace
from naslab.spaces.base import Arch

WIDTHS = ("0", "16", "32", "64")
ACTIVATIONS = ("relu", "tanh", "gelu")
DROPOUTS = ("0", "0.1")
NUM_LAYERS = 3


class ToyMLPSpace(CategoricalSpace):
    name = "toy_mlp"
    cardinalities = (len(WIDTHS),) * NUM_LAYERS + (len(ACTIVATIONS), len(DROPOUTS))

    def choice_labels(self, decision: int) -> tuple[str, ...]:
        return WIDTHS if decision < NUM_LAYERS else (ACTIVATIONS, DROPOUTS)[decision - NUM_LAYERS]

    def to_string(self, arch: Arch) -> str:
        widths = "-".join(WIDTHS[v] for v in arch[:NUM_LAYERS])
        return f"{widths}/{ACTIVATIONS[arch[NUM_LAYERS]]}/{DROPOUTS[arch[NUM_LAYERS + 1]]}"

    def from_string(self, text: str) -> Arch:
        parts = text.split("/") if isinstance(text, str) else []
        widths = parts[0].split("-") if len(parts) == 3 else []
        if (len(widths) != NUM_LAYERS or any(w not in WIDTHS for w in widths)
                or parts[1] not in ACTIVATIONS or parts[2] not in DROPOUTS):
            raise ValueError(
                f"{text!r} is not a toy MLP string; expected W-W-W/ACTIVATION/DROPOUT with W in "
                f"{list(WIDTHS)}, ACTIVATION in {list(ACTIVATIONS)}, DROPOUT in {list(DROPOUTS)}"
            )
        return (*(WIDTHS.index(w) for w in widths), ACTIVATIONS.index(parts[1]), DROPOUTS.index(parts[2]))

    def canonical(self, arch: Arch) -> str:
        hidden = [WIDTHS[v] for v in arch[:NUM_LAYERS] if v != 0]
        if not hidden:
            return "linear"
        return f"{'-'.join(hidden)}/{ACTIVATIONS[arch[NUM_LAYERS]]}/{DROPOUTS[arch[NUM_LAYERS + 1]]}"
