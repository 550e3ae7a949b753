"""How long each sample is integrated: its signal plus a ring-down that lets the wave reach the probes."""
from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np

from .corpus import Corpus

if TYPE_CHECKING:
    from ..config import Config

__all__ = ["transit_steps", "transit_samples", "first_arrival_samples", "ring_down_steps", "with_ring_down", "RING_DOWN_AUTO_FACTOR"]

RING_DOWN_AUTO_FACTOR = 2
"""Signals at least this many transit times long get no automatic ring-down."""


def _source_points(cfg: "Config") -> list[tuple[float, float]]:
    points = []
    for s in cfg.sources:
        if s.kind == "line":
            points += [(s.x_cells + (s.x_end_cells - s.x_cells) * t / 20, s.y_cells + (s.y_end_cells - s.y_cells) * t / 20)
                       for t in range(21)]
        else:
            points.append((s.x_cells, s.y_cells))
    return points


def transit_steps(cfg: "Config") -> int:
    """Time steps a wave needs from the sources to the farthest probe, at the slower material's speed.

    The straight-line distance (cells) from the nearest source point to each
    probe, the farthest probe's, over the slower speed's Courant number
    c_min dt / h (cells per step).
    """
    t = cfg.template
    c_min = min(t.background.simulated_speed_m_per_s, t.material.simulated_speed_m_per_s)
    cells_per_step = c_min * cfg.dt_s / t.cell_size_m
    points = _source_points(cfg)
    distance = max(min(math.hypot(p.x_cells - x, p.y_cells - y) for x, y in points) for p in cfg.probes)
    return math.ceil(distance / cells_per_step)


def first_arrival_samples(cfg: "Config") -> int:
    """Signal samples before which no probe can hear the sources: a lower bound on the first arrival.

    The straight-line distance (cells) from the nearest source point to the
    nearest probe, over the faster material's Courant number c_max dt / h
    (cells per step), in whole samples, rounded down. The gates of a gated
    readout (``[readout] gates``) start here: before it, every probe's
    signal is zero (causality), and a gate over silence would have no power.
    """
    t = cfg.template
    c_max = max(t.background.simulated_speed_m_per_s, t.material.simulated_speed_m_per_s)
    cells_per_step = c_max * cfg.dt_s / t.cell_size_m
    points = _source_points(cfg)
    distance = min(math.hypot(p.x_cells - x, p.y_cells - y) for x, y in points for p in cfg.probes)
    return math.floor(distance / cells_per_step / cfg.steps_per_sample)


def transit_samples(cfg: "Config") -> int:
    """The transit time in signal samples (``steps_per_sample`` time steps each)."""
    return math.ceil(transit_steps(cfg) / cfg.steps_per_sample)


def ring_down_steps(cfg: "Config", corpus: Corpus) -> int:
    """Zero-input samples after every signal: ``[data] ring_down_samples``, or, when that is -1 (auto), one
    transit time if the shortest input (the training window, else the shortest signal) lasts less than
    ``RING_DOWN_AUTO_FACTOR`` transit times, and none otherwise.
    """
    d = cfg.data
    if d.ring_down_samples >= 0:
        return d.ring_down_samples
    transit = transit_samples(cfg)
    shortest = d.window_samples if d.window_samples else int(np.min(corpus.lengths))
    return transit if shortest < RING_DOWN_AUTO_FACTOR * transit else 0


def with_ring_down(cfg: "Config", corpus: Corpus) -> "Config":
    """``cfg`` with its ring-down resolved for ``corpus`` (so a design records the value it was trained with)."""
    steps = ring_down_steps(cfg, corpus)
    return cfg.replace(data=dataclasses.replace(cfg.data, ring_down_samples=steps))
