"""Checkpoints: one file, written atomically, verified before a resume uses it.

``checkpoint.npz`` holds the latent field, Adam's moments and step, the
selected epoch's field, and one more array, ``meta``: the UTF-8 bytes of a
strict-JSON document with the epoch, the history, the confusion matrices, the
selection, the config the run was trained with and a SHA-256 of every other
array. The arrays and the metadata are one zip renamed into place in one
``os.replace``, so a kill at any point leaves either the previous checkpoint
or the new one, never a mix (an earlier format renamed two files one after
the other, and a kill between them resumed a different design).

A resume checks the zip's CRCs, the checksums, the shapes, the types of every
metadata field and that the config matches the run's, and refuses in one line
otherwise.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from . import jsonio
from .design import atomic_write_bytes
from .errors import DesignerError
from .npzio import ArraySpec, check_arrays, npz_bytes, read_npz

__all__ = ["CHECKPOINT", "FORMAT", "save_checkpoint", "load_checkpoint", "run_fingerprint"]

CHECKPOINT = "checkpoint.npz"
FORMAT = "designer-checkpoint/2"
LEGACY_META = "checkpoint.json"
"""The metadata file of the earlier two-file format; such a checkpoint cannot be verified."""


def _sha(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return hashlib.sha256(a.dtype.str.encode() + repr(a.shape).encode() + a.tobytes()).hexdigest()


def run_fingerprint(cfg) -> dict:
    """What a resumed run must share with the checkpoint: the config, less what may change between runs.

    ``training.epochs`` (a run may be extended) and the engine and device
    (which change round-off, not the problem) are left out, and so are
    ``training.restarts``, an off ``training.physics_aware``, an empty
    ``training.init_from``, a ``readout.sharpness`` of 1, a ``readout.gates`` of 1, a
    ``constraints.levels`` of 1, a
    ``simulation.preemphasis`` of 0 and the template's own
    ``steps_per_sample``: a checkpoint written before those keys entered the
    fingerprint still resumes. Each of them, set otherwise, changes the
    problem (the start, the loss, the drive, the time step), so a resume with
    another value is refused. ``readout.kind`` needs no entry: it fixes how many
    probes the classes have, and the probes are in the fingerprint.
    """
    import dataclasses

    sections = {name: dataclasses.asdict(getattr(cfg, name))
                for name in ("grid", "design_region", "nonlinearity", "data", "training", "constraints")}
    sections["training"].pop("epochs")
    # One restart's training does not depend on how many there are (each has its own seed and folder).
    sections["training"].pop("restarts")
    if not sections["training"]["physics_aware"]:  # off, a run is the run it was before the switch existed
        sections["training"].pop("physics_aware")
    if not sections["training"]["init_from"]:  # a run started from no other run, as before the key existed
        sections["training"].pop("init_from")
    sections["simulation"] = {"dtype": cfg.simulation.dtype, "time_scale": cfg.time_scale}
    if cfg.simulation.preemphasis != 0.0:  # at 0, the drive is the drive of a run before the key existed
        sections["simulation"]["preemphasis"] = cfg.simulation.preemphasis
    if cfg.steps_per_sample != cfg.template.steps_per_sample:  # the template's time step needs no entry
        sections["simulation"]["steps_per_sample"] = cfg.steps_per_sample
    sections["sources"] = [dataclasses.asdict(s) for s in cfg.sources]
    sections["probes"] = [dataclasses.asdict(p) for p in cfg.probes]
    sections["template"] = cfg.template.name
    if cfg.readout.sharpness != 1.0:  # at 1, a run is the run it was before the key existed
        sections["readout_sharpness"] = cfg.readout.sharpness
    if cfg.readout.gates != 1:  # at 1, the probes integrate the whole time, as before the key existed
        sections["readout_gates"] = cfg.readout.gates
    if sections["constraints"]["levels"] == 1:  # full-height walls, the part of a run before the key existed
        sections["constraints"].pop("levels")
    return json.loads(jsonio.dumps(sections))


def save_checkpoint(folder: Path, epoch: int, theta: torch.Tensor, opt: torch.optim.Adam, history: list,
                    confusions: list, selected, fingerprint: dict) -> None:
    """Write the state after ``epoch`` as one atomic ``checkpoint.npz``."""
    state = opt.state[theta] if theta in opt.state else {}
    arrays = {"theta": theta.detach().cpu().numpy()}
    if state:
        arrays.update(exp_avg=state["exp_avg"].cpu().numpy(), exp_avg_sq=state["exp_avg_sq"].cpu().numpy(),
                      step=np.array(float(state["step"])))
    if selected.theta is not None:
        arrays["selected_theta"] = selected.theta.cpu().numpy()
    meta = {"format": FORMAT, "epoch": epoch, "history": history, "confusions": confusions,
            "selected": selected.meta(), "run": fingerprint, "sha256": {k: _sha(v) for k, v in arrays.items()}}
    arrays["meta"] = np.frombuffer(jsonio.dumps(meta).encode(), dtype=np.uint8)
    atomic_write_bytes(folder / CHECKPOINT, npz_bytes(arrays))


def _first_difference(a, b, prefix: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if (found := _first_difference(a.get(key), b.get(key), f"{prefix}.{key}" if prefix else key)):
                return found
        return None
    return None if a == b else f"{prefix} ({a!r} in the checkpoint, {b!r} now)"


def _meta(arrays: dict, path: Path) -> dict:
    raw = arrays.pop("meta", None)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise DesignerError(f"{path}: no checkpoint metadata; not a {FORMAT} checkpoint")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DesignerError(f"{path}: checkpoint metadata is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DesignerError(f"{path}: checkpoint format {meta.get('format') if isinstance(meta, dict) else None!r}; "
                            f"expected {FORMAT!r}")
    return meta


def _check_meta(meta: dict, arrays: dict, path: Path, epochs: int) -> None:
    epoch = meta.get("epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch < epochs:
        raise DesignerError(f"{path}: checkpoint epoch {epoch!r}; expected an integer in [0, {epochs})")
    for key in ("history", "confusions"):
        items = meta.get(key)
        if not isinstance(items, list) or len(items) != epoch + 1 or not all(isinstance(r, dict) for r in items):
            raise DesignerError(f"{path}: checkpoint {key} is not a list of {epoch + 1} records")
    for i, record in enumerate(meta["history"]):
        if record.get("epoch") != i or not isinstance(record.get("beta"), (int, float)):
            raise DesignerError(f"{path}: checkpoint history[{i}] is not the record of epoch {i}")
    sel = meta.get("selected")
    if sel is not None:
        if not (isinstance(sel, dict) and isinstance(sel.get("epoch"), int) and 0 <= sel["epoch"] <= epoch
                and isinstance(sel.get("loss"), (int, float))) or "selected_theta" not in arrays:
            raise DesignerError(f"{path}: checkpoint selection {sel!r} is malformed")
    sums = meta.get("sha256")
    if not isinstance(sums, dict) or set(sums) != set(arrays):
        raise DesignerError(f"{path}: checkpoint checksums do not name its arrays {sorted(arrays)}")
    for name, a in arrays.items():
        if sums[name] != _sha(a):
            raise DesignerError(f"{path}: array {name!r} does not match its checksum; the checkpoint is corrupt")


def load_checkpoint(folder: Path, theta: torch.Tensor, opt: torch.optim.Adam, selected, fingerprint: dict,
                    epochs: int) -> tuple[int, list, list]:
    """Restore the state in ``folder`` into ``theta``, ``opt`` and ``selected``.

    Returns (first epoch to train, history, confusions); (0, [], []) when the
    folder has no checkpoint. Raises one DesignerError line when the
    checkpoint is corrupt, from another config, or in the unverifiable
    two-file format.
    """
    path = folder / CHECKPOINT
    if not path.exists():
        if (folder / LEGACY_META).exists():
            raise DesignerError(f"{folder / LEGACY_META}: a checkpoint in the earlier two-file format, which "
                                f"cannot be verified; start a new run")
        return 0, [], []
    arrays = read_npz(path, "checkpoint")
    meta = _meta(arrays, path)
    shape = tuple(theta.shape)
    specs = {"theta": ArraySpec("f", shape), "exp_avg": ArraySpec("f", shape, required=False),
             "exp_avg_sq": ArraySpec("f", shape, required=False), "step": ArraySpec("f", (), "positive", False),
             "selected_theta": ArraySpec("f", shape, required=False)}
    check_arrays(arrays, specs, path)
    if ("exp_avg" in arrays) != ("exp_avg_sq" in arrays) or ("exp_avg" in arrays) != ("step" in arrays):
        raise DesignerError(f"{path}: checkpoint holds part of the optimiser state; expected all of it or none")
    if set(arrays) - set(specs):
        raise DesignerError(f"{path}: unexpected arrays {sorted(set(arrays) - set(specs))} in a checkpoint")
    _check_meta(meta, arrays, path, epochs)
    if (diff := _first_difference(meta.get("run"), fingerprint)) is not None:
        raise DesignerError(f"{path}: written by another config: {diff}; resume with the run's config")
    with torch.no_grad():
        theta.copy_(torch.from_numpy(arrays["theta"]))
    if "exp_avg" in arrays:
        opt.state[theta] = {
            "step": torch.tensor(float(arrays["step"])),
            "exp_avg": torch.from_numpy(arrays["exp_avg"]).to(theta),
            "exp_avg_sq": torch.from_numpy(arrays["exp_avg_sq"]).to(theta),
        }
    if meta["selected"] is not None:
        selected.epoch, selected.loss = meta["selected"]["epoch"], float(meta["selected"]["loss"])
        selected.theta = torch.from_numpy(arrays["selected_theta"]).to(theta)
    return meta["epoch"] + 1, meta["history"], meta["confusions"]
