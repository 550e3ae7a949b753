"""What an accuracy means: chance level, a binomial test, and warnings for a design that is not finished.

Chance is the no-information rate: the share of the test set's most
frequent class, which a device that always answers that class scores (1/K
for a balanced set of K classes). Whether the device beats it is a one-sided
exact binomial test of the number of correct answers (k of n) against that
rate, H0: p <= chance; the accuracy's interval is the exact two-sided
Clopper-Pearson interval (Clopper & Pearson, Biometrika 26, 404, 1934). This
is the test R's caret reports as "Acc > NIR" (Kuhn, J. Stat. Softw. 28(5), 2008).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["ALPHA", "GREY_LIMIT", "FALLING_LIMIT_PER_EPOCH", "Chance", "against_chance", "failures",
           "loss_fall_per_epoch", "design_warnings"]

ALPHA = 0.05
"""Significance level of the test against chance, and 1 - the interval's confidence."""
GREY_LIMIT = 0.05
"""Grayness (mean 4 rho (1 - rho) over the design region) above which a shipped smooth design is still grey."""
FALLING_LIMIT_PER_EPOCH = 0.01
"""Relative fall of the training loss per epoch, over the last epochs, above which training had not settled."""


@dataclass(frozen=True)
class Chance:
    """k correct of n against the chance rate: the p-value of "better than chance" and the accuracy's interval."""

    correct: int
    samples: int
    chance: float
    p_value: float
    ci_low: float
    ci_high: float
    alpha: float = ALPHA

    @property
    def accuracy(self) -> float:
        return self.correct / self.samples if self.samples else math.nan

    @property
    def above_chance(self) -> bool:
        return self.p_value < self.alpha

    def line(self) -> str:
        """'chance 33.3% (most frequent class); p = 0.41 that ... ' for a terminal."""
        verdict = "significantly above chance" if self.above_chance else "NOT significantly above chance"
        return (f"{100 * self.chance:.1f}% (share of the most frequent class); {verdict}: p = {self.p_value:.2g} "
                f"(one-sided exact binomial test, {self.correct} of {self.samples} correct, level {self.alpha:g})")


def against_chance(confusion, alpha: float = ALPHA) -> Chance:
    """Test a confusion matrix (K, K), rows true classes, against the no-information rate."""
    from scipy.stats import binomtest

    conf = np.asarray(confusion, dtype=np.int64)
    n, k = int(conf.sum()), int(np.trace(conf))
    if n == 0:
        return Chance(0, 0, math.nan, 1.0, 0.0, 1.0, alpha)
    chance = float(conf.sum(1).max() / n)
    p_value = float(binomtest(k, n, chance, alternative="greater").pvalue)
    ci = binomtest(k, n).proportion_ci(confidence_level=1.0 - alpha, method="exact")
    return Chance(k, n, chance, p_value, float(ci.low), float(ci.high), alpha)


def failures(chance: Chance, drop_points: float | None, max_drop_points: float,
             min_accuracy_percent: float = 0.0) -> list[str]:
    """Why a verified part fails (empty: it passes).

    A part passes when its accuracy is significantly above chance, it drops
    at most ``max_drop_points`` against the design as trained (when known) and
    it reaches ``min_accuracy_percent``.
    """
    out = []
    if not chance.above_chance:
        out.append(f"not significantly above chance ({100 * chance.accuracy:.1f}% vs {100 * chance.chance:.1f}%, "
                   f"p = {chance.p_value:.2g} >= {chance.alpha:g})")
    if drop_points is not None and drop_points > max_drop_points:
        out.append(f"drop {drop_points:+.1f} points > allowed {max_drop_points:g}")
    if 100 * chance.accuracy < min_accuracy_percent:
        out.append(f"accuracy {100 * chance.accuracy:.1f}% < required {min_accuracy_percent:g}%")
    return out


def loss_fall_per_epoch(losses: list[float], window: int) -> float:
    """Mean relative fall per epoch of ``losses`` over their last ``window`` values (negative: rising)."""
    tail = [x for x in losses[-window:] if math.isfinite(x)]
    if len(tail) < 2 or tail[0] <= 0:
        return 0.0
    return (tail[0] - tail[-1]) / ((len(tail) - 1) * tail[0])


def design_warnings(meta: dict, where: str = "") -> list[str]:
    """One 'warning: ...' line per sign that the shipped design of ``meta`` (a design.json) is not finished.

    Still grey (grayness above :data:`GREY_LIMIT`), a training loss still
    falling over the last quarter of the epochs (at least two) by more than
    :data:`FALLING_LIMIT_PER_EPOCH` per epoch, or a test accuracy as
    fabricated that is not significantly above chance.
    """
    label = f"{where}: " if where else ""
    out = []
    grey = float(meta.get("grayness", 0.0))
    if grey > GREY_LIMIT:
        out.append(f"warning: {label}the shipped design is still grey (grayness {grey:.3f} > {GREY_LIMIT:g}); "
                   f"train for more epochs so the projection sharpens")
    history = [r for r in meta.get("metrics", {}).get("history", []) if not r.get("selected")]
    losses = [float(r["train_loss_running"]) for r in history if "train_loss_running" in r]
    window = max(2, math.ceil(len(losses) / 4))
    fall = loss_fall_per_epoch(losses, window)
    if fall > FALLING_LIMIT_PER_EPOCH:
        out.append(f"warning: {label}the training loss still falls at the end ({100 * fall:.1f}% per epoch over "
                   f"the last {min(window, len(losses))} epochs); train for more epochs")
    confusion = meta.get("metrics", {}).get("final", {}).get("test_confusion_matrix")
    if confusion is not None:
        chance = against_chance(confusion)
        if not chance.above_chance:
            out.append(f"warning: {label}the shipped design is near chance: test {100 * chance.accuracy:.1f}% as "
                       f"fabricated vs chance {100 * chance.chance:.1f}% (p = {chance.p_value:.2g}, "
                       f"{chance.samples} test samples)")
    return out
