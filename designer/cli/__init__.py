"""The ``designer`` command line: parse, call the library, print.

Each command lives in one module of this package and is registered on
:data:`main` here; the modules import only :mod:`designer.cli.common`, never
this package. Library errors (:class:`~designer.errors.DesignerError`) become
one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import os
import sys
import traceback

import click

from . import export_verify, optimize, report, starter

__all__ = ["main", "entry", "COMMANDS"]

COMMANDS = {
    "optimize": optimize.optimize,
    "export": export_verify.export,
    "verify": export_verify.verify,
    "report": report.report,
    "show": report.show,
    "templates": starter.templates,
    "init": starter.init,
}


@click.group(context_settings={"max_content_width": 110})
@click.version_option(package_name="designer")
def main() -> None:
    """Inverse design of printable analog wave-RNN devices: optimize, export, verify.

    Exit status: 0 success (verify: the part passes), 1 a check failed
    (verify's verdict, export --strict), 2 unusable input (a missing or
    unreadable file, a bad option or config value).
    """


for _name, _command in COMMANDS.items():
    main.add_command(_command, _name)


def entry() -> None:
    """The ``designer`` console script and ``python -m designer``: :data:`main`, then exit.

    A process that torchrun started (:func:`designer.distributed.launched`)
    leaves through ``os._exit`` once the command has returned and its output
    is flushed, as :mod:`multiprocessing` ends its workers: the interpreter's
    finalisation is skipped. Every file a command writes is complete by then
    (written to a temporary file and renamed), and the process group is
    destroyed; what finalisation would still do is tear down gloo's worker
    threads in an arbitrary order, which now and then aborts the process
    (SIGABRT, "terminate called without an active exception") after its work
    is done, and torchrun then reports the whole run as failed.
    """
    if not ("RANK" in os.environ and "LOCAL_WORLD_SIZE" in os.environ):
        main()
        return
    from ..distributed import launched

    if not launched():
        main()
        return
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - reported as the interpreter would, then the same exit
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    os._exit(code)
