"""`designer report`: every figure of a run, in RUN/report/, and one report.html that embeds them all.

The figures are also written beside the page (PNG, the animation as GIF) for
use elsewhere; the page itself needs none of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..data import Corpus, load_corpus
from ..design import atomic_write_bytes, atomic_write_text
from ..errors import DesignerError
from ..progress import Progress, as_progress
from . import curves, maps
from .html import FigureEntry, Section, Table, render_html
from .plotting import png_bytes, unit_label
from .run import Fold, find_run, fold_folders, load_fold, read_json
from .sections import Context, fold_topics

__all__ = ["ReportResult", "write_report", "REPORT_FOLDER"]

REPORT_FOLDER = "report"


@dataclass(frozen=True)
class ReportResult:
    """The page, every figure written (in the order the page shows them) and the run reported."""

    run: Path
    html: Path
    figures: tuple[Path, ...]


def write_report(run_dir: str | Path | None = None, runs: Path = Path("runs"),
                 with_fields: bool = True, progress: Progress | None = None) -> ReportResult:
    """Write RUN/report/report.html and its figures for a run (default: the newest under ``runs``).

    A cross-validated run gets every fold's figures plus the folds' mean ± std
    curves and their summed test confusion matrix. ``with_fields`` False skips
    what needs the corpus and the wave simulations (the slowest part).
    ``progress`` hears one line per stage.
    """
    progress = as_progress(progress)
    run = find_run(run_dir, runs)
    cross = not (run / "design.json").exists()
    progress.line(f"report: reading {run}")
    folds = [load_fold(f, f.name if cross else "") for f in fold_folders(run)]
    out = run / REPORT_FOLDER
    written: list[Path] = []

    def emit(fig: Figure | bytes, name: str, title: str, caption: str = "", ext: str = "png") -> FigureEntry:
        data = png_bytes(fig) if isinstance(fig, Figure) else fig
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out / f"{name}.{ext}", data)
        written.append(out / f"{name}.{ext}")
        return FigureEntry(f"{name}.{ext}", title, caption, data, "image/gif" if ext == "gif" else "image/png")

    corpus, corpus_note = _corpus(folds[0], with_fields)
    sections = [_overview(run, folds, cross)]
    if cross:
        sections.append(_cross_validation(run, folds, emit))
    for fold in folds:
        topics = fold_topics(Context(fold, emit, corpus, corpus_note, progress))
        if cross:
            figures = tuple(f for _, _, figs in topics for f in figs)
            tables = tuple(t for _, tables, _ in topics for t in tables)
            sections.append(Section(f"Fold {fold.name.split('-')[-1]}", fold.name,
                                    (_summary_table(fold, f"{fold.name} summary"),) + tables, figures))
        else:
            sections += [Section(heading, heading.lower().replace(" ", "-"), tables, figs)
                         for heading, tables, figs in topics]
    html = out / "report.html"
    progress.line(f"report: writing {html} ({len(written)} figures embedded)")
    atomic_write_text(html, render_html(f"designer report: {run.resolve().name}",
                                        _subtitle(folds[0], cross, len(folds)), sections))
    return ReportResult(run, html, tuple(written))


def _corpus(fold: Fold, with_fields: bool) -> tuple[Corpus | None, str]:
    if not with_fields:
        return None, "skipped (fields not requested)"
    try:
        return load_corpus(fold.cfg.data), ""
    except DesignerError as exc:
        return None, f"skipped: the corpus could not be loaded ({exc})"


def _subtitle(fold: Fold, cross: bool, n: int) -> str:
    t = fold.design.meta.get("template", {})
    kind = f"{n}-fold cross-validated" if cross else "single split"
    return (f"{kind} run of {fold.design.meta.get('config_file', '?')}, template {t.get('name', '?')}, "
            f"classes {', '.join(fold.classes)}")


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * float(x):.1f}%"


def _summary_table(fold: Fold, caption: str) -> Table:
    f, ls, layout = fold.final, fold.design.meta.get("lengthscale", {}), fold.layout
    rows = [("binary test accuracy (as fabricated)", _pct(f.get("test_accuracy"))),
            ("binary train accuracy", _pct(f.get("train_accuracy"))),
            ("smooth test / train accuracy", f"{_pct(f.get('smooth_test_accuracy'))} / "
                                             f"{_pct(f.get('smooth_train_accuracy'))}"),
            ("epochs, final beta", f"{f.get('epochs')}, {f.get('beta')}")]
    if ls:
        rows.append(("length scale", maps.lengthscale_text(ls, layout).replace("\n", "; ")))
    rows.append(("grayness", f"{fold.design.meta.get('grayness', float('nan')):.4f}"))
    split = fold.design.meta.get("split", {})
    if split:
        rows.append(("test speakers", ", ".join(split.get("test_speakers", []))))
    return Table(caption, tuple(rows))


def _overview(run: Path, folds: list[Fold], cross: bool) -> Section:
    fold, meta = folds[0], folds[0].design.meta
    layout, t = fold.layout, meta.get("template", {})
    u, h = unit_label(layout.unit), layout.cell_size
    nx, ny = layout.shape_cells
    x0, y0, x1, y1 = layout.design_region
    units = meta.get("units", {})
    rows = [("run folder", str(run)), ("config file", str(meta.get("config_file", "?"))),
            ("template", f"{t.get('name', '?')}: {t.get('description', '')}"),
            ("grid", f"{nx} x {ny} cells = {nx * h:.4g} x {ny * h:.4g} {u} (cell {h:.4g} {u})"),
            ("design region", f"cells [{x0}, {x1}) x [{y0}, {y1}) = {(x1 - x0) * h:.4g} x {(y1 - y0) * h:.4g} {u}"),
            ("classes (probe order)", ", ".join(fold.classes)),
            ("time step", f"{units.get('time_step_s', float('nan')):.4g} s per sample of "
                          f"{units.get('sample_rate_hz', float('nan')):g} Hz audio"),
            ("versions", ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())),
            ("command", str(meta.get("command", "")))]
    tables = [Table("Run", tuple(rows))]
    if not cross:
        tables.append(_summary_table(fold, "Result"))
    return Section("Overview", "overview", tuple(tables))


def _cross_validation(run: Path, folds: list[Fold], emit) -> Section:
    summary = read_json(run / "summary.json") if (run / "summary.json").exists() else {}
    rows = []
    for key, label in (("test_accuracy", "binary test accuracy"), ("train_accuracy", "binary train accuracy"),
                       ("smooth_test_accuracy", "smooth test accuracy"),
                       ("smooth_train_accuracy", "smooth train accuracy")):
        values = np.array([f.final[key] for f in folds], dtype=float)
        mean, std = summary.get(f"{key}_mean", values.mean()), summary.get(f"{key}_std", values.std())
        rows.append((label, f"{100 * mean:.1f} ± {100 * std:.1f}%",
                     *(f"{100 * v:.1f}%" for v in values)))
    table = Table("Accuracy over folds", tuple(rows), ("metric", "mean ± std", *(f.name for f in folds)))
    figures = []
    if all(f.history for f in folds):
        fig = curves.fold_band_figure([f.history for f in folds], len(folds[0].classes), "Training curves over folds")
        figures.append(emit(fig, "curves-folds", "Training curves, all folds",
                            "Mean over folds (lines) and ± 1 standard deviation (bands) of loss and accuracy; "
                            "smooth design at the epoch's projection sharpness, binary design thresholded."))
    matrices = [f.final.get("test_confusion_matrix") for f in folds]
    if all(m is not None for m in matrices):
        total = np.sum([np.asarray(m) for m in matrices], axis=0)
        figures.append(emit(curves.confusion_figure({"test, all folds": total}, folds[0].classes,
                                                    "Binary design, test recordings of every fold"),
                            "confusion-folds", "Confusion over folds",
                            "Each recording is tested in exactly one fold; rows are the true class, "
                            "normalised to 1, with counts in brackets."))
    return Section("Cross-validation", "cross-validation", (table,), tuple(figures))
