"""Probes placed automatically (no [[probes]]): one per class, on the output side, keeping every rule."""
from __future__ import annotations

import itertools
import math

import pytest

from designer.config import parse_config
from designer.errors import ConfigError
from tests.conftest import tiny_data

EXAMPLE_GRID = {"nx": 130, "ny": 80, "absorber_cells": 15}
EXAMPLE_REGION = {"x0_cells": 26, "x1_cells": 104, "y0_cells": 16, "y1_cells": 64, "keepout_cells": 2}


def _config(classes, grid=EXAMPLE_GRID, region=EXAMPLE_REGION, source=(20, 40)):
    doc = tiny_data()
    del doc["probes"]
    doc.update(grid=dict(grid), design_region=dict(region))
    doc["sources"] = [{"name": "input", "x_cells": source[0], "y_cells": source[1]}]
    doc["data"] = {"source": "arrays", "path": "unused.npz", "classes": list(classes)}
    return parse_config(doc, "placed.toml")  # runs every geometry check on the placed probes


def _assert_rules(cfg):
    g, r = cfg.grid, cfg.design_region
    w = g.absorber_cells
    for p in cfg.probes:
        assert float(p.x_cells).is_integer() and float(p.y_cells).is_integer()  # on the cell grid
        # the whole disc clear of the absorbing layer
        assert w <= p.x_cells - p.radius_cells and p.x_cells + p.radius_cells <= g.nx - w - 1
        assert w <= p.y_cells - p.radius_cells and p.y_cells + p.radius_cells <= g.ny - w - 1
        # outside the design region and its keep-out, by the probe's radius
        gap = r.keepout_cells + p.radius_cells
        assert not (r.x0_cells - gap <= p.x_cells < r.x1_cells + gap and r.y0_cells - gap <= p.y_cells < r.y1_cells + gap)
        assert p.radius_cells >= 0.5
    for a, b in itertools.combinations(cfg.probes, 2):
        # neighbouring discs apart, with a clear cell between them
        assert math.hypot(a.x_cells - b.x_cells, a.y_cells - b.y_cells) >= a.radius_cells + b.radius_cells + 1


@pytest.mark.parametrize("n", [2, 5, 12])
def test_placed_probes_keep_every_rule(n):
    classes = [f"class {k}" for k in range(n)]
    cfg = _config(classes)
    assert [p.name for p in cfg.probes] == classes
    _assert_rules(cfg)
    assert all(p.x_cells >= cfg.design_region.x1_cells for p in cfg.probes)  # the side facing away from the source
    ys = [p.y_cells for p in cfg.probes]
    assert ys == sorted(ys) and len(set(ys)) == n  # class order along the side
    assert min(ys) >= cfg.design_region.y0_cells and max(ys) < cfg.design_region.y1_cells


def test_probes_go_opposite_a_source_on_the_right():
    cfg = _config(["a", "b", "c"], source=(110, 40))
    assert all(p.x_cells < cfg.design_region.x0_cells for p in cfg.probes)
    _assert_rules(cfg)


def test_probes_go_opposite_a_source_below():
    region = {"x0_cells": 20, "x1_cells": 60, "y0_cells": 30, "y1_cells": 90, "keepout_cells": 2}
    cfg = _config(["a", "b", "c", "d"], grid={"nx": 80, "ny": 120, "absorber_cells": 12}, region=region,
                  source=(40, 20))
    assert all(p.y_cells >= region["y1_cells"] for p in cfg.probes)
    _assert_rules(cfg)


def test_placement_on_the_tiny_grid_is_tight_but_legal():
    doc = tiny_data()
    cfg = _config(["a", "b", "c", "d", "e"], grid=doc["grid"], region=doc["design_region"], source=(10, 18))
    _assert_rules(cfg)


def test_too_many_classes_for_the_side_is_one_line():
    doc = tiny_data()
    with pytest.raises(ConfigError) as err:
        _config([str(k) for k in range(12)], grid=doc["grid"], region=doc["design_region"], source=(10, 18))
    message = str(err.value)
    assert "\n" not in message and "placed.toml: probes: 12 classes need at least 24 cells" in message


