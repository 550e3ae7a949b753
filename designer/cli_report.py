"""`designer report` and `designer show`: thin commands over designer.report."""
from __future__ import annotations

import time
from pathlib import Path

import click

from .cli import _one_line, main


@main.command()
@click.argument("run_dir", required=False, type=click.Path(path_type=Path))
@click.option("--no-fields", is_flag=True, help="Skip the wave-field simulations (faster).")
@_one_line
def report(run_dir, no_fields):
    """Write figures and report.html into RUN_DIR/report (default: the newest run under ./runs)."""
    from .outputs import check_output_dir
    from .report import write_report
    from .report.run import find_run

    check_output_dir(find_run(run_dir) / "report", "report into")
    started = time.perf_counter()
    result = write_report(run_dir, with_fields=not no_fields)
    click.echo(f"wrote {result.html} ({len(result.figures)} figures, {time.perf_counter() - started:.1f} s)")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Output PNG (default FILE.png).")
@click.option("--run", type=click.Path(file_okay=False, path_type=Path),
              help="The run folder a GDS or STL came from (default: the file's folder).")
@_one_line
def show(file, out, run):
    """Preview FILE (a GDS, an STL's mid-height section, or a design.npz) as a PNG."""
    from .outputs import check_output_file
    from .report import show_file

    check_output_file(out if out is not None else Path(file).with_name(Path(file).name + ".png"))
    click.echo(f"wrote {show_file(file, run=run, out=out)}")
