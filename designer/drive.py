"""The source's drive chain: signal samples in, the injected waveform at the simulation's step rate out.

A signal sampled at ``sample_rate_hz``, time-scaled by ``time_scale``, is
played into the device at ``sample_rate_hz * time_scale`` samples per second.
The simulation takes ``K = steps_per_sample`` (times a verify refinement)
steps per sample, so the chain resamples by K (polyphase, scipy's
anti-imaging FIR) and then band-limits the result with the template's
low-pass and high-pass (causal Butterworth filters, as drive electronics and
a transducer are), which are part of the device: training, verify and the 3D
check all inject exactly this waveform. With K = 1 and no filter the chain is
the identity.
Before the chain, the drive electronics may pre-emphasise the signal
(``[simulation] preemphasis`` = a): y[n] = x[n] - a x[n-1] on its samples,
|1 - a e^{-i w}|^2 in power, from (1 - a)^2 at DC to (1 + a)^2 at Nyquist
(+6 dB per octave between). Voiced speech falls by about that much above
its first formant, so the higher formants reach the part at levels near
the first's, and a passive part, whose probe weights span a finite range of
levels, can weigh them (the classic speech-analysis pre-emphasis, a =
0.95-0.97).
A template may instead carry the signal on an optical carrier (``[source]
modulation``): the low-passed signal y(t), time-scaled, is then the envelope
of the injected field, at frequency f_c + f (single sideband, an IQ
modulator driven by y and its Hilbert transform: E = y cos(w_c t) - H[y]
sin(w_c t)) or f_c +- f (double sideband, E = y cos(w_c t)). The chain
runs at the envelope's own rate (one value per sample, K = 1) and the
spectral engine (:mod:`designer.physics.spectral`) receives each sample's
energy per optical frequency, :meth:`Drive.node_weights`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.signal import butter, lfilter, resample_poly, sosfilt

from .config import Config

__all__ = ["Drive", "drive_for"]


@dataclass(frozen=True)
class Drive:
    """Pre-emphasise by ``preemphasis`` (0: none), resample by ``factor``, then low-pass at ``lowpass_hz`` and
    high-pass at ``highpass_hz`` (0: none)."""

    factor: int
    lowpass_hz: float
    lowpass_order: int
    step_rate_hz: float
    highpass_hz: float = 0.0
    highpass_order: int = 2
    modulation: str = "none"
    carrier_hz: float = 0.0
    preemphasis: float = 0.0

    @property
    def identity(self) -> bool:
        return self.factor == 1 and not self.lowpass_hz and not self.highpass_hz and not self.preemphasis

    def spectrum(self, y: np.ndarray, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
        """Injected field's energy per frequency bin of already-driven ``y`` (..., T): (freq_hz (F,), energy (..., F)).

        Baseband: the one-sided |FFT|^2 at the step rate. Modulated: the
        envelope's spectrum moved to the carrier (SSB: f_c + f with |Y|^2;
        DSB: f_c - f and f_c + f with |Y|^2 / 4 each). Only ratios matter.
        """
        energy = np.abs(np.fft.rfft(np.asarray(y, dtype=np.float64), n=n_fft, axis=-1)) ** 2
        freq = np.fft.rfftfreq(n_fft, 1.0 / self.step_rate_hz)
        if self.modulation == "ssb":
            return self.carrier_hz + freq, energy
        if self.modulation == "dsb":
            return (np.concatenate([self.carrier_hz - freq[::-1], self.carrier_hz + freq]),
                    0.25 * np.concatenate([energy[..., ::-1], energy], axis=-1))
        return freq, energy

    def node_weights(self, injected: torch.Tensor, nodes_hz: np.ndarray) -> torch.Tensor:
        """Each sample's energy on uniformly spaced frequency nodes (B, K), linear (hat) interpolation weights.

        With the transfer |H(f)|^2 linear between nodes, sum_k weights[b, k]
        |H(f_k)|^2 is the sample's time-integrated output energy (Parseval); a
        sample's energy outside the nodes' span is left out (the band check
        bounds it). ``injected``: (B, T) driven samples; zeros after a sample's
        end change nothing.
        """
        y = injected.detach().cpu().numpy().astype(np.float64)
        n_fft = 1 << max(10, int(np.ceil(np.log2(max(y.shape[-1], 2)))))
        freq, energy = self.spectrum(y, n_fft)
        step = float(nodes_hz[1] - nodes_hz[0])
        position = (freq - nodes_hz[0]) / step
        low = np.floor(position).astype(np.int64)
        frac = position - low
        count = len(nodes_hz)
        out = np.zeros((y.shape[0], count))
        for index, share in ((low, 1.0 - frac), (low + 1, frac)):
            keep = (index >= 0) & (index < count) & (position >= 0) & (position <= count - 1)
            for b in range(y.shape[0]):
                out[b] += np.bincount(index[keep], weights=energy[b, keep] * share[keep], minlength=count)
        return torch.as_tensor(out, dtype=injected.dtype, device=injected.device)

    def numpy(self, x: np.ndarray) -> np.ndarray:
        """(..., T) samples -> (..., T * factor) injected values, float64 internally, dtype kept."""
        if self.identity:
            return x
        y = np.asarray(x, dtype=np.float64)
        if self.preemphasis:
            y = lfilter([1.0, -self.preemphasis], [1.0], y, axis=-1)
        if self.factor > 1:
            y = resample_poly(y, self.factor, 1, axis=-1)
        if self.lowpass_hz and self.lowpass_hz < 0.5 * self.step_rate_hz:
            sos = butter(self.lowpass_order, self.lowpass_hz, fs=self.step_rate_hz, output="sos")
            y = sosfilt(sos, y, axis=-1)
        if self.highpass_hz:
            sos = butter(self.highpass_order, self.highpass_hz, btype="highpass", fs=self.step_rate_hz, output="sos")
            y = sosfilt(sos, y, axis=-1)
        return y.astype(np.asarray(x).dtype, copy=False)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The same on a (B, T) tensor (no gradient flows through the drive)."""
        if self.identity:
            return x
        return torch.as_tensor(self.numpy(x.detach().cpu().numpy()), dtype=x.dtype, device=x.device)


def drive_for(cfg: Config, refine: int = 1) -> Drive:
    """The drive chain of ``cfg`` on a grid ``refine`` times finer (``refine`` times more steps)."""
    d = cfg.template.drive
    # A modulated drive shapes the envelope, one value per sample; the field is solved per frequency.
    k = 1 if d.modulation != "none" else cfg.steps_per_sample * refine
    rate = cfg.data.sample_rate_hz * cfg.time_scale * k
    return Drive(factor=k, lowpass_hz=d.lowpass_hz, lowpass_order=d.lowpass_order, step_rate_hz=rate,
                 highpass_hz=d.highpass_hz, highpass_order=d.highpass_order, modulation=d.modulation,
                 carrier_hz=d.carrier_hz, preemphasis=cfg.simulation.preemphasis)
