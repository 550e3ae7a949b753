"""The report's physical figures: transfer spectra against Parseval, spectra, fields, animation, 3D view, tables."""
from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
import torch
import trimesh
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from designer.config import parse_config
from designer.export import fab_layout
from designer.physics import build_medium, layout_from_config, simulate
from designer.report import animation, curves, fields, solid, spectra, tables
from designer.report.plotting import device_axis, new_figure, si_scale
from designer.report.simulate import ImpulseResponse, clock_of, impulse_response, simulate_fields, transfer_spectra
from tests.conftest import tiny_data

CLASSES = ("ae", "ei", "iy")


@pytest.fixture(scope="module")
def cfg():
    data = tiny_data()
    data["simulation"] = {"dtype": "float64"}
    return parse_config(data, "tiny")


@pytest.fixture(scope="module")
def binary(cfg):
    rng = np.random.default_rng(1)
    out = np.zeros((cfg.grid.nx, cfg.grid.ny))
    r = cfg.design_region
    out[r.x0_cells:r.x1_cells, r.y0_cells:r.y1_cells] = rng.random((r.x1_cells - r.x0_cells,
                                                                     r.y1_cells - r.y0_cells)) > 0.5
    return out


@pytest.fixture(scope="module")
def run(cfg, binary):
    rng = np.random.default_rng(0)
    return simulate_fields(cfg, binary, [rng.standard_normal(300), rng.standard_normal(240)], np.array([0, 2]))


def test_transfer_spectra_weigh_the_input_power_spectrum(cfg, binary):
    """Parseval: a probe's integrated power is (1/N) sum_k |X_k|^2 |H_p(f_k)|^2 for a linear device."""
    samples = 4000  # long enough for the response to die out: the spectrum then counts no truncated tail
    transfer = transfer_spectra(cfg, binary, samples, engine="reference")
    n_fft = 2 * (len(transfer.device_hz) - 1)
    x = np.zeros(samples)
    x[:8] = np.random.default_rng(2).standard_normal(8)  # a short burst: its response dies out in the window
    layout = layout_from_config(cfg)
    medium = build_medium(torch.as_tensor(binary), cfg, layout)
    power, _ = simulate(medium, layout.source_weights, torch.as_tensor(x)[None], layout.probe_weights)
    weight = np.full(len(transfer.device_hz), 2.0)
    weight[[0, -1]] = 1.0  # the one-sided spectrum counts every bin but DC and Nyquist twice
    spectrum = np.abs(np.fft.rfft(x, n=n_fft)) ** 2
    predicted = (transfer.power * spectrum * weight).sum(1) / n_fft
    np.testing.assert_allclose(predicted, power[0].numpy(), rtol=1e-6)
    assert transfer.device_hz[-1] == pytest.approx(clock_of(cfg).step_rate_hz / 2)
    np.testing.assert_allclose(transfer.signal_hz, transfer.device_hz / cfg.time_scale)


def test_impulse_response_energy_is_the_transfer_spectrum_integral(cfg, binary):
    """Parseval: each probe's response energy sum_n e_p[n] is (1/N) sum_k |H_p(f_k)|^2 over the whole spectrum."""
    samples = 4000
    response = impulse_response(cfg, binary, samples, engine="reference")
    transfer = transfer_spectra(cfg, binary, samples, engine="reference")
    n_fft = 2 * (len(transfer.device_hz) - 1)
    weight = np.full(len(transfer.device_hz), 2.0)
    weight[[0, -1]] = 1.0
    np.testing.assert_allclose(response.energy().sum(1), (transfer.power * weight).sum(1) / n_fft, rtol=1e-9)


def test_no_probe_hears_the_impulse_before_the_wave_can_reach_it(cfg):
    """Causality: in plain background the first 5 % of a probe's response energy arrives no earlier than the
    wave's travel time (distance to the disc's edge over c dt / h cells per step) after the impulse enters."""
    empty = np.zeros((cfg.grid.nx, cfg.grid.ny))
    response = impulse_response(cfg, empty, 600, engine="reference")
    energy = np.cumsum(response.energy(), axis=1)
    first = np.argmax(energy >= 0.05 * energy[:, -1:], axis=1) - response.start
    t = cfg.template
    cells_per_step = t.background.simulated_speed_m_per_s * cfg.dt_s / t.cell_size_m
    s = cfg.sources[0]
    for p, arrival in zip(cfg.probes, first):
        travel = (np.hypot(p.x_cells - s.x_cells, p.y_cells - s.y_cells) - p.radius_cells) / cells_per_step
        assert arrival >= travel - 1
        assert arrival <= 3 * travel + 20  # and it does arrive, not only in the tail
    assert (response.duration_steps() > 0).all()


