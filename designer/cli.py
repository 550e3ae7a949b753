"""The ``designer`` command line: parse, call the library, print.

Library errors (:class:`DesignerError`) become one line on stderr and exit
status 2, never a traceback.
"""
from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

import click

from .errors import DesignerError

EXIT_INPUT = 2


def _one_line(func):
    """Turn DesignerError (and template errors) into 'error: ...' and exit 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from templates import TemplateError

        try:
            return func(*args, **kwargs)
        except (DesignerError, TemplateError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INPUT)

    return wrapper


def _echo_err(msg: str) -> None:
    click.echo(msg, err=True, nl=False)


@click.group()
@click.version_option(package_name="designer")
def main() -> None:
    """Inverse design of printable analog wave-RNN devices: optimize, export, verify."""


@main.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--epochs", type=click.IntRange(min=1), help="Override [training] epochs.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Output folder (default runs/<config-stem>-<timestamp>).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Override [simulation] device.")
@click.option("--engine", type=click.Choice(["auto", "fused", "reference", "impulse"]), help="Override [simulation] engine.")
@click.option("--seed", type=int, help="Override [training] seed.")
@click.option("--data", type=click.Path(path_type=Path),
              help="Data to train on: sets [data] path (and, for a config on the synthetic corpus, the source "
                   "that reads PATH).")
@click.option("--folds", type=click.IntRange(min=0), help="Override [training] folds (0: one split).")
@click.option("--template", "template_name", help="Override the config's device template.")
@click.option("--export", "exports", multiple=True, type=click.Choice(["gds", "stl", "msh", "vtu", "xdmf", "svg", "png"]),
              help="After training, export every design to this format and verify it (repeatable).")
@click.option("--resume", is_flag=True, help="Continue the run in --out (or the newest run of this config).")
@click.option("--quiet", is_flag=True, help="No progress output.")
@_one_line
def optimize(config, epochs, out, device, engine, seed, data, folds, template_name, exports, resume, quiet):
    """Train a material design from CONFIG (TOML)."""
    from .config import parse_config, read_config_data

    overrides = {}
    for key, value in (("training.epochs", epochs), ("simulation.device", device), ("simulation.engine", engine),
                       ("training.seed", seed), ("training.folds", folds)):
        if value is not None:
            overrides[key] = value
    raw = read_config_data(config, overrides)
    if data is not None:
        _point_at_data(raw, data)
    if template_name is not None:
        raw["template"] = template_name
    cfg = parse_config(raw, str(config))
    if cfg.data.path:
        raw.setdefault("data", {})["path"] = cfg.data.path  # absolute, so the run folder can move
    from .outputs import check_output_dir
    from .runner import optimize as run

    out = check_output_dir(_output_folder(config, out, resume))

    def export_and_verify(summary: dict) -> dict:
        from .fabricate import fabricate_run

        if not quiet:
            _echo_err(f"exporting and verifying {', '.join(exports)}\n")
        return fabricate_run(out, tuple(exports), summary)

    from .distributed import is_main_process

    started = time.perf_counter()
    summary = run(cfg, out, resume=resume, echo=None if quiet else _echo_err, config_data=raw,
                  after=export_and_verify if exports else None)
    if is_main_process():  # under torchrun, rank 0 speaks for the run
        _print_summary(out, summary, time.perf_counter() - started)


def _point_at_data(raw: dict, data: Path) -> None:
    """Set the config document's [data] path to ``data``; a synthetic config takes the source that reads it."""
    from .data import infer_source

    table = raw.get("data")
    if not isinstance(table, dict):
        table = raw["data"] = {}
    table["path"] = str(data.resolve())
    if table.get("source", table.get("corpus", "synthetic")) == "synthetic":
        table.pop("corpus", None)
        table["source"] = infer_source(data)


