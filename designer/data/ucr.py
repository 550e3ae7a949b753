"""Source ``ucr``: UCR/UEA time-series classification archives.

Formats: ``.ts`` (the sktime/aeon format: ``@`` header lines, then one series
per line as ``v1,v2,...:label``), ``.tsv`` (UCR 2018: the label, then the
values, tab-separated; ``NaN`` pads shorter series) and ``.txt`` (the older
archive: whitespace- or comma-separated, the label first).

``[data] path`` is an archive folder holding ``<Name>_TRAIN.<ext>`` and
``<Name>_TEST.<ext>``, or a ``_TRAIN`` file (its ``_TEST`` sibling, or
``[data] test_path``, is the test set): the archive's own train/test split is
then the split (it replaces group folds, so ``training.folds`` must be 0).
Any other single file is split like any other data.

Univariate series only: the device has one input, so a multivariate file
(``@univariate false``, ``@dimensions`` > 1, or ``:``-separated channels) is
refused, naming its number of dimensions. Timestamped series and regression
targets are refused too. The archives give no sample rate: the series' rate
is ``[data] source_rate_hz``, else the run's ``sample_rate_hz`` (one value per
time step).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DesignerError
from .audio import normalise, resample
from .corpus import Corpus, check_signal
from .labels import class_order, encode_labels, label_name

if TYPE_CHECKING:
    from ..config import DataSpec

__all__ = ["load_ucr", "ucr_classes", "read_ucr_file", "archive_files", "UCR_SUFFIXES"]

UCR_SUFFIXES = (".ts", ".tsv", ".txt")


def _strip_padding(values: np.ndarray) -> np.ndarray:
    """A series without the trailing NaNs that pad variable-length rows."""
    end = len(values)
    while end and np.isnan(values[end - 1]):
        end -= 1
    return values[:end]


def _numbers(fields: list[str], path: Path, line: int) -> np.ndarray:
    try:
        values = np.array([np.nan if f.strip() in ("?", "") else float(f) for f in fields], dtype=np.float64)
    except ValueError:
        bad = next(f for f in fields if not _is_number(f))
        raise DesignerError(f"{path}: line {line}: {bad.strip()!r} is not a number") from None
    values = _strip_padding(values)
    return check_signal(values, f"{path}: line {line}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.strip() in ("?", "")
    return True


def _multivariate(path: Path, dims: int | None) -> DesignerError:
    counted = f"{dims} dimensions" if dims else "more than one dimension"
    return DesignerError(f"{path}: multivariate series ({counted}); the device has one input, so designer "
                         "reads univariate series only: write one dimension to its own file")


def _check_header(path: Path, header: dict[str, str]) -> None:
    """Refuse, in one line, what the header says designer cannot train on."""
    dims = header.get("dimensions", "")
    if header.get("univariate") == "false" or (dims.isdigit() and int(dims) > 1):
        raise _multivariate(path, int(dims) if dims.isdigit() else None)
    if header.get("timestamps") == "true":
        raise DesignerError(f"{path}: timestamped series (@timeStamps true); expected plain value lists")
    if header.get("targetlabel", "").startswith("true"):
        raise DesignerError(f"{path}: a regression archive (@targetLabel); designer classifies, expected @classLabel")


def _read_ts(path: Path, text: str) -> tuple[list[np.ndarray], list[str], tuple[str, ...] | None]:
    header: dict[str, str] = {}
    series, labels = [], []
    in_data = False
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise DesignerError(f"{path}: line {n}: expected an @ header line or @data, got {line[:40]!r}")
            key, _, value = line[1:].partition(" ")
            key = key.lower()
            if key == "data":
                _check_header(path, header)
                in_data = True
                continue
            header[key] = value.strip().lower() if key != "classlabel" else value.strip()
            continue
        *dims, label = line.split(":")
        if len(dims) != 1:
            raise _multivariate(path, len(dims)) if dims else DesignerError(
                f"{path}: line {n}: expected values then ':label', got {line[:40]!r}")
        series.append(_numbers(dims[0].split(","), path, n))
        labels.append(label_name(label))
    if not in_data:
        raise DesignerError(f"{path}: no @data line; expected a .ts file")
    declared = header.get("classlabel", "").split()
    if not declared or declared[0].lower() != "true":
        raise DesignerError(f"{path}: @classLabel is not 'true ...'; expected a classification archive")
    return series, labels, tuple(label_name(c) for c in declared[1:]) or None


def _read_table(path: Path, text: str) -> tuple[list[np.ndarray], list[str], None]:
    tab = path.suffix.lower() == ".tsv"
    series, labels = [], []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t") if tab else re.split(r"[,\s]+", line)
        if len(fields) < 2:
            raise DesignerError(f"{path}: line {n}: expected a label and at least one value")
        if ":" in fields[-1] or ":" in fields[0]:
            raise _multivariate(path, None)
        labels.append(label_name(fields[0]))
        series.append(_numbers(fields[1:], path, n))
    return series, labels, None


def read_ucr_file(path: Path) -> tuple[list[np.ndarray], list[str], tuple[str, ...] | None]:
    """Series, label names and (for .ts) the declared class order of one archive file."""
    suffix = path.suffix.lower()
    if suffix not in UCR_SUFFIXES:
        raise DesignerError(f"{path}: unknown archive file {suffix!r}; expected one of {', '.join(UCR_SUFFIXES)}")
    if path.is_dir():
        raise DesignerError(f"{path}: is a folder, expected a {suffix} file")
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DesignerError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DesignerError(f"{path}: cannot read ({exc})") from None
    series, labels, declared = (_read_ts if suffix == ".ts" else _read_table)(path, text)
    if not series:
        raise DesignerError(f"{path}: no series; expected one labelled series per line")
    return series, labels, declared


def archive_files(spec: "DataSpec") -> tuple[Path, Path | None]:
    """(train or only file, test file or None) for ``spec.path``."""
    path = Path(spec.path)
    if spec.test_path:
        return path, Path(spec.test_path)
    if path.is_dir():
        for suffix in UCR_SUFFIXES:
            trains = sorted(path.glob(f"*_TRAIN{suffix}"))
            if len(trains) > 1:
                raise DesignerError(f"{path}: {len(trains)} *_TRAIN{suffix} files; point data.path at one of them")
            if trains:
                test = trains[0].with_name(trains[0].name.replace("_TRAIN", "_TEST"))
                if not test.exists():
                    raise DesignerError(f"{test}: file not found (the test half of {trains[0].name})")
                return trains[0], test
        raise DesignerError(f"{path}: no <Name>_TRAIN file with a suffix {', '.join(UCR_SUFFIXES)}")
    if "_TRAIN" in path.name:
        test = path.with_name(path.name.replace("_TRAIN", "_TEST"))
        if test.exists():
            return path, test
        raise DesignerError(f"{test}: file not found (the test half of {path.name}); set data.test_path")
    return path, None


def ucr_classes(spec: "DataSpec") -> tuple[str, ...]:
    """The declared class order (.ts), else the labels of both halves in numeric or text order."""
    train, test = archive_files(spec)
    _, labels, declared = read_ucr_file(train)
    if declared:
        return declared
    if test is not None:
        labels = labels + read_ucr_file(test)[1]
    return class_order(labels)


def load_ucr(spec: "DataSpec") -> Corpus:
    """The archive's series (both halves), resampled and normalised; ``is_test`` marks the test half."""
    train, test = archive_files(spec)
    classes = tuple(spec.classes) or ucr_classes(spec)
    parts = [(train, False)] + ([(test, True)] if test is not None else [])
    signals, labels, is_test = [], [], []
    rate = spec.source_rate_hz or spec.sample_rate_hz
    for path, test_half in parts:
        series, names, _ = read_ucr_file(path)
        codes = encode_labels(np.array(names), classes, str(path))
        for i, (x, code) in enumerate(zip(series, codes)):
            if code < 0:
                continue  # a class left out of data.classes
            signals.append(normalise(resample(x, rate, spec.sample_rate_hz), spec.normalise, f"{path}: series {i}"))
            labels.append(code)
            is_test.append(test_half)
    groups = np.arange(len(signals)).astype(str)
    return Corpus(tuple(signals), np.array(labels, dtype=np.int64), groups, classes, spec.sample_rate_hz,
                  is_test=np.array(is_test) if test is not None else None, spec=spec)
