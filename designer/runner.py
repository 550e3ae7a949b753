"""``optimize``: a whole run into one folder, locked, budgeted, one design per fold.

Before anything is allocated the run folder is locked (:mod:`designer.rundir`),
a fresh run refuses a used folder, a resumed one drops its stale temporary
files, and the memory a training step needs is estimated from the config and
refused, with the estimate, if this machine cannot hold it
(:mod:`designer.budget`). After the corpus is loaded every fold's split is
checked before the first fold trains: a fold without test or training
speakers is one line, not a crash after hours of training.
"""
from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Callable

import numpy as np

from . import budget, distributed, jsonio, rundir
from .config import Config
from .data import Corpus, Split, load_corpus, make_split
from .design import atomic_write_text
from .errors import DesignerError
from .physics import resolve_device
from .physics.models import solve_frequencies
from .progress import Progress, as_progress
from .restarts import RESTARTS_FOLDER, train_with_restarts
from .train import train_fold

__all__ = ["optimize", "check_budget", "make_splits"]

DTYPE_BYTES = {"float32": 4, "float64": 8}
SYNTHETIC_MAX_SECONDS = 0.38
"""Longest synthetic token (designer.data.synthetic draws 0.22 to 0.38 s)."""


def _engine_name(cfg: Config, engine: str | None) -> str:
    """The engine a training batch runs on: 'auto' takes the impulse engine for a linear medium.

    A template solved per frequency runs on the spectral engine, whatever the config names.
    """
    name = engine or cfg.simulation.engine
    if cfg.template.spectral:
        return "spectral"
    if name == "auto":
        nl = cfg.nonlinearity
        return "impulse" if not (nl.kerr or nl.saturable_absorption) else "fused"
    return name


def _probe_cells(cfg: Config) -> int:
    """Cells the probes cover, all probes together (about pi r^2 each), which the impulse engine traces."""
    return sum(max(1, round(math.pi * p.radius_cells ** 2)) for p in cfg.probes)


def check_budget(cfg: Config, engine: str | None = None, device: str | None = None) -> budget.Estimate:
    """The peak memory of a training step and an evaluation batch, refused if it cannot fit."""
    cells = cfg.grid.nx * cfg.grid.ny
    dtype_bytes = DTYPE_BYTES[cfg.simulation.dtype]
    dev = resolve_device(device or cfg.simulation.device).type
    t, d = cfg.training, cfg.data
    train = budget.estimate_training(cells, d.window_samples * cfg.steps_per_sample, t.batch_size, dtype_bytes,
                                     _engine_name(cfg, engine), dev, len(cfg.probes), probe_cells=_probe_cells(cfg),
                                     frequencies=solve_frequencies(cfg))
    evaluation = budget.estimate_evaluation(cells, t.batch_size, dtype_bytes, len(cfg.probes))
    peak = max(train, evaluation, key=lambda e: e.bytes)
    if d.corpus == "synthetic":
        signals = d.speakers_per_sex * len(d.sexes) * len(d.vowels)
        corpus = int(signals * SYNTHETIC_MAX_SECONDS * d.sample_rate_hz * 8)
        peak = budget.Estimate(peak.bytes + corpus, f"{peak.detail}; corpus {corpus / 2**20:.0f} MiB")
    budget.check_fits(peak, f"{cfg.source_file}: training")
    return peak


def make_splits(cfg: Config, corpus: Corpus) -> list[Split]:
    """Every split the run trains, each checked by ``make_split`` (groups, sides) before the first fold trains."""
    t = cfg.training
    folds = [0] if not t.folds else (range(t.folds) if t.fold < 0 else [t.fold])
    try:
        return [make_split(corpus, t.folds, k, cfg.data.test_fraction, cfg.data.seed) for k in folds]
    except DesignerError as exc:
        raise DesignerError(f"{cfg.source_file}: {exc}") from None


def optimize(cfg: Config, out: Path, resume: bool = False, echo: Progress | Callable[[str], None] | None = None,
             engine: str | None = None, device: str | None = None, config_data: dict | None = None,
             after: Callable[[dict], dict] | None = None) -> dict:
    """Run ``cfg`` into ``out``: one design, or one per fold with a summary.

    ``after`` (the CLI's export-and-verify step) is called with the summary
    while the folder is still locked, and its result is returned. Under
    torchrun (:mod:`designer.distributed`) the folds and the training steps
    are shared by the ranks; rank 0 alone locks the folder, reports progress,
    writes the summary and calls ``after``; every rank returns the summary.
    """
    with distributed.launch(device or cfg.simulation.device) as world:
        if world is None:
            return _optimize(cfg, out, resume, as_progress(echo), engine, device, config_data, after, None)
        out = Path(world.broadcast_text(os.path.abspath(out) if world.main else None))
        return _optimize(cfg, out, resume, as_progress(echo if world.main else None), engine, device, config_data,
                         after if world.main else None, world)


