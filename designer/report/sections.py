"""The report's topics for one fold: training, design, classification, inputs, response, fields, fabrication.

Each topic function takes the fold and an ``emit(figure, name, title,
caption)`` that stores a figure and returns its page entry; it returns the
topic's (heading, tables, figures). The response and the fields of a
spectral template come from its per-frequency solves
(:mod:`designer.report.frequency_domain`), of the others from time steps.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import trimesh

from fabrication.spec import MM_PER_UNIT

from .. import relief
from ..data import Corpus, ring_down_steps
from ..progress import Progress
from ..verify import footprint, read_part
from . import animation, curves, fields, frequency_domain, maps, solid, spectra, tables
from .html import FigureEntry, Table
from .run import Fold
from .simulate import clock_of, representative_samples, simulate_fields, transfer_spectra

__all__ = ["Context", "fold_topics"]

MAX_SPECTRUM_SIGNALS = 400  # class spectra average at most this many signals, evenly spread


@dataclass(frozen=True)
class Context:
    """What every topic of a fold shares: the fold, the figure sink, the corpus (None: skipped), progress."""

    fold: Fold
    emit: Callable[..., FigureEntry]
    corpus: Corpus | None
    corpus_note: str
    progress: Progress

    @property
    def prefix(self) -> str:
        return f"{self.fold.name}-" if self.fold.name else ""

    @property
    def where(self) -> str:
        return f" ({self.fold.name})" if self.fold.name else ""

    def say(self, what: str) -> None:
        self.progress.line(f"report{self.where}: {what}")


def fold_topics(ctx: Context) -> list[tuple[str, tuple[Table, ...], tuple[FigureEntry, ...]]]:
    """(heading, tables, figures) per topic for one fold."""
    topics = [("Training", (), _training(ctx)), ("Design", (), _design(ctx)),
              ("Classification", (), _classification(ctx))]
    if ctx.corpus is None:
        topics.append(("Fields", (Table("Wave fields", (("fields", ctx.corpus_note),)),), ()))
    else:
        picks = representative_samples(ctx.corpus.labels, np.asarray(ctx.fold.design.arrays["test_indices"]),
                                       len(ctx.fold.classes))
        response, fields_ = (_node_response, _node_fields) if ctx.fold.cfg.template.spectral else (_response, _fields)
        topics += [("Inputs", (), _inputs(ctx, picks)), ("Device response", (), response(ctx)),
                   ("Fields", *fields_(ctx, picks))]
    topics.append(("Fabrication", *_fabrication(ctx)))
    return topics


def _training(ctx: Context) -> tuple[FigureEntry, ...]:
    fold = ctx.fold
    if not fold.history:
        return ()
    ctx.say("training curves")
    fig = curves.training_curves_figure(fold.history, len(fold.classes), f"Training curves{ctx.where}", fold.selected)
    caption = ("Cross-entropy and accuracy per epoch on the training windows and the full-length test "
               "recordings; solid: smooth design at the epoch's projection sharpness, dashed: binary design.")
    if fold.selected is not None:
        caption += (" Stars: the shipped design, the epoch whose fabricated design had the lowest training loss "
                    "among the last ones.")
    return (ctx.emit(fig, f"{ctx.prefix}curves", "Training curves", caption),)


def _design(ctx: Context) -> tuple[FigureEntry, ...]:
    fold, p, where = ctx.fold, ctx.prefix, ctx.where
    a, layout, c = fold.design.arrays, fold.layout, fold.classes
    ls = fold.design.meta.get("lengthscale")
    ctx.say("design maps")
    levels = relief.levels(fold.cfg)
    if levels > 1:
        t = fold.cfg.template
        step = t.to_unit(t.printing.slab_thickness_m) / levels
        drawn = ctx.emit(maps.heights_figure(a["heights"], levels, step, layout, ls, c,
                                             f"Wall heights (as fabricated){where}"),
                         f"{p}binary", "Wall heights", f"The relief that is exported: each wall 0 to {levels} steps "
                         f"of the channel's height, every layer with its measured minimum solid and void feature "
                         f"sizes against the template's rule (the narrowest over the layers).")
    else:
        drawn = ctx.emit(maps.binary_figure(a["binary"], layout, ls, c, f"Binary design (as fabricated){where}"),
                         f"{p}binary", "Binary design", "The thresholded design that is exported, with its measured "
                         "minimum solid and void feature sizes against the template's rule.")
    return (
        ctx.emit(maps.density_figure(a["rho"], layout, c, f"Smooth density{where}"), f"{p}density", "Smooth density",
                 "The projected density at the final sharpness; dashed: design region, star: source, circles: probes."),
        drawn,
        ctx.emit(maps.wave_speed_figure(a["wave_speed_m_per_s"], layout, c, f"Wave speed of the binary design{where}"),
                 f"{p}wave-speed", "Wave-speed map", "c = c0 + (c1 - c0) rho of the binary design, with the source, "
                                                     "the probes (labelled with their class) and the design region."),
    )


def _classification(ctx: Context) -> tuple[FigureEntry, ...]:
    fold = ctx.fold
    matrices = {name: fold.final.get(f"{name}_confusion_matrix") for name in ("train", "test")}
    matrices = {k: np.asarray(v) for k, v in matrices.items() if v is not None}
    if not matrices:
        return ()
    fig = curves.confusion_figure(matrices, fold.classes, f"Confusion matrices, binary design{ctx.where}")
    return (ctx.emit(fig, f"{ctx.prefix}confusion", "Confusion matrices",
                     "Binary design; rows are the true class normalised to 1, counts in brackets."),)


def _spread(indices: np.ndarray, limit: int) -> np.ndarray:
    return indices if len(indices) <= limit else indices[np.linspace(0, len(indices) - 1, limit).astype(int)]


def _inputs(ctx: Context, picks: np.ndarray) -> tuple[FigureEntry, ...]:
    fold, corpus = ctx.fold, ctx.corpus
    ctx.say("input spectra")
    clock = clock_of(fold.cfg)
    chosen = _spread(np.arange(len(corpus.labels)), MAX_SPECTRUM_SIGNALS)
    freq, psd = spectra.class_spectra([corpus.signals[i] for i in chosen], corpus.labels[chosen],
                                      len(fold.classes), clock.sample_rate_hz)
    band = fold.design.meta.get("band")
    captions = [f"class {fold.classes[corpus.labels[i]]}" for i in picks]
    top = (f"the optical frequency it lands at (carrier + {clock.time_scale:g} f)" if clock.carrier_hz
           else f"the device's ({clock.time_scale:g} times higher)")
    return (
        ctx.emit(spectra.class_spectra_figure(freq, psd, fold.classes, clock, band,
                                              f"Input spectra per class{ctx.where}"),
                 f"{ctx.prefix}input-spectra", "Input spectra per class",
                 f"Mean power spectral density (Welch) of {len(chosen)} input signals, per class, in dB below the "
                 f"peak; bottom axis the signal's frequency, top axis {top}; shaded: the model's valid band."),
        ctx.emit(spectra.spectrogram_figure([corpus.signals[i] for i in picks], captions, clock,
                                            f"Spectrograms{ctx.where}"),
                 f"{ctx.prefix}spectrograms", "Spectrograms",
                 "The first test recording of each class: short-time power spectra in dB below each one's peak; "
                 "bottom axis the signal's time, top axis the device's."),
    )


def _response(ctx: Context) -> tuple[FigureEntry, ...]:
    fold, corpus = ctx.fold, ctx.corpus
    test = np.asarray(fold.design.arrays["test_indices"])
    samples = max(len(corpus.signals[i]) for i in test) + ring_down_steps(fold.cfg, corpus)
    ctx.say(f"transfer spectra (one traced impulse, {samples * fold.cfg.steps_per_sample} steps)")
    transfer = transfer_spectra(fold.cfg, _fabricated(fold), samples)
    return (ctx.emit(spectra.transfer_figure(transfer, fold.classes, f"Probe transfer spectra{ctx.where}"),
                     f"{ctx.prefix}transfer", "Probe transfer spectra |H_p(f)|²",
                     "Power spectrum of each probe's response to one input sample (through the drive chain), "
                     "from one traced impulse on the fabricated design (faint; bold: its running mean). For this linear device a probe's "
                     "integrated power is Σ_f |X(f)|² |H_p(f)|²: these curves are the classifier's weights on the "
                     "input's power spectrum."),)


def _fabricated(fold: Fold) -> np.ndarray:
    """The geometry verify simulates: the exported polygons' coverage (older runs: the binary design)."""
    arrays = fold.design.arrays
    return arrays["fabricated"] if "fabricated" in arrays else arrays["binary"]


