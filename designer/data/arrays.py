"""Source ``arrays``: labelled series in ``.npz``, a folder of ``.npy`` files, or ``.csv``.

``.npz`` (or a folder holding ``X.npy``, ``y.npy``, ...), read without
unpickling (``allow_pickle=False``):

- ``X``: (N, T) float, or, for series of different lengths, a flat 1-D
  concatenation with ``lengths`` (N,) int beside it;
- ``y``: (N,) integer class indices (names from ``[data] classes`` or a
  ``classes`` string array) or (N,) strings;
- optional ``groups`` (N,) (ints or strings), ``is_test`` (N,) bool (a given
  train/test split, which then replaces folds) and ``sample_rate_hz`` (a scalar).

``.csv``: one series per row, its label first and then its samples (rows may
differ in length). A first row whose second field is not a number is a header;
a header column named ``group`` holds the groups.

The series' own rate is ``sample_rate_hz`` in the file, else ``[data]
source_rate_hz``, else the run's ``sample_rate_hz`` (one sample per step).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DesignerError
from .audio import normalise, resample
from .corpus import Corpus, check_signal
from .labels import class_order, encode_labels

if TYPE_CHECKING:
    from ..config import DataSpec

__all__ = ["load_arrays", "array_classes", "read_arrays", "ARRAY_KEYS"]

ARRAY_KEYS = ("X", "y", "lengths", "groups", "is_test", "classes", "sample_rate_hz")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise DesignerError(f"{path}: file not found") from None
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DesignerError(f"{path}: holds an object array, which is never unpickled; store ragged series as a "
                                "flat X with lengths") from None
        raise DesignerError(f"{path}: not a readable .npz file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise DesignerError(f"{path}: not a readable .npz file ({exc})") from None


def _read_npy_folder(folder: Path) -> dict[str, np.ndarray]:
    out = {}
    for key in ARRAY_KEYS:
        path = folder / f"{key}.npy"
        if not path.exists():
            continue
        try:
            out[key] = np.load(path, allow_pickle=False)
        except ValueError as exc:
            if "allow_pickle" in str(exc):
                raise DesignerError(f"{path}: an object array, which is never unpickled; store ragged series as a "
                                    "flat X with lengths") from None
            raise DesignerError(f"{path}: not a readable .npy file ({exc})") from None
        except (OSError, EOFError) as exc:
            raise DesignerError(f"{path}: not a readable .npy file ({exc})") from None
    if not out:
        raise DesignerError(f"{folder}: no X.npy / y.npy here; expected a folder of .npy arrays")
    return out


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f) if r and any(v.strip() for v in r)]
    except FileNotFoundError:
        raise DesignerError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DesignerError(f"{path}: not a readable CSV ({exc})") from None
    header = None
    if rows and len(rows[0]) > 1 and not _is_number(rows[0][1]):
        header = [h.strip().lower() for h in rows[0]]
        rows = rows[1:]
    if not rows:
        raise DesignerError(f"{path}: no rows; expected one series per row, the label first")
    group_col = header.index("group") if header and "group" in header else None
    label_col = 0 if group_col != 0 else 1
    labels, groups, series = [], [], []
    for n, row in enumerate(rows, start=2 if header else 1):
        cells = [c.strip() for c in row]
        labels.append(cells[label_col])
        if group_col is not None:
            groups.append(cells[group_col])
        values = [c for i, c in enumerate(cells) if i not in (label_col, group_col)]
        while values and values[-1] == "":
            values.pop()  # rows of a ragged CSV end early
        try:
            series.append(np.array([float(v) for v in values], dtype=np.float64))
        except ValueError:
            raise DesignerError(f"{path}: line {n}: expected numbers after the label, got {values[:3]!r}...") from None
        if not series[-1].size:
            raise DesignerError(f"{path}: line {n}: no samples after the label")
    lengths = np.array([len(s) for s in series])
    out = {"X": np.concatenate(series), "lengths": lengths, "y": np.array(labels)}
    if group_col is not None:
        out["groups"] = np.array(groups)
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The raw arrays of an .npz, a folder of .npy files or a .csv."""
    if path.is_dir():
        return _read_npy_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _read_npz(path)
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".npy":
        raise DesignerError(f"{path}: a single .npy holds no labels; give the folder holding X.npy and y.npy")
    if not path.exists():
        raise DesignerError(f"{path}: file not found")
    raise DesignerError(f"{path}: unknown array file {suffix!r}; expected .npz, .csv or a folder of .npy files")