def test_response_duration_is_the_central_share_of_the_energy():
    """A response of constant intensity over L steps lasts 0.9 L by its central 90 %; a single step lasts 0."""
    traces = np.zeros((400, 2))
    traces[100:300, 0] = 1.0
    traces[50, 1] = 3.0
    r = ImpulseResponse(traces, np.eye(2), 0, clock=None)
    np.testing.assert_array_equal(r.duration_steps(0.9), [180, 0])
    np.testing.assert_array_equal(r.duration_steps(0.5), [100, 0])


def test_class_spectra_peak_at_each_class_tone():
    fs = 10000.0
    t = np.arange(2000) / fs
    signals = [np.sin(2 * np.pi * 500 * t), np.sin(2 * np.pi * 1500 * t + 1.0), np.sin(2 * np.pi * 520 * t)]
    freq, psd = spectra.class_spectra(signals, np.array([0, 1, 0]), 2, fs)
    step = freq[1]
    assert abs(freq[psd[0].argmax()] - 510) <= step and abs(freq[psd[1].argmax()] - 1500) <= step


def test_si_scale_picks_the_prefix():
    assert si_scale(2.5e-7, "s") == (1e-9, "ns")  # 250 ns
    assert si_scale(3.5e15, "Hz") == (1e15, "PHz")
    assert si_scale(42.0, "Hz") == (1.0, "Hz")


def test_device_axis_maps_signal_units_to_device_units():
    fig = new_figure(4, 3)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.set_xlim(0, 5)  # kHz of signal
    secondary = device_axis(ax, 1e3 * 7e11, 5.0, "frequency", "Hz")  # a time scale of 7e11
    fig.canvas.draw()
    np.testing.assert_allclose(secondary.get_xlim(), (0.0, 3.5))
    assert secondary.get_xlabel() == "frequency (PHz, device)"


def _labels(ax) -> list[str]:
    return [ax.get_xlabel(), ax.get_ylabel()] + [c.get_xlabel() for c in ax.child_axes]


def test_spectrum_figures_show_signal_and_device_frequency(cfg, binary):
    clock = clock_of(cfg)
    fs = clock.sample_rate_hz
    t = np.arange(1000) / fs
    freq, psd = spectra.class_spectra([np.sin(2 * np.pi * f * t) for f in (300, 900, 2000)], np.arange(3), 3, fs)
    band = {"band_min_hz": 0.0, "band_max_hz": 1e3 * cfg.time_scale}
    figures = [spectra.class_spectra_figure(freq, psd, CLASSES, clock, band, "inputs"),
               spectra.transfer_figure(transfer_spectra(cfg, binary, 200), CLASSES, "transfer")]
    for fig in figures:
        ax = fig.axes[0]
        labels = _labels(ax)
        assert "frequency (kHz, signal)" in labels and "frequency (PHz, device)" in labels
        assert "dB" in ax.get_ylabel()
        assert [text.get_text() for text in ax.get_legend().get_texts()][:3] in (list(CLASSES),
                                                                                 [f"probe {c}" for c in CLASSES])


def test_spectrograms_have_signal_and_device_time(cfg):
    clock = clock_of(cfg)
    fig = spectra.spectrogram_figure([np.random.default_rng(0).standard_normal(800)] * 2, ["a", "b"], clock, "s")
    ax = fig.axes[0]
    assert ax.collections and "time (ms, signal)" in _labels(ax) and "frequency (kHz, signal)" in _labels(ax)
    assert any("device" in label and "s," in label for label in _labels(ax))


def test_running_integrals_end_at_the_shares_the_classifier_sees(run):
    share = fields.running_integrals(run)
    assert (np.diff(share, axis=1) >= -1e-15).all()
    final = run.probe_power / run.probe_power.sum(1, keepdims=True)
    np.testing.assert_allclose(share[:, -1], final, rtol=1e-10)
    fig = fields.probe_signal_figure(run, CLASSES, "probes")
    ax = fig.axes[0]
    assert "running Σ u²" in ax.get_ylabel() and "time (ms, signal)" in _labels(ax)
    assert any("device" in label for label in _labels(ax))
    assert len(ax.get_lines()) == 3


def test_snapshots_lie_inside_the_input_and_name_both_times(run, cfg, binary):
    picks = fields.snapshot_steps(run, 4)
    steps = run.frame_steps[picks]
    assert (np.diff(steps) > 0).all() and steps[-1] < run.lengths.min()
    fig = fields.snapshot_figure(run, binary, fab_layout(cfg), CLASSES, "snapshots")
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert len(titles) == 2 * 4 and all("ms signal" in t and "device" in t for t in titles)


