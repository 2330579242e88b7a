"""Runs workflows durably: scheduling, breakpoints, step, pause, resume, fork, edits."""

from studio.engine.execution import Breakpoints, Execution, load_run_workflow, run_workflow_copy
from studio.engine.owner import recover, recover_all
from studio.engine.state import captured_state, next_nodes, parse_edits

__all__ = [
    "Breakpoints", "Execution", "captured_state", "load_run_workflow", "next_nodes",
    "parse_edits", "recover", "recover_all", "run_workflow_copy",
]
