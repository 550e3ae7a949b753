"""What a design file must hold, checked once when it is read.

``design.json`` must be a JSON object with the sections every command reads
(``config``, ``metrics.final``, ``metrics.history``, ``lengthscale``), each of
the right type; ``design.npz`` must hold every array a run writes, with the
config's grid shape, a plain dtype and sane values (the binary design only 0
and 1, densities in [0, 1], positive wave speeds, non-empty index lists).
A length scale written as ``null`` (strict JSON's stand-in for infinity, see
:mod:`designer.jsonio`) is read back as ``inf``: no feature of that phase.
"""
from __future__ import annotations

import math
from pathlib import Path

from .errors import DesignerError
from .jsonio import read_json
from .npzio import ArraySpec

__all__ = ["read_meta", "design_arrays"]

_NUMBER = (int, float)
_FINAL_NUMBERS = ("train_accuracy", "test_accuracy", "train_loss", "test_loss", "smooth_train_accuracy",
                  "smooth_test_accuracy", "beta", "seconds_per_epoch")
_CONFUSIONS = ("test_confusion_matrix", "train_confusion_matrix", "smooth_test_confusion_matrix")


def _is_number(v, nullable: bool = True) -> bool:
    return (v is None and nullable) or (isinstance(v, _NUMBER) and not isinstance(v, bool))


def _table(meta: dict, key: str, path: Path, parent: str = "") -> dict:
    value = meta.get(key)
    name = f"{parent}.{key}" if parent else key
    if not isinstance(value, dict):
        got = "missing" if key not in meta else f"a {type(value).__name__}"
        raise DesignerError(f"{path}: {name} is {got}; expected an object")
    return value


def _matrix(value) -> bool:
    return value is None or (isinstance(value, list) and all(
        isinstance(row, list) and all(isinstance(n, int) and not isinstance(n, bool) for n in row) for row in value))


def _check_final(final: dict, path: Path) -> None:
    for key in _FINAL_NUMBERS:
        if key in final and not _is_number(final[key]):
            raise DesignerError(f"{path}: metrics.final.{key} is {final[key]!r}; expected a number")
    if not _is_number(final.get("test_accuracy"), nullable=False) or not 0 <= final["test_accuracy"] <= 1:
        raise DesignerError(f"{path}: metrics.final.test_accuracy is {final.get('test_accuracy')!r}; "
                            f"expected a fraction in [0, 1]")
    for key in _CONFUSIONS:
        if not _matrix(final.get(key)):
            raise DesignerError(f"{path}: metrics.final.{key} is not a matrix of counts")
    for key in ("epochs", "selected_epoch"):
        if key in final and not isinstance(final[key], int):
            raise DesignerError(f"{path}: metrics.final.{key} is {final[key]!r}; expected an integer")


def _check_history(history, path: Path) -> None:
    if not isinstance(history, list):
        raise DesignerError(f"{path}: metrics.history is a {type(history).__name__}; expected a list of records")
    for i, record in enumerate(history):
        if not isinstance(record, dict) or not isinstance(record.get("epoch"), int):
            raise DesignerError(f"{path}: metrics.history[{i}] is not an epoch record")
        for key, value in record.items():
            if not (_is_number(value) or isinstance(value, bool)):
                raise DesignerError(f"{path}: metrics.history[{i}].{key} is {value!r}; expected a number")


def _check_lengthscale(ls: dict, path: Path) -> None:
    for key in ("min_solid_cells", "min_void_cells", "rule_cells"):
        if not _is_number(ls.get(key), nullable=key != "rule_cells"):
            raise DesignerError(f"{path}: lengthscale.{key} is {ls.get(key)!r}; expected a number")
        if ls[key] is None:
            ls[key] = math.inf
    if not isinstance(ls.get("meets_rule"), bool):
        raise DesignerError(f"{path}: lengthscale.meets_rule is {ls.get('meets_rule')!r}; expected true or false")


def read_meta(path: Path) -> dict:
    """``design.json`` at ``path``, checked; one DesignerError line naming the field otherwise."""
    meta = read_json(path, "design.json")
    if not isinstance(meta, dict):
        raise DesignerError(f"{path}: holds a {type(meta).__name__}; expected a design.json object")
    _table(meta, "config", path)
    metrics = _table(meta, "metrics", path)
    _check_final(_table(metrics, "final", path, "metrics"), path)
    _check_history(metrics.get("history"), path)
    if "confusions" in metrics and not isinstance(metrics["confusions"], list):
        raise DesignerError(f"{path}: metrics.confusions is not a list")
    _check_lengthscale(_table(meta, "lengthscale", path), path)
    if not _is_number(meta.get("grayness")):
        raise DesignerError(f"{path}: grayness is {meta.get('grayness')!r}; expected a number")
    if "split" in meta:
        split = _table(meta, "split", path)
        classes = split.get("classes", [])
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise DesignerError(f"{path}: split.classes is {classes!r}; expected a list of class names")
    return meta


def design_arrays(cfg) -> dict[str, ArraySpec]:
    """The arrays of a design trained with ``cfg``: (nx, ny) maps, (P, nx, ny) probe weights, index lists."""
    grid = (cfg.grid.nx, cfg.grid.ny)
    relief = {} if cfg.constraints.levels == 1 else {"heights": ArraySpec("iu", grid, f"levels:{cfg.constraints.levels}")}
    return {
        **relief,
        "binary": ArraySpec("biu", grid, "binary"),
        "theta": ArraySpec("f", grid),
        "rho": ArraySpec("f", grid, "unit"),
        "fabricated": ArraySpec("f", grid, "unit"),
        "wave_speed_m_per_s": ArraySpec("f", grid, "positive"),
        "design_mask": ArraySpec("biu", grid, "binary"),
        "keepout": ArraySpec("biu", grid, "binary"),
        "frame": ArraySpec("biu", grid, "binary"),
        "source_weights": ArraySpec("f", grid),
        "probe_weights": ArraySpec("f", (len(cfg.probes), *grid)),
        "train_indices": ArraySpec("iu", (None,), "index"),
        "test_indices": ArraySpec("iu", (None,), "index"),
    }
