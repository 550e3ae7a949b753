"""The project's width and space checks flag what KLayout's Euclidean checks flag, and pass what they pass."""
import numpy as np
import pytest
import shapely

pytest.importorskip("klayout.db")

from tests.klayout_checks import klayout_checks  # noqa: E402

from .fab_designs import blobs  # noqa: E402
from fabrication import drc, export, polygons_from_binary  # noqa: E402

KIND = {"width": "min_width", "space": "min_spacing"}


def _both(geom, layout, process, tmp_path):
    """(ours, klayout): per check, sorted (size, x, y) of every violation, in um."""
    scale = 1000.0 if layout.unit == "mm" else 1.0
    path = export("gds", geom, layout, process, tmp_path / "device.gds")
    theirs = klayout_checks(path, process.min_solid * scale, process.min_void * scale)
    found = drc(geom, layout, process)
    ours = {c: sorted((v.size * scale, v.x * scale, v.y * scale) for v in found if v.kind == k) for c, k in KIND.items()}
    return ours, {c: [(d, x, y) for d, (x, y) in pairs] for c, pairs in theirs.items()}


def _assert_same(ours, theirs, dbu_um=0.001):
    """Same number of pairs, each of KLayout's matched by one of ours at its place with its distance."""
    for check in KIND:
        assert len(ours[check]) == len(theirs[check]), check
        left = list(ours[check])
        for size, x, y in theirs[check]:
            # KLayout rounds the ends of its near parts to the 1 nm database unit.
            match = [k for k, (s, a, b) in enumerate(left)
                     if max(0.0 if size is None else abs(s - size), abs(a - x), abs(b - y)) <= 2 * dbu_um]
            assert match, f"{check} pair of {size} um at ({x:.4f}, {y:.4f}) um not found"
            left.pop(match[0])


def _cells(points, h):
    return shapely.Polygon([(x * h, y * h) for x, y in points])


# Hand-drawn shapes in cells of the photonic template (50 nm, rule 100 nm = 2 cells),
# placed inside its design region (cells 8..40 x 4..36).
JOG_CHAMFERED = [(10, 6), (12, 6), (12, 10.5), (13, 11.5), (13, 16), (11, 16), (11, 11.5), (10, 10.5)]
BAR_CHAMFERED_END = [(20, 6), (22, 6), (22, 11.5), (21.5, 12), (20.5, 12), (20, 11.5)]
BAR_SHARP_END = [(20, 6), (22, 6), (22, 12), (20, 12)]
WIDE_BAR_CHAMFERED_END = [(20, 6), (23, 6), (23, 11.5), (22.5, 12), (20.5, 12), (20, 11.5)]
DIAGONAL_LINE = [(10, 21.5), (11.5, 20), (21.5, 30), (20, 31.5)]  # 45 degrees, 2.12 cells wide


@pytest.mark.parametrize("shape, expected_cells", [
    (JOG_CHAMFERED, 2**0.5),  # 45-degree neck between parallel chamfers: 71 nm
    (BAR_CHAMFERED_END, np.hypot(1.5, 0.5)),  # chamfer to the end of the opposite side: 79 nm
])
def test_chamfer_necks_are_flagged_as_klayout_flags_them(shape, expected_cells, soi_layout, soi_process, tmp_path):
    geom = shapely.MultiPolygon([_cells(shape, soi_layout.cell_size)])
    ours, theirs = _both(geom, soi_layout, soi_process, tmp_path)
    _assert_same(ours, theirs)
    assert ours["width"] and not ours["space"]
    narrowest = min(s for s, _, _ in ours["width"])
    assert narrowest == pytest.approx(expected_cells * soi_layout.cell_size, abs=soi_process.grid)


@pytest.mark.parametrize("shape", [BAR_SHARP_END, WIDE_BAR_CHAMFERED_END, DIAGONAL_LINE])
def test_shapes_at_the_rule_pass_both(shape, soi_layout, soi_process, tmp_path):
    geom = shapely.MultiPolygon([_cells(shape, soi_layout.cell_size)])
    ours, theirs = _both(geom, soi_layout, soi_process, tmp_path)
    assert ours == theirs == {"width": [], "space": []}


def test_chamfered_slot_end_is_a_space_violation(soi_layout, soi_process, tmp_path):
    h = soi_layout.cell_size
    slot = [(24, 8), (26, 8), (26, 13.5), (25.5, 14), (24.5, 14), (24, 13.5)]  # a 2-cell gap, end corners filled
    plate = shapely.box(20 * h, 5 * h, 30 * h, 18 * h).difference(_cells(slot, h))
    ours, theirs = _both(shapely.MultiPolygon([plate]), soi_layout, soi_process, tmp_path)
    _assert_same(ours, theirs)
    assert ours["space"] and not ours["width"]
    assert min(s for s, _, _ in ours["space"]) == pytest.approx(np.hypot(1.5, 0.5) * h, abs=0.002)


def _stars(seed, layout, process, count=6):
    """Random star-shaped polygons at any angle, some overlapping, snapped to the grid."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = layout.design_box
    h = layout.cell_size
    stars = []
    for _ in range(count):
        cx, cy = rng.uniform(x0 + 4 * h, x1 - 4 * h), rng.uniform(y0 + 4 * h, y1 - 4 * h)
        angles = np.sort(rng.uniform(0, 2 * np.pi, rng.integers(5, 12)))
        radii = rng.uniform(1.0, 5.0, angles.size) * h
        stars.append(shapely.Polygon(np.c_[cx + radii * np.cos(angles), cy + radii * np.sin(angles)]))
    merged = shapely.set_precision(shapely.union_all(stars), process.grid)
    return shapely.MultiPolygon([p for p in shapely.get_parts(merged) if p.geom_type == "Polygon"])


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("template", ["soi", "print"])
def test_random_polygons_agree_with_klayout(seed, template, request, tmp_path):
    layout = request.getfixturevalue(f"{template}_layout")
    process = request.getfixturevalue(f"{template}_process")
    ours, theirs = _both(_stars(seed, layout, process), layout, process, tmp_path)
    assert ours["width"] and ours["space"]  # spikes, necks and notches at every angle
    _assert_same(ours, theirs)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("template", ["soi", "print"])
def test_pixel_designs_agree_with_klayout(seed, template, request, tmp_path):
    layout = request.getfixturevalue(f"{template}_layout")
    process = request.getfixturevalue(f"{template}_process")
    design = blobs(layout.shape_cells, 1.2, seed)  # thin features and gaps: many violations
    ours, theirs = _both(polygons_from_binary(design, layout, process), layout, process, tmp_path)
    assert ours["width"] and ours["space"]
    _assert_same(ours, theirs)
