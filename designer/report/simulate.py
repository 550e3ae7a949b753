"""The simulations behind the report's field and spectrum figures, through the run's own drive chain.

Fields: the reference leapfrog step (:func:`designer.physics.wave.step`) on a
density map for one recording per class, accumulating u^2 over the domain and
at the probes every step and keeping a few frames of u. Transfer spectra: one
traced impulse (Hughes et al. 2019; superposition, as in
:mod:`designer.physics.impulse`) gives each probe cell's impulse response,
whose power spectrum, weighted by the probe's mask, is |H_p(f)|^2.

Step n lies at device time n dt (dt = ``cfg.dt_s``), which is signal time
n / (sample_rate_hz * steps_per_sample): the device runs ``time_scale`` times
faster than the signal.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from ..config import Config
from ..data.timing import first_arrival_samples
from ..drive import drive_for
from ..physics import build_medium, get_engine, layout_from_config
from ..physics.impulse import probe_cells
from ..physics.wave import face_coefficients, step
from ..readout import READOUTS, Readout, readout_for

__all__ = ["Clock", "FieldRun", "ImpulseResponse", "Transfer", "clock_of", "impulse_response",
           "representative_samples", "simulate_fields", "transfer_spectra"]

DTYPES = {"float32": torch.float32, "float64": torch.float64}
IMPULSE_AT_SAMPLES = 16  # the impulse's sample: past the drive's centred anti-imaging filter (10 samples a side)


@dataclass(frozen=True)
class Clock:
    """A run's time bases: steps per second of device time, and the signal's and device's rates.

    carrier_hz: the optical carrier a modulated drive moves the signal onto
    (0 for a baseband drive): signal frequency f lies at carrier_hz + time_scale f.
    """

    sample_rate_hz: float
    steps_per_sample: int
    time_scale: float
    carrier_hz: float = 0.0

    @property
    def step_rate_hz(self) -> float:
        """Steps per second of device time (1 / dt)."""
        return self.sample_rate_hz * self.steps_per_sample * self.time_scale

    def signal_seconds(self, steps) -> np.ndarray:
        """Signal time of step index ``steps``, in seconds."""
        return np.asarray(steps, dtype=float) / (self.sample_rate_hz * self.steps_per_sample)


def clock_of(cfg: Config) -> Clock:
    d = cfg.template.drive
    return Clock(cfg.data.sample_rate_hz, cfg.steps_per_sample, cfg.time_scale,
                 d.carrier_hz if d.modulation != "none" else 0.0)


@dataclass(frozen=True)
class FieldRun:
    """Fields of a few recordings, one per batch item b, at the simulation's steps.

    intensity: (B, nx, ny) sum over the integrated steps of u^2. probe_u2:
    (B, T, P) probe-weighted u^2 per step, zero after each sample's integration
    length. frames: (B, F, nx, ny) u at steps ``frame_steps`` (F,). lengths:
    (B,) integrated steps. labels: (B,) true class indices.
    """

    intensity: np.ndarray
    probe_u2: np.ndarray
    frames: np.ndarray
    frame_steps: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    clock: Clock

    readout: Readout = READOUTS["intensity"]
    gate_delay: int = 0  # steps before the readout's first gate (the first arrival)

    @property
    def probe_power(self) -> np.ndarray:
        """(B, P) time-integrated probe intensities, (B, G P) gate-major with G gates, as the classifier sees them."""
        if self.readout.gates == 1:
            return self.probe_u2.sum(1)
        from ..physics.impulse import gate_of_step

        b, steps, p = self.probe_u2.shape
        gate = gate_of_step(steps, torch.as_tensor(self.lengths), self.readout.gates, self.gate_delay).numpy()
        out = np.zeros((b, self.readout.gates, p))
        for g in range(self.readout.gates):
            out[:, g] = (self.probe_u2 * (gate == g)[:, :, None]).sum(1)
        return out.reshape(b, -1)

    @property
    def predicted(self) -> np.ndarray:
        """(B,) class indices, through the run's readout."""
        return self.readout.predict(self.probe_power)


def representative_samples(labels: np.ndarray, test_indices: np.ndarray, n_classes: int) -> np.ndarray:
    """The first test recording (in corpus order) of each class that has one."""
    test = np.sort(np.asarray(test_indices))
    return np.array([test[labels[test] == c][0] for c in range(n_classes) if (labels[test] == c).any()],
                    dtype=np.int64)


def _inputs(cfg: Config, signals: list[np.ndarray], dtype) -> tuple[torch.Tensor, np.ndarray]:
    """(B, T K) injected waveforms of ``signals`` (samples) through the drive chain, and their lengths in steps."""
    drive = drive_for(cfg)
    lengths = np.array([len(s) for s in signals]) * drive.factor
    inputs = torch.zeros(len(signals), int(lengths.max()), dtype=dtype)
    for b, s in enumerate(signals):
        inputs[b, :lengths[b]] = torch.as_tensor(drive.numpy(np.asarray(s, dtype=np.float64)), dtype=dtype)
    return inputs, lengths


