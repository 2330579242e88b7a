"""The only place where the GUI meets threads: runs the engine on a worker thread, reports by signals."""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal

from studio import api
from studio.engine import Execution
from studio.errors import StudioError

log = logging.getLogger("studio.ui")

#: Which ``studio.api`` function a job calls, with its keyword arguments.
JOBS: dict[str, Callable[..., dict[str, Any]]] = {"run": api.run, "resume": api.resume, "step": api.step}


class _Courier(QObject):
    """Carries results from worker threads to the GUI thread; created once and never deleted.

    Workers never emit on a window's own objects: a window may be deleted (closed, or
    garbage-collected) while a worker still runs, and emitting on a deleted object crashes.
    """

    deliver = Signal(object, str, object)  # weak reference to the receiver, its signal, the value

    def __init__(self) -> None:
        super().__init__()
        self.deliver.connect(self._arrive, Qt.ConnectionType.QueuedConnection)

    @staticmethod
    def _arrive(ref: weakref.ReferenceType[QObject], signal: str, value: object) -> None:
        receiver = ref()
        if receiver is not None and shiboken6.isValid(receiver):
            getattr(receiver, signal).emit(value)


class _GuiThreadCollector(QObject):
    """Runs Python's cyclic garbage collection on the GUI thread only.

    Left automatic, a collection may start on a worker thread and destroy a Qt object
    caught in a reference cycle there, which Qt does not allow (it crashes). So automatic
    collection is turned off and this timer collects, generation by generation, as the
    thresholds say (as pyqtgraph's GarbageCollector does).
    """

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setInterval(500)
        self.timer.timeout.connect(self.collect)
        self.timer.start()
        gc.disable()

    @staticmethod
    def collect() -> None:
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return


_courier: _Courier | None = None


def _post(receiver: QObject, signal: str, value: object) -> None:
    """Emit ``receiver.<signal>(value)`` on the GUI thread, unless the receiver is gone by then."""
    assert _courier is not None
    _courier.deliver.emit(weakref.ref(receiver), signal, value)


def _make_courier() -> None:
    """Create the courier on the GUI thread (called from the constructors below)."""
    global _courier
    if _courier is None:
        _courier = _Courier()
        sys.setswitchinterval(min(sys.getswitchinterval(), GUI_SWITCH_INTERVAL))
        app = QCoreApplication.instance()
        if app is not None:
            _GuiThreadCollector(app)


#: How often (at most) queued engine events are applied on the GUI thread: once per frame.
FRAME_MS = 16
#: Python's GIL switch interval in the GUI's process. The GUI thread takes the GIL back each
#: time Qt calls into Python (painting, item geometry, slots); with the default 5 ms a busy
#: worker (a run, a read of the store) makes it wait up to that long every time, which adds
#: up to long freezes.
GUI_SWITCH_INTERVAL = 0.0005


