"""The SOI platform's materials and slab modes against independent solutions, and the template's band."""
from __future__ import annotations

import math

import numpy as np
import pytest

from designer.physics.slab import refractive_index, slab_group_index, slab_te_index, te_cutoff_um
from templates import C_VACUUM_M_PER_S, load_template

SI, OX = "silicon-li1980", "silica-malitson1965"


def test_sellmeier_values_match_the_papers_tables():
    # The fits at 1.55 um: Li 1980 (293 K) 3.4764, Malitson 1965 1.44402.
    assert float(refractive_index(SI, 1.55)) == pytest.approx(3.4764, abs=2e-4)
    assert float(refractive_index(OX, 1.55)) == pytest.approx(1.44402, abs=5e-5)
    with pytest.raises(ValueError, match="outside its fit"):
        refractive_index(SI, 1.0)


def _finite_difference_modes(lam_um: float, d_um: float, count: int) -> np.ndarray:
    """Effective indices of the slab's first TE modes from a 1D finite-difference eigenproblem.

    E'' + k0^2 n(z)^2 E = beta^2 E on a fine grid with E = 0 far in the cladding:
    an independent numerical solution of the same physics.
    """
    h = 0.0005
    z = np.arange(-1.5, 1.5, h) + h / 2
    n2 = np.where(np.abs(z) < d_um / 2, refractive_index(SI, lam_um) ** 2, refractive_index(OX, lam_um) ** 2)
    k0 = 2 * math.pi / lam_um
    from scipy.sparse import diags
    from scipy.sparse.linalg import eigsh

    lap = diags([np.ones(z.size - 1), -2 * np.ones(z.size), np.ones(z.size - 1)], [-1, 0, 1]) / h**2
    op = lap + diags(k0**2 * n2)
    values = eigsh(op, k=count, sigma=(k0 * 3.6) ** 2, which="LM", return_eigenvectors=False)
    return np.sort(np.sqrt(values[values > (k0 * float(refractive_index(OX, lam_um))) ** 2]) / k0)[::-1]


@pytest.mark.parametrize("lam", [1.42, 1.55, 1.80])
def test_te0_index_matches_a_finite_difference_mode_solver(lam):
    fd = _finite_difference_modes(lam, 0.22, 3)
    assert slab_te_index(lam, 0.22, SI, OX) == pytest.approx(fd[0], abs=2e-4)
    assert len(fd) == 1  # single mode in the band: no TE1


def test_te1_appears_below_its_cutoff():
    cut = te_cutoff_um(1, 0.22, SI, OX)
    assert cut == pytest.approx(1.398, abs=1e-3)
    assert not math.isnan(slab_te_index(cut - 0.01, 0.22, SI, OX, order=1))
    assert math.isnan(slab_te_index(cut + 0.01, 0.22, SI, OX, order=1))
    assert len(_finite_difference_modes(1.30, 0.22, 3)) == 2


def test_group_index_is_the_derivative_of_the_phase():
    lam = np.array([1.45, 1.6, 1.75])
    omega = 2 * math.pi * C_VACUUM_M_PER_S / (lam * 1e-6)
    k = lambda w: slab_te_index(2 * math.pi * C_VACUUM_M_PER_S / w * 1e6, 0.22, SI, OX) * w / C_VACUUM_M_PER_S
    dk = (k(omega * (1 + 1e-5)) - k(omega * (1 - 1e-5))) / (2e-5 * omega)
    np.testing.assert_allclose(slab_group_index(lam, 0.22, SI, OX), dk * C_VACUUM_M_PER_S, rtol=1e-5)


def test_carrier_template_band_is_physically_right():
    """Transparent, single mode at the declared thickness, >= 8 cells per wavelength in the densest material."""
    t = load_template("photonic-soi-carrier")
    lam_min = C_VACUUM_M_PER_S / t.band.max_hz * 1e6
    lam_max = C_VACUUM_M_PER_S / t.band.min_hz * 1e6
    thickness_um = t.slab.thickness_m * 1e6
    assert lam_min > 1.1  # silicon's absorption edge
    assert lam_min > te_cutoff_um(1, thickness_um, t.slab.core, t.slab.cladding)
    n_top = slab_te_index(lam_min, thickness_um, t.slab.core, t.slab.cladding)
    assert lam_min / n_top / (t.cell_size_m * 1e6) >= 8.0
    n_edges = slab_te_index(np.array([lam_min, lam_max]), thickness_um, t.slab.core, t.slab.cladding)
    assert abs(n_edges[0] / n_edges[1] - 1) > 0.01  # so dispersion must be simulated, and it is
    assert t.spectral and not t.band.idealised
    assert t.band.min_hz <= t.drive.carrier_hz <= t.band.max_hz


def test_old_template_stays_labelled_idealised_and_dispersionless():
    t = load_template("photonic-soi")
    assert "dispersionless" in t.band.idealised and "IDEALISED" in t.description
    assert t.model == "speed" and not t.spectral
