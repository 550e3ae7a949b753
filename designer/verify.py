"""Verify a fabricated part: re-import its geometry, re-simulate, report accuracy.

The same engine that trained the design simulates the part; only the source of
the wave-speed map differs: the exported geometry, rasterised with area-weighted
coverage (c = c0 + (c1 - c0) * coverage), optionally on a K x finer grid.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import fabrication as fab

from . import budget, relief
from .config import Config, load_config
from .data import Corpus, infer_source, load_corpus, make_split
from .data.record import check_same_data
from .design import Design, load_design
from .errors import DesignerError
from .export import config_of, fab_layout, fab_process
from .limits import limits, too_big
from .paths import READ_FORMATS, design_folder, part_file
from .physics import resolve_device
from .progress import compile_notice
from .train import evaluate, make_problem
from .verdict import against_chance, failures

__all__ = ["VerifyResult", "verify", "read_part", "coverage"]


@dataclass(frozen=True)
class PartGeometry:
    """What was read: polygons in the template's unit (a relief: a tuple of layers), the format, an npz's map."""

    fmt: str
    polygons: object
    binary: np.ndarray | None


@dataclass(frozen=True)
class VerifyResult:
    file: str
    fmt: str
    refine: int
    accuracy: float
    reference_accuracy: float | None
    drop_points: float | None
    confusion_matrix: list
    per_class_accuracy: dict
    classes: list
    test_samples: int
    max_drop_points: float
    passed: bool
    variations: list
    band: dict | None = None
    three_d: dict | None = None
    chance_accuracy: float | None = None
    p_value_above_chance: float | None = None
    accuracy_ci: list | None = None
    significance_level: float | None = None
    min_accuracy_percent: float = 0.0
    failures: list = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def read_part(path: Path, cfg: Config) -> PartGeometry:
    """Read a GDS, STL or design.npz into geometry aligned with ``cfg``'s grid.

    A relief (``constraints.levels`` >= 2) reads as its layers' footprints,
    bottom first (``polygons`` is then a tuple), from its STL or its design.
    """
    suffix = path.suffix.lower()
    if suffix == ".npz":
        design = load_design(path)
        if relief.levels(cfg) > 1 and "heights" not in design.arrays:
            raise DesignerError(f"{path}: holds walls of one height; the config asks for a relief of "
                                f"{relief.levels(cfg)} (constraints.levels)")
        binary = relief.design_map(design, cfg)
        if binary.shape != (cfg.grid.nx, cfg.grid.ny):
            raise DesignerError(f"{path}: binary design is {binary.shape}, expected {(cfg.grid.nx, cfg.grid.ny)}")
        # The design file is simulated as the geometry it exports to, as in training.
        return PartGeometry("npz", relief.layer_polygons(binary, cfg), binary)
    if suffix not in READ_FORMATS:
        raise DesignerError(f"{path}: unknown file type {suffix!r}; expected .gds, .stl or .npz")
    fmt = READ_FORMATS[suffix]
    if relief.levels(cfg) > 1 and fmt not in fab.RELIEF_FORMATS:
        raise DesignerError(f"{path}: a relief of {relief.levels(cfg)} wall heights is its "
                            f"{', '.join(fab.RELIEF_FORMATS)} file; a {fmt} file holds one height")
    try:
        result = fab.read(fmt, path, fab_layout(cfg), fab_process(cfg))
    except fab.FabricationReadError as exc:
        raise DesignerError(str(exc)) from None
    return PartGeometry(fmt, result.layers or result.polygons, None)


def footprint(part: PartGeometry):
    """The walls' footprint as one MultiPolygon (a relief's bottom layer), for drawings and the rule check's summary."""
    return part.polygons if not isinstance(part.polygons, tuple) else part.polygons[0]


def coverage(part: PartGeometry, cfg: Config, refine: int = 1, bias: float = 0.0) -> np.ndarray:
    """Material fraction per cell, (K nx, K ny); ``bias`` moves edges outward (template unit).

    A relief's is the mean of its layers' coverages, as in training.
    """
    return relief.layer_coverage(part.polygons, cfg, refine, bias)


def _with_contrast(cfg: Config, percent: float) -> Config:
    """The config with the material's wave speed off by ``percent``."""
    t = cfg.template
    material = dataclasses.replace(t.material, speed_m_per_s=t.material.speed_m_per_s * (1 + percent / 100))
    return dataclasses.replace(cfg, template=dataclasses.replace(t, material=material))


def _test_set(cfg: Config, design: Design | None, data: Path | None) -> tuple[Corpus, np.ndarray]:
    """The design's test set, rebuilt from the data it records, or the test samples of other ``data``.

    ``data`` is read by the design's source (a design trained on the
    built-in synthetic vowels reads recordings, by the kind of ``data``) with
    the design's classes; all of it is classified, or only its test half when
    it comes with its own split.
    """
    if data is not None:
        source = infer_source(data) if cfg.data.source == "synthetic" else cfg.data.source
        spec = dataclasses.replace(cfg.data, source=source, path=str(Path(data).resolve()), test_path="",
                                   group_pattern="", groups_file="")
        corpus = load_corpus(spec)
        if corpus.is_test is not None:
            return corpus, np.flatnonzero(corpus.is_test)
        return corpus, np.arange(len(corpus.labels))
    corpus = load_corpus(cfg.data)
    if design is not None:
        check_same_data(corpus, design.meta.get("data"), cfg.data.path or f"the {cfg.data.source} source")
    if design is not None and "test_indices" in design.arrays:
        indices = np.asarray(design.arrays["test_indices"])
        if indices.max() >= len(corpus.labels):
            raise DesignerError(f"{design.folder / 'design.npz'}: test_indices reach {indices.max()}, but the "
                                f"corpus has {len(corpus.labels)} recordings; another corpus than the design's?")
        return corpus, indices
    t = cfg.training
    split = make_split(corpus, t.folds, max(t.fold, 0), cfg.data.test_fraction, cfg.data.seed)
    return corpus, split.test


