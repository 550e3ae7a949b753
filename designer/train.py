"""Training: Adam on the cross-entropy of normalised probe powers.

One fold at a time: latent field theta -> density pipeline (constraints) ->
wave-speed map -> engine -> probe powers -> loss. Every epoch evaluates the
smooth design at the current beta and the exactly binary design (beta = inf)
and writes an atomic checkpoint (:mod:`designer.checkpoint`), so a killed run
resumes losing at most the epoch in progress, to the bit-identical design. A
loss or design that goes non-finite stops the run with one line; nothing is
shipped.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import relief
from .checkpoint import load_checkpoint, run_fingerprint, save_checkpoint
from .config import Config
from .data import Corpus, Split, batches, ring_down_steps, with_ring_down
from .data.record import check_fits
from .data.timing import first_arrival_samples
from .density import DensityModel, fabricated_coverage, make_density_model
from .design import atomic_write_text, load_design, save_design
from .distributed import Group, batch_powers, plain_record, time_domain, work_items
from .drive import Drive, drive_for
from .errors import DesignerError
from .metrics import accuracy, confusion_matrix, cross_entropy, log_probabilities
from .physics import (ENGINES, Layout, build_medium, get_engine, layout_from_config, resolve_device,
                      wave_speed_m_per_s)
from .physics.spectral import SpectralMedium, spectral_power
from .progress import Progress, as_progress, compile_notice
from .readout import Readout, readout_for

__all__ = ["Problem", "make_problem", "evaluate", "train_fold", "Evaluation"]

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class Problem:
    """Everything fixed during a fold: config, geometry on the device, engine."""

    cfg: Config
    layout: Layout
    density: DensityModel
    engine: Callable
    device: torch.device
    dtype: torch.dtype
    drive: Drive
    solves: dict = field(default_factory=dict, compare=False, repr=False)  # spectral solves, by design
    group: Group | None = None  # the ranks sharing this fold's steps and evaluations (designer.distributed)
    twin: object | None = None  # the 3D part of physics-aware training (designer.physics_aware.Twin3D)

    @property
    def readout(self) -> Readout:
        """How the probe powers name a class (:mod:`designer.readout`)."""
        return readout_for(self.cfg)


def check_gated_engine(cfg: Config, name: str) -> None:
    """A one-line error when ``cfg``'s gated readout would run on an engine that integrates in its kernel."""
    if cfg.readout.gates > 1 and name not in ("auto", "impulse"):
        raise DesignerError(f"engine {name!r}: readout.gates = {cfg.readout.gates} needs the gated powers of one "
                            f"traced impulse; use engine 'auto' or 'impulse'")


def make_problem(cfg: Config, refine: int = 1, engine: str | None = None, device: str | None = None) -> Problem:
    name = engine or cfg.simulation.engine
    if cfg.template.spectral and name != "auto":
        raise DesignerError(f"engine {name!r}: template {cfg.template.name} (model {cfg.template.model!r}) is solved "
                            f"per frequency, with its dispersion; use engine 'auto'")
    check_gated_engine(cfg, name)
    dev = resolve_device(device or cfg.simulation.device)
    dtype = DTYPES[cfg.simulation.dtype]
    layout = layout_from_config(cfg, refine).to(dev, dtype)
    twin = None
    if cfg.training.physics_aware and refine == 1:
        from .physics_aware import make_twin

        twin = make_twin(cfg, dev, dtype)
    return Problem(cfg, layout, make_density_model(cfg, layout), get_engine(engine or cfg.simulation.engine), dev, dtype,
                   drive_for(cfg, refine), twin=twin)


