"""What design.json says about a run: config, template, units, versions, placement."""
from __future__ import annotations

import dataclasses
import platform
import sys
from importlib import metadata

import numpy as np
import torch

from .config import Config
from .data import Corpus, Split

__all__ = ["design_meta", "placement", "versions"]


def versions() -> dict:
    out = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__}
    try:
        out["designer"] = metadata.version("designer")
    except metadata.PackageNotFoundError:
        out["designer"] = "unknown"
    return out


def placement(cfg: Config) -> dict:
    """Sources, probes and the design region, in cells and in the template's unit."""
    t = cfg.template
    h = t.to_unit(t.cell_size_m)
    unit = t.length_unit
    r = cfg.design_region
    return {
        "unit": unit,
        f"cell_size_{unit}": h,
        "grid_cells": [cfg.grid.nx, cfg.grid.ny],
        "design_region_cells": [r.x0_cells, r.y0_cells, r.x1_cells, r.y1_cells],
        f"design_region_{unit}": [r.x0_cells * h, r.y0_cells * h, r.x1_cells * h, r.y1_cells * h],
        "sources": [dataclasses.asdict(s) for s in cfg.sources],
        "probes": [dataclasses.asdict(p) for p in cfg.probes],
        "absorber_cells": cfg.grid.absorber_cells,
    }


def design_meta(cfg: Config, split: Split, corpus: Corpus, ls: dict, final: dict, history: list,
                extra: dict) -> dict:
    t = cfg.template
    lengthscale = {k: v for k, v in ls.items() if k != "grayness"}
    return {
        "format": "designer-design/1",
        "config": extra.get("config", {}),
        "config_file": cfg.source_file,
        "template": dataclasses.asdict(t),
        "units": {"length": t.length_unit, "time_step_s": cfg.dt_s, "cell_size_m": t.cell_size_m,
                  "time_scale": cfg.time_scale, "sample_rate_hz": cfg.data.sample_rate_hz,
                  "steps_per_sample": cfg.steps_per_sample},
        "model": t.model,
        "versions": versions(),
        "command": " ".join(sys.argv),
        "placement": placement(cfg),
        "split": {
            "fold": split.fold,
            "train_speakers": sorted(set(corpus.speakers[split.train].tolist())),
            "test_speakers": sorted(set(corpus.speakers[split.test].tolist())),
            "classes": list(corpus.classes),
        },
        "band": extra.get("band"),
        "lengthscale": lengthscale,
        "grayness": ls["grayness"],
        "metrics": {"final": final, "history": history},
    }
