"""Search spaces: decision-vector spaces that every strategy can search."""

from naslab.spaces.base import Arch, CategoricalSpace
from naslab.spaces.nb201 import NB201Space
from naslab.spaces.registry import get_space, register_space

__all__ = ["Arch", "CategoricalSpace", "NB201Space", "get_space", "register_space"]
