"""`designer report` on a carrier (spectral) run: transfer spectra and intensity maps from the per-frequency solves.

One tiny carrier run is trained for the module (float64, so the physics checks
hold to round-off); its report is written with fields on.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from matplotlib.backends.backend_agg import FigureCanvasAgg

from designer.cli import main
from designer.data import load_corpus
from designer.physics import layout_from_config
from designer.physics.models.slab import nodes_hz
from designer.report import spectra, write_report
from designer.report.frequency_domain import intensity_maps, node_weights, transfer_at_nodes
from designer.report.run import load_fold
from designer.report.sections import NO_TIME_AXIS
from designer.report.simulate import clock_of
from designer.train import make_problem, probe_power
from templates import C_VACUUM_M_PER_S
from tests.conftest import write_toml
from tests.photonic.carrier import carrier_data
from tests.report.test_report_cli import assert_not_blank, embedded_figures

CLASSES = ("ae", "ei", "iy")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("carrier-report")
    data = carrier_data()
    data["simulation"] = {"dtype": "float64"}
    out = root / "run"
    result = CliRunner().invoke(main, ["optimize", str(write_toml(root / "carrier.toml", data)), "--out", str(out),
                                       "--epochs", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def fold(run):
    return load_fold(run)


@pytest.fixture(scope="module")
def test_signals(fold):
    """Two full-length test recordings of the run, with their labels."""
    corpus = load_corpus(fold.cfg.data)
    picks = np.sort(fold.design.arrays["test_indices"])[:2]
    return [corpus.signals[i] for i in picks], corpus.labels[picks]


def _padded(signals) -> torch.Tensor:
    batch = torch.zeros(len(signals), max(len(s) for s in signals), dtype=torch.float64)
    for b, s in enumerate(signals):
        batch[b, :len(s)] = torch.as_tensor(s)
    return batch


def test_carrier_report_draws_transfer_and_intensity_and_says_why_no_time_figures(run):
    result = write_report(run, with_fields=True)
    figures = embedded_figures(result.html)
    for name in ("transfer", "fields", "fields-smooth-fabricated", "input-spectra"):
        assert f"{name}.png" in figures, name
        assert_not_blank(result.html.parent / f"{name}.png")
    for name in ("snapshots.png", "probe-signals.png", "fields-animation.gif"):
        assert name not in figures and not (result.html.parent / name).exists(), name
    text = result.html.read_text()
    assert escape(NO_TIME_AXIS) in text
    assert "Probe transfer spectra" in text and "Wave intensity" in text


def test_node_transfer_weighted_by_an_input_spectrum_is_the_trained_probe_power(fold, test_signals):
    """Parseval per node: sum_k w_k |H_p(f_k)|^2 with w_k the input's injected energy is what training computes."""
    cfg, rho = fold.cfg, fold.design.arrays["fabricated"]
    transfer = transfer_at_nodes(cfg, rho)
    np.testing.assert_allclose(transfer.device_hz, nodes_hz(cfg))
    assert transfer.power.shape == (len(CLASSES), len(transfer.device_hz)) and (transfer.power > 0).all()
    signals, _ = test_signals
    predicted = transfer.probe_power(node_weights(cfg, signals, transfer.device_hz).numpy())
    expected = probe_power(make_problem(cfg), torch.as_tensor(rho), _padded(signals)).numpy()
    np.testing.assert_allclose(predicted, expected, rtol=1e-6)
    # An audio frequency f lands at f_c + time_scale f (single sideband).
    np.testing.assert_allclose(cfg.template.drive.carrier_hz + transfer.signal_hz * cfg.time_scale,
                               transfer.device_hz, rtol=1e-12)


def test_intensity_maps_summed_over_the_probe_masks_are_the_trained_probe_powers(fold, test_signals):
    cfg, rho = fold.cfg, fold.design.arrays["rho"]
    signals, labels = test_signals
    maps = intensity_maps(cfg, rho, signals, labels)
    probes = layout_from_config(cfg).probe_weights.double().numpy()
    summed = np.einsum("bxy,pxy->bp", maps.intensity, probes)
    expected = probe_power(make_problem(cfg), torch.as_tensor(rho), _padded(signals)).numpy()
    np.testing.assert_allclose(summed, expected, rtol=1e-9)
    np.testing.assert_allclose(maps.probe_power, expected, rtol=1e-9)
    assert (maps.intensity >= 0).all() and maps.intensity.shape == (2, cfg.grid.nx, cfg.grid.ny)


def test_carrier_spectra_name_signal_optical_frequency_and_wavelength(fold):
    cfg = fold.cfg
    transfer = transfer_at_nodes(cfg, fold.design.arrays["binary"])
    fig = spectra.node_transfer_figure(transfer, CLASSES, "transfer")
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    assert ax.get_xlabel() == "frequency (kHz, signal)"
    tops = {c.get_xlabel(): sorted(c.get_xlim()) for c in ax.child_axes}
    np.testing.assert_allclose(tops["optical frequency (THz, device)"],
                               [transfer.device_hz[0] / 1e12, transfer.device_hz[-1] / 1e12], rtol=1e-9)
    np.testing.assert_allclose(tops["vacuum wavelength (µm)"],
                               [C_VACUUM_M_PER_S * 1e6 / transfer.device_hz[-1],
                                C_VACUUM_M_PER_S * 1e6 / transfer.device_hz[0]], rtol=1e-9)
    # The input spectra's device axis starts at the carrier: signal frequency 0 is the carrier itself.
    clock = clock_of(cfg)
    freq = np.linspace(0.0, 5e3, 11)
    inputs = spectra.class_spectra_figure(freq, np.ones((3, 11)), CLASSES, clock, None, "inputs")
    FigureCanvasAgg(inputs).draw()
    (device,) = inputs.axes[0].child_axes
    assert device.get_xlabel() == "frequency (THz, device)"
    np.testing.assert_allclose(device.get_xlim(), [clock.carrier_hz / 1e12,
                                                   (clock.carrier_hz + 5e3 * cfg.time_scale) / 1e12], rtol=1e-9)
