"""`designer templates` and `designer init`: what devices exist, and a starter config for one."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import DesignerError
from ..paths import existing
from ..readout import READOUTS
from .common import one_line

__all__ = ["templates", "init"]


@click.command(short_help="List the device templates.")
def templates():
    """List the device templates: output format, cell size and minimum features."""
    from templates import load_template, template_names

    for name in template_names():
        t = load_template(name)
        u = t.length_unit
        click.echo(f"{name:16s} {t.output_format:4s} cell {t.to_unit(t.cell_size_m):g} {u}, "
                   f"min solid {t.to_unit(t.min_solid_m):g} {u} ({t.min_solid_cells:g} cells), "
                   f"min void {t.to_unit(t.min_void_m):g} {u} ({t.min_void_cells:g} cells)  {t.description}")


@click.command(short_help="Write a starter config, or one fitted to a dataset.")
@click.option("--template", "template_name", help="Template name (see `designer templates`); "
              "default photonic-soi with --data.")
@click.option("--data", type=click.Path(path_type=Path),
              help="Fit the config to this dataset: class folders of WAV files, Hillenbrand recordings, "
                   ".npz/.csv/X.npy arrays, or a UCR archive (.ts, .tsv, .txt).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("designer.toml"),
              show_default=True, help="Where to write the config.")
@click.option("--readout", type=click.Choice(list(READOUTS)), default="intensity", show_default=True,
              help="How probe powers name the class: " + "; ".join(f"{r.name}, {r.summary}" for r in READOUTS.values())
              + ".")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@one_line
def init(template_name, data, out, readout, force):
    """Write a commented starter config for a template, or one fitted to a dataset (classes, lengths, probes)."""
    if template_name is None and data is None:
        raise DesignerError("init: pass --template NAME (see `designer templates`) or --data PATH")
    if data is not None:
        existing(data, "data")
    if out.exists() and not force:
        raise DesignerError(f"{out}: exists; pass --force to overwrite")
    import tomllib

    from ..config import parse_config
    from ..design import atomic_write_text
    from ..outputs import check_output_file
    from ..starter import plan_for_data, starter_config

    check_output_file(out)

    plan = plan_for_data(data, out.parent) if data is not None else None
    text = starter_config(template_name or "photonic-soi", plan, readout)
    parse_config(tomllib.loads(text), str(out))  # what is written must load as written
    atomic_write_text(out, text)
    click.echo(f"wrote {out}" + (f" for {len(plan.classes)} classes ({', '.join(plan.classes)}) of "
                                 f"{plan.samples} {plan.source} samples" if plan else ""))
