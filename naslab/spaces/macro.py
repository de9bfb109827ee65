"""The NAS-Bench-Macro chain space: 8 layers x {identity, MB e3 k3, MB e6 k5}, 6,561 networks.

An architecture is one choice per searchable layer, written as an 8-digit string such
as ``"22212220"`` (digit ``d`` = choice of layer ``d``)::

    0 = identity    1 = MobileNetV2 block, expansion 3, kernel 3    2 = expansion 6, kernel 5

The official index order is the string read as a base-3 number (``"00000000"`` = 0,
``"22222222"`` = 6,560), i.e. the mixed-radix rank, so no permutation is needed.

Canonical key
-------------
NAS-Bench-Macro's network (``train/model.py`` of xiusu/NAS-Bench-Macro) has three
stages of 2, 3 and 3 layers. The *first* layer of every stage halves the resolution
and doubles the channels, so there "identity" is really a strided 1x1 convolution +
BatchNorm: a different function from an identity elsewhere, and its position matters.
The other layers keep shape, an MB block adds its input back (residual), and an
identity is a true no-op, so inside a stage's tail an identity can be moved anywhere
without changing the network: ``0 2`` and ``2 0`` in layers 3-4 are the same network.

Hence the key: per stage, the first layer's choice as-is, then the stage's remaining
choices with identities removed. That gives 3*3 x 3*7 x 3*7 = **3,969** classes —
exactly the number of distinct result records in the published JSON, and the data
agrees class by class (every class shares one record; checked in the tests). Simply
dropping every identity, wherever it sits, would give only 2^0 + ... + 2^8 = 511
classes and merge networks the benchmark trained separately with different results.
"""

from __future__ import annotations

from naslab.spaces.base import Arch, CategoricalSpace, InvalidArchError

CHOICES: tuple[str, ...] = ("identity", "mb_e3_k3", "mb_e6_k5")
NUM_LAYERS = 8
STAGE_LENGTHS: tuple[int, ...] = (2, 3, 3)
IDENTITY = 0
_FORMAT = f"{NUM_LAYERS} digits, each 0 (identity), 1 (MB e3 k3) or 2 (MB e6 k5), e.g. '22212220'"


class MacroSpace(CategoricalSpace):
    """NAS-Bench-Macro: a chain of 8 searchable layers with 3 choices each."""

    name = "nasbench_macro"
    cardinalities = (len(CHOICES),) * NUM_LAYERS
    choices = CHOICES
    stage_lengths = STAGE_LENGTHS

    def choice_labels(self, decision: int) -> tuple[str, ...]:
        return CHOICES

    def to_string(self, arch: Arch) -> str:
        return "".join(str(int(v)) for v in arch)

    def from_string(self, text: str) -> Arch:
        if (
            not isinstance(text, str)
            or len(text) != NUM_LAYERS
            or any(c not in "012" for c in text)
        ):
            raise InvalidArchError(f"{text!r} is not a NAS-Bench-Macro arch string; expected {_FORMAT}")
        return tuple(int(c) for c in text)

    def canonical(self, arch: Arch) -> str:
        """Per stage: first (strided) layer's choice, then the tail without identities.

        Stages are separated by ``|``, e.g. ``"22212220"`` -> ``"22|212|22"`` and
        ``"02000000"`` -> ``"02|0|0"`` (the identities of layers 0, 2 and 5 are
        strided 1x1 convolutions and stay; those of layers 3, 4, 6, 7 vanish); see
        the module docstring for why.
        """
        parts = []
        start = 0
        for length in STAGE_LENGTHS:
            stage = arch[start : start + length]
            tail = "".join(str(int(v)) for v in stage[1:] if int(v) != IDENTITY)
            parts.append(f"{int(stage[0])}{tail}")
            start += length
        return "|".join(parts)
