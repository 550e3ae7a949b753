"""`designer report` and `designer show`: thin commands over designer.report."""
from __future__ import annotations

import time
from pathlib import Path

import click

from ..errors import DesignerError
from ..paths import READ_FORMATS, existing_file, run_folder
from .common import one_line

__all__ = ["report", "show"]


@click.command(short_help="Write the run's figures and one self-contained report.html.")
@click.argument("run_dir", required=False, type=click.Path(path_type=Path))
@click.option("--no-fields", is_flag=True, help="Skip the wave-field simulations (faster).")
@click.option("--quiet", is_flag=True, help="No progress output.")
@one_line
def report(run_dir, no_fields, quiet):
    """Write figures and report.html into RUN_DIR/report (default: the newest run under ./runs).

    report.html embeds every figure and the animation (data URIs): the one
    file opens offline and can be mailed on its own. Progress goes to stderr.
    """
    run_folder(run_dir)
    from ..outputs import check_output_dir
    from ..progress import Progress
    from ..report import write_report
    from ..report.run import find_run

    check_output_dir(find_run(run_dir) / "report", "report into")

    started = time.perf_counter()
    result = write_report(run_dir, with_fields=not no_fields, progress=Progress(quiet=quiet))
    click.echo(f"wrote {result.html} ({len(result.figures)} figures, {time.perf_counter() - started:.1f} s)")


@click.command(short_help="Preview a GDS, STL or design.npz as a PNG.")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Output PNG (default FILE.png).")
@click.option("--run", type=click.Path(file_okay=False, path_type=Path),
              help="The run folder a GDS or STL came from (default: the file's folder).")
@one_line
def show(file, out, run):
    """Preview FILE (a GDS, an STL's mid-height section, or a design.npz) as a PNG."""
    existing_file(file, "file")
    suffix = file.suffix.lower()
    if suffix != ".npz" and suffix not in READ_FORMATS:
        raise DesignerError(f"{file}: expected a .gds, .stl or design.npz file")
    from ..outputs import check_output_file
    from ..report import show_file

    check_output_file(out if out is not None else file.with_name(file.name + ".png"))
    click.echo(f"wrote {show_file(file, run=run, out=out)}")
