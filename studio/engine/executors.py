"""Where nodes run: worker threads in this process, or the workers of a Dask cluster.

The coordinator (``Execution``) keeps all scheduling, checkpoints and history; an
executor only runs prepared ``NodeTask``s and hands back ``NodeResult``s as
``concurrent.futures`` futures, so both kinds look the same to it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from studio.engine.tasks import NodeResult, NodeTask, run_task, run_task_json
from studio.errors import UsageError

log = logging.getLogger("studio.engine")

#: Node types whose work a pause or stop cuts short.
INTERRUPTIBLE = {"delay"}


class NodeExecutor(Protocol):
    def submit(self, task: NodeTask) -> Future[NodeResult]: ...

    def cut_short(self) -> None: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Worker threads in this process (``--executor local``, the default)."""

    def __init__(self, workers: int, cancel: threading.Event, name: str = "studio") -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._cancel = cancel

    def submit(self, task: NodeTask) -> Future[NodeResult]:
        return self._pool.submit(run_task, task, self._cancel)

    def cut_short(self) -> None:
        """Nothing to do: nodes here watch the shared cancel event."""

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Nodes run on Dask workers: a ``LocalCluster`` started for the run, or a scheduler."""

    def __init__(self, address: str | None, workers: int) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise UsageError(
                "--executor dask needs the 'dask' extra: pip install 'workflow-studio[dask]'"
            ) from None
        self._cluster: Any = None
        try:
            if address is None:
                self._cluster = LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=logging.ERROR,
                )
                self._client = Client(self._cluster)
            else:
                self._client = Client(address, timeout=3)
        except (OSError, TimeoutError) as exc:
            if self._cluster is not None:
                self._cluster.close()
            raise UsageError(f"--executor: cannot reach the Dask scheduler at {address}: {exc}") from None
        self._lock = threading.Lock()
        self._running: dict[Any, tuple[Future[NodeResult], NodeTask]] = {}
        self._cancel_name = f"studio-cancel-{uuid.uuid4().hex}"

    def submit(self, task: NodeTask) -> Future[NodeResult]:
        outer: Future[NodeResult] = Future()
        remote = self._client.submit(
            run_task_json, task.to_json(), self._cancel_name, pure=False, key=f"{task.node}-{uuid.uuid4().hex[:8]}"
        )
        with self._lock:
            self._running[remote] = (outer, task)

        def done(fut: Any) -> None:
            with self._lock:
                self._running.pop(fut, None)
            if outer.done():
                return
            if fut.cancelled():
                outer.set_result(NodeResult(task.node, cancelled=True))
            elif fut.status == "error":
                outer.set_result(NodeResult(task.node, error=f"the Dask worker failed: {fut.exception()}"))
            else:
                outer.set_result(NodeResult.from_json(fut.result()))

        remote.add_done_callback(done)
        return outer

    def cut_short(self) -> None:
        """Cut running delays short on the workers; they are not committed and run again on resume."""
        from distributed import Event

        Event(self._cancel_name, client=self._client).set()
        with self._lock:
            doomed = [(remote, outer, task) for remote, (outer, task) in self._running.items()
                      if task.type in INTERRUPTIBLE]
        for remote, outer, task in doomed:
            remote.cancel()
            if not outer.done():
                outer.set_result(NodeResult(task.node, cancelled=True))

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(kind: str, workers: int, cancel: threading.Event, name: str) -> NodeExecutor:
    """``local``, ``dask`` (a LocalCluster for the run) or ``dask://HOST:PORT``."""
    if kind == "local":
        return LocalExecutor(workers, cancel, name)
    if kind == "dask":
        return DaskExecutor(None, workers)
    if kind.startswith("dask://"):
        return DaskExecutor("tcp://" + kind[len("dask://"):], workers)
    raise UsageError(f"--executor {kind}: use local, dask or dask://HOST:PORT")


def check_executor(kind: str) -> None:
    """Refuse an unknown executor name before anything is written."""
    if kind not in ("local", "dask") and not (kind.startswith("dask://") and len(kind) > len("dask://")):
        raise UsageError(f"--executor {kind}: use local, dask or dask://HOST:PORT")
