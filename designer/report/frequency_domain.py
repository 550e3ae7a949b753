"""The report's simulations for a spectral template, from the solves training runs (:mod:`designer.physics.spectral`).

Transfer: |H_p(f_k)|^2 of each probe at the template's solve frequencies
f_k, from :func:`~designer.physics.spectral.spectral_power` with one unit of
injected energy at each node in turn. A signal's probe power is then, by
Parseval (ring-down included), sum_k w_k |H_p(f_k)|^2, w_k the injected
field's energy near f_k (:meth:`designer.drive.Drive.node_weights`): exactly
what training computes. Fields: the time-integrated intensity
sum_k w_k |U_k|^2 at every cell (:func:`~designer.physics.spectral.field_intensity`),
the counterpart of the time engines' sum over steps of u^2. A solve per
frequency has no time axis, so there are no snapshots or running integrals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from templates import C_VACUUM_M_PER_S

from ..config import Config
from ..drive import drive_for
from ..physics import build_medium, layout_from_config
from ..physics.spectral import SpectralMedium, field_intensity, spectral_power
from ..readout import READOUTS, Readout, readout_for
from .simulate import DTYPES

__all__ = ["SpectralTransfer", "IntensityMaps", "node_weights", "transfer_at_nodes", "intensity_maps"]


@dataclass(frozen=True)
class SpectralTransfer:
    """|H_p(f_k)|^2 per probe (P, K) at the solve frequencies ``device_hz`` (K,), optical (device) Hz.

    power_p = sum_k w_k power[p, k] for a signal whose injected energy near
    f_k is w_k. carrier_hz: the drive's carrier (0 for a baseband drive);
    time_scale: device frequency per signal frequency. Units: (probe field
    per unit source amplitude)^2 per unit of the drive's spectral energy.
    """

    device_hz: np.ndarray
    power: np.ndarray
    carrier_hz: float
    time_scale: float

    @property
    def signal_hz(self) -> np.ndarray:
        """(K,) the signal frequency that lands at each node, (f - f_c) / time_scale (the upper sideband)."""
        return (self.device_hz - self.carrier_hz) / self.time_scale

    @property
    def wavelength_m(self) -> np.ndarray:
        """(K,) vacuum wavelength of each node."""
        return C_VACUUM_M_PER_S / self.device_hz

    def probe_power(self, weights: np.ndarray) -> np.ndarray:
        """(B, P) probe powers of signals with node energies ``weights`` (B, K)."""
        return np.asarray(weights, dtype=float) @ self.power.T


@dataclass(frozen=True)
class IntensityMaps:
    """Time-integrated intensity of a few recordings: maps (B, nx, ny), probe powers (B, P), true labels (B,)."""

    intensity: np.ndarray
    probe_power: np.ndarray
    labels: np.ndarray

    readout: Readout = READOUTS["intensity"]

    @property
    def predicted(self) -> np.ndarray:
        """(B,) class indices, through the run's readout."""
        return self.readout.predict(self.probe_power)


def _medium(cfg: Config, rho: np.ndarray):
    """The spectral medium of density ``rho`` (nx, ny), source and probe weights in the run's dtype, as training."""
    dtype = DTYPES[cfg.simulation.dtype]
    layout = layout_from_config(cfg)
    medium = build_medium(torch.as_tensor(np.asarray(rho, float), dtype=dtype), cfg, layout)
    if not isinstance(medium, SpectralMedium):
        raise ValueError(f"template {cfg.template.name} is not solved per frequency")
    return medium, layout.source_weights.to(dtype), layout.probe_weights.to(dtype)


def node_weights(cfg: Config, signals: list[np.ndarray], nodes_hz: np.ndarray) -> torch.Tensor:
    """(B, K) each signal's injected energy near each node: the signals (samples) as one zero-padded batch
    through the drive chain, as :func:`designer.train.probe_power` drives them."""
    drive = drive_for(cfg)
    batch = torch.zeros(len(signals), max(len(s) for s in signals), dtype=DTYPES[cfg.simulation.dtype])
    for b, s in enumerate(signals):
        batch[b, :len(s)] = torch.as_tensor(np.asarray(s, dtype=np.float64), dtype=batch.dtype)
    return drive.node_weights(drive(batch), nodes_hz)


@torch.no_grad()
def transfer_at_nodes(cfg: Config, rho: np.ndarray) -> SpectralTransfer:
    """|H_p(f_k)|^2 of the device ``rho`` (nx, ny) at every solve frequency: one solve per node."""
    medium, source, probes = _medium(cfg, rho)
    unit = torch.eye(medium.frequencies, dtype=torch.float64)  # row k: unit energy at node k alone
    per_node = spectral_power(medium, source, probes, unit)  # (K, P)
    d = cfg.template.drive
    return SpectralTransfer(np.asarray(medium.frequencies_hz, float), per_node.numpy().T.copy(),
                            d.carrier_hz if d.modulation != "none" else 0.0, cfg.time_scale)


@torch.no_grad()
def intensity_maps(cfg: Config, rho: np.ndarray, signals: list[np.ndarray], labels: np.ndarray) -> IntensityMaps:
    """Time-integrated intensity of each signal on the device ``rho`` (nx, ny); probe powers from the maps."""
    medium, source, probes = _medium(cfg, rho)
    weights = node_weights(cfg, signals, medium.frequencies_hz)
    maps = field_intensity(medium, source, weights.double())
    power = torch.einsum("bxy,pxy->bp", maps, probes.double())
    return IntensityMaps(maps.numpy(), power.numpy(), np.asarray(labels), readout_for(cfg))
