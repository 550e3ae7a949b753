"""A kill at any file operation of a checkpoint write resumes to the bit-identical design.

The kill is injected, not timed: every os call the atomic writer makes
(open, write, fchmod, fsync, close, replace, and the folder's fsync) is
wrapped so that, just before it runs, the run folder is copied as it stands
on disk. Each copy is exactly what a SIGKILL at that point would leave (a
kill runs no cleanup; the page cache keeps what was written). Every copy is
then resumed and must give the uninterrupted run's design bit for bit.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import types
from pathlib import Path

import numpy as np
import pytest

import fabrication.atomic
from designer import checkpoint
from designer.config import parse_config
from designer.errors import DesignerError
from designer.runner import optimize
from tests.conftest import tiny_data

FILE_OPS = ("open", "write", "fchmod", "fsync", "close", "replace")
TIMING = {"epoch_seconds", "seconds_per_epoch"}


def tiny(epochs: int = 3):
    data = tiny_data()
    data["training"]["epochs"] = epochs
    data["data"].update(speakers_per_sex=3, window_samples=120)
    return parse_config(data, "tiny.toml")


class SnapshotOs(types.SimpleNamespace):
    """``os`` as fabrication.atomic sees it, copying ``folder`` before each file operation while armed."""

    def __init__(self, real, folder: Path, into: Path):
        super().__init__(**{name: getattr(real, name) for name in dir(real) if not name.startswith("__")})
        self.armed, self.snapshots = False, []
        for name in FILE_OPS:
            setattr(self, name, self._wrap(getattr(real, name), name, folder, into))

    def _wrap(self, op, name, folder, into):
        def call(*args, **kwargs):
            if self.armed:
                target = into / f"{len(self.snapshots):02d}-before-{name}"
                shutil.copytree(folder, target)
                self.snapshots.append(target)
            return op(*args, **kwargs)
        return call


def design_of(folder: Path) -> tuple[dict, dict]:
    with np.load(folder / "design.npz") as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads((folder / "design.json").read_text())
    metrics = meta["metrics"]
    for record in metrics["history"]:
        for key in TIMING & set(record):
            del record[key]
    for key in TIMING & set(metrics["final"]):
        del metrics["final"][key]
    return arrays, {"metrics": metrics, "lengthscale": meta["lengthscale"], "grayness": meta["grayness"]}


def assert_same_design(a: Path, b: Path) -> None:
    arrays_a, meta_a = design_of(a)
    arrays_b, meta_b = design_of(b)
    assert sorted(arrays_a) == sorted(arrays_b)
    for name in arrays_a:
        assert arrays_a[name].tobytes() == arrays_b[name].tobytes(), name
    assert meta_a == meta_b


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "run"
    optimize(tiny(), out)
    return out


def test_a_kill_at_each_file_operation_of_a_checkpoint_write_resumes_bit_identically(
        uninterrupted, tmp_path, monkeypatch):
    out, snaps = tmp_path / "run", tmp_path / "snaps"
    snaps.mkdir()
    fake = SnapshotOs(fabrication.atomic.os, out, snaps)
    monkeypatch.setattr(fabrication.atomic, "os", fake)
    real_save, epochs = checkpoint.save_checkpoint, []

    def save(folder, epoch, *args, **kwargs):
        fake.armed = epoch == 1  # the middle epoch of three: a previous checkpoint exists
        try:
            real_save(folder, epoch, *args, **kwargs)
        finally:
            fake.armed = False
        if epoch == 1:
            shutil.copytree(out, snaps / f"{len(fake.snapshots):02d}-after-the-write")
            fake.snapshots.append(snaps / f"{len(fake.snapshots):02d}-after-the-write")
        epochs.append(epoch)

    monkeypatch.setattr("designer.train.save_checkpoint", save)
    optimize(tiny(), out)
    monkeypatch.undo()
    ops = [p.name.split("-before-")[-1] for p in fake.snapshots if "-before-" in p.name]
    assert set(FILE_OPS) <= set(ops), ops  # every kind of operation was interrupted
    assert_same_design(uninterrupted, out)

    resumed_after = set()
    for snap in fake.snapshots:
        with np.load(snap / "checkpoint.npz") as data:
            resumed_after.add(json.loads(data["meta"].tobytes())["epoch"])
        temps = list(snap.glob(".checkpoint.npz.*.tmp"))
        optimize(tiny(), snap, resume=True)
        assert_same_design(uninterrupted, snap)
        assert not list(snap.glob(".*.tmp")), f"{snap.name}: stale temporary files survived the resume"
        assert not any(t.exists() for t in temps)
    assert resumed_after == {0, 1}  # killed before the rename (old checkpoint) and after it (new one)


def test_the_checkpoint_is_one_file_with_its_metadata_inside(uninterrupted):
    assert not (uninterrupted / "checkpoint.json").exists()
    with np.load(uninterrupted / "checkpoint.npz") as data:
        meta = json.loads(data["meta"].tobytes())
        assert meta["format"] == checkpoint.FORMAT and meta["epoch"] == 2
        assert set(meta["sha256"]) == set(data.files) - {"meta"}


def test_the_earlier_two_file_checkpoint_is_refused_in_one_line(uninterrupted, tmp_path):
    old = tmp_path / "run"
    shutil.copytree(uninterrupted, old)
    (old / "checkpoint.npz").unlink()
    (old / "checkpoint.json").write_text(json.dumps({"epoch": 1, "history": [], "confusions": []}))
    with pytest.raises(DesignerError, match="earlier two-file format") as info:
        optimize(tiny(), old, resume=True)
    assert "\n" not in str(info.value)


def test_a_resume_with_another_config_is_refused_naming_the_key(uninterrupted, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(uninterrupted, run)
    cfg = tiny()
    other = cfg.replace(training=dataclasses.replace(cfg.training, learning_rate=0.5))
    with pytest.raises(DesignerError, match=r"another config: training\.learning_rate \(0\.05 in the checkpoint"):
        optimize(other, run, resume=True)


@pytest.mark.parametrize("key, value", [("preemphasis", 0.9), ("steps_per_sample", 0)])
def test_a_resume_with_another_drive_or_time_step_is_refused(uninterrupted, tmp_path, key, value):
    """The drive filter and the time step change the problem; a resume must not train on a different one."""
    run = tmp_path / "run"
    shutil.copytree(uninterrupted, run)
    cfg = tiny()
    value = value or 2 * cfg.steps_per_sample  # twice as many steps per sample: a different, still stable, dt
    other = cfg.replace(simulation=dataclasses.replace(cfg.simulation, **{key: value}))
    with pytest.raises(DesignerError, match=rf"another config: simulation\.{key} \(None in the checkpoint, "):
        optimize(other, run, resume=True)
    assert checkpoint.run_fingerprint(other) != checkpoint.run_fingerprint(cfg)
    assert "preemphasis" not in checkpoint.run_fingerprint(cfg)["simulation"]  # older checkpoints still resume


def test_a_corrupt_checkpoint_is_refused_and_nothing_is_shipped(uninterrupted, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(uninterrupted, run)
    for name in ("design.npz", "design.json", "summary.json"):
        (run / name).unlink()
    data = bytearray((run / "checkpoint.npz").read_bytes())
    data[len(data) // 3] ^= 0x55
    (run / "checkpoint.npz").write_bytes(bytes(data))
    with pytest.raises(DesignerError, match="checkpoint"):
        optimize(tiny(), run, resume=True)
    assert not (run / "design.npz").exists()


@pytest.mark.slow
def test_a_kill_at_any_file_operation_of_the_whole_run_resumes_bit_identically(uninterrupted, tmp_path, monkeypatch):
    """Every write of the run: checkpoints, history.csv, design.npz, design.json, summary.json."""
    out, snaps = tmp_path / "run", tmp_path / "snaps"
    snaps.mkdir()
    fake = SnapshotOs(fabrication.atomic.os, out, snaps)
    fake.armed = True
    monkeypatch.setattr(fabrication.atomic, "os", fake)
    optimize(tiny(), out)
    monkeypatch.undo()
    assert len(fake.snapshots) >= 5 * len(FILE_OPS)
    for snap in fake.snapshots:
        optimize(tiny(), snap, resume=True)
        assert_same_design(uninterrupted, snap)
        assert not list(snap.glob(".*.tmp")), snap.name
