"""Batches of zero-padded signals with the number of steps each sample is integrated over."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .corpus import Corpus

__all__ = ["Batch", "batches", "centred_window"]


class Batch(NamedTuple):
    """inputs: (B, T) signals, zero after each one's end. labels: (B,) int64.
    indices: (B,) into the corpus. lengths: (B,) int64, the steps integrated
    into each sample's probe power: its signal plus the ring-down; T is the
    largest. Steps past a sample's length neither add power nor matter, so a
    sample's result does not depend on the other samples of its batch.
    """

    inputs: torch.Tensor
    labels: torch.Tensor
    indices: np.ndarray
    lengths: torch.Tensor


def centred_window(x: np.ndarray, length: int) -> np.ndarray:
    """The centred ``length`` samples of ``x``, zero-padded if shorter."""
    if len(x) >= length:
        start = (len(x) - length) // 2
        return x[start:start + length]
    out = np.zeros(length, dtype=x.dtype)
    start = (length - len(x)) // 2
    out[start:start + len(x)] = x
    return out


def batches(corpus: Corpus, indices: np.ndarray, batch_size: int, window: int | None,
            rng: np.random.Generator | None = None, dtype=torch.float32, ring_down: int = 0):
    """Yield :class:`Batch` es of ``indices``.

    With ``window`` set (> 0), every signal is its centred window (training).
    With ``window`` None (or 0), the whole signals are used: they are sorted by
    length, so the batches do not depend on the order the indices come in.
    ``ring_down`` zero steps follow every signal (the wave's transit to the probes).
    """
    window = window or None
    order = np.array(indices, dtype=np.int64)
    if rng is not None:
        order = rng.permutation(order)
    elif window is None:
        order = np.array(sorted(order.tolist(), key=lambda i: (len(corpus.signals[i]), i)), dtype=np.int64)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        xs = [centred_window(corpus.signals[i], window) if window else corpus.signals[i] for i in chunk]
        lengths = np.array([len(x) + ring_down for x in xs], dtype=np.int64)
        inputs = np.zeros((len(xs), int(lengths.max())), dtype=np.float32)
        for b, x in enumerate(xs):
            inputs[b, :len(x)] = x
        yield Batch(torch.tensor(inputs, dtype=dtype), torch.tensor(corpus.labels[chunk]), chunk,
                    torch.from_numpy(lengths))
