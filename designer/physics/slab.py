"""Silicon-on-insulator materials and the TE modes of a symmetric slab: the dispersion a chip has.

Refractive indices (wavelength in micrometres, room temperature):

* silicon: H. H. Li, "Refractive index of silicon and germanium and its
  wavelength and temperature derivatives", J. Phys. Chem. Ref. Data 9, 561
  (1980), the 293 K Sellmeier form n^2 = eps + A / lam^2 + B lam1^2 / (lam^2 - lam1^2),
  valid 1.2-14 um;
* fused silica: I. H. Malitson, "Interspecimen comparison of the refractive
  index of fused silica", J. Opt. Soc. Am. 55, 1205 (1965), valid 0.21-3.7 um.

The slab: a core of thickness d between two half-spaces of cladding. Its TE_m
mode has the effective index n solving the transverse resonance condition

    kappa d = m pi + 2 atan(gamma / kappa),
    kappa = k0 sqrt(n_core^2 - n^2),  gamma = k0 sqrt(n^2 - n_clad^2),

(Marcuse, Theory of Dielectric Optical Waveguides, 1974, ch. 1); TE_m is
guided above its cutoff wavelength lam_m = 2 d sqrt(n_core^2 - n_clad^2) / m.
The group index is n_g = n - lam dn/dlam, material dispersion included.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

__all__ = ["MATERIALS", "refractive_index", "slab_te_index", "slab_group_index", "te_cutoff_um",
           "loss_per_m", "C_VACUUM_M_PER_S"]

C_VACUUM_M_PER_S = 299_792_458.0


def silicon_li1980(lam_um):
    """n of crystalline silicon at 293 K (Li 1980), lam in um (1.2-14 um)."""
    lam2 = np.asarray(lam_um, dtype=float) ** 2
    lam1 = 1.1071
    return np.sqrt(11.6858 + 0.939816 / lam2 + 0.00810461 * lam1**2 / (lam2 - lam1**2))


def silica_malitson1965(lam_um):
    """n of fused silica (Malitson 1965), lam in um (0.21-3.7 um)."""
    lam2 = np.asarray(lam_um, dtype=float) ** 2
    terms = ((0.6961663, 0.0684043), (0.4079426, 0.1162414), (0.8974794, 9.896161))
    return np.sqrt(1.0 + sum(b * lam2 / (lam2 - c * c) for b, c in terms))


MATERIALS = {"silicon-li1980": (silicon_li1980, (1.2, 14.0)), "silica-malitson1965": (silica_malitson1965, (0.21, 3.7))}
"""Sellmeier fits by name: (n(lam_um), the wavelength range in um where the fit holds)."""


def refractive_index(name: str, lam_um):
    """n of the material ``name`` (a key of MATERIALS) at ``lam_um``; outside the fit's range is an error."""
    if name not in MATERIALS:
        raise ValueError(f"unknown material {name!r}; expected one of: {', '.join(MATERIALS)}")
    fn, (lo, hi) = MATERIALS[name]
    lam = np.asarray(lam_um, dtype=float)
    if lam.size and (lam.min() < lo or lam.max() > hi):
        raise ValueError(f"{name}: wavelength {lam.min():.4g}-{lam.max():.4g} um outside its fit's {lo}-{hi} um")
    return fn(lam)


def te_cutoff_um(order: int, thickness_um: float, core: str, cladding: str) -> float:
    """Cutoff wavelength of TE_order (order >= 1) of the symmetric slab: TE_order is guided below it."""
    def excess(lam):
        na = float(refractive_index(core, lam)) ** 2 - float(refractive_index(cladding, lam)) ** 2
        return 2 * math.pi / lam * thickness_um * math.sqrt(na) - order * math.pi

    return brentq(excess, 1.2, 3.7, xtol=1e-12)


def _te_index(lam: float, d: float, n1: float, n2: float, order: int) -> float:
    k0 = 2 * math.pi / lam

    def resonance(n):
        kappa, gamma = k0 * math.sqrt(n1 * n1 - n * n), k0 * math.sqrt(n * n - n2 * n2)
        return kappa * d - order * math.pi - 2 * math.atan2(gamma, kappa)

    lo, hi = n2 * (1 + 1e-13), n1 * (1 - 1e-13)
    if resonance(lo) < 0:
        return math.nan  # not guided
    return brentq(resonance, lo, hi, xtol=1e-15)


def slab_te_index(lam_um, thickness_um: float, core: str, cladding: str, order: int = 0):
    """Effective index of TE_order at each wavelength (NaN where it is not guided)."""
    lam = np.atleast_1d(np.asarray(lam_um, dtype=float))
    n1, n2 = refractive_index(core, lam), refractive_index(cladding, lam)
    out = np.array([_te_index(float(l), thickness_um, float(a), float(b), order) for l, a, b in zip(lam, n1, n2)])
    return out if np.ndim(lam_um) else float(out[0])


def slab_group_index(lam_um, thickness_um: float, core: str, cladding: str, step_um: float = 1e-4):
    """n_g = n - lam dn/dlam of TE0 (central difference), material and waveguide dispersion."""
    lam = np.asarray(lam_um, dtype=float)
    n = slab_te_index(lam, thickness_um, core, cladding)
    up = slab_te_index(lam + step_um, thickness_um, core, cladding)
    down = slab_te_index(lam - step_um, thickness_um, core, cladding)
    return n - lam * (up - down) / (2 * step_um)


def loss_per_m(db_per_cm: float) -> float:
    """Power attenuation coefficient alpha (1/m) of a loss in dB/cm: P(z) = P0 exp(-alpha z)."""
    return db_per_cm * 100.0 * math.log(10.0) / 10.0
