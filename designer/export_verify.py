"""The whole loop for a finished run: export every design and verify each file."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import jsonio
from .design import atomic_write_text, load_design, run_designs
from .export import export_design
from .verify import verify

__all__ = ["export_and_verify"]


def export_and_verify(out: Path, formats: tuple[str, ...], summary: dict) -> dict:
    """Export each design under ``out`` to ``formats``, verify each file, extend ``summary``.

    Per fold, ``summary['folds'][k]['fabricated'][fmt]`` gets the verified
    accuracy and drop; ``summary['fabricated'][fmt]`` their mean and std.
    """
    folders = run_designs(out)
    for fold, folder in zip(summary["folds"], folders):
        design = load_design(folder)
        fold["fabricated"] = {}
        for fmt in formats:
            exported = export_design(design, fmt)
            result = verify(exported.path)
            atomic_write_text(folder / f"verify-{exported.path.name}.json", jsonio.dumps(result.as_dict(), indent=2))
            fold["fabricated"][fmt] = {"accuracy": result.accuracy, "drop_points": result.drop_points,
                                       "drc_violations": len(exported.violations), "file": str(exported.path)}
        fold["lengthscale"] = design.meta["lengthscale"]
    summary["fabricated"] = {}
    for fmt in formats:
        acc = np.array([f["fabricated"][fmt]["accuracy"] for f in summary["folds"]])
        drop = np.array([f["fabricated"][fmt]["drop_points"] for f in summary["folds"]])
        summary["fabricated"][fmt] = {"accuracy_mean": float(acc.mean()), "accuracy_std": float(acc.std()),
                                      "drop_points_mean": float(drop.mean())}
    summary["all_meet_rule"] = all(f["lengthscale"]["meets_rule"] for f in summary["folds"])
    atomic_write_text(out / "summary.json", jsonio.dumps(summary, indent=2))
    return summary
