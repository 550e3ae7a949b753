"""Classification metrics from probe powers, through a readout (:mod:`designer.readout`; default intensity)."""
from __future__ import annotations

import numpy as np
import torch

from .readout import READOUTS, Readout

INTENSITY = READOUTS["intensity"]

__all__ = ["log_probabilities", "cross_entropy", "confusion_matrix", "accuracy"]


def log_probabilities(power: torch.Tensor, readout: Readout = INTENSITY) -> torch.Tensor:
    """(B, C) log class probabilities of probe powers (B, P); intensity: log P_i / sum_j P_j."""
    return readout.log_probabilities(power)


def cross_entropy(power: torch.Tensor, labels: torch.Tensor, readout: Readout = INTENSITY) -> torch.Tensor:
    """Cross-entropy of the readout's class probabilities against the labels (mean over batch)."""
    return torch.nn.functional.nll_loss(log_probabilities(power, readout), labels)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """Counts, rows true class, columns predicted class."""
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (labels, predicted), 1)
    return m


def accuracy(confusion: np.ndarray) -> float:
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total else float("nan")
