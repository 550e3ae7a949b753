"""The ``designer`` command line: parse, call the library, print.

Each command lives in one module of this package and is registered on
:data:`main` here; the modules import only :mod:`designer.cli.common`, never
this package. Library errors (:class:`~designer.errors.DesignerError`) become
one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import click

from . import export_verify, optimize, report, starter

__all__ = ["main", "COMMANDS"]

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
