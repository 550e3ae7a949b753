"""What every command shares: one-line errors and the exit codes.

Commands check their arguments and paths (:mod:`designer.paths`) before they
import the heavy libraries (torch, numba, scikit-image), so a mistake is
reported at once.
"""
from __future__ import annotations

import functools
import sys

import click

from ..errors import DesignerError

__all__ = ["EXIT_OK", "EXIT_FAILED", "EXIT_INPUT", "one_line", "echo_err"]

EXIT_OK = 0
EXIT_FAILED = 1
"""A check failed: `verify`'s verdict, `export --strict`'s design rules."""
EXIT_INPUT = 2
"""Unusable input: a missing or unreadable file, a bad option or config value."""


def one_line(func):
    """Turn DesignerError (and template errors) into 'error: ...' on stderr and exit 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from templates import TemplateError

        try:
            return func(*args, **kwargs)
        except (DesignerError, TemplateError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INPUT)

    return wrapper


def echo_err(line: str) -> None:
    """One whole line on stderr."""
    click.echo(line, err=True)