def test_no_room_beside_the_region_is_one_line():
    region = dict(EXAMPLE_REGION, x1_cells=112)
    with pytest.raises(ConfigError, match="no room for the probes on the design region's right side"):
        _config(["a", "b"], region=region)


# --- Ports drilled through a printed lid (acoustic-channel: [print] ports) ---

VOWELS12_GRID = {"nx": 166, "ny": 106, "absorber_cells": 20}
VOWELS12_REGION = {"x0_cells": 36, "x1_cells": 128, "y0_cells": 26, "y1_cells": 80, "keepout_cells": 2}


def _channel_config(classes, readout="intensity", probes=None):
    doc = tiny_data()
    doc["template"] = "acoustic-channel"
    doc.update(grid=dict(VOWELS12_GRID), design_region=dict(VOWELS12_REGION))
    doc["sources"] = [{"name": "input", "x_cells": 28, "y_cells": 53}]
    doc["data"] = {"source": "arrays", "path": "unused.npz", "classes": list(classes)}
    doc["readout"] = {"kind": readout}
    if probes is None:
        del doc["probes"]
    else:
        doc["probes"] = probes
    return parse_config(doc, "lid.toml")


def _lid_holes(cfg):
    """The holes the STL writer cuts through the lid, as shapely polygons in mm."""
    from designer.export import fab_layout
    from fabrication.stl import port_shapes

    return port_shapes(fab_layout(cfg))


@pytest.mark.parametrize("n, readout", [(2, "intensity"), (5, "ratio"), (12, "ratio")])
def test_lid_ports_stay_open_and_apart(n, readout):
    cfg = _channel_config([f"c{k}" for k in range(n)], readout)
    _assert_rules(cfg)
    holes = _lid_holes(cfg)
    assert len(holes) == len(cfg.probes) + 1  # one per probe and the source
    t = cfg.template
    unit_mm = t.unit_m * 1e3
    min_void_mm, min_solid_mm = t.min_void_m * 1e3, t.min_solid_m * 1e3
    grid_mm = t.manufacturing_grid_m * 1e3  # a disc's polygon is a few um narrower across its flats
    for hole in holes:
        # the hole's narrowest width (its minimum bounding rectangle's short side) at least the minimum void
        box = hole.minimum_rotated_rectangle.exterior.coords
        sides = [math.dist(box[i], box[i + 1]) for i in range(2)]
        assert min(sides) * unit_mm >= min_void_mm - grid_mm
    for a, b in itertools.combinations(holes, 2):
        assert a.distance(b) * unit_mm >= min_solid_mm - grid_mm  # the lid between two holes prints


def test_many_lid_ports_stagger_into_two_rows():
    cfg = _channel_config([f"c{k}" for k in range(12)], "ratio")  # 24 ports on a 54-cell side
    xs = sorted({p.x_cells for p in cfg.probes})
    assert len(xs) == 2 and all(p.radius_cells >= 1 for p in cfg.probes)
    ys = [p.y_cells for p in cfg.probes]
    assert ys == sorted(ys) and len(set(ys)) == 24  # still in port order along the side


def test_a_lid_port_under_the_minimum_void_is_one_line():
    probes = [{"name": n, "x_cells": 134, "y_cells": y, "radius_cells": r} for n, y, r in (("a", 40, 0.5), ("b", 60, 2))]
    with pytest.raises(ConfigError) as err:
        _channel_config(["a", "b"], probes=probes)
    message = str(err.value)
    assert "\n" not in message and "probes[0].radius_cells" in message and "minimum void of 1.6 mm" in message


def test_lid_ports_too_close_is_one_line():
    probes = [{"name": n, "x_cells": 134, "y_cells": y, "radius_cells": 1} for n, y in (("a", 40), ("b", 43))]
    with pytest.raises(ConfigError) as err:
        _channel_config(["a", "b"], probes=probes)
    message = str(err.value)
    assert "\n" not in message and "probes[1]" in message and "minimum solid of 1.6 mm" in message


def test_too_many_lid_ports_for_the_side_is_one_line():
    with pytest.raises(ConfigError) as err:
        _channel_config([f"c{k}" for k in range(30)], "ratio")
    message = str(err.value)
    assert "\n" not in message and "60 lid ports" in message and "54 cells" in message
