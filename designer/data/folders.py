"""Source ``folders``: one folder of WAV files per class (``yes/``, ``no/``, ... any names).

Every WAV file directly inside ``<path>/<class>/`` is one sample of that
class, read at its own sample rate (first channel) and resampled to the run's.
Groups (speaker, session) come from the file name through ``[data]
group_pattern`` (a regular expression; its first group, or the whole match,
names the group) or from ``[data] groups_file``, a CSV with columns
``file,group`` (``file`` relative to ``path``, e.g. ``yes/take1.wav``). With
neither, every file is its own group.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DesignerError
from .audio import normalise, read_wav, resample
from .corpus import Corpus

if TYPE_CHECKING:
    from ..config import DataSpec

__all__ = ["load_folders", "folder_classes"]

WAV_SUFFIXES = (".wav", ".wave")


def _root(spec: "DataSpec") -> Path:
    root = Path(spec.path)
    if not root.is_dir():
        raise DesignerError(f"{root}: data folder not found; expected a folder with one subfolder of WAV files per class")
    return root


def folder_classes(spec: "DataSpec") -> tuple[str, ...]:
    """The class folders under ``spec.path``, sorted by name (hidden folders left out)."""
    root = _root(spec)
    names = tuple(sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")))
    if not names:
        raise DesignerError(f"{root}: no class folders; expected one subfolder of WAV files per class")
    return names


def _group_reader(spec: "DataSpec", root: Path):
    """A function file -> group name, from the pattern, the CSV, or the file itself."""
    if spec.group_pattern:
        try:
            pattern = re.compile(spec.group_pattern)
        except re.error as exc:
            raise DesignerError(f"data.group_pattern {spec.group_pattern!r}: not a regular expression ({exc})") from None

        def by_pattern(path: Path) -> str:
            m = pattern.search(path.name)
            if not m:
                raise DesignerError(f"{path}: file name does not match data.group_pattern {spec.group_pattern!r}")
            return m.group(1) if pattern.groups else m.group(0)

        return by_pattern
    if spec.groups_file:
        table = _read_groups_csv(Path(spec.groups_file))

        def by_table(path: Path) -> str:
            key = path.relative_to(root).as_posix()
            if key not in table:
                raise DesignerError(f"{spec.groups_file}: no row for {key!r}; expected a group for every file")
            return table[key]

        return by_table
    return lambda path: path.relative_to(root).as_posix()


def _read_groups_csv(path: Path) -> dict[str, str]:
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise DesignerError(f"{path}: groups file not found (data.groups_file)") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DesignerError(f"{path}: not a readable CSV ({exc})") from None
    if not rows or not {"file", "group"} <= set(rows[0]):
        raise DesignerError(f"{path}: expected a CSV with a header naming the columns file and group")
    return {r["file"].strip(): r["group"].strip() for r in rows}


def load_folders(spec: "DataSpec") -> Corpus:
    """Signals of every class folder (in ``spec.classes`` order), resampled and normalised."""
    root = _root(spec)
    classes = tuple(spec.classes) or folder_classes(spec)
    group_of = _group_reader(spec, root)
    signals, labels, groups = [], [], []
    for label, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            raise DesignerError(f"{folder}: no folder for class {name!r}; expected one folder per class in data.classes")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in WAV_SUFFIXES)
        if not files:
            raise DesignerError(f"{folder}: no WAV files for class {name!r}; expected every class to have samples")
        for path in files:
            x, fs = read_wav(path)
            signals.append(normalise(resample(x, fs, spec.sample_rate_hz), spec.normalise, str(path)))
            labels.append(label)
            groups.append(group_of(path))
    return Corpus(tuple(signals), np.array(labels), np.array(groups), classes, spec.sample_rate_hz, spec=spec)
