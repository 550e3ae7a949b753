"""Band against grid: where the injected signal's energy lies, and where the model holds.

Two limits bound the frequencies a run may use (device frequencies, after
time scaling and the drive chain of :mod:`designer.drive`):

* The template's material band ``[min_hz, max_hz]`` (transparency, single
  mode, ...; :class:`templates.BandSpec`), with its reason.
* The grid. Along a grid axis the leapfrog scheme with the (2d+1)-point
  Laplacian obeys sin(w dt / 2) = nu sin(k h / 2), nu = c dt / h, in 2D and
  3D alike, and that direction has the largest error (for nu^2 <= 1/d). At N
  cells per wavelength the phase velocity is

      v_num / v = 2 asin(nu sin(pi / N)) / (2 pi nu / N) < 1,

  so the error 1 - v_num / v falls as N grows. The resolved frequency is the
  one where the slowest material (the smallest nu, the largest error) still
  has the template's ``phase_error``: f_res = c_min / (N_min h).

  A spectral template (:mod:`designer.physics.spectral`) has no time step:
  its relation is the nu -> 0 limit, v_num / v = sin(pi / N) / (pi / N), and
  the slowest material is the densest one at the band's top frequency (a
  dispersive model says which, :func:`designer.physics.models.slowest_speed_m_per_s`).

The spectrum is the injected field's: after time scaling, the drive chain
and, for a carrier, the modulation (:meth:`designer.drive.Drive.spectrum`).
The valid band is ``[min_hz, min(max_hz, f_res)]``; a run whose signals put
more than ``max_share_outside`` of their energy outside it is refused, unless
the template is a labelled idealisation (then the figures are reported).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .config import Config
from .drive import drive_for
from .errors import ConfigError
from templates import C_VACUUM_M_PER_S

__all__ = ["BandReport", "band_report", "check_band", "phase_velocity_ratio", "min_cells_per_wavelength"]

MAX_SIGNALS = 400  # spectra averaged over at most this many signals (evenly spread)


def phase_velocity_ratio(cells_per_wavelength: float, courant: float) -> float:
    """v_num / v of the leapfrog scheme along a grid axis at N cells per wavelength and Courant number nu."""
    kh2 = math.pi / cells_per_wavelength
    if courant == 0.0:  # no time step: the spatial stencil alone
        return math.sin(kh2) / kh2
    return 2.0 * math.asin(courant * math.sin(kh2)) / (2.0 * courant * kh2)


def min_cells_per_wavelength(courant: float, phase_error: float) -> float:
    """The smallest N with 1 - v_num / v <= phase_error (bisection; the error falls with N)."""
    lo, hi = 2.0, 2.0
    while 1.0 - phase_velocity_ratio(hi, courant) > phase_error:
        lo, hi = hi, 2.0 * hi
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if 1.0 - phase_velocity_ratio(mid, courant) > phase_error else (lo, mid)
    return hi


@dataclass(frozen=True)
class BandReport:
    """The injected signals' spectrum against the valid band, in device Hz (signal Hz = device Hz / time_scale)."""

    step_rate_hz: float
    time_scale: float
    courant_slowest: float
    cells_per_wavelength: float
    phase_error: float
    resolved_hz: float
    band_min_hz: float
    band_max_hz: float
    band_reason: str
    share_inside: float
    share_above_resolved: float
    max_share_outside: float
    median_hz: float
    p10_hz: float
    p90_hz: float
    idealised: str
    signals: int
    share_below_min: float = 0.0
    band_min_reason: str = ""
    modulation: str = "none"
    carrier_hz: float = 0.0

    @property
    def ok(self) -> bool:
        return 1.0 - self.share_inside <= self.max_share_outside

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}

    def _edges(self) -> str:
        text = f"{self.band_min_hz:.4g}-{self.band_max_hz:.4g} Hz"
        if self.modulation != "none":  # optics: the vacuum wavelengths too
            text += f" ({_um(self.band_max_hz):.4g}-{_um(self.band_min_hz):.4g} um, carrier {_um(self.carrier_hz):.4g} um, " \
                    f"{self.modulation})"
        return text

    def line(self) -> str:
        """One line for a terminal."""
        return (f"{100 * self.share_inside:.1f} % of the signal energy inside the valid band "
                f"{self._edges()} (grid resolves {self.resolved_hz:.4g} Hz at "
                f"{self.cells_per_wavelength:.1f} cells per wavelength for {100 * self.phase_error:g} % phase error); "
                f"energy median {self.median_hz:.4g} Hz, 10-90 % {self.p10_hz:.4g}-{self.p90_hz:.4g} Hz")


