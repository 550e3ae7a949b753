"""Progress of long work: a live bar on a terminal, whole lines in a log, nothing when quiet.

On a terminal (the stream is a TTY) each unit of work (an epoch, a report)
gets a tqdm bar that redraws in place and disappears when done, leaving one
summary line. A pipe or a file gets only the whole lines, never a carriage
return, so a log reads one line per epoch.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

__all__ = ["Progress", "as_progress", "compile_notice"]


class _LineStream:
    """A text stream over a callable that takes whole lines (the ``echo`` of the Python API)."""

    def __init__(self, echo: Callable[[str], None]):
        self.echo = echo

    def write(self, text: str) -> None:
        self.echo(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class _Bar:
    """One unit of work: a tqdm bar when live, else silent."""

    def __init__(self, bar):
        self._bar = bar

    def update(self, n: int = 1, **postfix) -> None:
        """``n`` more steps done; ``postfix`` (e.g. loss=0.71) is shown beside the bar."""
        if self._bar is not None:
            if postfix:
                self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(n)

    def note(self, text: str) -> None:
        """What the unit does now (e.g. 'evaluating'), shown in the bar."""
        if self._bar is not None:
            self._bar.set_postfix_str(text)


class Progress:
    """Progress output on ``stream`` (default stderr); ``live`` None means: a bar exactly when it is a TTY."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None, quiet: bool = False):
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        is_tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.live = not quiet and (is_tty if live is None else live)
        self._open = 0

    def line(self, text: str) -> None:
        """One whole line (above a live bar, if one is drawn)."""
        if self.quiet:
            return
        if self.live and self._open:
            from tqdm import tqdm

            tqdm.write(text, file=self.stream)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    @contextmanager
    def bar(self, total: int, desc: str, unit: str = "batch") -> Iterator[_Bar]:
        """A bar of ``total`` steps for one unit of work; a log gets nothing from it (print its summary line)."""
        if not self.live:
            yield _Bar(None)
            return
        from tqdm import tqdm

        sized = _columns(self.stream) > 0  # a terminal that reports no size gets a fixed width, not an empty bar
        bar = tqdm(total=total, desc=desc, unit=unit, file=self.stream, leave=False, dynamic_ncols=sized,
                   ncols=None if sized else 100)
        self._open += 1
        try:
            yield _Bar(bar)
        finally:
            self._open -= 1
            bar.close()


def _columns(stream) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


def as_progress(echo: Progress | Callable[[str], None] | None) -> Progress:
    """A :class:`Progress` from what the Python API accepts: one, a callable taking lines, or None (silent)."""
    if isinstance(echo, Progress):
        return echo
    if echo is None:
        return Progress(quiet=True)
    return Progress(_LineStream(echo), live=False)


def compile_notice(engine: str, device) -> str | None:
    """The line announcing numba's compilation, when the fused CPU kernels are not yet loaded in this process.

    The fused engine's CPU kernels (:mod:`designer.physics.fused_kernels`)
    compile on their first call, 10-40 s, then load from numba's disk cache;
    the reference engine and CUDA runs use none.
    """
    if engine == "reference" or getattr(device, "type", str(device)) != "cpu":
        return None
    kernels = sys.modules.get("designer.physics.fused_kernels")
    if kernels is not None and any(getattr(f, "signatures", None) for f in vars(kernels).values()
                                   if hasattr(f, "py_func")):
        return None
    return ("preparing the wave kernels: numba compiles them on first use (10-40 s) and caches them on disk; "
            "the first batch waits for it")
