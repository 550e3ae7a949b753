"""`designer optimize`: train a design from a config, optionally export and verify it."""
from __future__ import annotations

import time
from pathlib import Path

import click

from ..errors import DesignerError
from ..paths import existing, existing_file
from .common import echo_err, one_line

__all__ = ["optimize"]

EXPORT_FORMATS = ["gds", "stl", "msh", "vtu", "xdmf", "svg", "png"]


@click.command(short_help="Train a material design from a TOML config.")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--epochs", type=click.IntRange(min=1), help="Override [training] epochs.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Output folder (default runs/<config-stem>-<timestamp>).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Override [simulation] device.")
@click.option("--engine", type=click.Choice(["auto", "fused", "reference", "impulse"]),
              help="Override [simulation] engine.")
@click.option("--seed", type=int, help="Override [training] seed.")
@click.option("--data", type=click.Path(path_type=Path),
              help="Data to train on: sets [data] path (and, for a config on the synthetic corpus, the source "
                   "that reads PATH).")
@click.option("--folds", type=click.IntRange(min=0), help="Override [training] folds (0: one split).")
@click.option("--template", "template_name", help="Override the config's device template.")
@click.option("--export", "exports", multiple=True, type=click.Choice(EXPORT_FORMATS),
              help="After training, export every design to this format and verify it (repeatable).")
@click.option("--resume", is_flag=True, help="Continue the run in --out (or the newest run of this config).")
@click.option("--quiet", is_flag=True, help="No progress output (warnings and the summary stay).")
@one_line
def optimize(config, epochs, out, device, engine, seed, data, folds, template_name, exports, resume, quiet):
    """Train a material design from CONFIG (TOML).

    Progress goes to stderr: a live bar on a terminal, one line per epoch in
    a pipe or a log. After training, one warning line each when a shipped
    design is still grey, its training loss still falls at the end, or its
    test accuracy is not significantly above chance.
    """
    existing_file(config, "config file")
    if data is not None:
        existing(data, "data")
    if resume and out is not None and not out.exists():
        raise DesignerError(f"{out}: --resume needs an existing run folder")
    from ..config import parse_config, read_config_data

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
    if cfg.constraints.levels > 1:
        import fabrication as fab

        for fmt in exports:
            if fmt not in fab.RELIEF_FORMATS:
                raise DesignerError(f"--export {fmt}: {config} trains a relief of {cfg.constraints.levels} wall "
                                    f"heights (constraints.levels), which only {', '.join(fab.RELIEF_FORMATS)} holds")
    if cfg.data.path:
        raw.setdefault("data", {})["path"] = cfg.data.path  # absolute, so the run folder can move
    from ..outputs import check_output_dir
    from ..progress import Progress
    from ..runner import optimize as run

    out = check_output_dir(_output_folder(config, out, resume))
    progress = Progress(quiet=quiet)

    def export_and_verify(summary: dict) -> dict:
        from ..export_verify import export_and_verify

        progress.line(f"exporting and verifying {', '.join(exports)}")
        return export_and_verify(out, tuple(exports), summary)

    from ..distributed import is_main_process

    started = time.perf_counter()
    summary = run(cfg, out, resume=resume, echo=progress, config_data=raw,
                  after=export_and_verify if exports else None)
    if is_main_process():  # under torchrun, rank 0 speaks for the run
        _print_summary(out, summary, time.perf_counter() - started)
        _warn(out)


def _point_at_data(raw: dict, data: Path) -> None:
    """Set the config document's [data] path to ``data``; a synthetic config takes the source that reads it."""
    from ..data import infer_source

    table = raw.get("data")
    if not isinstance(table, dict):
        table = raw["data"] = {}
    table["path"] = str(data.resolve())
    if table.get("source", table.get("corpus", "synthetic")) == "synthetic":
        table.pop("corpus", None)
        table["source"] = infer_source(data)


def _output_folder(config: Path, out: Path | None, resume: bool) -> Path:
    if out is not None:
        return out
    runs = Path("runs")
    if resume:
        previous = sorted(runs.glob(f"{config.stem}-*"), key=lambda p: p.stat().st_mtime)
        if not previous:
            raise DesignerError(f"{runs}: no earlier run of {config.stem} to resume; pass --out")
        return previous[-1]
    return runs / f"{config.stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def _warn(out: Path) -> None:
    """One stderr line per sign that a shipped design is unconverged or near chance."""
    from ..design import run_designs
    from ..design_check import read_meta
    from ..verdict import design_warnings

    designs = [folder / "design.json" for folder in run_designs(out)]
    for d in designs:
        for line in design_warnings(read_meta(d), d.parent.name if len(designs) > 1 else ""):
            echo_err(line)


def _print_summary(out: Path, summary: dict, seconds: float) -> None:
    folds = summary["folds"]
    click.echo("")
    click.echo(f"run folder      {out}")
    if len(folds) == 1:
        f = folds[0]
        click.echo(f"test accuracy   {100 * f['test_accuracy']:.1f}% binary (as fabricated), "
                   f"{100 * f['smooth_test_accuracy']:.1f}% smooth")
        click.echo(f"train accuracy  {100 * f['train_accuracy']:.1f}% binary, "
                   f"{100 * f['smooth_train_accuracy']:.1f}% smooth")
    else:
        click.echo(f"folds           {len(folds)}")
        click.echo(f"test accuracy   {100 * summary['test_accuracy_mean']:.1f} +/- "
                   f"{100 * summary['test_accuracy_std']:.1f}% binary")
    for fmt, fab in summary.get("fabricated", {}).items():
        click.echo(f"as fabricated   {fmt}: {100 * fab['accuracy_mean']:.1f} +/- {100 * fab['accuracy_std']:.1f}% "
                   f"(mean drop {fab['drop_points_mean']:+.1f} points)")
    from ..design import run_designs
    from ..design_check import read_meta

    designs = [folder / "design.json" for folder in run_designs(out)]
    for d in designs:
        meta = read_meta(d)
        ls = meta["lengthscale"]
        layered = f" (each of {ls['levels']} layers)" if ls.get("levels", 1) > 1 else ""
        click.echo(f"length scale    {d.parent.name}: min solid {ls['min_solid_cells']:g} / void "
                   f"{ls['min_void_cells']:g} cells{layered}, rule {ls['rule_cells']:g} -> "
                   f"{'meets' if ls['meets_rule'] else 'VIOLATES'} rule; grayness {meta['grayness']:.4f}")
    click.echo(f"wall time       {seconds:.1f} s")
    click.echo(f"files           {', '.join(str(d.parent / 'design.npz') for d in designs[:3])}"
               f"{' ...' if len(designs) > 3 else ''}")
    relief = bool(designs) and read_meta(designs[0])["lengthscale"].get("levels", 1) > 1
    click.echo(f"next            designer export {out if len(designs) == 1 else designs[0].parent} "
               f"--format {'stl' if relief else 'gds|stl'}; "
               f"designer report {out}")
