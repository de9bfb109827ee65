"""Search spaces: decision-vector spaces that every strategy can search.

``naslab.spaces.get("nb201")`` is the space of that name; ``available()`` lists them.
"""

from naslab.spaces.base import Arch, CategoricalSpace, InvalidArchError
from naslab.spaces.nb201 import NB201Space
from naslab.spaces.registry import available, get, get_space, register, register_space

__all__ = ["Arch", "CategoricalSpace", "InvalidArchError", "NB201Space", "available", "get", "get_space", "register", "register_space"]
