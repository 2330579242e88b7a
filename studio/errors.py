"""Error classes used across Workflow Studio.

Every error a user can cause is a ``StudioError`` with a one-line message; the
CLI prints the message and exits with ``exit_code``, never a traceback.
"""

from __future__ import annotations


class StudioError(Exception):
    """A problem the user can fix; ``str(err)`` is one line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


class UsageError(StudioError):
    """Bad command-line usage or bad arguments to an API function."""


class WorkflowFileError(StudioError):
    """The workflow file cannot be read (missing, empty, not JSON, not an object)."""


class InvalidWorkflow(StudioError):
    """The workflow file was read but has problems; ``problems`` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(problems[0] if problems else "invalid workflow")


class UnknownRun(StudioError):
    """No run with that id."""


class UnknownCheckpoint(StudioError):
    """No checkpoint with that id."""


class UnknownNode(StudioError):
    """A node id given on the command line is not in the workflow."""


class BadStatePath(StudioError):
    """A ``--set`` path or value is refused."""


class RunBusy(StudioError):
    """The run is owned by a live process."""


class CorruptCheckpoint(StudioError):
    """Stored state failed its checksum."""


class NotAStudioDatabase(StudioError):
    """The database file is unreadable or belongs to another program."""


class NodeError(Exception):
    """Raised by a node's code when it fails; the message is shown to the user."""