@contextmanager
def _denormals_flushed():
    """Denormal floats flushed to zero meanwhile (torch's default, off, after): a decaying field's denormals
    slow every operation several times."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


@torch.no_grad()
def simulate_fields(cfg: Config, rho: np.ndarray, signals: list[np.ndarray], labels: np.ndarray,
                    frames: int = 48) -> FieldRun:
    """Step the wave equation on the (nx, ny) density ``rho`` for each signal, on the CPU.

    ``signals`` are in samples; the drive chain injects them as in training.
    ``frames`` snapshots of u are kept, evenly spread over the longest input.
    """
    dtype = DTYPES[cfg.simulation.dtype]
    layout = layout_from_config(cfg)
    medium = build_medium(torch.as_tensor(np.asarray(rho, float), dtype=dtype), cfg, layout)
    faces = None if medium.inv_density is None else face_coefficients(medium.inv_density)
    source = layout.source_weights.to(dtype)
    cells, weights = probe_cells(layout.probe_weights.to(dtype))
    at = (slice(None), cells[:, 0], cells[:, 1])
    inputs, lengths = _inputs(cfg, signals, dtype)
    steps = inputs.shape[1]
    keep = np.unique(np.linspace(0, steps - 1, min(frames, steps)).round().astype(int))
    kept_steps = set(keep.tolist())
    active = torch.as_tensor(np.arange(steps)[None, :] < lengths[:, None], dtype=dtype)
    u0 = torch.zeros((len(signals),) + tuple(medium.courant.shape), dtype=dtype)
    u1, total = torch.zeros_like(u0), torch.zeros_like(u0)
    per_step, kept = [], []
    with _denormals_flushed():
        for n in range(steps):
            u0, u1 = u1, step(medium, u1, u0, source * inputs[:, n, None, None], faces)
            u2 = u1 * u1 * active[:, n, None, None]
            total += u2
            per_step.append(u2[at] @ weights.T)  # the probes' few cells: a whole-grid einsum cost 30x the step
            if n in kept_steps:
                kept.append(u1.clone())
    return FieldRun(total.numpy().astype(float), torch.stack(per_step, 1).numpy().astype(float),
                    torch.stack(kept, 1).numpy().astype(float), keep, lengths, np.asarray(labels), clock_of(cfg),
                    readout_for(cfg), first_arrival_samples(cfg) * cfg.steps_per_sample)


@dataclass(frozen=True)
class Transfer:
    """|H_p(f)|^2 per probe (P, F) at device frequencies ``device_hz`` (F,), up to the signal's Nyquist.

    power_p = sum_f |X(f)|^2 |H_p(f)|^2 for an input spectrum X (Parseval):
    for a linear device these are the classifier's weights on the input's
    power spectrum. Units: (probe field per unit input sample)^2.
    """

    device_hz: np.ndarray
    power: np.ndarray
    clock: Clock

    @property
    def signal_hz(self) -> np.ndarray:
        return self.device_hz / self.clock.time_scale


@dataclass(frozen=True)
class ImpulseResponse:
    """The field ``traces`` (T, C) that one unit signal sample (through the drive chain) leaves at the probes'
    cells, the probes' weights there (P, C) and the run's clock; the impulse enters at step ``start``."""

    traces: np.ndarray
    weights: np.ndarray
    start: int
    clock: Clock

    def energy(self) -> np.ndarray:
        """(P, T) each probe's response intensity sum_c w_pc g_c[n]^2, step by step."""
        return self.weights @ (self.traces ** 2).T

    def duration_steps(self, fraction: float = 0.9) -> np.ndarray:
        """(P,) steps between the times each probe has received (1 - fraction) / 2 and (1 + fraction) / 2 of
        its response energy: the central ``fraction`` of the response, the drive chain's own included."""
        cum = np.cumsum(self.energy(), axis=1)
        cum = cum / np.maximum(cum[:, -1:], 1e-300)
        lo = np.argmax(cum >= (1 - fraction) / 2, axis=1)
        hi = np.argmax(cum >= (1 + fraction) / 2, axis=1)
        return hi - lo

    def transfer(self) -> "Transfer":
        """|H_p(f)|^2 per probe from these traces, up to the signal's Nyquist rate."""
        clock, g = self.clock, self.traces
        n_fft = 1 << int(np.ceil(np.log2(max(len(g), 2))))
        spectrum = np.abs(np.fft.rfft(g, n=n_fft, axis=0)) ** 2  # (F, C)
        device_hz = np.fft.rfftfreq(n_fft, 1.0 / clock.step_rate_hz)
        band = device_hz <= clock.step_rate_hz / (2 * clock.steps_per_sample)
        return Transfer(device_hz[band], (self.weights @ spectrum.T)[:, band], clock)


@torch.no_grad()
def impulse_response(cfg: Config, rho: np.ndarray, samples: int, engine: str | None = None) -> ImpulseResponse:
    """The probes' response to one signal sample on the device ``rho`` (nx, ny), ``samples`` samples long.

    The impulse is a unit signal sample through the drive chain (resampling
    and low-pass included), traced at the probes' cells by ``engine``'s
    trace engine (default the config's).
    """
    dtype = DTYPES[cfg.simulation.dtype]
    layout = layout_from_config(cfg)
    medium = build_medium(torch.as_tensor(np.asarray(rho, float), dtype=dtype), cfg, layout)
    impulse = np.zeros(samples + IMPULSE_AT_SAMPLES)
    impulse[IMPULSE_AT_SAMPLES] = 1.0
    inputs, _ = _inputs(cfg, [impulse], dtype)
    cells, weights = probe_cells(layout.probe_weights.to(dtype))
    traces = get_engine(engine or cfg.simulation.engine, traces=True)(medium, layout.source_weights.to(dtype),
                                                                      inputs, cells)[0]
    return ImpulseResponse(traces.double().numpy(), weights.double().numpy(),
                           IMPULSE_AT_SAMPLES * drive_for(cfg).factor, clock_of(cfg))


def transfer_spectra(cfg: Config, rho: np.ndarray, samples: int, engine: str | None = None) -> Transfer:
    """Per-probe transfer spectra of the device ``rho`` (nx, ny), from ``samples`` samples of impulse response
    (:func:`impulse_response`)."""
    return impulse_response(cfg, rho, samples, engine).transfer()
