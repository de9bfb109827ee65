"""naslab's thread policy (naslab.threads): one thread per library unless the user asks otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROBE = """
import json, os, sys, warnings
warnings.simplefilter("always")
{before}
import naslab, threadpoolctl
{after}
info = threadpoolctl.threadpool_info()
out = {{"env": os.environ.get("OMP_NUM_THREADS"), "pools": sorted({{p["num_threads"] for p in info}})}}
if "torch" in sys.modules:
    out["torch"] = sys.modules["torch"].get_num_threads()
print(json.dumps(out))
"""


def probe(threads: str | None, before: str = "", after: str = "import numpy, scipy.linalg") -> tuple[dict, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS") and k != "NASLAB_THREADS"}
    env["PYTHONPATH"] = str(REPO)
    if threads is not None:
        env["NASLAB_THREADS"] = threads
    done = subprocess.run([sys.executable, "-c", PROBE.format(before=before, after=after)],
                          env=env, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


def test_import_naslab_sets_one_thread_for_blas_and_torch_loaded_after_it():
    pytest.importorskip("torch")
    out, _ = probe(None, after="import numpy, scipy.linalg, torch")
    assert out == {"env": "1", "pools": [1], "torch": 1}


def test_libraries_loaded_before_naslab_are_limited_too():
    out, _ = probe(None, before="import numpy, scipy.linalg")
    assert out["env"] == "1" and out["pools"] == [1]


def test_naslab_threads_asks_for_more_and_zero_leaves_the_defaults():
    two, _ = probe("2")
    assert two == {"env": "2", "pools": [2]}
    untouched, _ = probe("0")
    assert untouched["env"] is None


def test_a_bad_naslab_threads_warns_in_one_sentence_and_keeps_one_thread():
    out, err = probe("many")
    assert out["env"] == "1" and out["pools"] == [1]
    assert "NASLAB_THREADS='many' is not a thread count" in err and "Traceback" not in err


def test_set_threads_rejects_a_count_below_one():
    from naslab.threads import set_threads

    with pytest.raises(ValueError, match="threads must be >= 1"):
        set_threads(0)
