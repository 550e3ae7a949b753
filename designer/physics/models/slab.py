"""Slab: a silicon-on-insulator chip in 2D, per frequency, with the TE0 mode's dispersion and loss.

Each region is a medium of its own complex index at every frequency f_k of
the band (:mod:`designer.physics.slab`): the etched-away region the
cladding's bulk index, the slab the TE0 effective index n_eff(lambda) of the
template's thickness, each with its propagation loss as an imaginary part
n'' = alpha lambda / (4 pi) (alpha the power attenuation). The design density
interpolates the permittivity, eps(x) = eps_clad + rho (eps_slab - eps_clad),
and the engine solves the Helmholtz equation div(grad U) + mu U = -s per
frequency (:mod:`designer.physics.spectral`), in a stretched-coordinate
PML whose damping rate sigma = absorber_strength / dt matches the time-domain
sponge's peak. Frequencies: uniform nodes over the template's band,
``slab.node_spacing_hz`` apart (``refine`` times closer on a refined grid).

Polarisation (``slab.polarisation``). "hz": the field is H_z, normal to the
chip, which is what the slab's TE0 mode carries (its electric field lies in
the plane), so the 2D equation is div(eps^-1 grad H) + k0^2 H = 0 and the
etched walls see TM-type conditions (H and eps^-1 dH/dn continuous); the
face coefficients are the harmonic means of 1 / eps of the two cells. "ez":
the scalar Helmholtz equation div(grad U) + k0^2 eps U = 0 (the field and its
normal derivative continuous), the reduction of ceviche and of Hughes et al.
2018. The two agree at normal incidence up to the reflection's sign and
differ at oblique incidence (Brewster's angle exists only for "hz").

The stencil's dispersion. With q = (k h)^2 = (2 pi f h / c)^2 eps, a plane
wave on the 5-point stencil has 4 sin^2(k_x h / 2) + 4 sin^2(k_y h / 2) = mu;
averaged over directions the left side is (k h)^2 - (k h)^4 / 16 + O(h^6), so
mu = q - q^2 / 16 ("ez"; k0^2 h^2 (1 - q / 16) for "hz", the same in a
uniform medium) makes the direction-averaged wave number the physical one
(a modified-wavenumber correction, as in dispersion-optimised FD schemes,
e.g. Jo, Shin & Suh, Geophysics 61, 529, 1996). What remains is the
stencil's anisotropy, +-(k h)^2 / 96 in phase velocity: 0.47 % at 9.7 cells
per wavelength (the slab at 1.42 um, 50 nm cells) instead of 1.7 % uncorrected.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from ...config import Config
from ..layout import Layout
from ..slab import C_VACUUM_M_PER_S, loss_per_m, refractive_index, slab_te_index
from ..spectral import SpectralMedium, pml_faces

__all__ = ["build", "local_speed", "nodes_hz", "indices", "slowest_speed"]


def nodes_hz(cfg: Config, refine: int = 1) -> np.ndarray:
    """The solve frequencies (K,): uniform over the band, at least 2."""
    b, spacing = cfg.template.band, cfg.template.slab.node_spacing_hz / refine
    count = max(2, round((b.max_hz - b.min_hz) / spacing) + 1)
    return np.linspace(b.min_hz, b.max_hz, count)


@functools.lru_cache(maxsize=64)
def _indices(thickness_um: float, core: str, cladding: str, core_db: float, clad_db: float,
             freqs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    lam_m = C_VACUUM_M_PER_S / np.asarray(freqs)
    lam_um = lam_m * 1e6
    n_slab = slab_te_index(lam_um, thickness_um, core, cladding)
    n_clad = refractive_index(cladding, lam_um)
    return (n_slab + 1j * loss_per_m(core_db) * lam_m / (4 * math.pi),
            n_clad + 1j * loss_per_m(clad_db) * lam_m / (4 * math.pi))


@functools.lru_cache(maxsize=16)
def _shipped_speeds(name: str) -> tuple[float, float] | None:
    from templates import TemplateError, load_template

    try:
        t = load_template(name)
    except TemplateError:
        return None
    return t.material.speed_m_per_s, t.background.speed_m_per_s


def indices(cfg: Config, freqs_hz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Complex indices (K,) of the slab's TE0 mode and of the cladding at ``freqs_hz``.

    A material whose wave speed differs from the shipped template's (``designer
    verify --contrast``, ``training.speed_jitter``) scales its index by the
    inverse ratio, at every frequency.
    """
    s, t = cfg.template.slab, cfg.template
    n_slab, n_clad = _indices(s.thickness_m * 1e6, s.core, s.cladding, s.core_loss_db_per_cm,
                              s.cladding_loss_db_per_cm, tuple(float(f) for f in freqs_hz))
    shipped = _shipped_speeds(t.name)
    if shipped is None:
        return n_slab, n_clad
    return n_slab * (shipped[0] / t.material.speed_m_per_s), n_clad * (shipped[1] / t.background.speed_m_per_s)


