"""Work around reference-count bugs of PySide6 releases built for immortal ``None``/``True``/``False``.

PySide6 6.12 returns ``None`` from void methods, and ``True``/``False`` from
``SignalInstance.emit()``, without taking a reference. On Python 3.12 and later these
objects are immortal, so nothing happens; on Python 3.11 every call costs ``None`` (or
``True``) one reference until the interpreter aborts with "deallocating None". When the
installed PySide6 shows the bug on an interpreter without immortal objects, ``patch()``
gives these three objects a reference count so large that they behave as immortal.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance

#: References added so that no realistic number of lost references can reach zero.
_RESERVE = 1 << 40


class _Probe(QObject):
    ping = Signal()


def _drops_references() -> bool:
    """Whether a void PySide6 call or an emit loses a reference to ``None``/``True``."""
    if sys.version_info >= (3, 12):
        return False  # immortal objects: lost references cannot do harm
    timer = QTimer()
    probe = _Probe()
    before = sys.getrefcount(None), sys.getrefcount(True) + sys.getrefcount(False)
    for _ in range(4):
        timer.setInterval(5)
        probe.ping.emit()
    after = sys.getrefcount(None), sys.getrefcount(True) + sys.getrefcount(False)
    return after[0] < before[0] or after[1] < before[1]


def patch() -> bool:
    """Make ``None``, ``True`` and ``False`` effectively immortal when PySide6 needs it."""
    if not _drops_references():
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _RESERVE
    return True


PATCHED = patch()


def emit(signal: SignalInstance, *args: Any) -> None:
    """Emit ``signal`` (one place to adapt should emitting need care again)."""
    signal.emit(*args)
