"""Restarts: train a fold from several seeds, ship the design that fits its training data best.

The design problem is not convex: the seed sets the batch order and the
wave-speed jitter, and two seeds end in different local optima whose
fabricated accuracies differ by several points (the README quotes the
spread). A multi-start with selection on the training loss is the standard
remedy in topology optimisation (Sigmund & Maute 2013, "Topology
optimization approaches", Struct. Multidisc. Optim. 48, 1031), and it keeps
the test recordings out of the choice.

``[training] restarts = R`` trains restart ``j`` (``0 <= j < R``) with seed
``seed + j`` into ``FOLD/restarts/seed-S``, exactly as ``--seed S`` would
train it on its own: the same split, the same config otherwise, its own
checkpoint (so a killed run resumes every restart where it stopped). The fold
then ships the restart whose *fabricated* design has the lowest training
cross-entropy (ties go to the lower seed): its ``design.npz``,
``design.json`` and ``history.csv`` are copied into ``FOLD``, and
``design.json`` gains ``metrics.restarts``, one entry per restart with its
seed, training loss and accuracies, and the chosen seed. The copy's config
records the chosen seed with ``restarts = 1``: re-running it reproduces the
shipped design.
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

from . import jsonio
from .config import Config
from .design import atomic_write_bytes, atomic_write_text
from .design_check import read_meta
from .progress import as_progress

__all__ = ["RESTARTS_FOLDER", "restart_folder", "train_with_restarts"]

RESTARTS_FOLDER = "restarts"


def restart_folder(folder: Path, seed: int) -> Path:
    """Where the restart with ``seed`` of the fold in ``folder`` trains."""
    return Path(folder) / RESTARTS_FOLDER / f"seed-{seed}"


def _restart_config(cfg: Config, seed: int) -> Config:
    return dataclasses.replace(cfg, training=dataclasses.replace(cfg.training, seed=seed, restarts=1))


def _restart_extra(extra_meta: dict | None, seed: int) -> dict:
    """``extra_meta`` whose recorded config trains this restart alone (seed ``seed``, one restart)."""
    extra = copy.deepcopy(extra_meta or {})
    raw = extra.get("config")
    if raw:
        training = dict(raw.get("training") or {})
        training["seed"], training["restarts"] = seed, 1
        extra["config"] = {**raw, "training": training}
    return extra


def train_with_restarts(train, cfg: Config, corpus, split, folder: Path, resume: bool = False, echo=None,
                        engine: str | None = None, device: str | None = None, extra_meta: dict | None = None,
                        group=None) -> dict:
    """Train the fold in ``folder`` with ``cfg.training.restarts`` seeds; returns the shipped design's metrics.

    ``train`` is :func:`designer.train.train_fold` (passed in, so this module
    does not import the trainer). With one restart it is called once, as
    before restarts existed.
    """
    restarts = cfg.training.restarts
    if restarts == 1:
        return train(cfg, corpus, split, folder, resume, echo, engine, device, extra_meta, group)
    progress = as_progress(echo)
    folder = Path(folder)
    writes = group is None or group.leader
    records = []
    for j in range(restarts):
        seed = cfg.training.seed + j
        progress.line(f"  restart {j + 1}/{restarts}: seed {seed}")
        sub = restart_folder(folder, seed)
        final = train(_restart_config(cfg, seed), corpus, split, sub, resume, progress, engine, device,
                      _restart_extra(extra_meta, seed), None if group is None else group.fresh())
        records.append({"seed": seed, "train_loss": final["train_loss"], "train_accuracy": final["train_accuracy"],
                        "test_accuracy": final["test_accuracy"], "final": final})
    best = min(range(restarts), key=lambda j: (records[j]["train_loss"], j))
    chosen = records[best]
    progress.line(f"  shipped restart {best + 1}/{restarts} (seed {chosen['seed']}): lowest fabricated training "
                  f"loss {chosen['train_loss']:.4f}")
    table = [{k: v for k, v in r.items() if k != "final"} | {"chosen": j == best} for j, r in enumerate(records)]
    if writes:
        _ship(restart_folder(folder, chosen["seed"]), folder, table)
    return {**chosen["final"], "restarts": table, "seed": chosen["seed"]}


def _ship(source: Path, folder: Path, table: list[dict]) -> None:
    """Copy the chosen restart's design into the fold folder, recording every restart in its design.json."""
    meta = read_meta(source / "design.json")
    meta["metrics"]["restarts"] = table
    atomic_write_bytes(folder / "design.npz", (source / "design.npz").read_bytes())
    history = source / "history.csv"
    if history.exists():
        atomic_write_text(folder / "history.csv", history.read_text())
    atomic_write_text(folder / "design.json", jsonio.dumps(meta, indent=2))  # last: a design.json means a design
