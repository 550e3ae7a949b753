"""The report's pure pieces: confusion normalisation, sample choice, labels, fields, HTML, figure anatomy."""
from __future__ import annotations

import base64
import math

import numpy as np
import pytest
import torch

from designer.config import parse_config
from designer.export import fab_layout
from designer.physics import build_medium, layout_from_config, simulate
from designer.report import curves, maps, simulate as fields_sim
from designer.report.html import FigureEntry, Section, Table, render_html
from tests.conftest import tiny_data


@pytest.fixture(scope="module")
def cfg():
    data = tiny_data()
    data["simulation"] = {"dtype": "float64"}
    return parse_config(data, "tiny")


def test_confusion_rows_sum_to_one_and_empty_rows_stay_zero():
    counts = np.array([[3, 1, 0], [0, 0, 0], [2, 2, 4]])
    frac = curves.normalised_confusion(counts)
    np.testing.assert_allclose(frac.sum(1), [1.0, 0.0, 1.0])
    assert frac[0, 0] == pytest.approx(0.75)


def test_representative_samples_take_the_first_test_recording_of_each_present_class():
    labels = np.array([0, 1, 2, 0, 1, 0, 2])
    # Class 2 has no test recording here, so only classes 0 and 1 are shown.
    picks = fields_sim.representative_samples(labels, np.array([4, 3, 1, 5]), 3)
    assert picks.tolist() == [3, 1]


def test_verify_labels_name_every_variation_in_the_unit():
    result = {"accuracy": 0.5, "variations": [{"kind": "bias", "bias_um": 0.01, "accuracy": 0.4},
                                              {"kind": "contrast", "contrast_percent": -5.0, "accuracy": 0.3}]}
    assert curves.verify_labels(result, "um") == ["nominal", "bias +0.01 µm", "contrast -5%"]


def test_lengthscale_text_in_cells_and_unit(cfg):
    layout = fab_layout(cfg)
    text = maps.lengthscale_text({"min_solid_cells": 2.0, "min_void_cells": math.inf, "rule_cells": 2.0,
                                  "meets_rule": True}, layout)
    assert "min solid 2 cells = 0.1 µm" in text and "none" in text and "meets" in text


def test_field_probe_power_matches_the_reference_engine(cfg):
    """Summing the per-step probe u^2 must give what the trained classifier integrates."""
    rng = np.random.default_rng(0)
    binary = np.zeros((cfg.grid.nx, cfg.grid.ny))
    r = cfg.design_region
    binary[r.x0_cells:r.x1_cells, r.y0_cells:r.y1_cells] = rng.random((r.x1_cells - r.x0_cells,
                                                                        r.y1_cells - r.y0_cells)) > 0.5
    signals = [rng.standard_normal(60), rng.standard_normal(45)]
    run = fields_sim.simulate_fields(cfg, binary, signals, np.array([0, 2]))
    layout = layout_from_config(cfg)
    medium = build_medium(torch.as_tensor(binary), cfg, layout)
    for b, s in enumerate(signals):
        power, _ = simulate(medium, layout.source_weights, torch.as_tensor(s)[None], layout.probe_weights)
        np.testing.assert_allclose(run.probe_power[b], power[0].numpy(), rtol=1e-10)
    assert run.intensity.shape == (2, cfg.grid.nx, cfg.grid.ny) and (run.intensity >= 0).all()
    assert not run.probe_u2[1, 45:].any()


def test_every_map_has_a_colour_bar_and_physical_axes(cfg):
    layout = fab_layout(cfg)
    binary = np.zeros(layout.shape_cells)
    binary[16:30, 10:20] = 1
    classes = ("ae", "ei", "iy")
    figures = [maps.density_figure(binary * 0.7, layout, classes, "density"),
               maps.binary_figure(binary, layout, {"min_solid_cells": 10.0, "min_void_cells": 2.0}, classes, "b"),
               maps.wave_speed_figure(1e8 + 1e8 * binary, layout, classes, "speed")]
    for fig in figures:
        (ax,) = fig.axes
        assert ax.images and ax.get_xlabel() == "x (µm)" and ax.get_ylabel() == "y (µm)" and ax.get_title()
        # The colour bar sits in an inset axes of the map, so it is exactly as tall as the map.
        assert [bar.get_ylabel() != "" for bar in ax.child_axes] == [True]


def test_html_is_escaped_and_embeds_every_image():
    png = b"\x89PNG\r\n\x1a\n fake bytes"
    page = render_html("run <1>", "sub & title", [
        Section("Design", "design", (Table("t", (("a", "<b>"),)),), (FigureEntry("binary.png", "B", "x < y", png),))])
    assert f'src="data:image/png;base64,{base64.b64encode(png).decode()}"' in page
    assert 'src="binary.png"' not in page and "&lt;b&gt;" in page and "run &lt;1&gt;" in page
    assert "http" not in page and '<meta charset="utf-8">' in page


def _record(epoch: int, loss: float) -> dict:
    keys = ("train", "test", "binary_train", "binary_test")
    return {"epoch": epoch, **{f"{k}_loss": loss for k in keys}, **{f"{k}_accuracy": 0.5 for k in keys}}


def test_training_curves_mark_the_shipped_epoch_when_it_was_selected():
    history = [_record(e, 1.0 - 0.1 * e) for e in range(4)]
    plain = curves.training_curves_figure(history, 3, "plain")
    marked = curves.training_curves_figure(history, 3, "marked", selected=_record(1, 0.9))
    ax_loss = marked.axes[0]
    vertical = [line for line in ax_loss.get_lines() if list(line.get_xdata()) == [2, 2]]
    assert len(vertical) == 1  # a line at epoch 2 (1-based)
    stars = [line for line in ax_loss.get_lines() if line.get_marker() == "*"]
    assert len(stars) == 2 and all(float(line.get_ydata()[0]) == pytest.approx(0.9) for line in stars)
    assert not any(line.get_marker() == "*" for line in plain.axes[0].get_lines())
    assert "shipped design (epoch 2)" in [t.get_text() for t in marked.axes[1].get_legend().get_texts()]
