"""KLayout's width and space checks on an exported GDS, at the template's rule.

Usage:
    python benchmarks/klayout_drc.py RUN/design.gds [--template NAME] [--fraction F]

Runs ``Region.width_check`` on the template's device layer at its minimum
solid width and ``Region.space_check`` at its minimum gap, each with the
Euclidean metric (KLayout's default, the stricter one) and the projection
metric, and prints the violation counts and the narrowest measured width or
gap. The template is read from ``design.json`` next to the file unless
``--template`` names one; ``--fraction`` scales the rule (0.9 checks at 90 %).
Needs the ``klayout`` package (in the test extra).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import klayout.db as kdb

from templates import load_template

METRICS = {"euclidean": kdb.Region.Euclidian, "projection": kdb.Region.Projection}


def template_of(gds: Path, name: str | None) -> str:
    """The template named on the command line, else the one in the run's design.json."""
    if name:
        return name
    meta = gds.parent / "design.json"
    if not meta.exists():
        sys.exit(f"error: {gds}: no design.json beside it; pass --template")
    return json.loads(meta.read_text())["template"]["name"]


def checks(gds: Path, template: str, fraction: float = 1.0) -> list[dict]:
    """One row per (check, metric): rule in nm, violation count, narrowest value in nm."""
    t = load_template(template)
    ly = kdb.Layout()
    ly.read(str(gds))
    top = ly.top_cell()
    region = kdb.Region(top.begin_shapes_rec(ly.layer(*t.gds.device)))
    dbu_nm = ly.dbu * 1e3
    rows = []
    for check, rule_m in (("width", t.min_solid_m), ("space", t.min_void_m)):
        rule = round(fraction * rule_m * 1e9 / dbu_nm)
        for metric, value in METRICS.items():
            run = region.width_check if check == "width" else region.space_check
            pairs = run(rule, False, value)
            dists = [p.distance() * dbu_nm for p in pairs.each()]
            rows.append({"check": check, "metric": metric, "rule_nm": rule * dbu_nm, "violations": len(dists),
                         "narrowest_nm": min(dists) if dists else None})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gds", type=Path)
    parser.add_argument("--template", default=None, help="template name (default: from design.json beside the file)")
    parser.add_argument("--fraction", type=float, default=1.0, help="check at this fraction of the rule")
    args = parser.parse_args()
    template = template_of(args.gds, args.template)
    print(f"{args.gds} ({template})")
    for r in checks(args.gds, template, args.fraction):
        narrow = "-" if r["narrowest_nm"] is None else f"{r['narrowest_nm']:.1f} nm"
        print(f"  {r['check']:5s} {r['metric']:10s} rule {r['rule_nm']:8.1f} nm: "
              f"{r['violations']:4d} violations, narrowest {narrow}")


if __name__ == "__main__":
    main()