def _output_folder(config: Path, out: Path | None, resume: bool) -> Path:
    if out is not None:
        if resume and not out.exists():
            raise DesignerError(f"{out}: --resume needs an existing run folder")
        return out
    runs = Path("runs")
    if resume:
        previous = sorted(runs.glob(f"{config.stem}-*"), key=lambda p: p.stat().st_mtime)
        if not previous:
            raise DesignerError(f"{runs}: no earlier run of {config.stem} to resume; pass --out")
        return previous[-1]
    return runs / f"{config.stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def _print_summary(out: Path, summary: dict, seconds: float) -> None:
    folds = summary["folds"]
    click.echo("")
    click.echo(f"run folder      {out}")
    if len(folds) == 1:
        f = folds[0]
        click.echo(f"test accuracy   {100 * f['test_accuracy']:.1f}% binary (as fabricated), "
                   f"{100 * f['smooth_test_accuracy']:.1f}% smooth")
        click.echo(f"train accuracy  {100 * f['train_accuracy']:.1f}% binary, {100 * f['smooth_train_accuracy']:.1f}% smooth")
    else:
        click.echo(f"folds           {len(folds)}")
        click.echo(f"test accuracy   {100 * summary['test_accuracy_mean']:.1f} +/- {100 * summary['test_accuracy_std']:.1f}% binary")
    for fmt, fab in summary.get("fabricated", {}).items():
        click.echo(f"as fabricated   {fmt}: {100 * fab['accuracy_mean']:.1f} +/- {100 * fab['accuracy_std']:.1f}% "
                   f"(mean drop {fab['drop_points_mean']:+.1f} points)")
    from .design_check import read_meta

    designs = sorted(out.glob("**/design.json"))
    for d in designs:
        meta = read_meta(d)
        ls = meta["lengthscale"]
        click.echo(f"length scale    {d.parent.name}: min solid {ls['min_solid_cells']:g} / void "
                   f"{ls['min_void_cells']:g} cells, rule {ls['rule_cells']:g} -> "
                   f"{'meets' if ls['meets_rule'] else 'VIOLATES'} rule; grayness {meta['grayness']:.4f}")
    click.echo(f"wall time       {seconds:.1f} s")
    click.echo(f"files           {', '.join(str(d.parent / 'design.npz') for d in designs[:3])}"
               f"{' ...' if len(designs) > 3 else ''}")
    click.echo(f"next            designer export {out if len(designs) == 1 else designs[0].parent} --format gds|stl; "
               f"designer report {out}")


@main.command()
def templates():
    """List the device templates."""
    from templates import load_template, template_names

    for name in template_names():
        t = load_template(name)
        u = t.length_unit
        click.echo(f"{name:16s} {t.output_format:4s} cell {t.to_unit(t.cell_size_m):g} {u}, "
                   f"min solid {t.to_unit(t.min_solid_m):g} {u} ({t.min_solid_cells:g} cells), "
                   f"min void {t.to_unit(t.min_void_m):g} {u} ({t.min_void_cells:g} cells)  {t.description}")


@main.command()
@click.option("--template", "template_name", help="Template name (see `designer templates`); "
              "default photonic-soi with --data.")
@click.option("--data", type=click.Path(exists=True, path_type=Path),
              help="Fit the config to this dataset: class folders of WAV files, Hillenbrand recordings, "
                   ".npz/.csv/X.npy arrays, or a UCR archive (.ts, .tsv, .txt).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("designer.toml"),
              show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@_one_line
def init(template_name, data, out, force):
    """Write a commented starter config for a template, or one fitted to a dataset (classes, lengths, probes)."""
    from .design import atomic_write_text
    from .starter import plan_for_data, starter_config

    from .outputs import check_output_file

    if template_name is None and data is None:
        raise DesignerError("init: pass --template NAME (see `designer templates`) or --data PATH")
    if out.exists() and not force:
        raise DesignerError(f"{out}: exists; pass --force to overwrite")
    check_output_file(out)
    plan = plan_for_data(data, out.parent) if data is not None else None
    text = starter_config(template_name or "photonic-soi", plan)
    from .config import parse_config
    import tomllib

    parse_config(tomllib.loads(text), str(out))  # what is written must load as written
    atomic_write_text(out, text)
    click.echo(f"wrote {out}" + (f" for {len(plan.classes)} classes ({', '.join(plan.classes)}) of "
                                 f"{plan.samples} {plan.source} samples" if plan else ""))


from . import cli_fab  # noqa: E402,F401  (export, verify attach themselves to main)
from . import cli_report  # noqa: E402,F401

if __name__ == "__main__":
    main()