def _accuracy(cfg: Config, cover: np.ndarray, corpus: Corpus, indices: np.ndarray, refine: int,
              engine: str | None, device: str | None):
    problem = make_problem(cfg, refine=refine, engine=engine, device=device)
    rho = torch.as_tensor(cover, dtype=problem.dtype, device=problem.device)
    return evaluate(problem, corpus, indices, rho, None, cfg.training.batch_size)


def verify(path: Path, run: Path | None = None, config: Path | None = None, data: Path | None = None,
           refine: int = 1, biases: tuple[float, ...] = (), contrasts: tuple[float, ...] = (),
           max_drop: float = 2.0, engine: str | None = None, device: str | None = None,
           three_d: bool = False, min_accuracy_percent: float = 0.0, progress=None) -> VerifyResult:
    """Accuracy of the part in ``path`` on the design's test set (or the corpus in ``data``).

    The part passes when its accuracy is significantly above chance
    (:mod:`designer.verdict`), drops at most ``max_drop`` points from the
    design as trained and reaches ``min_accuracy_percent``; ``failures`` says
    which of these it missed. ``progress`` (a :class:`~designer.progress.Progress`)
    hears when numba compiles the kernels.

    With ``three_d`` the STL is also voxelised, every body, into the
    template's 3D surroundings and simulated there (:mod:`designer.part3d`);
    the result's ``three_d`` holds its accuracy, its per-sample agreement
    with the 2D predictions and its time.
    """
    path = part_file(Path(path))
    design = None
    if config is not None:
        cfg = load_config(config)
    else:
        design = load_design(design_folder(path, run))
        cfg = config_of(design)
    if refine < 1:
        raise DesignerError(f"--refine {refine}: expected a positive integer")
    if refine > limits().refine:
        raise too_big(f"--refine {refine}", refine, "refine")
    cells = cfg.grid.nx * cfg.grid.ny * refine**2
    budget.check_fits(budget.estimate_evaluation(cells, cfg.training.batch_size, 8, len(cfg.probes)),
                      f"{path}: verify --refine {refine}")
    part = read_part(path, cfg)
    if three_d and part.fmt != "stl":
        raise DesignerError(f"{path}: --3d simulates the printed part; pass its .stl")
    corpus, indices = _test_set(cfg, design, data)
    from .band import band_report

    band = band_report([corpus.signals[i] for i in indices], cfg, refine)
    notice = None if cfg.template.spectral else compile_notice(engine or cfg.simulation.engine,
                                                               resolve_device(device or cfg.simulation.device))
    if notice and progress is not None:
        progress.line(notice)
    nominal = _accuracy(cfg, coverage(part, cfg, refine), corpus, indices, refine, engine, device)
    solid = None
    if three_d:
        from .part3d import evaluate_3d

        ev3, stack, seconds, steps = evaluate_3d(path, cfg, corpus, indices, refine, engine, device)
        same = ev3.predicted[np.argsort(ev3.indices)] == nominal.predicted[np.argsort(nominal.indices)]
        solid = {"accuracy": ev3.accuracy, "agreement_with_2d": float(same.mean()),
                 "drop_from_2d_points": 100 * (nominal.accuracy - ev3.accuracy), "seconds": seconds, "steps": steps,
                 "confusion_matrix": ev3.confusion.tolist(),
                 "shape_cells": [*(n * refine for n in (cfg.grid.nx, cfg.grid.ny)), stack.nz],
                 "layers": stack.names()}
    reference = design.meta["metrics"]["final"]["test_accuracy"] if design is not None else None
    drop = None if reference is None else 100 * (reference - nominal.accuracy)
    variations = []
    for b in biases:
        ev = _accuracy(cfg, coverage(part, cfg, refine, bias=b), corpus, indices, refine, engine, device)
        variations.append({"kind": "bias", f"bias_{cfg.template.length_unit}": b, "accuracy": ev.accuracy})
    for p in contrasts:
        ev = _accuracy(_with_contrast(cfg, p), coverage(part, cfg, refine), corpus, indices, refine, engine, device)
        variations.append({"kind": "contrast", "contrast_percent": p, "accuracy": ev.accuracy})
    conf = nominal.confusion
    chance = against_chance(conf)
    missed = failures(chance, drop, max_drop, min_accuracy_percent)
    per_class = {name: (float(conf[i, i] / conf[i].sum()) if conf[i].sum() else math.nan)
                 for i, name in enumerate(corpus.classes)}
    return VerifyResult(
        file=str(path), fmt=part.fmt, refine=refine, accuracy=nominal.accuracy, reference_accuracy=reference,
        drop_points=drop, confusion_matrix=conf.tolist(), per_class_accuracy=per_class,
        classes=list(corpus.classes), test_samples=int(conf.sum()), max_drop_points=max_drop,
        passed=not missed, variations=variations, band=band.as_dict(), three_d=solid,
        chance_accuracy=chance.chance, p_value_above_chance=chance.p_value, accuracy_ci=[chance.ci_low, chance.ci_high],
        significance_level=chance.alpha, min_accuracy_percent=min_accuracy_percent, failures=missed,
    )