def _fields(ctx: Context, picks: np.ndarray) -> tuple[tuple[Table, ...], tuple[FigureEntry, ...]]:
    fold, corpus, p, where = ctx.fold, ctx.corpus, ctx.prefix, ctx.where
    if len(picks) == 0:
        return (), ()
    ring_down = ring_down_steps(fold.cfg, corpus)  # the zero input that follows each signal in training
    signals = [np.pad(corpus.signals[i], (0, ring_down)) for i in picks]
    ctx.say(f"wave fields ({len(picks)} recordings, fabricated and smooth design)")
    fab_run = simulate_fields(fold.cfg, _fabricated(fold), signals, corpus.labels[picks])
    smooth_run = simulate_fields(fold.cfg, fold.design.arrays["rho"], signals, corpus.labels[picks])
    binary, layout, c = fold.design.arrays["binary"], fold.layout, fold.classes
    speakers = ", ".join(str(corpus.speakers[i]) for i in picks)
    ctx.say("field figures and animation")
    gif = animation.field_animation(fab_run, layout, c, f"Field u, fabricated design{where}")
    return (), (
        ctx.emit(fields.intensity_figure(fab_run, binary, layout, c, f"Time-integrated intensity, fabricated{where}"),
                 f"{p}fields", "Wave intensity",
                 f"Sum over time of u² for the first test recording of each class (groups {speakers}), log scale "
                 f"over {fields.DECADES} decades; white: design outline, cyan: probes."),
        ctx.emit(fields.smooth_fabricated_figure(smooth_run, fab_run, binary, layout, c,
                                                 f"Smooth and fabricated design{where}"),
                 f"{p}fields-smooth-fabricated", "Smooth and fabricated fields",
                 "Σ u² of the same recordings on the smooth design (left) and on the fabricated geometry (right), "
                 "one colour scale: where they differ, the fabricated part routes the wave differently."),
        ctx.emit(fields.snapshot_figure(fab_run, binary, layout, c, f"Field snapshots, fabricated{where}"),
                 f"{p}snapshots", "Field snapshots",
                 "The field u at four times spread over the recording (signal time and device time in each title); "
                 "red and blue are opposite signs; black: design outline."),
        ctx.emit(gif, f"{p}fields-animation", "Field animation",
                 f"u over the recording and its ring-down, {len(fab_run.frame_steps)} frames at "
                 f"{animation.FPS} per second.", ext="gif"),
        ctx.emit(fields.probe_signal_figure(fab_run, c, f"Probe signals{where}"), f"{p}probe-signals",
                 "Probe signals", "Running integral of each probe's u² against time, as a share of the final total: "
                                  "the probe that ends highest is the predicted class."),
    )


