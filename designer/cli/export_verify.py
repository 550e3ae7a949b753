"""`designer export` and `designer verify`: thin commands over designer.export and designer.verify."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import DesignerError
from ..limits import limits, too_big
from ..paths import design_folder, existing, existing_file, part_file, run_folder
from .common import EXIT_FAILED, EXIT_OK, echo_err, one_line

__all__ = ["export", "verify", "FORMAT_CHOICES"]

FORMAT_CHOICES = ["gds", "stl", "msh", "vtu", "xdmf", "svg", "png"]


@click.command(short_help="Export a design as GDS, STL, mesh or picture.")
@click.argument("design", required=False, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default=None,
              help="Output format (default: the template's, gds or stl).")
@click.option("--out", type=click.Path(path_type=Path), help="Output file (default RUN/design.<ext>).")
@click.option("--strict", is_flag=True, help="Fail (exit 1, no file) on any design-rule violation.")
@one_line
def export(design, fmt, out, strict):
    """Export DESIGN (a run folder or design.npz; default: the newest run under ./runs).

    Exit status 0 written, 1 design-rule violations with --strict (no file),
    2 unusable input.
    """
    run_folder(design)
    from ..design import find_design, load_design
    from ..export import config_of, export_design
    from ..outputs import check_output_file

    folder = find_design(design)
    if out is not None:
        check_output_file(out)
    elif fmt is not None:
        check_output_file(folder / f"design.{fmt}", "export to")
    d = load_design(folder)
    fmt = fmt or config_of(d).template.output_format
    if out is None:
        check_output_file(folder / f"design.{fmt}", "export to")
    if strict:
        from ..relief import design_map, layer_polygons, relief_drc

        cfg = config_of(d)
        violations = relief_drc(layer_polygons(design_map(d, cfg), cfg), cfg)
        if violations:
            _print_violations(violations, cfg.template.length_unit)
            echo_err(f"error: {len(violations)} design-rule violations; no file written (--strict)")
            sys.exit(EXIT_FAILED)
    result = export_design(d, fmt, out)
    unit = config_of(d).template.length_unit
    _print_violations(result.violations, unit)
    click.echo(f"wrote {result.path} ({result.polygon_count} polygons, {result.hole_count} holes, "
               f"{len(result.violations)} DRC violations)")


def _print_violations(violations, unit: str) -> None:
    for v in violations[:20]:
        echo_err(f"DRC {v.kind} at ({v.x:.4g}, {v.y:.4g}) {unit}, size {v.size:.4g} {unit}")
    if len(violations) > 20:
        echo_err(f"DRC ... and {len(violations) - 20} more")


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


def _min_accuracy(value: float) -> float:
    if 0 < value < 1:
        raise DesignerError(f"--min-accuracy {value:g}: in percent, e.g. 80 ({value:g} would mean {value:g} %)")
    return value


VERIFY_HELP = """Re-simulate an exported part (GDS, STL or design.npz) and report its accuracy.

The part PASSES when all of these hold: its accuracy is significantly above
chance (a one-sided exact binomial test at the 5 % level against the share of
the test set's most frequent class, which is 1/K for K balanced classes); it
drops at most --max-drop points from the design as trained; it reaches
--min-accuracy percent (default 0: no threshold beyond chance). A design at
chance level therefore FAILS, however small its drop.

Exit status: 0 pass, 1 fail (the failed criteria are printed), 2 unusable
input (a missing or unreadable file, a bad option).
"""


@click.command(help=VERIFY_HELP, short_help="Re-simulate an exported part; pass/fail against chance.")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--run", type=click.Path(file_okay=False, path_type=Path),
              help="The run folder the part came from (default: the file's folder).")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
              help="A config, when there is no run folder.")
@click.option("--data", type=click.Path(path_type=Path),
              help="Classify the test samples of this data (same kind and classes) instead of the design's test set.")
@click.option("--refine", type=int, default=1, show_default=True,
              help="Simulate on a K x finer grid.")
@click.option("--bias", "biases", multiple=True, help="Edge bias in the template unit, e.g. ±0.02 (repeatable).")
@click.option("--contrast", "contrasts", multiple=True, help="Material speed error in percent, e.g. ±5 (repeatable).")
@click.option("--max-drop", type=float, default=2.0, show_default=True,
              help="Allowed accuracy drop against the design as trained, in points.")
@click.option("--min-accuracy", type=click.FloatRange(0, 100), default=0.0, show_default=True,
              help="Required accuracy in percent (e.g. 80), on top of beating chance.")
@click.option("--engine", type=click.Choice(["auto", "fused", "reference", "impulse"]),
              help="Wave engine (default: the config's [simulation] engine).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]),
              help="Where to simulate (default: the config's [simulation] device).")
@click.option("--3d", "three_d", is_flag=True,
              help="Also simulate the printed part (STL) in 3D, every body, in the template's surroundings.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@one_line
def verify(file, run, config, data, refine, biases, contrasts, max_drop, min_accuracy, engine, device, three_d,
           as_json):
    part_file(file)
    if config is not None:
        existing_file(config, "config file")
    else:
        design_folder(file, run)
    if data is not None:
        existing(data, "data")
    if refine < 1:
        raise DesignerError(f"--refine {refine}: expected a positive integer")
    if refine > limits().refine:
        raise too_big(f"--refine {refine}", refine, "refine")
    biases, contrasts = _floats(biases, "--bias"), _floats(contrasts, "--contrast")
    min_accuracy = _min_accuracy(min_accuracy)
    from .. import jsonio
    from ..design import atomic_write_text
    from ..outputs import check_output_file
    from ..progress import Progress
    from ..verify import verify as run_verify

    record = Path(file).parent / f"verify-{Path(file).name}.json" if run is None and config is None else None
    if record is not None:
        check_output_file(record, "verify result")
    result = run_verify(file, run=run, config=config, data=data, refine=refine, biases=biases, contrasts=contrasts,
                        max_drop=max_drop, engine=engine, device=device, three_d=three_d,
                        min_accuracy_percent=min_accuracy, progress=Progress())
    if as_json:
        click.echo(jsonio.dumps(result.as_dict()))
    else:
        _print_verify(result)
    if record is not None:
        atomic_write_text(record, jsonio.dumps(result.as_dict(), indent=2))
    sys.exit(EXIT_OK if result.passed else EXIT_FAILED)


def _print_verify(r) -> None:
    click.echo(f"part            {r.file} ({r.fmt}, refine {r.refine})")
    low, high = r.accuracy_ci
    click.echo(f"accuracy        {100 * r.accuracy:.1f}% on {r.test_samples} samples "
               f"({100 * (1 - r.significance_level):g}% interval {100 * low:.1f}-{100 * high:.1f}%, exact binomial)")
    verdict = "significantly above" if r.p_value_above_chance < r.significance_level else "NOT significantly above"
    click.echo(f"chance          {100 * r.chance_accuracy:.1f}% (most frequent class); {verdict} chance, "
               f"p = {r.p_value_above_chance:.2g} (one-sided exact binomial test, level {r.significance_level:g})")
    if r.reference_accuracy is not None:
        click.echo(f"as trained      {100 * r.reference_accuracy:.1f}%  (drop {r.drop_points:+.1f} points, "
                   f"allowed {r.max_drop_points:g})")
    if r.min_accuracy_percent:
        click.echo(f"required        {r.min_accuracy_percent:g}% (--min-accuracy)")
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
    click.echo(f"result          {'PASS' if r.passed else 'FAIL: ' + '; '.join(r.failures)}")
