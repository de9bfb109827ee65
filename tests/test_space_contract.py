"""Every registered space keeps the space contract (``naslab.testing.SpaceContract``)."""

from __future__ import annotations

import pytest

from naslab import spaces

# the suites parametrise over the registries (naslab.strategies, naslab.spaces.available);
# until a checkout has them this module has nothing to run
if not hasattr(spaces, "available"):
    pytest.skip("needs the strategy and space registries (naslab.strategies)", allow_module_level=True)
from naslab.testing import SpaceContract


class TestRegisteredSpaces(SpaceContract):
    @pytest.fixture(params=spaces.available())
    def space(self, request):
        return spaces.get(request.param)