def _node_response(ctx: Context) -> tuple[FigureEntry, ...]:
    fold = ctx.fold
    ctx.say("transfer spectra (one solve per frequency)")
    transfer = frequency_domain.transfer_at_nodes(fold.cfg, _fabricated(fold))
    return (ctx.emit(spectra.node_transfer_figure(transfer, fold.classes, f"Probe transfer spectra{ctx.where}"),
                     f"{ctx.prefix}transfer", "Probe transfer spectra |H_p(f)|²",
                     f"Each probe's power per unit of injected energy at each of the {len(transfer.device_hz)} "
                     "frequencies training solves (dots), on the fabricated design; bottom axis the signal "
                     "frequency (f − f_c) / time scale that the drive puts there, top axes the optical frequency "
                     "and vacuum wavelength. A probe's power is Σ_k w_k |H_p(f_k)|², w_k the input's energy near "
                     "f_k (Parseval, ring-down included): these curves are the classifier's weights on the "
                     "input's power spectrum."),)


NO_TIME_AXIS = ("not drawn: the spectral engine solves the steady state at each frequency, so its fields have no "
                "time axis; a probe's power is a sum over frequencies, not a running integral in time.")


def _node_fields(ctx: Context, picks: np.ndarray) -> tuple[tuple[Table, ...], tuple[FigureEntry, ...]]:
    fold, corpus, p, where = ctx.fold, ctx.corpus, ctx.prefix, ctx.where
    note = (Table("Wave fields", (("time snapshots, animation, probe signals", NO_TIME_AXIS),)),)
    if len(picks) == 0:
        return note, ()
    signals, labels = [corpus.signals[i] for i in picks], corpus.labels[picks]
    ctx.say(f"intensity maps ({len(picks)} recordings, fabricated and smooth design, one solve per frequency)")
    fab_maps = frequency_domain.intensity_maps(fold.cfg, _fabricated(fold), signals, labels)
    smooth_maps = frequency_domain.intensity_maps(fold.cfg, fold.design.arrays["rho"], signals, labels)
    binary, layout, c = fold.design.arrays["binary"], fold.layout, fold.classes
    speakers = ", ".join(str(corpus.speakers[i]) for i in picks)
    return note, (
        ctx.emit(fields.intensity_figure(fab_maps, binary, layout, c, f"Time-integrated intensity, fabricated{where}"),
                 f"{p}fields", "Wave intensity",
                 f"Σ_k w_k |U_k|² (by Parseval the sum over time of u², ring-down included) for the first test "
                 f"recording of each class (groups {speakers}), log scale over {fields.DECADES} decades; white: "
                 f"design outline, cyan: probes."),
        ctx.emit(fields.smooth_fabricated_figure(smooth_maps, fab_maps, binary, layout, c,
                                                 f"Smooth and fabricated design{where}"),
                 f"{p}fields-smooth-fabricated", "Smooth and fabricated fields",
                 "The same intensity on the smooth design (left) and on the fabricated geometry (right), one "
                 "colour scale: where they differ, the fabricated part routes the light differently."),
    )