def _um(hz: float) -> float:
    return C_VACUUM_M_PER_S / hz * 1e6 if hz > 0 else math.inf


def _spectrum(signals, cfg: Config, refine: int) -> tuple[np.ndarray, np.ndarray, float]:
    drive = drive_for(cfg, refine)
    picked = signals if len(signals) <= MAX_SIGNALS else [signals[i] for i in
                                                          np.linspace(0, len(signals) - 1, MAX_SIGNALS).astype(int)]
    longest = max(len(x) for x in picked) * drive.factor
    n = 1 << max(8, math.ceil(math.log2(longest)))
    total, freq = 0.0, None
    for x in picked:
        freq, energy = drive.spectrum(drive.numpy(np.asarray(x, dtype=np.float64)), n)
        total = total + energy
    return freq, total, drive.step_rate_hz


def band_report(signals, cfg: Config, refine: int = 1) -> BandReport:
    """Where the energy of ``signals`` (sequences at ``cfg.data.sample_rate_hz``), as injected, lies."""
    t = cfg.template
    freq, power, rate = _spectrum(signals, cfg, refine)
    cumulative = np.cumsum(power) / max(power.sum(), 1e-300)
    from .physics.models import slowest_speed_m_per_s

    h = t.cell_size_m / refine
    dt = cfg.dt_s / refine
    slowest = slowest_speed_m_per_s(cfg)
    nu_slow = 0.0 if t.spectral else slowest * dt / h
    cells = min_cells_per_wavelength(nu_slow, t.band.phase_error)
    resolved = slowest / (cells * h)
    lo, hi = t.band.min_hz, min(t.band.max_hz, resolved)

    def below(f: float) -> float:
        return float(np.interp(f, freq, cumulative))

    def quantile(q: float) -> float:
        return float(freq[min(np.searchsorted(cumulative, q), len(freq) - 1)])

    reason = t.band.reason if t.band.max_hz <= resolved else "the grid's resolution"
    return BandReport(
        step_rate_hz=rate, time_scale=cfg.time_scale, courant_slowest=nu_slow, cells_per_wavelength=cells,
        phase_error=t.band.phase_error, resolved_hz=resolved, band_min_hz=lo, band_max_hz=hi, band_reason=reason,
        share_inside=below(hi) - below(lo), share_above_resolved=1.0 - below(resolved),
        max_share_outside=t.band.max_share_outside, median_hz=quantile(0.5), p10_hz=quantile(0.1),
        p90_hz=quantile(0.9), idealised=t.band.idealised, signals=len(signals), share_below_min=below(lo),
        band_min_reason=t.band.min_reason, modulation=t.drive.modulation, carrier_hz=t.drive.carrier_hz)


def check_band(report: BandReport, cfg: Config) -> str | None:
    """Refuse (ConfigError) a run whose signals lie outside the valid band; a warning line for idealised templates."""
    if report.ok:
        return None
    outside = 100 * (1.0 - report.share_inside)
    lower = (f"; {100 * report.share_below_min:.1f} % lies below the lower edge"
             + (f" ({report.band_min_reason})" if report.band_min_reason else "")) if report.band_min_hz > 0 else ""
    message = (f"{outside:.1f} % of the injected signal energy lies outside the valid band "
               f"{report._edges()} (limit {100 * report.max_share_outside:g} %{lower}; "
               f"upper edge: {report.band_reason}; {report.share_above_resolved * 100:.1f} % lies above the "
               f"{report.resolved_hz:.4g} Hz the grid resolves with {report.cells_per_wavelength:.1f} cells per "
               f"wavelength in the slowest material, energy median {report.median_hz:.4g} Hz)")
    if report.idealised:
        return f"warning: template {cfg.template.name} is idealised ({report.idealised}): {message}"
    remedy = ("change [simulation] time_scale or the template's [source] lowpass_hz and carrier_um"
              if report.modulation != "none" else
              "lower [source] lowpass_hz in the template, add steps_per_sample, or use finer cells")
    raise ConfigError(f"{cfg.source_file}: data: {message}; {remedy}")
