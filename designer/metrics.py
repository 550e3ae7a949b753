"""Classification metrics from probe powers."""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["log_probabilities", "cross_entropy", "confusion_matrix", "accuracy"]


def log_probabilities(power: torch.Tensor) -> torch.Tensor:
    """Log of the normalised probe powers P_i / sum_j P_j, (B, P)."""
    power = power.clamp_min(torch.finfo(power.dtype).tiny)
    return torch.log(power) - torch.log(power.sum(-1, keepdim=True))


def cross_entropy(power: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the normalised probe powers against the labels (mean over batch)."""
    return torch.nn.functional.nll_loss(log_probabilities(power), labels)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """Counts, rows true class, columns predicted class."""
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (labels, predicted), 1)
    return m


def accuracy(confusion: np.ndarray) -> float:
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total else float("nan")
