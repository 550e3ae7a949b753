"""Spectral figures: the inputs' mean spectra per class, spectrograms, and the probes' transfer spectra.

Every frequency axis shows the signal's frequency (bottom or left) and the
device's, time_scale times higher (top or right), on a carrier the carrier
plus that (and the vacuum wavelength); every time axis the signal's and the
device's time.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from scipy.ndimage import uniform_filter1d
from scipy.signal import spectrogram, welch

from templates import C_VACUUM_M_PER_S

from ..readout import probe_labels
from .frequency_domain import SpectralTransfer
from .plotting import colour_bar, device_axis, new_figure, si_scale
from .simulate import Clock, Transfer

__all__ = ["class_spectra", "class_spectra_figure", "spectrogram_figure", "transfer_figure",
           "node_transfer_figure"]

FLOOR_DB = -60.0  # spectra are drawn down to this far below their peak
SMOOTH_BINS = 160  # the transfer spectra's bold curves: a running mean over 1/160 of the band


def _db(power: np.ndarray, reference: float) -> np.ndarray:
    return 10 * np.log10(np.maximum(power / reference, 10 ** (FLOOR_DB / 10)))


def class_spectra(signals: list[np.ndarray], labels: np.ndarray, n_classes: int,
                  sample_rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean Welch power spectral density per class: frequencies (F,) in signal Hz and PSDs (K, F).

    Each signal's PSD (Hann segments of up to 256 samples, half overlap) is
    averaged over the class; a class with no signal is all zero.
    """
    n = int(min(256, min(len(s) for s in signals)))
    freq = np.fft.rfftfreq(n, 1.0 / sample_rate_hz)
    out = np.zeros((n_classes, len(freq)))
    counts = np.zeros(n_classes)
    for s, y in zip(signals, labels):
        out[y] += welch(np.asarray(s, float), fs=sample_rate_hz, nperseg=n)[1]
        counts[y] += 1
    return freq, out / np.maximum(counts, 1)[:, None]


def _freq_axes(ax, clock: Clock, max_signal_hz: float) -> float:
    """Label ``ax``'s x axis in signal frequency; the top axis in device frequency. Returns the x scale used."""
    scale, label = si_scale(max_signal_hz, "Hz")
    ax.set_xlabel(f"frequency ({label}, signal)")
    device_axis(ax, scale * clock.time_scale, max_signal_hz / scale, "frequency", "Hz", offset=clock.carrier_hz)
    return scale


def class_spectra_figure(freq_hz: np.ndarray, psd: np.ndarray, classes: tuple[str, ...], clock: Clock,
                         band: dict | None, title: str) -> Figure:
    """Mean power spectrum of each class's inputs in dB, with the model's valid band shaded."""
    fig = new_figure(8.0, 4.4)
    ax = fig.subplots()
    scale = _freq_axes(ax, clock, float(freq_hz[-1]))
    reference = float(psd.max()) or 1.0
    for k, name in enumerate(classes):
        ax.plot(freq_hz / scale, _db(psd[k], reference), lw=1.2, label=name)
    if band:
        lo, hi = ((band[k] - clock.carrier_hz) / clock.time_scale for k in ("band_min_hz", "band_max_hz"))
        ax.axvspan(max(lo, 0.0) / scale, min(hi, freq_hz[-1]) / scale, color="tab:green", alpha=0.08,
                   label="valid band of the model")
    ax.set(ylabel="power spectral density (dB re peak)", ylim=(FLOOR_DB, 3), xlim=(0, freq_hz[-1] / scale))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="class", title_fontsize=8, ncols=2 if len(classes) > 6 else 1)
    ax.set_title(title)
    return fig


