"""Class names from label columns: free text, numbers written as the archives write them."""
from __future__ import annotations

import numpy as np

from ..errors import DesignerError

__all__ = ["label_name", "class_order", "encode_labels"]


def label_name(value) -> str:
    """A label as text; a number that is an integer is written without a fraction ("1.0000e+00" -> "1")."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if np.isfinite(number) and number == int(number):
        return str(int(number))
    return text


def class_order(labels) -> tuple[str, ...]:
    """Distinct label names, in numeric order when all are numbers, else in text order."""
    names = sorted({label_name(v) for v in np.asarray(labels).tolist()})
    try:
        return tuple(sorted(names, key=float))
    except ValueError:
        return tuple(names)


def encode_labels(y: np.ndarray, classes: tuple[str, ...], where: str, names: bool = True) -> np.ndarray:
    """(N,) int64 class indices of labels ``y``; -1 for a label not among ``classes``.

    Integer labels whose names are not all class names are read as indices
    into ``classes`` (an index out of range is an error).
    """
    y = np.asarray(y)
    index = {c: i for i, c in enumerate(classes)}
    text = [label_name(v) for v in y.tolist()]
    if names and np.issubdtype(y.dtype, np.integer) and y.size and not all(t in index for t in text):
        if y.min() < 0 or y.max() >= len(classes):
            raise DesignerError(f"{where}: integer labels {y.min()}..{y.max()} do not index the "
                                f"{len(classes)} classes {list(classes)}")
        return y.astype(np.int64)
    return np.array([index.get(t, -1) for t in text], dtype=np.int64)
