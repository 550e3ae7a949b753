"""`designer report`: every figure of a run as PNG, and one report.html that shows them, in RUN/report/."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import Corpus, load_corpus, ring_down_steps
from ..design import atomic_write_text
from ..errors import DesignerError
from ..verify import read_part
from . import curves, fields, maps
from .html import FigureEntry, Section, Table, render_html
from .plotting import save, unit_label
from .run import Fold, find_run, fold_folders, load_fold, read_json

__all__ = ["ReportResult", "write_report", "REPORT_FOLDER"]

REPORT_FOLDER = "report"


@dataclass(frozen=True)
class ReportResult:
    """The page, every figure written (in the order the page shows them) and the run reported."""

    run: Path
    html: Path
    figures: tuple[Path, ...]


def write_report(run_dir: str | Path | None = None, runs: Path = Path("runs"),
                 with_fields: bool = True) -> ReportResult:
    """Write RUN/report/report.html and its figures for a run (default: the newest under ``runs``).

    A cross-validated run gets every fold's figures plus the folds' mean ± std
    curves and their summed test confusion matrix. ``with_fields`` False skips
    the wave simulations (the slowest part).
    """
    run = find_run(run_dir, runs)
    cross = not (run / "design.json").exists()
    folds = [load_fold(f, f.name if cross else "") for f in fold_folders(run)]
    out = run / REPORT_FOLDER
    written: list[Path] = []

    def emit(fig, name: str, title: str, caption: str = "") -> FigureEntry:
        written.append(save(fig, out / f"{name}.png"))
        return FigureEntry(f"{name}.png", title, caption)

    corpus, corpus_note = _corpus(folds[0], with_fields)
    sections = [_overview(run, folds, cross)]
    if cross:
        sections.append(_cross_validation(run, folds, emit))
    for fold in folds:
        topics = _fold_topics(fold, emit, corpus, corpus_note)
        if cross:
            figures = tuple(f for _, _, figs in topics for f in figs)
            tables = tuple(t for _, tables, _ in topics for t in tables)
            sections.append(Section(f"Fold {fold.name.split('-')[-1]}", fold.name,
                                    (_summary_table(fold, f"{fold.name} summary"),) + tables, figures))
        else:
            sections += [Section(heading, heading.lower().replace(" ", "-"), tables, figs)
                         for heading, tables, figs in topics]
    html = out / "report.html"
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


def _fold_topics(fold: Fold, emit, corpus: Corpus | None, corpus_note: str):
    """(heading, tables, figures) per topic for one fold."""
    p = f"{fold.name}-" if fold.name else ""
    where = f" ({fold.name})" if fold.name else ""
    topics = [("Training", (), _training(fold, emit, p, where)),
              ("Design", (), _design(fold, emit, p, where)),
              ("Classification", (), _classification(fold, emit, p, where))]
    field_figs = _fields(fold, emit, p, where, corpus) if corpus is not None else ()
    note = () if corpus is not None else (Table("Wave fields", (("fields", corpus_note),)),)
    topics.append(("Fields", note, field_figs))
    fab_tables, fab_figs = _fabrication(fold, emit, p, where)
    if fab_tables or fab_figs:
        topics.append(("Fabrication", fab_tables, fab_figs))
    return topics


def _training(fold: Fold, emit, p: str, where: str) -> tuple[FigureEntry, ...]:
    if not fold.history:
        return ()
    fig = curves.training_curves_figure(fold.history, len(fold.classes), f"Training curves{where}", fold.selected)
    caption = ("Cross-entropy and accuracy per epoch on the training windows and the full-length test "
               "recordings; solid: smooth design at the epoch's projection sharpness, dashed: binary design.")
    if fold.selected is not None:
        caption += (" Stars: the shipped design, the epoch whose fabricated design had the lowest training loss "
                    "among the last ones.")
    return (emit(fig, f"{p}curves", "Training curves", caption),)


def _design(fold: Fold, emit, p: str, where: str) -> tuple[FigureEntry, ...]:
    a, layout, c = fold.design.arrays, fold.layout, fold.classes
    ls = fold.design.meta.get("lengthscale")
    return (
        emit(maps.density_figure(a["rho"], layout, c, f"Smooth density{where}"), f"{p}density", "Smooth density",
             "The projected density at the final sharpness; dashed: design region, star: source, circles: probes."),
        emit(maps.binary_figure(a["binary"], layout, ls, c, f"Binary design (as fabricated){where}"),
             f"{p}binary", "Binary design", "The thresholded design that is exported, with its measured minimum "
                                             "solid and void feature sizes against the template's rule."),
        emit(maps.wave_speed_figure(a["wave_speed_m_per_s"], layout, c, f"Wave speed of the binary design{where}"),
             f"{p}wave-speed", "Wave-speed map", "c = c0 + (c1 - c0) rho of the binary design, with the source, "
                                                 "the probes (labelled with their class) and the design region."),
    )


def _classification(fold: Fold, emit, p: str, where: str) -> tuple[FigureEntry, ...]:
    matrices = {name: fold.final.get(f"{name}_confusion_matrix") for name in ("train", "test")}
    matrices = {k: np.asarray(v) for k, v in matrices.items() if v is not None}
    if not matrices:
        return ()
    fig = curves.confusion_figure(matrices, fold.classes, f"Confusion matrices, binary design{where}")
    return (emit(fig, f"{p}confusion", "Confusion matrices",
                 "Binary design; rows are the true class normalised to 1, counts in brackets."),)


def _fields(fold: Fold, emit, p: str, where: str, corpus: Corpus) -> tuple[FigureEntry, ...]:
    test = np.asarray(fold.design.arrays["test_indices"])
    picks = fields.representative_samples(corpus.labels, test, len(fold.classes))
    if len(picks) == 0:
        return ()
    ring_down = ring_down_steps(fold.cfg, corpus)  # the zero input that follows each signal in training
    run = fields.simulate_fields(fold.cfg, fold.design.arrays["binary"],
                                 [np.pad(corpus.signals[i], (0, ring_down)) for i in picks], corpus.labels[picks])
    speakers = ", ".join(str(corpus.speakers[i]) for i in picks)
    return (
        emit(fields.intensity_figure(run, fold.design.arrays["binary"], fold.layout, fold.classes,
                                     f"Time-integrated intensity, binary design{where}"),
             f"{p}fields", "Wave intensity",
             f"Sum over time of u² for the first test recording of each class (speakers {speakers}), log scale "
             f"over {fields.DECADES} decades; white: design outline, cyan: probes."),
        emit(fields.probe_signal_figure(run, fold.classes, f"Probe signals{where}"), f"{p}probe-signals",
             "Probe signals", "u² at each probe against time of the input recording; the legend gives each "
                              "probe's share of the time-integrated total, whose largest is the predicted class."),
    )


def _fabrication(fold: Fold, emit, p: str, where: str):
    figures = []
    binary = fold.design.arrays["binary"]
    for path in fold.exports:
        part = read_part(path, fold.cfg)
        what = "mid-height section" if part.fmt == "stl" else "polygons"
        fig = maps.polygons_figure(part.polygons, binary, fold.layout, fold.classes,
                                   f"{path.name}: {what} over the binary design{where}")
        figures.append(emit(fig, f"{p}export-{path.stem}-{part.fmt}", f"Exported {path.name}",
                            f"The {what} read back from {path.name}, outlined over the binary design."))
    tables = ()
    if fold.verify:
        as_trained = fold.final["test_accuracy"]
        fig = curves.verify_figure([(n, r) for n, r in fold.verify], as_trained, len(fold.classes),
                                   fold.layout.unit, f"Verified accuracy of the exported parts{where}")
        figures.append(emit(fig, f"{p}verify", "Verification",
                            "Accuracy of the re-simulated parts, nominal and under each edge bias and material "
                            "contrast variation, against the accuracy of the design as trained."))
        tables = (_verify_table(fold),)
    return tables, tuple(figures)


def _verify_table(fold: Fold) -> Table:
    rows = []
    for name, r in fold.verify:
        variations = ", ".join(f"{label} {100 * v['accuracy']:.1f}%" for label, v in
                               zip(curves.verify_labels(r, fold.layout.unit)[1:], r.get("variations", [])))
        drop = r.get("drop_points")
        rows.append((Path(r.get("file", name)).name, str(r.get("fmt", "")), _pct(r["accuracy"]),
                     _pct(r.get("reference_accuracy")), "n/a" if drop is None else f"{drop:+.1f}",
                     "PASS" if r.get("passed") else "FAIL", variations or "none"))
    return Table("designer verify results", tuple(rows),
                 ("part", "format", "accuracy", "as trained", "drop (points)", "result", "variations"))
