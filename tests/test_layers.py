"""The import graph keeps its layers: the import-linter contract of pyproject.toml holds."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_no_module_imports_a_layer_above_its_own():
    if shutil.which("lint-imports") is None:
        pytest.skip("import-linter is not installed (it is in the dev extra: pip install 'naslab[dev]')")
    proc = subprocess.run(["lint-imports", str(REPO / "pyproject.toml")], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 kept, 0 broken" in proc.stdout