def _series(arrays: dict, where: str) -> list[np.ndarray]:
    if "X" not in arrays:
        raise DesignerError(f"{where}: no array X; expected X (N, T), or a flat X with lengths")
    x = np.asarray(arrays["X"])
    if "lengths" in arrays:
        lengths = np.asarray(arrays["lengths"])
        if x.ndim != 1 or lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer):
            raise DesignerError(f"{where}: with lengths, expected a flat X (got shape {x.shape}) and integer "
                                f"lengths (got {lengths.dtype} {lengths.shape})")
        if (lengths <= 0).any() or lengths.sum() != x.size:
            raise DesignerError(f"{where}: lengths must be positive and sum to X's {x.size} samples, "
                                f"got sum {lengths.sum()} (min {lengths.min() if lengths.size else 'none'})")
        return np.split(x, np.cumsum(lengths)[:-1])
    if x.ndim != 2:
        raise DesignerError(f"{where}: X has shape {x.shape}; expected (N, T), or a flat X with lengths")
    return list(x)


def _rate(arrays: dict, spec: "DataSpec", where: str) -> float:
    if "sample_rate_hz" in arrays:
        rate = np.asarray(arrays["sample_rate_hz"])
        if rate.size != 1 or not np.isfinite(rate).all() or float(rate) <= 0:
            raise DesignerError(f"{where}: sample_rate_hz {rate.tolist()!r}; expected one positive number")
        return float(rate)
    return spec.source_rate_hz or spec.sample_rate_hz


def array_classes(spec: "DataSpec") -> tuple[str, ...]:
    """Class names of the file: its ``classes`` array, or its string labels in sorted order."""
    arrays = read_arrays(Path(spec.path))
    if "classes" in arrays:
        return tuple(str(c) for c in np.asarray(arrays["classes"]).tolist())
    if "y" not in arrays:
        raise DesignerError(f"{spec.path}: no array y (the labels)")
    return class_order(np.asarray(arrays["y"]).astype(str))


def load_arrays(spec: "DataSpec") -> Corpus:
    """The file's series, resampled to ``spec.sample_rate_hz`` and normalised."""
    where = spec.path
    arrays = read_arrays(Path(where))
    series = _series(arrays, where)
    if "y" not in arrays:
        raise DesignerError(f"{where}: no array y (the labels)")
    y = np.asarray(arrays["y"])
    if y.shape != (len(series),):
        raise DesignerError(f"{where}: y has shape {y.shape}; expected ({len(series)},), one label per series")
    classes = tuple(spec.classes) or array_classes(spec)
    labels = encode_labels(y, classes, where, names=("classes" in arrays or bool(spec.classes)))
    groups = np.asarray(arrays["groups"]).astype(str) if "groups" in arrays else np.arange(len(series)).astype(str)
    if groups.shape != (len(series),):
        raise DesignerError(f"{where}: groups has shape {groups.shape}; expected ({len(series)},)")
    is_test = None
    if "is_test" in arrays:
        is_test = np.asarray(arrays["is_test"])
        if is_test.shape != (len(series),) or is_test.dtype != bool:
            raise DesignerError(f"{where}: is_test is {is_test.dtype} {is_test.shape}; expected ({len(series)},) bool")
    rate = _rate(arrays, spec, where)
    keep = labels >= 0
    signals = [normalise(resample(check_signal(np.asarray(s, dtype=np.float64), f"{where}: series {i}"),
                                  rate, spec.sample_rate_hz), spec.normalise, f"{where}: series {i}")
               for i, s in enumerate(series) if keep[i]]
    return Corpus(tuple(signals), labels[keep], groups[keep], classes, spec.sample_rate_hz,
                  is_test=None if is_test is None else is_test[keep], spec=spec)