def probe_power(problem: Problem, rho: torch.Tensor, inputs: torch.Tensor,
                lengths: torch.Tensor | None = None, speed_scale: float = 1.0, aware: bool = False) -> torch.Tensor:
    """Time-integrated probe intensities (B, P), (B, G P) with G gates, for density ``rho`` and signals ``inputs`` (B, T).

    ``inputs`` are signal samples; the drive chain turns them into the
    injected waveform, ``problem.drive.factor`` steps per sample. lengths:
    (B,) samples integrated into each sample's power (default: all T).
    ``aware``: with the problem's 3D twin, the powers of the part ``rho``
    prints, simulated in 3D, with the 2D powers' gradient
    (:mod:`designer.physics_aware`).
    """
    if speed_scale != 1.0 and problem.cfg.template.spectral:  # every index divided, at every frequency
        t = problem.cfg.template
        scaled = dataclasses.replace(
            t, material=dataclasses.replace(t.material, speed_m_per_s=t.material.speed_m_per_s * speed_scale),
            background=dataclasses.replace(t.background, speed_m_per_s=t.background.speed_m_per_s * speed_scale))
        medium = build_medium(rho, dataclasses.replace(problem.cfg, template=scaled), problem.layout)
    else:
        medium = build_medium(rho, problem.cfg, problem.layout)
    if speed_scale != 1.0 and not isinstance(medium, SpectralMedium):
        # every speed at once: the Courant map scales, the impedances do not
        medium = dataclasses.replace(medium, courant=medium.courant * speed_scale)
    k = problem.drive.factor
    extra = {} if lengths is None else {"lengths": (lengths * k).to(problem.device)}
    gates = problem.cfg.readout.gates
    if gates > 1:  # gated detection: (B, G P) powers, gate-major, from the first arrival on (designer.readout)
        extra["gates"] = gates
        extra["gate_delay"] = first_arrival_samples(problem.cfg) * k
    injected = problem.drive(inputs.to(problem.device, problem.dtype))
    if isinstance(medium, SpectralMedium):  # whole ring-down, by Parseval: lengths change nothing
        weights = problem.drive.node_weights(injected, medium.frequencies_hz)
        return spectral_power(medium, problem.layout.source_weights, problem.layout.probe_weights, weights,
                              cache=None if torch.is_grad_enabled() else problem.solves)
    power, _ = problem.engine(medium, problem.layout.source_weights, injected, problem.layout.probe_weights, **extra)
    if aware and problem.twin is not None:
        from .physics_aware import physics_aware_power

        power_3d = problem.twin.power(rho, injected, extra.get("lengths"), speed_scale, gates,
                                      extra.get("gate_delay", 0))
        problem.twin.count(power, power_3d)
        power = physics_aware_power(power, power_3d)
    return power


@dataclass(frozen=True)
class Evaluation:
    loss: float
    accuracy: float
    confusion: np.ndarray
    predicted: np.ndarray
    labels: np.ndarray
    indices: np.ndarray
    log_probs: np.ndarray


@torch.no_grad()
def evaluate(problem: Problem, corpus: Corpus, indices: np.ndarray, rho: torch.Tensor,
             window: int | None, batch_size: int) -> Evaluation:
    """Classify ``indices`` with density ``rho``; ``window`` None means full-length signals.

    On a refined problem (``make_problem(refine=K)``) the drive chain gives K
    times more steps per sample, so the same signals drive the finer grid.
    Under a rank group (``problem.group``) the batches are shared by its ranks.
    """
    losses, preds, labels, idx, logp = [], [], [], [], []
    ring_down = ring_down_steps(problem.cfg, corpus)
    every = batches(corpus, indices, batch_size, window, dtype=problem.dtype, ring_down=ring_down)
    for y, chunk, power in batch_powers(problem.group, every, lambda b: probe_power(problem, rho, b.inputs, b.lengths),
                                        problem.layout.probe_weights.shape[0] * problem.readout.gates, problem.dtype):
        lp = log_probabilities(power, problem.readout).cpu()
        losses.append(float(cross_entropy(power, y.to(problem.device), problem.readout)) * len(chunk))
        preds.append(lp.argmax(-1).numpy())
        labels.append(y.numpy())
        idx.append(chunk)
        logp.append(lp.numpy())
    labels_a, preds_a = np.concatenate(labels), np.concatenate(preds)
    conf = confusion_matrix(labels_a, preds_a, len(corpus.classes))
    return Evaluation(sum(losses) / len(labels_a), accuracy(conf), conf, preds_a, labels_a,
                      np.concatenate(idx), np.concatenate(logp))


