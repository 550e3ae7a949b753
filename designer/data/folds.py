"""Train/test splits that never split a group: k folds, one held-out split, or the data's own."""
from __future__ import annotations

import numpy as np

from ..errors import DesignerError
from .corpus import Corpus, Split

__all__ = ["group_folds", "make_split"]


def group_folds(groups: np.ndarray, folds: int, seed: int, strata: np.ndarray | None = None) -> list[np.ndarray]:
    """Assign whole groups to ``folds`` folds; per fold, the indices of its samples.

    Groups are dealt round-robin in a seeded random order, one stratum after
    the other (strata sorted by name), so every fold gets about the same number
    of groups from each stratum. A group's stratum is that of its first sample.
    ``strata`` None puts every group in one stratum.
    """
    groups = np.asarray(groups).astype(str)
    rng = np.random.default_rng(seed)
    unique = sorted(set(groups.tolist()))
    stratum_of: dict[str, str] = {}
    if strata is not None:
        for g, s in zip(groups.tolist(), np.asarray(strata).astype(str).tolist()):
            stratum_of.setdefault(g, s)
    fold_of: dict[str, int] = {}
    position = 0
    for stratum in sorted(set(stratum_of.get(g, "") for g in unique)):
        members = [g for g in unique if stratum_of.get(g, "") == stratum]
        for g in rng.permutation(members):
            fold_of[str(g)] = position % folds
            position += 1
    ids = np.array([fold_of[g] for g in groups.tolist()])
    return [np.flatnonzero(ids == f) for f in range(folds)]


def _strata(corpus: Corpus) -> np.ndarray | None:
    """What folds balance: the corpus's strata, else the classes when every sample is its own group."""
    if corpus.strata is not None:
        return corpus.strata
    if len(set(corpus.groups.tolist())) == len(corpus.groups):
        return corpus.labels.astype(str)
    return None


def _where(corpus: Corpus) -> str:
    return corpus.spec.path if corpus.spec is not None and corpus.spec.path else "corpus"


def make_split(corpus: Corpus, folds: int, fold: int, test_fraction: float, seed: int) -> Split:
    """Fold ``fold`` of a k-fold split, or (folds == 0) one split holding out ``test_fraction`` of the groups.

    A corpus with its own train/test split (``is_test``) is split that way,
    which ``folds`` > 0 contradicts. Errors (one line): fewer than two groups,
    more folds than groups, an empty train or test side.
    """
    where = _where(corpus)
    if corpus.is_test is not None:
        if folds:
            raise DesignerError(f"training.folds = {folds}: {where} comes with its own train/test split, which "
                                "replaces folds; expected folds = 0")
        split = Split(train=np.flatnonzero(~corpus.is_test), test=np.flatnonzero(corpus.is_test), fold=0)
    else:
        n_groups = len(set(corpus.groups.tolist()))
        if n_groups < 2:
            raise DesignerError(f"{where}: one group only ({corpus.groups[0]!r}); a train/test split needs two or "
                                "more groups (speakers, sessions), or no groups at all")
        if folds > n_groups:
            raise DesignerError(f"training.folds = {folds}: {where} has only {n_groups} groups; expected folds <= "
                                f"{n_groups}")
        k = folds if folds else max(2, round(1 / test_fraction))
        parts = group_folds(corpus.groups, k, seed, _strata(corpus))
        test = parts[fold if folds else 0]
        split = Split(train=np.setdiff1d(np.arange(len(corpus.labels)), test), test=test, fold=fold if folds else 0)
    for side in ("train", "test"):
        if not len(getattr(split, side)):
            raise DesignerError(f"{where}: the {side} set of fold {split.fold} is empty; expected samples on both sides")
    return split
