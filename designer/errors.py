"""The one error type the CLI turns into a one-line message."""
from __future__ import annotations

__all__ = ["DesignerError", "ConfigError"]


class DesignerError(Exception):
    """A user-facing error: its message is one line naming what was wrong."""


class ConfigError(DesignerError):
    """A config file was rejected before any work started."""