def _fabrication(ctx: Context) -> tuple[tuple[Table, ...], tuple[FigureEntry, ...]]:
    fold, p, where = ctx.fold, ctx.prefix, ctx.where
    ctx.say("design-rule check and file checksums")
    levels = relief.levels(fold.cfg)
    tables_ = [tables.drc_table(relief.design_map(fold.design, fold.cfg), fold.cfg,
                                f"Design-rule check of the binary design{where}" if levels == 1 else
                                f"Design-rule check of each of the relief's {levels} layers{where}"),
               tables.files_table(fold.design.folder, fold.exports, f"Files{where}")]
    figures = []
    for path in fold.exports:
        part = read_part(path, fold.cfg)
        what = ("mid-height section" if levels == 1 else "bottom layer's section") if part.fmt == "stl" else "polygons"
        fig = maps.polygons_figure(footprint(part), fold.design.arrays["binary"], fold.layout, fold.classes,
                                   f"{path.name}: {what} over the binary design{where}")
        figures.append(ctx.emit(fig, f"{p}export-{path.stem}-{part.fmt}", f"Exported {path.name}",
                                f"The {what} read back from {path.name}, outlined over the binary design."))
        if part.fmt == "stl":
            ctx.say(f"3D view of {path.name}")
            mesh = trimesh.load(path, file_type="stl", force="mesh")
            fig = solid.stl_figure(mesh, fold.layout.unit, f"{path.name}{where}", MM_PER_UNIT[fold.layout.unit])
            figures.append(ctx.emit(fig, f"{p}part3d-{path.stem}", f"3D view of {path.name}",
                                    "The printable part as written, shaded; a second body (a lid) is lifted and "
                                    "see-through."))
    if fold.verify:
        fig = curves.verify_figure(list(fold.verify), fold.final["test_accuracy"], len(fold.classes),
                                   fold.layout.unit, f"Verified accuracy of the exported parts{where}")
        figures.append(ctx.emit(fig, f"{p}verify", "Verification",
                                "Accuracy of the re-simulated parts (nominal with its 95 % interval, and under each "
                                "edge bias and material contrast variation) against the design as trained and "
                                "chance (red, with the band below it shaded)."))
        tables_.append(tables.verify_table(fold.verify, fold.layout.unit))
    return tuple(tables_), tuple(figures)
