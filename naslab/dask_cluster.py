"""Run the jobs of a sweep or a build on a Dask cluster (``pip install 'naslab[dask]'``).

``python -m naslab.sweep --executor dask [--address tcp://HOST:8786]`` and
``python -m naslab.build executor=dask [executor.address=tcp://HOST:8786]`` send their
jobs to the Dask scheduler at ``address`` (a ``dask scheduler`` + ``dask worker`` cluster,
a dask-jobqueue ``SLURMCluster``'s scheduler...) or, without one, to a ``LocalCluster``
of worker processes on this machine (one thread each, on 127.0.0.1, no dashboard).

Workers write run folders and build chunks themselves, so every worker must see the
same file system at the same path, and each worker must run one thread
(``dask worker --nthreads 1``): a job changes the process's working directory and
logging, like a Hydra job does. A worker that dies has its tasks re-run on another one
(Dask's ``allowed-failures``); a job that already finished is skipped there, as in any
resumed sweep or build.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from naslab.errors import NaslabError

log = logging.getLogger("naslab")


class DaskError(NaslabError, ValueError):
    """The Dask cluster cannot be used; one sentence for the user."""


@contextmanager
def dask_client(address: str | None, workers: int) -> Iterator[Any]:
    """A ``distributed.Client`` on ``address``, or on a fresh LocalCluster of ``workers`` processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DaskError("the Dask executor needs distributed: pip install 'naslab[dask]'") from None
    if address:
        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise DaskError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        with client:
            yield client
        return
    # our own throw-away cluster: its start/stop chatter at INFO is not the user's business
    logging.getLogger("distributed").setLevel(logging.WARNING)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def run_on_dask(client: Any, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
    """``function(item)`` for each item on the cluster; results as they finish (any order)."""
    from distributed import as_completed

    # pure=False: every item is new work, never a cached result of an earlier submission
    futures = client.map(function, list(items), pure=False)
    for future in as_completed(futures):
        yield future.result()
        future.release()