def _optimize(cfg, out, resume, progress: Progress, engine, device, config_data, after, world) -> dict:
    from .band import band_report, check_band

    def prepare():
        # Everything that can refuse the run does so before the folder is created: bad data leave no output.
        if not resume:
            rundir.check_fresh(out)
        estimate = check_budget(cfg, engine, device)
        corpus = load_corpus(cfg.data)
        splits = make_splits(cfg, corpus)
        band = band_report(corpus.signals, cfg)
        warning = check_band(band, cfg)  # refuses signals the physical model does not describe
        return estimate, corpus, splits, band, warning

    estimate, corpus, splits, band, warning = prepare() if world is None else world.everyone(prepare)
    with contextlib.ExitStack() as stack:
        def take_folder():
            stack.enter_context(rundir.locked(out))
            if resume:
                folds = [out, *sorted(p for p in out.glob("fold-*") if p.is_dir())]
                for folder in folds + [p for f in folds for p in sorted(f.glob(f"{RESTARTS_FOLDER}/seed-*"))
                                       if p.is_dir()]:
                    rundir.remove_stale_temps(folder)
            else:
                rundir.check_fresh(out)

        if world is None:
            take_folder()
        else:
            world.on_main(take_folder)
            world.same_folder(out, rundir.LOCK_NAME)
        progress.line(f"band: {band.line()}")
        if warning:
            progress.line(warning)
        progress.line(f"estimate: about {estimate.mib():.0f} MiB at the peak ({estimate.detail}); "
                      f"roughly {_epoch_seconds(cfg, corpus, splits[0], engine):.2g} s per epoch on 2 cores")
        extra = {"config": config_data or {}, "band": band.as_dict()}
        if world is None:
            folds = _train_folds(cfg, corpus, splits, out, resume, progress, engine, device, extra)
        else:
            folds = _train_folds_parallel(cfg, corpus, splits, out, resume, progress, engine, device, extra, world)
        summary = {"folds": folds}
        summary.update(_mean_std(summary["folds"]))
        if world is not None and not world.main:
            return summary
        atomic_write_text(out / "summary.json", jsonio.dumps(summary, indent=2))
        return after(summary) if after else summary


def _epoch_seconds(cfg: Config, corpus: Corpus, split: Split, engine: str | None) -> float:
    k = cfg.steps_per_sample
    window = (cfg.data.window_samples or max(len(x) for x in corpus.signals)) * k
    variants = 3 if cfg.constraints.method in ("robust", "both") else 1
    test_steps = sum(len(corpus.signals[i]) for i in split.test) * k
    eval_steps = 2 * (len(split.train) * window + test_steps)
    bs = cfg.training.batch_size
    batches = math.ceil(len(split.train) / bs)
    longest = max(len(corpus.signals[i]) for i in split.test) * k
    impulse_eval = 2 * (batches * window + math.ceil(len(split.test) / bs) * longest)
    evaluations = 2 / cfg.training.eval_every  # the smooth and the fabricated design, every eval_every epochs
    return budget.epoch_seconds(cfg.grid.nx * cfg.grid.ny, window, len(split.train), variants, eval_steps,
                                _engine_name(cfg, engine), batches, impulse_eval, solve_frequencies(cfg),
                                evaluations, _probe_cells(cfg))


def _train_folds(cfg, corpus, splits, out, resume, progress: Progress, engine, device, extra) -> list[dict]:
    t = cfg.training
    if not t.folds:
        return [train_with_restarts(train_fold, cfg, corpus, splits[0], out, resume, progress, engine, device,
                                    extra)]
    results = []
    for split in splits:
        progress.line(f"fold {split.fold + 1}/{t.folds}")
        results.append(train_with_restarts(train_fold, cfg, corpus, split, out / f"fold-{split.fold}", resume,
                                           progress, engine, device, extra))
    return results


def _train_folds_parallel(cfg, corpus, splits, out, resume, progress: Progress, engine, device, extra,
                          world) -> list[dict]:
    """Every fold, trained by rank groups (:meth:`designer.distributed.World.fold_group`); every rank gets all results."""
    group, index, leaders = world.fold_group(len(splits))
    if len(leaders) > 1:
        progress.line(f"{world.size} ranks in {len(leaders)} groups; this output follows rank 0's folds")
    results: list[dict | None] = [None] * len(splits)
    for i, split in enumerate(splits):
        if i % len(leaders) != index:
            continue
        if cfg.training.folds:
            progress.line(f"fold {split.fold + 1}/{cfg.training.folds}")
        folder = out / f"fold-{split.fold}" if cfg.training.folds else out
        results[i] = train_with_restarts(train_fold, cfg, corpus, split, folder, resume, progress, engine, device,
                                         extra, group.fresh())
    return [world.broadcast_json(results[i], leaders[i % len(leaders)]) for i in range(len(splits))]


def _mean_std(results: list[dict]) -> dict:
    out = {}
    for key in ("train_accuracy", "test_accuracy", "smooth_train_accuracy", "smooth_test_accuracy"):
        values = np.array([r[key] for r in results], dtype=float)
        out[f"{key}_mean"] = float(values.mean())
        out[f"{key}_std"] = float(values.std())
    return out