def spectrogram_figure(signals: list[np.ndarray], captions: list[str], clock: Clock, title: str) -> Figure:
    """One spectrogram per signal (dB re each one's peak), signal and device time and frequency on the axes."""
    cols = min(len(signals), 3)
    rows = -(-len(signals) // cols)
    fig = new_figure(4.6 * cols, 3.6 * rows + 0.5)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    fs = clock.sample_rate_hz
    for ax, s, caption in zip(axes, signals, captions):
        n = int(min(128, len(s)))
        f, t, sxx = spectrogram(np.asarray(s, float), fs=fs, nperseg=n, noverlap=n * 3 // 4)
        fscale, flabel = si_scale(fs / 2, "Hz")
        image = ax.pcolormesh(1e3 * t, f / fscale, _db(sxx, float(sxx.max()) or 1.0), shading="auto",
                              cmap="magma", vmin=FLOOR_DB, vmax=0)
        ax.set(xlabel="time (ms, signal)", ylabel=f"frequency ({flabel}, signal)", title=caption)
        device_axis(ax, 1e-3 / clock.time_scale, 1e3 * len(s) / fs, "time", "s")
        colour_bar(fig, ax, image, label="dB re peak")
    for ax in axes[len(signals):]:
        ax.set_visible(False)
    fig.suptitle(title)
    return fig


def transfer_figure(transfer: Transfer, classes: tuple[str, ...], title: str) -> Figure:
    """|H_p(f)|^2 of each probe in dB re the largest, over the signal band (signal and device frequency).

    Faint: the spectrum itself; bold: its running mean over 1/160 of the
    band, which is what a broadband input's power weighs.
    """
    fig = new_figure(8.0, 4.4)
    ax = fig.subplots()
    f = transfer.signal_hz
    scale = _freq_axes(ax, transfer.clock, float(f[-1]))
    reference = float(transfer.power.max()) or 1.0
    width = max(1, len(f) // SMOOTH_BINS)
    names = probe_labels(classes, len(transfer.power))
    for p, curve in enumerate(transfer.power):
        name = names[p]
        line, = ax.plot(f / scale, _db(curve, reference), lw=0.6, alpha=0.35)
        ax.plot(f / scale, _db(uniform_filter1d(curve, width), reference), lw=1.5, color=line.get_color(),
                label=f"probe {name}")
    ax.set(ylabel="|H_p(f)|² (dB re largest)", ylim=(FLOOR_DB, 3), xlim=(0, f[-1] / scale))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncols=2 if len(classes) > 6 else 1)
    ax.set_title(title)
    return fig


def _optical_axes(ax, transfer: SpectralTransfer, scale: float) -> None:
    """Top axes of a carrier's spectrum drawn against signal frequency / ``scale``: optical frequency and wavelength."""
    def hz(x):
        return transfer.carrier_hz + np.asarray(x, float) * scale * transfer.time_scale

    def back(f_hz):
        return (np.asarray(f_hz, float) - transfer.carrier_hz) / (scale * transfer.time_scale)

    def reciprocal(v):  # f <-> lambda; matplotlib may probe values beyond the drawn range
        with np.errstate(divide="ignore", invalid="ignore"):
            return C_VACUUM_M_PER_S * 1e6 / np.asarray(v, float)

    optical = ax.secondary_xaxis("top", functions=(lambda x: hz(x) / 1e12, lambda t: back(np.asarray(t) * 1e12)))
    optical.set_xlabel("optical frequency (THz, device)")
    wavelength = ax.secondary_xaxis(1.22, functions=(lambda x: reciprocal(hz(x)), lambda um: back(reciprocal(um))))
    wavelength.set_xlabel("vacuum wavelength (µm)")


def node_transfer_figure(transfer: SpectralTransfer, classes: tuple[str, ...], title: str) -> Figure:
    """|H_p(f_k)|^2 of each probe in dB re the largest, one dot per solve frequency.

    Bottom axis: the signal frequency that lands at each node; top axes: its
    optical frequency and vacuum wavelength. The lines join the nodes: training
    takes the transfer as linear in power between them.
    """
    fig = new_figure(8.0, 4.8)
    ax = fig.subplots()
    f = transfer.signal_hz
    scale, label = si_scale(float(np.abs(f).max()), "Hz")
    reference = float(transfer.power.max()) or 1.0
    names = probe_labels(classes, len(transfer.power))
    for p, curve in enumerate(transfer.power):
        name = names[p]
        ax.plot(f / scale, _db(curve, reference), lw=1.3, marker="o", ms=3, label=f"probe {name}")
    if f[0] <= 0.0 <= f[-1] and transfer.carrier_hz:
        ax.axvline(0.0, color="0.4", lw=0.8, ls="--", label="carrier")
    ax.set(xlabel=f"frequency ({label}, signal)", ylabel="|H_p(f)|² (dB re largest)", ylim=(FLOOR_DB, 3),
           xlim=(f[0] / scale, f[-1] / scale))
    _optical_axes(ax, transfer, scale)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncols=2 if len(classes) > 6 else 1)
    ax.set_title(title)
    return fig
