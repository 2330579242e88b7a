"""Workflow Studio: draw workflows, run them durably, debug them like code."""

__version__ = "0.1.0"