def _epoch_record(problem: Problem, corpus: Corpus, split: Split, theta: torch.Tensor, beta: float,
                  epoch: int, lr: float, train_loss: float) -> tuple[dict, dict]:
    cfg = problem.cfg
    window, bs = cfg.data.window_samples, cfg.training.batch_size
    smooth = problem.density.smooth(theta, beta)
    binary = problem.density.binary(theta)
    fabricated = fabricated_coverage(binary, cfg)
    evals = {
        "train": evaluate(problem, corpus, split.train, smooth, window, bs),
        "test": evaluate(problem, corpus, split.test, smooth, None, bs),
        "binary_train": evaluate(problem, corpus, split.train, fabricated, window, bs),
        "binary_test": evaluate(problem, corpus, split.test, fabricated, None, bs),
    }
    ls = problem.density.lengthscale(binary, smooth)
    record = {"epoch": epoch, "beta": beta, "learning_rate": lr, "train_loss_running": train_loss}
    for name, ev in evals.items():
        record[f"{name}_loss"] = ev.loss
        record[f"{name}_accuracy"] = ev.accuracy
    record.update(ls)
    confusions = {name: ev.confusion.tolist() for name, ev in evals.items()}
    return record, confusions


def _theta_from_run(problem: Problem, corpus: Corpus, split: Split) -> torch.Tensor:
    """The latent field a finished run trained, as this fold's starting design (``training.init_from``).

    ``init_from`` names a design file, a fold's folder or a run folder; a run
    folder with ``fold-K`` folders gives fold K its own fold's field. The
    field must lie on this run's grid and design region, and the design must
    have been trained on exactly this fold's training samples of the same
    data: a field trained on any of this fold's test samples would carry
    them into training. Anything else is a one-line error.
    """
    root = Path(problem.cfg.training.init_from)
    key = "training.init_from"
    if not root.exists():
        raise DesignerError(f"{key}: {root}: not found; expected a run folder, a fold folder or a design.npz")
    fold = root / f"fold-{split.fold}"
    design = load_design(fold if root.is_dir() and (fold / "design.npz").exists() else root)
    theta, mask = design.arrays["theta"], design.arrays["design_mask"]
    here = problem.layout.design_mask.cpu().numpy()
    if theta.shape != here.shape or not np.array_equal(mask, here):
        raise DesignerError(f"{key}: {design.folder}: its design region is not this run's (grid {theta.shape} against "
                            f"{here.shape}); expected a run on the same grid and design region")
    recorded = (design.meta.get("data") or {}).get("labels_lengths_sha256")
    same_data = recorded is not None and recorded == corpus.summary()["labels_lengths_sha256"]
    if not same_data or not np.array_equal(np.sort(design.arrays["train_indices"]), np.sort(split.train)):
        raise DesignerError(f"{key}: {design.folder}: trained on other samples than fold {split.fold}'s "
                            f"{len(split.train)} training samples; expected the same fold of a run on the same data "
                            f"(starting from it could carry test samples into training)")
    return torch.from_numpy(np.array(theta, dtype=np.float64)).to(problem.device, problem.dtype)


def _initial_theta(problem: Problem, corpus: Corpus | None = None, split: Split | None = None) -> torch.Tensor:
    t = problem.cfg.training
    if t.init_from and split is not None:
        return _theta_from_run(problem, corpus, split)
    shape = problem.layout.design_mask.shape
    gen = torch.Generator().manual_seed(t.seed)
    # The pipeline maps theta through a sigmoid: theta = logit(density).
    value = min(max(0.5 if t.init == "half" else t.init_value, 1e-3), 1 - 1e-3)
    theta = torch.full(shape, math.log(value / (1 - value)), dtype=torch.float64)
    if t.init == "random":
        theta += torch.randn(shape, generator=gen, dtype=torch.float64)
    return theta.to(problem.device, problem.dtype)


