"""Metric figures: training curves (per fold and mean ± std over folds), confusion matrices, verify accuracy."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .plotting import colour_bar, new_figure, unit_label

__all__ = ["SERIES", "training_curves_figure", "fold_band_figure", "normalised_confusion", "confusion_figure",
           "verify_labels", "verify_chance", "verify_figure"]

# (history key prefix, legend label, colour, line style): smooth at the epoch's beta, binary at beta = inf.
SERIES = (
    ("train", "train, smooth", "tab:blue", "-"),
    ("test", "test, smooth", "tab:orange", "-"),
    ("binary_train", "train, binary", "tab:blue", "--"),
    ("binary_test", "test, binary (as fabricated)", "tab:orange", "--"),
)


def _curve_axes(fig: Figure, n_classes: int):
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss (nats)", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy", ylim=(-2, 102))
    if n_classes:
        ax_acc.axhline(100 / n_classes, color="tab:red", ls="-.", lw=1.4, zorder=5,
                       label=f"chance {100 / n_classes:.1f}%")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    return ax_loss, ax_acc


def training_curves_figure(history: list[dict], n_classes: int, title: str, selected: dict | None = None) -> Figure:
    """Loss and accuracy vs epoch for the evaluated records of one fold's history.

    ``selected``: the shipped design's record when it was chosen among the
    last epochs (``[training] select_epochs``), drawn as a vertical line and
    stars on the binary series.
    """
    fig = new_figure(10.5, 4.3)
    ax_loss, ax_acc = _curve_axes(fig, n_classes)
    epochs = [r["epoch"] + 1 for r in history]
    for key, label, colour, style in SERIES:
        ax_loss.plot(epochs, [r[f"{key}_loss"] for r in history], color=colour, ls=style, marker="o", ms=3,
                     label=label)
        ax_acc.plot(epochs, [100 * r[f"{key}_accuracy"] for r in history], color=colour, ls=style, marker="o",
                    ms=3, label=label)
    if selected is not None:
        x = selected["epoch"] + 1
        for ax, metric, scale in ((ax_loss, "loss", 1.0), (ax_acc, "accuracy", 100.0)):
            ax.axvline(x, color="0.4", ls=":", lw=1)
            for key, _, colour, style in SERIES:
                if style != "-":
                    ax.plot([x], [scale * selected[f"{key}_{metric}"]], color=colour, marker="*", ms=11, ls="none")
        ax_acc.plot([], [], color="0.4", marker="*", ls=":", label=f"shipped design (epoch {x})")
    ax_acc.legend(fontsize=8, loc="best")
    fig.suptitle(title)
    return fig


def fold_band_figure(histories: list[list[dict]], n_classes: int, title: str) -> Figure:
    """Mean ± std over folds of every series, on the epochs that every fold evaluated."""
    common = sorted(set.intersection(*({r["epoch"] for r in h} for h in histories)))
    by_epoch = [{r["epoch"]: r for r in h} for h in histories]
    fig = new_figure(10.5, 4.3)
    ax_loss, ax_acc = _curve_axes(fig, n_classes)
    x = np.array(common) + 1
    for key, label, colour, style in SERIES:
        for ax, metric, scale in ((ax_loss, "loss", 1.0), (ax_acc, "accuracy", 100.0)):
            values = scale * np.array([[h[e][f"{key}_{metric}"] for e in common] for h in by_epoch], dtype=float)
            mean, std = values.mean(0), values.std(0)
            ax.plot(x, mean, color=colour, ls=style, marker="o", ms=3, label=f"{label} (mean)")
            ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.12 if style == "-" else 0.2, lw=0)
    ax_acc.legend(fontsize=8, loc="best", title=f"{len(histories)} folds, band ± 1 std", title_fontsize=8)
    fig.suptitle(title)
    return fig


def normalised_confusion(counts: np.ndarray) -> np.ndarray:
    """Rows (true class) scaled to sum to 1; a class with no samples stays 0."""
    counts = np.asarray(counts, dtype=float)
    totals = counts.sum(1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def confusion_figure(matrices: dict[str, np.ndarray], classes: tuple[str, ...], title: str) -> Figure:
    """One normalised confusion matrix per entry, fraction and count written in each cell."""
    n = len(classes)
    side = max(3.6, 0.55 * n + 2.2)
    fig = new_figure(side * 1.15 * len(matrices), side)
    axes = np.atleast_1d(fig.subplots(1, len(matrices)))
    for ax, (name, counts) in zip(axes, matrices.items()):
        counts = np.asarray(counts)
        frac = normalised_confusion(counts)
        image = ax.imshow(frac, cmap="Blues", vmin=0.0, vmax=1.0)
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{frac[i, j]:.2f}\n({counts[i, j]})", ha="center", va="center", fontsize=8,
                        color="white" if frac[i, j] > 0.55 else "black")
        ax.set_xticks(range(n), classes)
        ax.set_yticks(range(n), classes)
        ax.set(xlabel="predicted class", ylabel="true class")
        accuracy = np.trace(counts) / counts.sum() if counts.sum() else float("nan")
        ax.set_title(f"{name}: {100 * accuracy:.1f}% of {counts.sum()}")
        colour_bar(fig, ax, image, label="fraction of the true class")
    fig.suptitle(title)
    return fig


def verify_labels(result: dict, unit: str) -> list[str]:
    """Bar labels of one verify result: 'nominal', then one per bias or contrast variation."""
    labels = ["nominal"]
    for v in result.get("variations", []):
        if v.get("kind") == "contrast":
            labels.append(f"contrast {v['contrast_percent']:+g}%")
        else:
            key = next((k for k in v if k.startswith("bias_")), None)
            labels.append(f"bias {v[key]:+g} {unit_label(key[5:])}" if key else str(v.get("kind")))
    return labels


def verify_chance(results: list[tuple[str, dict]], n_classes: int) -> float | None:
    """The chance accuracy the results were judged against (their no-information rate), else 1 / n_classes."""
    rates = [r["chance_accuracy"] for _, r in results if r.get("chance_accuracy") is not None]
    if rates:
        return float(max(rates))
    return 1.0 / n_classes if n_classes else None


def verify_figure(results: list[tuple[str, dict]], as_trained: float, n_classes: int, unit: str,
                  title: str) -> Figure:
    """Accuracy of each exported part (nominal and every variation) against the as-trained accuracy.

    Chance is a red dash-dotted line drawn above everything, over a shaded
    band below it, so it shows even where the as-trained line or a bar lies
    on it; nominal bars carry their 95 % interval.
    """
    categories: list[str] = []
    for _, r in results:
        categories += [c for c in verify_labels(r, unit) if c not in categories]
    fig = new_figure(max(6.5, 1.1 * len(categories) + 2.5), 4.6)
    ax = fig.subplots()
    width = 0.8 / len(results)
    for k, (name, r) in enumerate(results):
        values = [r["accuracy"]] + [v["accuracy"] for v in r.get("variations", [])]
        xs = [categories.index(c) - 0.4 + width * (k + 0.5) for c in verify_labels(r, unit)]
        label = f"{Path(r.get('file', name)).name} ({r.get('fmt', '?')}, refine {r.get('refine', 1)})"
        bars = ax.bar(xs, [100 * v for v in values], width=width * 0.92, label=label, zorder=2)
        ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=1)
        if r.get("accuracy_ci"):
            low, high = r["accuracy_ci"]
            error = [[100 * (r["accuracy"] - low)], [100 * (high - r["accuracy"])]]
            ax.errorbar([xs[0]], [100 * r["accuracy"]], yerr=error, color="black", capsize=3, lw=1, zorder=3)
    ax.axhline(100 * as_trained, color="black", lw=1.2, ls="--", zorder=4,
               label=f"as trained {100 * as_trained:.1f}%")
    chance = verify_chance(results, n_classes)
    if chance is not None:
        ax.axhspan(0, 100 * chance, color="tab:red", alpha=0.08, zorder=1, lw=0)
        ax.axhline(100 * chance, color="tab:red", lw=1.8, ls="-.", zorder=5, label=f"chance {100 * chance:.1f}%")
    ax.set_xticks(range(len(categories)), categories, rotation=20, ha="right")
    ax.set(xlabel="fabrication variation", ylabel="test accuracy (%)", ylim=(0, 112), title=title)
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    return fig