def _permittivity(rho: torch.Tensor, cfg: Config, freqs: np.ndarray) -> torch.Tensor:
    n_slab, n_clad = indices(cfg, freqs)
    e_slab = torch.as_tensor(n_slab**2, device=rho.device)[:, None, None]
    e_clad = torch.as_tensor(n_clad**2, device=rho.device)[:, None, None]
    return e_clad + (e_slab - e_clad) * rho.to(torch.complex128)[None]


def local_speed(rho: torch.Tensor, cfg: Config) -> torch.Tensor:
    """Phase velocity c / Re(n) at the band's centre frequency, in m/s."""
    centre = np.array([0.5 * (cfg.template.band.min_hz + cfg.template.band.max_hz)])
    return (C_VACUUM_M_PER_S / torch.sqrt(_permittivity(rho.double(), cfg, centre)[0]).real).to(rho.dtype)


def slowest_speed(cfg: Config) -> float:
    """The slowest phase velocity over the band (the slab at the band's top frequency), m/s."""
    n_slab, n_clad = indices(cfg, nodes_hz(cfg))
    return C_VACUUM_M_PER_S / float(max(n_slab.real.max(), n_clad.real.max()))


def _harmonic_faces(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Face values of the cell values ``q`` (K, nx, ny): harmonic means inside, the cell's own on the boundary."""
    def along(axis: int) -> torch.Tensor:
        n = q.shape[axis]
        lo, hi = q.narrow(axis, 0, n - 1), q.narrow(axis, 1, n - 1)
        inner = 2.0 * lo * hi / (lo + hi)
        return torch.cat([q.narrow(axis, 0, 1), inner, q.narrow(axis, n - 1, 1)], dim=axis)

    return along(1), along(2)


def build(rho: torch.Tensor, cfg: Config, layout: Layout, freqs_hz: np.ndarray | None = None) -> SpectralMedium:
    """The spectral medium for density ``rho`` on ``layout``'s grid: mass (K, nx, ny) and faces, in a PML.

    freqs_hz: the frequencies to solve at (default :func:`nodes_hz`).
    """
    freqs = nodes_hz(cfg, layout.refine) if freqs_hz is None else np.asarray(freqs_hz, dtype=float)
    g, h = cfg.grid, cfg.template.cell_size_m / layout.refine
    omega = 2 * math.pi * freqs
    sigma = g.absorber_strength / cfg.dt_s  # peak damping rate, the same on a refined grid
    (sx_faces, sy_faces), cells = pml_faces(tuple(rho.shape), g.absorber_cells * layout.refine, sigma / omega,
                                            g.absorber_order)
    stretch = torch.as_tensor(cells, device=rho.device)
    k0h2 = torch.as_tensor((omega * h / C_VACUUM_M_PER_S) ** 2, device=rho.device)[:, None, None]
    eps = _permittivity(rho, cfg, freqs)
    q = k0h2 * eps
    if cfg.template.slab.polarisation == "ez":
        return SpectralMedium((q - q * q / 16.0) * stretch, (sx_faces, sy_faces), cells, freqs)
    # Hz: div(eps^-1 grad H) + k0^2 H = 0; faces carry the harmonic mean of 1 / eps (the normal
    # component of eps^-1 grad H is continuous through the two half cells), times the PML's factors.
    fx, fy = _harmonic_faces(1.0 / eps)
    faces = (fx * torch.as_tensor(sx_faces, device=rho.device), fy * torch.as_tensor(sy_faces, device=rho.device))
    return SpectralMedium(k0h2 * (1.0 - q / 16.0) * stretch, faces, cells, freqs)