class RunBridge(QObject):
    """Starts one engine job at a time on a worker thread.

    Engine events arrive on the worker thread and go into a queue; the GUI thread drains it
    at most once per frame (``FRAME_MS``) and emits the whole batch as one ``events`` signal,
    so a fast run costs the GUI one update per frame, not one per event. Only the first event
    put into an empty queue wakes the GUI thread (one queued call, however many follow).
    ``finished`` and ``failed`` come after the last batch of their job.
    """

    events = Signal(object)  # a list of history events (dicts), oldest first, as they are committed
    finished = Signal(object)  # the captured state (dict) where the job stopped
    failed = Signal(str)  # a one-line reason the job could not run (bad input, busy run…)
    _wake = Signal(object)  # internal, posted by the courier: the queue went non-empty
    _done = Signal(object)  # internal, posted by the courier: ("finished" | "failed", value)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        _make_courier()
        self._thread: threading.Thread | None = None
        self._execution: Execution | None = None
        self._active = False
        self._lock = threading.Lock()
        self._queue: list[dict[str, Any]] = []
        self._woken = False  # a wake-up is on its way (or the frame timer runs): do not post another
        self._frame = QTimer(self)
        self._frame.setSingleShot(True)
        self._frame.setInterval(FRAME_MS)
        self._frame.timeout.connect(self.drain)
        self._last_drain = 0.0
        self._wake.connect(self._woke)
        self._done.connect(self._job_done)

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
            _post(self, "_done", ("finished", state))
        else:
            _post(self, "_done", ("failed", problem))

    def _forward(self, event: dict[str, Any] | list[dict[str, Any]]) -> None:
        """Engine thread: queue one event (or a list of them); wake the GUI once per batch."""
        batch = event if isinstance(event, list) else [event]
        with self._lock:
            self._queue.extend(batch)
            if self._woken or not batch:
                return
            self._woken = True
        _post(self, "_wake", None)

    def _woke(self, _value: object = None) -> None:
        """GUI thread: the queue went non-empty; drain it now or when this frame is over."""
        wait = FRAME_MS - (time.perf_counter() - self._last_drain) * 1000
        if wait <= 0:
            self.drain()
        elif not self._frame.isActive():
            self._frame.start(max(1, int(wait)))

    def drain(self) -> None:
        """GUI thread: emit every queued event as one batch (nothing when the queue is empty)."""
        self._frame.stop()
        with self._lock:
            batch, self._queue = self._queue, []
            self._woken = False
        self._last_drain = time.perf_counter()
        if batch:
            self.events.emit(batch)

    def _job_done(self, result: tuple[str, Any]) -> None:
        self.drain()  # the job's last events come before its result
        kind, value = result
        getattr(self, kind).emit(value)

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


class Loader(QObject):
    """Reads from the store on a worker thread so that the GUI thread never waits on it.

    Requests are coalesced: while one read runs, only the newest waiting request is kept.
    Results (or the exception a read raised) arrive on the GUI thread via ``loaded``.
    """

    loaded = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        _make_courier()
        self._lock = threading.Lock()
        self._pending: Callable[[], Any] | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def request(self, job: Callable[[], Any]) -> None:
        with self._lock:
            if self._closed:
                return
            self._pending = job
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._work, name="studio-load", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                job, self._pending = self._pending, None
                if job is None or self._closed:
                    self._thread = None
                    return
            try:
                result: Any = job()
            except Exception as exc:  # noqa: BLE001 - reported to the GUI, which shows it
                if not isinstance(exc, StudioError):
                    log.exception("loading the run failed")
                result = exc
            with self._lock:
                if self._closed:
                    self._thread = None
                    return
            _post(self, "loaded", result)

    def shutdown(self, timeout: float = 2.0) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            thread.join(timeout)


class Fetcher(QObject):
    """Runs small keyed reads (blocks of a table's rows) on one worker thread, newest first.

    Only the ``keep`` newest waiting requests are kept: scrolling fast through a big
    table asks for many blocks, and only those still on screen matter. ``request``
    returns the keys it dropped, so that the asker can ask again later. Results
    arrive on the GUI thread via ``fetched`` as ``(key, value or exception)``.
    """

    fetched = Signal(object)

    def __init__(self, parent: QObject | None = None, keep: int = 8) -> None:
        super().__init__(parent)
        _make_courier()
        self._keep = keep
        self._lock = threading.Lock()
        self._pending: OrderedDict[Any, Callable[[], Any]] = OrderedDict()
        self._thread: threading.Thread | None = None
        self._closed = False

    def request(self, key: Any, job: Callable[[], Any]) -> list[Any]:
        dropped: list[Any] = []
        with self._lock:
            if self._closed:
                return [key]
            self._pending[key] = job
            self._pending.move_to_end(key)
            while len(self._pending) > self._keep:
                dropped.append(self._pending.popitem(last=False)[0])
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="studio-fetch", daemon=True)
                self._thread.start()
        return dropped

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._pending or self._closed:
                    self._thread = None
                    return
                key, job = self._pending.popitem(last=True)
            try:
                result: Any = job()
            except Exception as exc:  # noqa: BLE001 - shown where the rows would be
                if not isinstance(exc, StudioError):
                    log.exception("reading table rows failed")
                result = exc
            _post(self, "fetched", (key, result))

    def idle(self) -> bool:
        with self._lock:
            return self._thread is None

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            self._pending.clear()
