"""The only place where the GUI meets threads: runs the engine on a worker thread, reports by signals."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio import api
from studio.engine import Execution
from studio.errors import StudioError

log = logging.getLogger("studio.ui")

#: Which ``studio.api`` function a job calls, with its keyword arguments.
JOBS: dict[str, Callable[..., dict[str, Any]]] = {"run": api.run, "resume": api.resume, "step": api.step}


class RunBridge(QObject):
    """Starts one engine job at a time on a worker thread.

    Engine events arrive on the worker thread; emitting a Qt signal from there queues
    them to the GUI thread, so slots always run on the GUI thread.
    """

    event = Signal(object)  # a history event (dict) as it is committed
    finished = Signal(object)  # the captured state (dict) where the job stopped
    failed = Signal(str)  # a one-line reason the job could not run (bad input, busy run…)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._execution: Execution | None = None
        self._active = False
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        """Whether a job is going (already ``False`` when its result signal arrives)."""
        with self._lock:
            return self._active

    def start(self, kind: str, *args: Any, **kwargs: Any) -> bool:
        """Start ``studio.api.<kind>(*args, **kwargs)``; ``False`` when a job is still going."""
        with self._lock:
            if self._active:
                return False
            self._active = True
        job = JOBS[kind]
        self._thread = threading.Thread(
            target=self._work, args=(job, args, kwargs), name=f"studio-{kind}", daemon=True
        )
        self._thread.start()
        return True

    def _work(self, job: Callable[..., dict[str, Any]], args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> None:
        state: dict[str, Any] | None = None
        problem = ""
        try:
            state = job(*args, on_event=self._forward, on_execution=self._keep, **kwargs)
        except StudioError as exc:
            problem = str(exc)
        except Exception as exc:  # noqa: BLE001 - a crash in a run must not take the GUI down
            log.exception("run failed unexpectedly")
            problem = f"unexpected error: {exc}"
        with self._lock:
            self._execution = None
            self._active = False
        if state is not None:
            self.finished.emit(state)
        else:
            self.failed.emit(problem)

    def _forward(self, event: dict[str, Any]) -> None:
        self.event.emit(event)

    def _keep(self, execution: Execution) -> None:
        with self._lock:
            self._execution = execution

    def pause(self) -> None:
        with self._lock:
            if self._execution is not None:
                self._execution.pause()

    def stop(self) -> None:
        with self._lock:
            if self._execution is not None:
                self._execution.stop()

    def shutdown(self, timeout: float = 3.0) -> None:
        """Stop a running job and wait (briefly) for its thread: used when the window closes."""
        if self.busy and self._thread is not None:
            self.stop()
            self._thread.join(timeout)
