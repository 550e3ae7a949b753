"""Datasets: training windows, full-length test signals, speaker-grouped folds."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import DataSpec
from .hillenbrand import load_hillenbrand
from .synthetic import synthesize_corpus

__all__ = ["Corpus", "load_corpus", "speaker_folds", "centred_window", "Split", "make_split", "batches"]


@dataclass(frozen=True)
class Corpus:
    signals: tuple[np.ndarray, ...]
    labels: np.ndarray
    speakers: np.ndarray
    classes: tuple[str, ...]
    sample_rate_hz: float


@dataclass(frozen=True)
class Split:
    """Indices into a corpus: train and test never share a speaker."""

    train: np.ndarray
    test: np.ndarray
    fold: int = 0


def load_corpus(spec: DataSpec) -> Corpus:
    if spec.corpus == "synthetic":
        signals, labels, speakers = synthesize_corpus(spec.vowels, spec.sexes, spec.speakers_per_sex,
                                                      spec.sample_rate_hz, spec.seed)
    else:
        signals, labels, speakers = load_hillenbrand(spec.path, list(spec.vowels), spec.sexes, spec.sample_rate_hz)
    return Corpus(tuple(signals), labels, speakers, tuple(spec.vowels), spec.sample_rate_hz)


def speaker_folds(speakers: np.ndarray, folds: int, seed: int) -> list[np.ndarray]:
    """Assign speakers to ``folds`` groups, stratified by sex (the speaker id's first letter).

    Returns, per fold, the indices of the samples whose speaker is in that fold.
    Each speaker says every vowel once, so balancing speakers balances classes.
    """
    rng = np.random.default_rng(seed)
    unique = sorted(set(speakers.tolist()))
    fold_of = {}
    position = 0
    for sex in sorted({s[0] for s in unique}):
        group = [s for s in unique if s[0] == sex]
        for s in rng.permutation(group):
            fold_of[str(s)] = position % folds
            position += 1
    ids = np.array([fold_of[s] for s in speakers.tolist()])
    return [np.flatnonzero(ids == f) for f in range(folds)]


def make_split(corpus: Corpus, folds: int, fold: int, test_fraction: float, seed: int) -> Split:
    """Fold ``fold`` of a k-fold split, or (folds == 0) one split with ``test_fraction`` of speakers held out."""
    k = folds if folds else max(2, round(1 / test_fraction))
    groups = speaker_folds(corpus.speakers, k, seed)
    test = groups[fold if folds else 0]
    train = np.setdiff1d(np.arange(len(corpus.labels)), test)
    return Split(train=train, test=test, fold=fold if folds else 0)


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
            rng: np.random.Generator | None = None, dtype=torch.float32):
    """Yield (inputs (B, T), labels (B,), indices) batches.

    With ``window`` set, every signal is its centred window (training). With
    ``window`` None the full recordings are used (testing): they are sorted by
    length and zero-padded to the longest in each batch, so the batches, and so
    the results, do not depend on the order the indices come in.
    """
    order = np.array(indices)
    if rng is not None:
        order = rng.permutation(order)
    elif window is None:
        order = np.array(sorted(order.tolist(), key=lambda i: (len(corpus.signals[i]), i)))
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        if window is not None:
            xs = [centred_window(corpus.signals[i], window) for i in chunk]
        else:
            length = max(len(corpus.signals[i]) for i in chunk)
            xs = [np.pad(corpus.signals[i], (0, length - len(corpus.signals[i]))) for i in chunk]
        yield torch.tensor(np.stack(xs), dtype=dtype), torch.tensor(corpus.labels[chunk]), chunk