def test_smooth_and_fabricated_fields_share_one_scale(run, cfg, binary):
    smooth = simulate_fields(cfg, 0.5 * binary + 0.25, [np.ones(300), np.ones(240)], np.array([0, 2]))
    fig = fields.smooth_fabricated_figure(smooth, run, binary, fab_layout(cfg), CLASSES, "side by side")
    images = [im for ax in fig.axes for im in ax.images]
    assert len(images) == 4 and len({(im.norm.vmin, im.norm.vmax) for im in images}) == 1
    assert [ax.get_title().split(":")[0] for ax in fig.axes if ax.images] == ["smooth", "fabricated"] * 2


def test_field_animation_is_a_gif_of_every_frame(run, cfg):
    gif = animation.field_animation(run, fab_layout(cfg), CLASSES, "u")
    image = Image.open(io.BytesIO(gif))
    assert image.format == "GIF" and image.n_frames == len(run.frame_steps) and image.width >= 400
    image.seek(image.n_frames // 2)
    rgb = np.asarray(image.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(rgb, axis=0)) > 20  # a field, not a blank frame


def test_stl_view_lifts_and_clears_a_lid():
    plate = trimesh.creation.box((40, 30, 4)).apply_translation((20, 15, 2))
    lid = trimesh.creation.box((40, 30, 2)).apply_translation((20, 15, 6))
    fig = solid.stl_figure(trimesh.util.concatenate([plate, lid]), "mm", "part")
    ax = fig.axes[0]
    assert len(ax.collections) == 2
    alphas = [c.get_facecolor()[:, 3].max() for c in ax.collections]
    assert alphas[0] == 1.0 and alphas[1] < 1.0
    assert ax.get_zlim()[1] > 7.0 + 6.0  # lifted above where it rests
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()) == ("x (mm)", "y (mm)", "z (mm)")


def test_islands_on_the_floor_all_rest():
    """Walls standing apart (a photonic slab has no base plate) are not lids: nothing is lifted."""
    islands = [trimesh.creation.box((2, 2, 1)).apply_translation((3 * k, 0, 0.5)) for k in range(3)]
    resting, upper = solid.bodies(trimesh.util.concatenate(islands))
    assert len(resting) == 3 and upper == []


def test_shading_is_brightest_facing_the_light():
    light = solid.LIGHT / np.linalg.norm(solid.LIGHT)
    colours = solid.shade(np.array([light, -light]), (1.0, 1.0, 1.0))
    np.testing.assert_allclose(colours[:, 0], [1.0, 0.35])


def test_verify_figure_draws_chance_on_top():
    result = {"file": "design.gds", "fmt": "gds", "accuracy": 1 / 3, "chance_accuracy": 1 / 3,
              "accuracy_ci": [0.04, 0.78], "variations": []}
    fig = curves.verify_figure([("design.gds", result)], 1 / 3, 3, "um", "verify")
    ax = fig.axes[0]
    chance = [line for line in ax.get_lines() if line.get_label().startswith("chance")]
    assert len(chance) == 1 and chance[0].get_ydata()[0] == pytest.approx(100 / 3)
    others = [a.get_zorder() for a in ax.patches + ax.get_lines() if a is not chance[0]]
    assert chance[0].get_zorder() > max(others)
    assert chance[0].get_label() == "chance 33.3%"


def test_files_table_checksums_are_sha256(tmp_path):
    (tmp_path / "design.json").write_text("{}")
    part = tmp_path / "design.gds"
    part.write_bytes(b"GDS bytes")
    (tmp_path / "verify-design.gds.json").write_text('{"accuracy": 1}')
    table = tables.files_table(tmp_path, (part,), "files")
    rows = {row[0]: row for row in table.rows}
    assert set(rows) == {"design.json", "design.gds", "verify-design.gds.json"}
    assert rows["design.gds"][2] == hashlib.sha256(b"GDS bytes").hexdigest()
    assert rows["design.gds"][1] == "9 bytes"


def test_drc_table_counts_violations(cfg):
    clean = np.zeros((cfg.grid.nx, cfg.grid.ny))
    clean[16:30, 12:24] = 1
    thin = clean.copy()
    thin[16:30, 18] = 0  # a one-cell gap: below the 2-cell space rule
    ok, bad = tables.drc_table(clean, cfg, "drc"), tables.drc_table(thin, cfg, "drc")
    assert dict(ok.rows)["result"].startswith("PASS")
    rows = dict(bad.rows)
    assert rows["result"].startswith("FAIL") and "min_spacing" in rows and "violation 1" in rows
