"""What design.json says about a run: config, template, units, versions, placement."""
from __future__ import annotations

import dataclasses
import platform
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from .config import Config
from .data import Corpus, Split
from .data.record import data_record

__all__ = ["design_meta", "placement", "versions", "runtime", "config_document"]


PACKAGES = ("designer", "numba", "llvmlite", "scipy", "scikit-image", "shapely", "gdstk", "trimesh", "manifold3d")


def versions() -> dict:
    out = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def runtime(engine: str, device: str) -> dict:
    """What else decides the floating-point result: engine, threads, CPU and the instruction sets used.

    numba compiles the fused kernels for ``numba_cpu_name`` with
    ``numba_cpu_features`` (the host's unless NUMBA_CPU_NAME /
    NUMBA_CPU_FEATURES pin them; see benchmarks/bench_determinism.py), and
    torch dispatches its CPU kernels for ``torch_cpu_capability``
    (ATEN_CPU_CAPABILITY pins it).
    """
    from . import jit_cache

    out = {"engine": engine, "device": device, "machine": platform.machine(), "platform": platform.platform(),
           "torch_threads": torch.get_num_threads(), "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
           "jit_cache": jit_cache.status()}
    try:
        import llvmlite.binding as llvm
        import numba

        if engine in ("fused", "impulse", "auto"):  # the impulse engine traces with the fused one
            out["fused_backend"] = "numba" if device == "cpu" else "torch"
        out["numba_threads"] = numba.config.NUMBA_NUM_THREADS
        out["numba_cpu_name"] = numba.config.CPU_NAME or llvm.get_host_cpu_name()
        out["numba_cpu_features"] = numba.config.CPU_FEATURES or llvm.get_host_cpu_features().flatten()
    except ImportError:
        out.update(numba_threads=None, fused_backend="torch" if engine == "fused" else None)
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


def _plain(value):
    return [_plain(v) for v in value] if isinstance(value, (tuple, list)) else value


def config_document(cfg: Config, raw: dict | None, data_table: dict) -> dict:
    """The config a design records: what was written (``raw``), or for a config made in code every
    section of ``cfg``; either way with the resolved ``[data]`` table, the probes as placed and an
    absolute ``training.init_from``."""
    if raw:
        doc = dict(raw)
    else:
        doc = {"template": cfg.template.name, "name": cfg.name}
        for f in dataclasses.fields(cfg):
            value = getattr(cfg, f.name)
            if dataclasses.is_dataclass(value) and f.name != "template":
                doc[f.name] = {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
        doc["sources"] = [dataclasses.asdict(s) for s in cfg.sources]
    doc["data"] = data_table
    doc["probes"] = [dataclasses.asdict(p) for p in cfg.probes]
    if cfg.training.init_from:  # where the run started, as an absolute path (the raw one was relative to its config)
        doc["training"] = {**doc.get("training", {}), "init_from": cfg.training.init_from}
    return doc


def _split_groups(corpus: Corpus, split: Split) -> dict:
    """The groups on each side, listed when the data have groups (not one per sample)."""
    if len(set(corpus.groups.tolist())) == len(corpus.groups):
        return {"train_groups": len(split.train), "test_groups": len(split.test)}
    return {"train_speakers": sorted(set(corpus.groups[split.train].tolist())),
            "test_speakers": sorted(set(corpus.groups[split.test].tolist()))}


def design_meta(cfg: Config, split: Split, corpus: Corpus, ls: dict, final: dict, history: list,
                extra: dict, folder: Path) -> dict:
    t = cfg.template
    lengthscale = {k: v for k, v in ls.items() if k != "grayness"}
    data_table, data_block = data_record(cfg, corpus, folder)
    return {
        "format": "designer-design/1",
        "config": config_document(cfg, extra.get("config"), data_table),
        "data": {**data_block, "ring_down_samples": cfg.data.ring_down_samples, "train_samples": len(split.train),
                 "test_samples": len(split.test)},
        "config_file": cfg.source_file,
        "template": dataclasses.asdict(t),
        "units": {"length": t.length_unit, "time_step_s": cfg.dt_s, "cell_size_m": t.cell_size_m,
                  "time_scale": cfg.time_scale, "sample_rate_hz": cfg.data.sample_rate_hz,
                  "steps_per_sample": cfg.steps_per_sample},
        "model": t.model,
        "versions": versions(),
        "runtime": {**runtime(extra.get("engine", "unknown"), extra.get("device", "unknown")),
                    "distributed": extra.get("distributed")},
        "command": " ".join(sys.argv),
        "placement": placement(cfg),
        "split": {
            "fold": split.fold,
            **_split_groups(corpus, split),
            "classes": list(corpus.classes),
        },
        "band": extra.get("band"),
        "lengthscale": lengthscale,
        "grayness": ls["grayness"],
        "metrics": {"final": final, "history": history},
    }
