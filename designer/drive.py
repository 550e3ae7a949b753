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
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.signal import butter, resample_poly, sosfilt

from .config import Config

__all__ = ["Drive", "drive_for"]


@dataclass(frozen=True)
class Drive:
    """Resample by ``factor``, then low-pass at ``lowpass_hz`` and high-pass at ``highpass_hz`` (0: none)."""

    factor: int
    lowpass_hz: float
    lowpass_order: int
    step_rate_hz: float
    highpass_hz: float = 0.0
    highpass_order: int = 2

    @property
    def identity(self) -> bool:
        return self.factor == 1 and not self.lowpass_hz and not self.highpass_hz

    def numpy(self, x: np.ndarray) -> np.ndarray:
        """(..., T) samples -> (..., T * factor) injected values, float64 internally, dtype kept."""
        if self.identity:
            return x
        y = np.asarray(x, dtype=np.float64)
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
    k = cfg.steps_per_sample * refine
    rate = cfg.data.sample_rate_hz * cfg.time_scale * k
    d = cfg.template.drive
    return Drive(factor=k, lowpass_hz=d.lowpass_hz, lowpass_order=d.lowpass_order, step_rate_hz=rate,
                 highpass_hz=d.highpass_hz, highpass_order=d.highpass_order)
