"""Config rules beyond types: sizes against the caps, signs, port placement, wave transit.

Called by :mod:`designer.config` while it validates; each rule fails through
the checker, one line naming the key.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .limits import limits

if TYPE_CHECKING:
    from .config import Config, SourceSpec

__all__ = ["SEED_LIMIT", "check_sizes", "check_signs", "check_ports", "check_transit", "lid_port_problems"]

SEED_LIMIT = 2**63
"""Seeds are non-negative and below 2**63 (torch's and NumPy's generators take 64-bit seeds)."""


def check_sizes(cfg: Config, check) -> None:
    """Counts that size allocations or loops, against the caps of :mod:`designer.limits`."""
    cap = limits()
    sizes = {
        "grid.nx": (cfg.grid.nx * cfg.grid.ny, "grid_cells", f"{cfg.grid.nx} x {cfg.grid.ny} = "),
        "data.window_samples": (cfg.data.window_samples, "window_samples", ""),
        "data.speakers_per_sex": (cfg.data.speakers_per_sex, "speakers_per_sex", ""),
        "data.sample_rate_hz": (cfg.data.sample_rate_hz, "sample_rate_hz", ""),
        "training.epochs": (cfg.training.epochs, "epochs", ""),
        "training.batch_size": (cfg.training.batch_size, "batch_size", ""),
    }
    for key, (value, limit, prefix) in sizes.items():
        if value > getattr(cap, limit):
            check.fail(key, f"{prefix}{value:g} is over the limit of {getattr(cap, limit)}; "
                            f"raise it with DESIGNER_MAX_{limit.upper()} if this is meant")
    for key, seed, top in (("data.seed", cfg.data.seed, SEED_LIMIT),
                           ("training.seed", cfg.training.seed, SEED_LIMIT - max(cfg.training.restarts - 1, 0))):
        if not 0 <= seed < top:  # restart j trains with seed + j
            bound = "2**63" if top == SEED_LIMIT else f"2**63 - {SEED_LIMIT - top} (training.restarts)"
            check.fail(key, f"expected a seed in [0, {bound}), got {seed}")
    if cfg.training.folds > cfg.data.speakers_per_sex * len(cfg.data.sexes) and cfg.data.corpus == "synthetic":
        check.fail("training.folds", f"expected at most one fold per speaker ({cfg.data.speakers_per_sex} per sex x "
                                     f"{len(cfg.data.sexes)} sexes), got {cfg.training.folds}")


def check_signs(cfg: Config, check) -> None:
    """Values whose sign or range the physics or the optimiser needs."""
    t, c, g, nl = cfg.training, cfg.constraints, cfg.grid, cfg.nonlinearity
    if not t.lr_decay > 0:
        check.fail("training.lr_decay", f"expected a positive factor per epoch, got {t.lr_decay}")
    if not math.isfinite(t.learning_rate * max(1.0, t.lr_decay) ** min(t.epochs - 1, 10_000)):
        check.fail("training.lr_decay", f"learning_rate {t.learning_rate:g} x lr_decay {t.lr_decay:g} per epoch "
                                        f"overflows within {t.epochs} epochs")
    if c.indicator_weight < 0:
        check.fail("constraints.indicator_weight", f"expected 0 or more, got {c.indicator_weight}")
    if not g.absorber_order > 0:
        check.fail("grid.absorber_order", f"expected a positive polynomial order, got {g.absorber_order}")
    if nl.saturable_absorption < 0:
        check.fail("nonlinearity.saturable_absorption",
                   f"expected 0 or more (a negative absorption is gain, and the field grows without bound), "
                   f"got {nl.saturable_absorption}")


def _source_points(s: SourceSpec) -> list[tuple[float, float]]:
    """Cell centres along a source: its one cell, or 101 points along a line source."""
    if s.kind != "line":
        return [(s.x_cells, s.y_cells)]
    return [(s.x_cells + (s.x_end_cells - s.x_cells) * t / 100, s.y_cells + (s.y_end_cells - s.y_cells) * t / 100)
            for t in range(101)]


def check_ports(cfg: Config, check) -> None:
    """Probes must not overlap each other (two classes at one place), nor sit on a source; where the template
    drills the ports through a printed lid, every hole must stay open and the lid between holes must print."""
    probes = cfg.probes
    if not getattr(check, "stored", False):
        for key, message in lid_port_problems(cfg):
            check.fail(key, message)
    for i, p in enumerate(probes):
        for j in range(i):
            q = probes[j]
            if math.hypot(p.x_cells - q.x_cells, p.y_cells - q.y_cells) < p.radius_cells + q.radius_cells:
                check.fail(f"probes[{i}]", f"at ({p.x_cells}, {p.y_cells}) with radius {p.radius_cells:g} it overlaps "
                                           f"probes[{j}] at ({q.x_cells}, {q.y_cells}); every probe needs cells of its own")
        for k, s in enumerate(cfg.sources):
            if any(math.hypot(x - p.x_cells, y - p.y_cells) <= p.radius_cells for x, y in _source_points(s)):
                check.fail(f"probes[{i}]", f"at ({p.x_cells}, {p.y_cells}) it covers sources[{k}]; a probe must not "
                                           f"sit on a source")


def lid_port_problems(cfg: Config):
    """(key, message) for each probe whose hole through the printed lid breaks the template's rules: under the
    minimum void across, or less than the minimum solid of lid to another hole (a source's hole is its cell
    grown by half a cell: taken as a disc of one cell's radius). Nothing for a template without lid ports."""
    from .placement import lid_port_rule

    rule = lid_port_rule(cfg.template)
    if rule is None:
        return
    h_mm = cfg.template.cell_size_m * 1e3
    tol = 1e-6
    probes = cfg.probes
    for i, p in enumerate(probes):
        if 2 * p.radius_cells < rule.hole_cells - tol:
            yield (f"probes[{i}].radius_cells",
                   f"{p.radius_cells:g} makes its port through the printed lid {2 * p.radius_cells * h_mm:.3g} mm "
                   f"across, under the template's minimum void of {rule.hole_cells * h_mm:.3g} mm (the printer "
                   f"would close it); expected radius_cells >= {rule.hole_cells / 2:g}")
        others = [(f"probes[{j}]", q.x_cells, q.y_cells, q.radius_cells) for j, q in enumerate(probes[:i])]
        others += [(f"sources[{k}]", x, y, 1.0) for k, s in enumerate(cfg.sources) for x, y in _source_points(s)]
        for name, x, y, r in others:
            bridge = math.hypot(x - p.x_cells, y - p.y_cells) - p.radius_cells - r
            if bridge < rule.bridge_cells - tol:
                yield (f"probes[{i}]",
                       f"at ({p.x_cells}, {p.y_cells}) its lid port leaves {max(bridge, 0) * h_mm:.3g} mm of lid "
                       f"to {name}'s, under the template's minimum solid of {rule.bridge_cells * h_mm:.3g} mm; "
                       f"expected the holes' edges at least {rule.bridge_cells:g} cells apart")
                break


def check_transit(cfg: Config, check) -> None:
    """The wave must reach every probe within a training window, even at the slowest speed.

    Transit steps = distance (cells) / (c_min dt / h): the Courant number is
    the distance a wave moves per step, in cells. A window holds
    ``window_samples * steps_per_sample`` steps; whole-signal training
    (``window_samples = 0``) relies on the ring-down instead.
    """
    t = cfg.template
    if not cfg.data.window_samples:
        return
    c_min = t.min_speed_m_per_s
    cells_per_step = c_min * cfg.dt_s / t.cell_size_m
    window = cfg.data.window_samples
    steps_in_window = window * cfg.steps_per_sample
    for i, p in enumerate(cfg.probes):
        distance = min(math.hypot(x - p.x_cells, y - p.y_cells) for s in cfg.sources for x, y in _source_points(s))
        steps = (distance - p.radius_cells) / cells_per_step if cells_per_step > 0 else math.inf
        if steps > steps_in_window:
            need = cfg.time_scale * steps_in_window / steps
            check.fail("simulation.time_scale",
                       f"at time_scale {cfg.time_scale:g} the wave moves {cells_per_step:.3g} cells per step at "
                       f"{c_min:.4g} m/s and needs about {steps:.3g} steps to reach probes[{i}], more than the "
                       f"{window}-sample window; expected time_scale <= {need:.4g}")
