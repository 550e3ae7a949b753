"""The corpus every data source produces, checked once where it is made."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DesignerError

if TYPE_CHECKING:
    from ..config import DataSpec

__all__ = ["Corpus", "Split", "check_signal"]


def check_signal(x: np.ndarray, where: str) -> np.ndarray:
    """``x`` as a non-empty, finite, 1-D float32 array, or a one-line error naming ``where``."""
    x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise DesignerError(f"{where}: expected numbers, got an array of {x.dtype}")
    if x.ndim != 1:
        raise DesignerError(f"{where}: expected a 1-D signal, got shape {x.shape}")
    if x.size == 0:
        raise DesignerError(f"{where}: empty signal (no samples)")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise DesignerError(f"{where}: {bad.size} non-finite samples (first at sample {bad[0]}: {x[bad[0]]!r}); "
                            "expected finite numbers")
    return x.astype(np.float32, copy=False)


@dataclass(frozen=True)
class Corpus:
    """Labelled signals, one sample per time step at ``sample_rate_hz``.

    signals: N float32 arrays (T_i,), lengths may differ. labels: (N,) int64
    class indices into ``classes`` (free-text names, in probe order). groups:
    (N,) str, samples that must stay on one side of every split (speakers,
    sessions); folds never split a group. sample_rate_hz: rate of the signals
    as stored here. is_test: (N,) bool, the data's own train/test split (UCR
    archives) or None. strata: (N,) str that folds balance (a speaker's sex),
    or None. spec: the ``[data]`` spec the corpus was loaded from, None for a
    corpus made in code (a run then stores it beside its design).
    A corpus that breaks any of this is refused with a one-line DesignerError.
    """

    signals: tuple[np.ndarray, ...]
    labels: np.ndarray
    groups: np.ndarray
    classes: tuple[str, ...]
    sample_rate_hz: float
    is_test: np.ndarray | None = None
    strata: np.ndarray | None = None
    spec: "DataSpec | None" = None

    def __post_init__(self):
        where = self.spec.path if self.spec is not None and self.spec.path else "corpus"
        n = len(self.signals)
        signals = tuple(check_signal(x, f"{where}: sample {i}") for i, x in enumerate(self.signals))
        labels = np.asarray(self.labels)
        if labels.shape != (n,) or (n and not np.issubdtype(labels.dtype, np.integer)):
            raise DesignerError(f"{where}: expected {n} integer labels, got shape {labels.shape} of {labels.dtype}")
        groups = np.asarray(self.groups).astype(str)
        if groups.shape != (n,):
            raise DesignerError(f"{where}: expected {n} groups (one per sample), got shape {groups.shape}")
        classes = tuple(str(c) for c in self.classes)
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise DesignerError(f"{where}: expected two or more distinct classes, got {list(classes)}")
        if n and (labels.min() < 0 or labels.max() >= len(classes)):
            raise DesignerError(f"{where}: labels must lie in 0..{len(classes) - 1} (classes {list(classes)}), "
                                f"got {labels.min()}..{labels.max()}")
        counts = np.bincount(labels, minlength=len(classes)) if n else np.zeros(len(classes), int)
        if (counts == 0).any():
            missing = [c for c, k in zip(classes, counts) if k == 0]
            raise DesignerError(f"{where}: no samples for class {missing[0]!r} (classes {list(classes)}); "
                                "expected every class to have samples")
        if not (isinstance(self.sample_rate_hz, (int, float)) and math.isfinite(self.sample_rate_hz)
                and self.sample_rate_hz > 0):
            raise DesignerError(f"{where}: sample rate {self.sample_rate_hz!r} Hz; expected a positive number")
        for name in ("is_test", "strata"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != (n,):
                raise DesignerError(f"{where}: {name} has shape {np.shape(value)}, expected ({n},)")
        object.__setattr__(self, "signals", signals)
        object.__setattr__(self, "labels", labels.astype(np.int64))
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "sample_rate_hz", float(self.sample_rate_hz))
        if self.is_test is not None:
            object.__setattr__(self, "is_test", np.asarray(self.is_test, dtype=bool))
        if self.strata is not None:
            object.__setattr__(self, "strata", np.asarray(self.strata).astype(str))

    @property
    def speakers(self) -> np.ndarray:
        """The groups, under the name the vowel corpora give them."""
        return self.groups

    @property
    def lengths(self) -> np.ndarray:
        """(N,) int64 samples per signal."""
        return np.array([len(x) for x in self.signals], dtype=np.int64)

    def summary(self) -> dict:
        """Counts that identify the data (and a hash of its labels and lengths), for design.json."""
        digest = hashlib.sha256()
        digest.update(self.labels.tobytes())
        digest.update(self.lengths.tobytes())
        digest.update("\0".join(self.classes).encode())
        return {
            "samples": len(self.labels),
            "class_counts": np.bincount(self.labels, minlength=len(self.classes)).tolist(),
            "groups": len(set(self.groups.tolist())),
            "min_length": int(self.lengths.min()),
            "max_length": int(self.lengths.max()),
            "labels_lengths_sha256": digest.hexdigest(),
        }


@dataclass(frozen=True)
class Split:
    """Indices into a corpus: train and test never share a group."""

    train: np.ndarray
    test: np.ndarray
    fold: int = 0