class _Selection:
    """The final design's choice among the last ``select_epochs`` epochs.

    Each candidate is scored by the training loss of its fabricated geometry
    (the exported polygons, as ``designer verify`` simulates them); the test
    recordings play no part. The lowest loss wins; ties go to the later epoch.
    """

    def __init__(self):
        self.epoch: int | None = None
        self.loss = math.inf
        self.theta: torch.Tensor | None = None

    def offer(self, epoch: int, loss: float, theta: torch.Tensor) -> None:
        if loss <= self.loss:
            self.epoch, self.loss, self.theta = epoch, float(loss), theta.detach().clone()

    def meta(self) -> dict | None:
        return None if self.epoch is None else {"epoch": self.epoch, "loss": self.loss}


def _history_csv(history: list[dict]) -> str:
    buf = io.StringIO()
    keys = list(dict.fromkeys(k for record in history for k in record))
    writer = csv.DictWriter(buf, fieldnames=keys, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(history)
    return buf.getvalue()


_TRAINING_KEYS = ("epoch", "beta", "learning_rate", "train_loss_running", "epoch_seconds",
                  "physics_aware_agreement")
"""Keys of an epoch record that training itself writes (the rest come from evaluation)."""


def _accumulate_gradient(problem, theta: torch.Tensor, beta: float, epoch: int, x: torch.Tensor,
                         y: torch.Tensor, lengths: torch.Tensor | None = None,
                         jitter: np.random.Generator | None = None) -> float:
    """Add the batch loss's gradient to ``theta.grad``; return the loss.

    The loss is the mean over the density variants (eroded, nominal, dilated
    when robust) plus the length-scale penalty. Each variant's simulation is
    differentiated and released before the next one runs, so an engine that
    stores its graph (the reference) holds one variant's graph at a time.
    With ``training.speed_jitter`` = j each variant sees every wave speed
    scaled by its own draw of 1 + U(-j, j) from ``jitter``: the design may not
    lean on a resonance placed to a fraction of a percent, which neither air
    (0.17 % per kelvin) nor the grid's dispersion holds. Under a rank group
    the step's work items are shared out (:mod:`designer.distributed`).
    """
    variants = problem.density.training(theta, beta, epoch)
    j = problem.cfg.training.speed_jitter
    scales = [1.0 + float(jitter.uniform(-j, j)) if j and jitter is not None else 1.0 for _ in variants]
    # Physics-aware: the nominal variant is the fabricated part in these epochs; its forward pass runs in 3D.
    aware = len(variants) // 2 if problem.twin is not None and problem.density.through_fabricated(epoch) else -1

    def loss_of(v: int, rows: slice | None = None) -> torch.Tensor:
        if rows is None:  # the whole batch
            return cross_entropy(probe_power(problem, variants[v], x, lengths, scales[v], v == aware),
                                 y, problem.readout) / len(variants)
        power = probe_power(problem, variants[v], x[rows], None if lengths is None else lengths[rows], scales[v],
                            v == aware)
        return cross_entropy(power, y[rows], problem.readout) * ((rows.stop - rows.start) / x.shape[0]) / len(variants)

    if problem.group is not None:
        items = work_items(len(variants), x.shape[0], time_domain(problem.engine, problem.cfg))
        total = problem.group.gradient(theta, items, loss_of)
    else:
        total = 0.0
        for v in range(len(variants)):
            part = loss_of(v)
            part.backward(retain_graph=True)  # the variants share the filter's graph
            total += float(part.detach())
            del part
    penalty = problem.density.penalty(theta, beta)
    if isinstance(penalty, torch.Tensor):
        penalty.backward()
        total += float(penalty.detach())
    return total


def _check_finite(loss: float, tensor: torch.Tensor | None, folder: Path, where: str, what: str) -> None:
    """Stop the run with one line when training produced a non-finite number."""
    if math.isfinite(loss) and (tensor is None or bool(torch.isfinite(tensor).all())):
        return
    raise DesignerError(f"{folder}: training diverged at {where}: the {what} is not finite; nothing was shipped "
                        f"(lower training.learning_rate or the nonlinearity's strength)")


def _check_record(record: dict, folder: Path) -> None:
    for key, value in record.items():
        if key.endswith("_loss") and isinstance(value, float) and not math.isfinite(value):
            raise DesignerError(f"{folder}: training diverged at epoch {record['epoch'] + 1}: {key} is {value}; "
                                f"nothing was shipped (lower training.learning_rate or the nonlinearity's strength)")


def train_fold(cfg: Config, corpus: Corpus, split: Split, folder: Path, resume: bool = False,
               echo: Progress | Callable[[str], None] | None = None, engine: str | None = None,
               device: str | None = None, extra_meta: dict | None = None, group: Group | None = None) -> dict:
    """Train one fold into ``folder``; returns the final metrics.

    ``corpus`` may be any :class:`~designer.data.Corpus`, loaded or made in
    code; a corpus the config does not describe is stored beside the design,
    so the run can be exported, verified and reported like any other.
    ``echo``: a :class:`~designer.progress.Progress`, a callable taking
    whole lines, or None (silent). ``group``: the ranks that share the fold
    (:mod:`designer.distributed`); its leader alone writes ``folder``.
    """
    check_fits(cfg, corpus)
    cfg = with_ring_down(cfg, corpus)
    folder.mkdir(parents=True, exist_ok=True)
    problem = dataclasses.replace(make_problem(cfg, engine=engine, device=device), group=group)
    writes = group is None or group.leader
    progress = as_progress(echo)
    t = cfg.training
    theta = _initial_theta(problem, corpus, split).requires_grad_(True)
    opt = torch.optim.Adam([theta], lr=t.learning_rate)
    selected = _Selection()
    fingerprint = run_fingerprint(cfg)
    start, history, confusions = (load_checkpoint(folder, theta, opt, selected, fingerprint, t.epochs) if resume
                                  else (0, [], []))
    if start:
        progress.line(f"resuming {folder} after epoch {start - 1}")
        if writes:
            atomic_write_text(folder / "history.csv", _history_csv(history))  # a kill may have left it one behind
    if start >= t.epochs and history and selected.epoch in (None, t.epochs - 1):
        # Nothing left to train and the last epoch is shipped: evaluate it afresh, so its
        # metrics describe the binary design this code draws and exports. (A selected
        # earlier epoch is re-evaluated by _finalise_selected.)
        history[-1] = {k: v for k, v in history[-1].items() if k in _TRAINING_KEYS}
    wall = time.perf_counter()
    for epoch in range(start, t.epochs):
        beta = problem.density.beta(epoch)
        lr = t.learning_rate * t.lr_decay**epoch
        for group in opt.param_groups:
            group["lr"] = lr
        rng = np.random.default_rng([t.seed, epoch])
        jitter = np.random.default_rng([t.seed, epoch, 1])  # its own stream: the batch order does not move
        n_batches = math.ceil(len(split.train) / t.batch_size)
        running, seen, tick = 0.0, 0, time.perf_counter()
        spectral = cfg.template.spectral  # no kernels to compile
        notice = compile_notice(engine or cfg.simulation.engine, problem.device) if epoch == start and not spectral \
            else None
        if notice:
            progress.line(notice)
        with progress.bar(n_batches, f"epoch {epoch + 1}/{t.epochs}") as bar:
            for b, (x, y, chunk, lengths) in enumerate(batches(corpus, split.train, t.batch_size,
                                                               cfg.data.window_samples, rng=rng, dtype=problem.dtype,
                                                               ring_down=cfg.data.ring_down_samples)):
                opt.zero_grad()
                loss = _accumulate_gradient(problem, theta, beta, epoch, x, y.to(problem.device), lengths, jitter)
                _check_finite(loss, theta.grad, folder, f"epoch {epoch + 1}, batch {b + 1}", "loss or its gradient")
                opt.step()
                _check_finite(0.0, theta.detach(), folder, f"epoch {epoch + 1}, batch {b + 1}", "latent design")
                if problem.group is not None:
                    problem.group.check_same(theta, f"epoch {epoch + 1}, batch {b + 1}")
                running += loss * len(chunk)
                seen += len(chunk)
                bar.update(loss=f"{running / seen:.4f}")
                if notice:
                    progress.line(f"  kernels ready; first batch {time.perf_counter() - tick:.1f} s")
                    notice = None
            bar.note("evaluating")
            if (epoch + 1) % t.eval_every == 0 or epoch + 1 == t.epochs:
                record, conf = _epoch_record(problem, corpus, split, theta.detach(), beta, epoch, lr, running / seen)
            else:
                record, conf = {"epoch": epoch, "beta": beta, "learning_rate": lr,
                                "train_loss_running": running / seen}, {}
        if t.select_epochs > 1 and epoch >= t.epochs - t.select_epochs:
            if "binary_train_loss" not in record:
                record["binary_train_loss"] = _fabricated_train_loss(problem, corpus, split, theta.detach())
            selected.offer(epoch, record["binary_train_loss"], theta)
        record["epoch_seconds"] = time.perf_counter() - tick
        if problem.twin is not None:
            agreement = problem.twin.take()
            if agreement is not None:  # the training batches' 2D and 3D predictions, in a physics-aware epoch
                record["physics_aware_agreement"] = agreement
        _check_record(record, folder)
        history.append(record)
        confusions.append(conf)
        if writes:
            save_checkpoint(folder, epoch, theta, opt, history, confusions, selected, fingerprint)
            atomic_write_text(folder / "history.csv", _history_csv(history))
        progress.line(_summary_line(record))
    if selected.epoch is not None and selected.epoch != t.epochs - 1:
        progress.line(f"  final design: epoch {selected.epoch + 1} (fabricated training loss {selected.loss:.4f})")
        final = _finalise_selected(problem, corpus, split, selected, history, confusions, folder, extra_meta or {})
    else:
        final = _finalise(problem, corpus, split, theta.detach(), history, confusions, folder, extra_meta or {})
    progress.line(f"  fold done in {time.perf_counter() - wall:.1f}s")
    return final


def _fabricated_train_loss(problem: Problem, corpus: Corpus, split: Split, theta: torch.Tensor) -> float:
    """Cross-entropy of the training windows on the fabricated geometry of ``theta``."""
    fabricated = problem.density.fabricated(theta)
    cfg = problem.cfg
    return evaluate(problem, corpus, split.train, fabricated, cfg.data.window_samples, cfg.training.batch_size).loss


def _finalise_selected(problem: Problem, corpus: Corpus, split: Split, selected: _Selection, history: list,
                       confusions: list, folder: Path, extra_meta: dict) -> dict:
    """Save the selected epoch's design: its record, evaluated afresh, is appended as the final one."""
    epoch = selected.epoch
    past = history[epoch]
    record, conf = _epoch_record(problem, corpus, split, selected.theta, past["beta"], epoch,
                                 past["learning_rate"], past["train_loss_running"])
    record.update(epoch_seconds=0.0, selected=True)
    return _finalise(problem, corpus, split, selected.theta, history + [record], confusions + [conf], folder,
                     extra_meta, selected_epoch=epoch)


def _summary_line(r: dict) -> str:
    line = f"  epoch {r['epoch'] + 1}: beta {r['beta']:g}  loss {r['train_loss_running']:.4f}"
    if "test_accuracy" in r:
        line += (f"  train {100 * r['train_accuracy']:.1f}%  test {100 * r['test_accuracy']:.1f}%"
                 f"  binary test {100 * r['binary_test_accuracy']:.1f}%  grayness {r['grayness']:.3f}"
                 f"  min solid/void {r['min_solid_cells']:g}/{r['min_void_cells']:g} cells")
    elif "binary_train_loss" in r:  # a candidate for the final design, scored on the training data only
        line += f"  fabricated train loss {r['binary_train_loss']:.4f}"
    if "physics_aware_agreement" in r:
        line += f"  3D agrees with 2D on {100 * r['physics_aware_agreement']:.1f}% of the training windows"
    return line + f"  ({r['epoch_seconds']:.1f}s)"


def _finalise(problem: Problem, corpus: Corpus, split: Split, theta: torch.Tensor, history: list,
              confusions: list, folder: Path, extra_meta: dict, selected_epoch: int | None = None) -> dict:
    from . import provenance

    cfg = problem.cfg
    last = history[-1] if history else {}
    if "test_accuracy" not in last:
        beta = problem.density.beta(max(cfg.training.epochs - 1, 0))
        last, conf = _epoch_record(problem, corpus, split, theta, beta, cfg.training.epochs - 1,
                                   0.0, float("nan"))
        if history:  # the last epoch's record, re-evaluated (a resumed, finished run)
            last = {**last, **history[-1]}
            history, confusions = history[:-1] + [last], confusions[:-1] + [conf]
        else:
            confusions = confusions + [conf]
    beta = last["beta"]
    smooth = problem.density.smooth(theta, beta)
    binary = problem.density.binary(theta)
    fabricated = fabricated_coverage(binary, cfg)  # the geometry that is exported and simulated
    arrays = {
        "theta": theta.cpu().numpy(),
        "rho": smooth.cpu().numpy(),
        **relief.stored_arrays(binary.cpu().numpy(), cfg),
        "fabricated": fabricated.cpu().numpy(),
        "wave_speed_m_per_s": wave_speed_m_per_s(fabricated.double(), cfg).cpu().numpy(),
        "design_mask": problem.layout.design_mask.cpu().numpy(),
        "keepout": problem.layout.keepout.cpu().numpy(),
        "frame": problem.layout.frame.cpu().numpy(),
        "source_weights": problem.layout.source_weights.cpu().numpy(),
        "probe_weights": problem.layout.probe_weights.cpu().numpy(),
        "train_indices": split.train,
        "test_indices": split.test,
    }
    final = {
        "train_accuracy": last["binary_train_accuracy"],
        "test_accuracy": last["binary_test_accuracy"],
        "train_loss": last["binary_train_loss"],
        "test_loss": last["binary_test_loss"],
        "smooth_train_accuracy": last["train_accuracy"],
        "smooth_test_accuracy": last["test_accuracy"],
        "test_confusion_matrix": confusions[-1].get("binary_test"),
        "train_confusion_matrix": confusions[-1].get("binary_train"),
        "smooth_test_confusion_matrix": confusions[-1].get("test"),
        "beta": beta,
        "epochs": cfg.training.epochs,
        "selected_epoch": cfg.training.epochs - 1 if selected_epoch is None else selected_epoch,
        "seconds_per_epoch": float(np.mean([h["epoch_seconds"] for h in history if not h.get("selected")])) if history else None,
    }
    for name, values in arrays.items():
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            raise DesignerError(f"{folder}: the final design's {name} is not finite; nothing was shipped")
    if problem.group is not None and not problem.group.leader:
        return final
    ls = problem.density.lengthscale(binary, smooth)
    engine = next((name for name, run in ENGINES.items() if run is problem.engine), problem.cfg.simulation.engine)
    launch = plain_record() if problem.group is None else problem.group.record()
    meta = provenance.design_meta(cfg, split, corpus, ls, final, history,
                                  {**extra_meta, "engine": engine, "device": str(problem.device),
                                   "distributed": launch}, folder)
    meta["metrics"]["confusions"] = confusions  # per epoch: rows true, columns predicted
    save_design(folder, arrays, meta)
    return final
