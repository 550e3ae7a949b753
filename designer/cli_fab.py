"""`designer export` and `verify`: thin commands over designer.fab and designer.verify."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli import _one_line, main
from .errors import DesignerError

FORMAT_CHOICES = ["gds", "stl", "msh", "vtu", "xdmf", "svg", "png"]


@main.command()
@click.argument("design", required=False, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default=None,
              help="Output format (default: the template's, gds or stl).")
@click.option("--out", type=click.Path(path_type=Path), help="Output file (default RUN/design.<ext>).")
@click.option("--strict", is_flag=True, help="Fail (exit 1, no file) on any design-rule violation.")
@_one_line
def export(design, fmt, out, strict):
    """Export DESIGN (a run folder or design.npz; default: the newest run under ./runs)."""
    from .design import find_design, load_design
    from .fab import config_of, export_design, fab_layout, fab_process
    from .outputs import check_output_file

    if out is not None:
        check_output_file(out)
    folder = find_design(design)
    if out is None and fmt is not None:
        check_output_file(folder / f"design.{fmt}", "export to")
    d = load_design(folder)
    fmt = fmt or config_of(d).template.output_format
    if out is None:
        check_output_file(folder / f"design.{fmt}", "export to")
    if strict:
        import fabrication as fab
        import numpy as np

        cfg = config_of(d)
        layout, process = fab_layout(cfg), fab_process(cfg)
        violations = fab.drc(fab.polygons_from_binary(np.asarray(d.binary, float), layout, process), layout, process)
        if violations:
            _print_violations(violations, cfg.template.length_unit)
            click.echo(f"error: {len(violations)} design-rule violations; no file written (--strict)", err=True)
            sys.exit(1)
    result = export_design(d, fmt, out)
    unit = config_of(d).template.length_unit
    _print_violations(result.violations, unit)
    click.echo(f"wrote {result.path} ({result.polygon_count} polygons, {result.hole_count} holes, "
               f"{len(result.violations)} DRC violations)")


def _print_violations(violations, unit: str) -> None:
    for v in violations[:20]:
        click.echo(f"DRC {v.kind} at ({v.x:.4g}, {v.y:.4g}) {unit}, size {v.size:.4g} {unit}", err=True)
    if len(violations) > 20:
        click.echo(f"DRC ... and {len(violations) - 20} more", err=True)


def _floats(values: tuple[str, ...], option: str) -> tuple[float, ...]:
    out = []
    for v in values:
        text = v.strip().rstrip("%")
        signs = ("+", "-") if text.startswith("±") else ("",)
        text = text.lstrip("±")
        try:
            x = float(text)
        except ValueError:
            raise DesignerError(f"{option} {v!r}: expected a number such as 0.02 or ±0.02") from None
        out += [float(s + "1") * x if s else x for s in signs]
    return tuple(out)


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--run", type=click.Path(file_okay=False, path_type=Path), help="The run folder the part came from.")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="A config, when there is no run folder.")
@click.option("--data", type=click.Path(path_type=Path), help="Classify this corpus folder instead of the test set.")
@click.option("--refine", type=int, default=1, show_default=True, help="Simulate on a K x finer grid.")
@click.option("--bias", "biases", multiple=True, help="Edge bias in the template unit, e.g. ±0.02 (repeatable).")
@click.option("--contrast", "contrasts", multiple=True, help="Material speed error in percent, e.g. ±5 (repeatable).")
@click.option("--max-drop", type=float, default=2.0, show_default=True, help="Allowed accuracy drop, in points.")
@click.option("--engine", type=click.Choice(["auto", "fused", "reference", "impulse"]))
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--3d", "three_d", is_flag=True,
              help="Also simulate the printed part (STL) in 3D, every body, in the template's surroundings.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_one_line
def verify(file, run, config, data, refine, biases, contrasts, max_drop, engine, device, three_d, as_json):
    """Re-simulate an exported part (GDS, STL or design.npz) and report its accuracy.

    Exit status 0 when the accuracy drops by at most --max-drop points, 1 when
    it drops by more, 2 when the input cannot be read.
    """
    from . import jsonio
    from .design import atomic_write_text
    from .outputs import check_output_file
    from .verify import verify as run_verify

    record = Path(file).parent / f"verify-{Path(file).name}.json" if run is None and config is None else None
    if record is not None:
        check_output_file(record, "verify result")
    result = run_verify(file, run=run, config=config, data=data, refine=refine,
                        biases=_floats(biases, "--bias"), contrasts=_floats(contrasts, "--contrast"),
                        max_drop=max_drop, engine=engine, device=device, three_d=three_d)
    if as_json:
        click.echo(jsonio.dumps(result.as_dict()))
    else:
        _print_verify(result)
    if record is not None:
        atomic_write_text(record, jsonio.dumps(result.as_dict(), indent=2))
    sys.exit(0 if result.passed else 1)


def _print_verify(r) -> None:
    click.echo(f"part            {r.file} ({r.fmt}, refine {r.refine})")
    click.echo(f"accuracy        {100 * r.accuracy:.1f}% on {r.test_samples} samples")
    if r.reference_accuracy is not None:
        click.echo(f"as trained      {100 * r.reference_accuracy:.1f}%  (drop {r.drop_points:+.1f} points, "
                   f"allowed {r.max_drop_points:g})")
    click.echo("per class       " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in r.per_class_accuracy.items()))
    click.echo("confusion       rows true, columns predicted: " + " | ".join(
        " ".join(f"{n:3d}" for n in row) for row in r.confusion_matrix))
    for v in r.variations:
        label = next(f"{k} {val:+g}" for k, val in v.items() if k not in ("kind", "accuracy"))
        click.echo(f"variation       {label}: {100 * v['accuracy']:.1f}%")
    if r.band is not None:
        b = r.band
        click.echo(f"band            {100 * b['share_inside']:.1f}% of the signal energy inside "
                   f"{b['band_min_hz']:.4g}-{b['band_max_hz']:.4g} Hz (grid resolves {b['resolved_hz']:.4g} Hz)"
                   + ("" if b["ok"] else "  OUTSIDE THE MODEL'S BAND"))
    if r.three_d is not None:
        d = r.three_d
        click.echo(f"3D              {100 * d['accuracy']:.1f}% ({' x '.join(map(str, d['shape_cells']))} cells, "
                   f"{d['seconds']:.1f} s); agrees with 2D on {100 * d['agreement_with_2d']:.1f}% of the samples, "
                   f"drop from 2D {d['drop_from_2d_points']:+.1f} points")
    click.echo(f"result          {'PASS' if r.passed else 'FAIL'}")
