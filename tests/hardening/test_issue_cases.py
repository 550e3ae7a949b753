"""The corrupt design and part files of the hardening review, each with the line it now gets."""
from __future__ import annotations

import io
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import fabrication as fab
from designer.cli import main
from designer.design import load_design
from designer.errors import DesignerError
from designer.export import config_of, fab_layout, fab_process
from tests.hardening import corpus

NPZ = corpus.design_npz_cases()
JSON = corpus.design_json_cases()


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("golden")
    for name in ("design.npz", "design.json"):
        shutil.copy(corpus.GOLDEN / name, folder / name)
    for fmt in ("gds", "stl"):
        assert CliRunner().invoke(main, ["export", str(folder), "--format", fmt]).exit_code == 0
    return folder


def _load_with(tmp_path: Path, npz: bytes | None = None, meta: bytes | None = None) -> str:
    folder = tmp_path / "run"
    folder.mkdir(exist_ok=True)
    (folder / "design.npz").write_bytes(npz if npz is not None else (corpus.GOLDEN / "design.npz").read_bytes())
    (folder / "design.json").write_bytes(meta if meta is not None else (corpus.GOLDEN / "design.json").read_bytes())
    with pytest.raises(DesignerError) as info:
        load_design(folder)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("case, needle", [
    ("cut12", "not a readable design file (BadZipFile"),
    ("stored-not-deflated-flip", "Bad CRC-32"),
    ("missing-binary", "missing array 'binary'"),
    ("missing-test_indices", "missing array 'test_indices'"),
    ("binary-transposed", "array 'binary' has shape (80, 130); expected (130, 80)"),
    ("probe-weights-2d", "array 'probe_weights' has shape (130, 80); expected (3, 130, 80)"),
    ("binary-str", "array 'binary' has dtype '<U1'; expected bool, integer or float"),
    ("binary-datetime", "array 'binary' has dtype '<M8[s]'"),
    ("binary-complex", "array 'binary' has dtype '<c8'"),
    ("binary-structured", "array 'binary' has dtype"),
    ("object-dtype", "array 'binary' has dtype '|O'"),
    ("binary-half", "array 'binary' has dtype float32; expected bool or int or uint"),
    ("binary-minus-one", "array 'binary' has values other than 0 and 1 (e.g. -1)"),
    ("binary-two", "array 'binary' has values other than 0 and 1 (e.g. 2)"),
    ("test-indices-empty", "array 'test_indices' has no entries"),
    ("test-indices-float", "array 'test_indices' has dtype float64; expected int or uint"),
    ("test-indices-2d", "array 'test_indices' has shape (1, 30); expected ('any',)"),
    ("rho-nan", "array 'rho' has non-finite values"),
    ("declares-1e12-elements", "array 'binary' of shape (1000000, 1000000): 1000000000000 elements is over the limit"),
    ("header-longer-than-data", "does not match its"),
    ("pickle", "not a readable design file (BadZipFile"),
])
def test_a_corrupt_design_npz_gets_its_line(tmp_path, case, needle):
    message = _load_with(tmp_path, npz=NPZ[case])
    assert needle in message and "design.npz" in message, message


def test_a_zip_bomb_is_refused_from_its_member_table(tmp_path, monkeypatch):
    """The decompressed size is read from the zip's table, never inflated (the cap lowered to keep it quick)."""
    monkeypatch.setenv("DESIGNER_MAX_NPZ_BYTES", str(32 << 20))
    member = corpus.npy_member({"descr": "|u1", "fortran_order": False, "shape": (64 << 20,)}, bytes(64 << 20))
    bomb = corpus.zip_members({"binary.npy": member})
    assert len(bomb) < 200_000
    message = _load_with(tmp_path, npz=bomb)
    assert "decompressed size" in message and "over the limit of 33554432 bytes" in message


@pytest.mark.slow
def test_a_4_gib_zip_bomb_is_refused_at_the_default_cap(tmp_path):
    path = tmp_path / "bomb.npz"
    header = corpus.npy_member({"descr": "|u1", "fortran_order": False, "shape": (4 << 30,)}, b"")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("binary.npy", "w", force_zip64=True) as f:
        f.write(header)
        block = bytes(64 << 20)
        for _ in range(64):
            f.write(block)
    message = _load_with(tmp_path, npz=path.read_bytes())
    assert "decompressed size" in message and "over the limit" in message


@pytest.mark.parametrize("case, needle", [
    ("list", "holds a list; expected a design.json object"),
    ("string", "holds a str"),
    ("null", "holds a NoneType"),
    ("non-utf8", "not UTF-8 text"),
    ("utf16", "not UTF-8 text"),
    ("utf8-bom", "byte-order mark"),
    ("deep-list", "nested too deeply"),
    ("deep-object", "nested too deeply"),
    ('metrics.final="good"', "metrics.final is a str; expected an object"),
    ('config=[1, 2]', "config is a list; expected an object"),
    ('metrics.final.test_accuracy="90%"', "metrics.final.test_accuracy is '90%'; expected a number"),
    ("metrics.history=[1, 2]", "metrics.history[0] is not an epoch record"),
    ('config.grid.nx="130"', "grid.nx: expected an integer, got str '130'"),
])
def test_a_malformed_design_json_gets_its_line(tmp_path, case, needle):
    message = _load_with(tmp_path, meta=JSON[case])
    assert needle in message and "design.json" in message, message


def _read(golden: Path, fmt: str, data: bytes, tmp_path: Path) -> str:
    cfg = config_of(load_design(golden))
    path = tmp_path / f"part.{fmt}"
    path.write_bytes(data)
    with pytest.raises(fab.FabricationReadError) as info:
        fab.read(fmt, path, fab_layout(cfg), fab_process(cfg))
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"part.{fmt}: ")
    return message


@pytest.mark.parametrize("case, needle", [
    ("self-reference", "cell 'DESIGNER_DEVICE' references 'DESIGNER_DEVICE', which contains it: a reference cycle"),
    ("mutual-cycle", "a reference cycle"),
    ("three-cycle", "a reference cycle"),
    ("array-self-reference", "a reference cycle"),
    ("deep-chain", "nests references 65 deep, over the limit of 64"),
    ("array-bomb", "cell 'TOP' flattens to 53683814450 polygons, over the limit of 20000000"),
    ("record-length-0", "declares length 0; expected an even length of at least 4"),
    ("record-length-3", "declares length 3"),
    ("record-length-65534", "past the end of the file"),
    ("units-zero", "UNITS (0.0, 0.0) are not two positive numbers"),
    ("int-min-coordinates", "device polygons span (-2.14748e+06"),
    ("duplicate-cell", "cell 'A' is defined twice"),
    ("text-without-string", "lacks STRING"),
    ("text-not-ascii", "STRING at byte"),
    ("unknown-record", "unknown record type 0x8e"),
    ("xy-wrong-data-type", "has data type 2, expected 3"),
    ("xy-partial-point", "holds 6 bytes, not whole values of 4"),
    ("element-without-endel", "has no ENDEL"),
    ("layer-outside-element", "record LAYER at byte"),
])
def test_a_crafted_gds_gets_its_line(golden, tmp_path, case, needle):
    message = _read(golden, "gds", corpus.gds_cases((golden / "design.gds").read_bytes())[case], tmp_path)
    assert needle in message, message


def test_streams_from_real_writers_pass_the_scan(tmp_path):
    """KLayout and gdstk libraries with every element kind, arrays, magnified references and properties."""
    import gdstk
    import klayout.db as kdb

    from fabrication.gds_scan import scan_gds

    ly = kdb.Layout()
    top, sub = ly.create_cell("TOP"), ly.create_cell("SUB")
    layer = ly.layer(1, 0)
    sub.shapes(layer).insert(kdb.Box(0, 0, 100, 100))
    top.shapes(layer).insert(kdb.Path([kdb.Point(0, 0), kdb.Point(500, 500)], 20))
    top.shapes(ly.layer(68, 0)).insert(kdb.Text("label", kdb.Trans(10, 10)))
    top.shapes(layer).insert(kdb.Box(5000, 5000, 6000, 6000)).set_property(1, "property")
    top.insert(kdb.CellInstArray(sub.cell_index(), kdb.Trans(), kdb.Vector(200, 0), kdb.Vector(0, 200), 3, 4))
    top.insert(kdb.CellInstArray(sub.cell_index(), kdb.CplxTrans(2.0, 45, True, kdb.DVector(5, 5))))
    ly.write(str(tmp_path / "klayout.gds"))
    assert scan_gds(tmp_path / "klayout.gds").polygons == 2 + 12 + 1  # path and box, the 3 x 4 array, one more
    lib = gdstk.Library()
    leaf = lib.new_cell("LEAF")
    leaf.add(gdstk.rectangle((0, 0), (1, 1)), gdstk.FlexPath([(0, 0), (1, 1)], 0.1), gdstk.Label("x", (0, 0)))
    lib.new_cell("TOP").add(gdstk.Reference(leaf, columns=2, rows=2, spacing=(1, 1)))
    lib.write_gds(str(tmp_path / "gdstk.gds"))
    assert scan_gds(tmp_path / "gdstk.gds").depth == 2


def test_a_self_referencing_gds_no_longer_kills_verify_or_show(golden, tmp_path):
    """These died with SIGSEGV inside gdstk: now each is one line and exit 2, in a real process."""
    part = tmp_path / "cycle.gds"
    part.write_bytes(corpus.gds_cases((golden / "design.gds").read_bytes())["self-reference"])
    for args in (["verify", str(part), "--run", str(golden)], ["show", str(part), "--run", str(golden)]):
        done = subprocess.run([sys.executable, "-m", "designer", *args], capture_output=True, text=True, timeout=300)
        assert done.returncode == 2, (args, done.returncode, done.stderr)
        assert done.stderr.strip().splitlines() == ["error: cycle.gds: cell 'DESIGNER_DEVICE' references "
                                                    "'DESIGNER_DEVICE', which contains it: a reference cycle."]
    assert not (tmp_path / "cycle.gds.png").exists()


@pytest.mark.parametrize("case, needle", [
    ("open-1-facets-removed", "not watertight"),
    ("open-vertex-moved", "not watertight"),
    ("ascii-open", "not watertight"),
    ("coordinate-inf", "non-finite (NaN or infinite) coordinates"),
    ("coordinate-minus-inf", "non-finite"),
    ("coordinate-nan", "non-finite"),
    ("count-huge", "a binary header declaring 4294967295 triangles needs 214748364834 bytes"),
    ("count-too-large", "not an STL file"),
])
def test_a_broken_stl_gets_its_line(golden, tmp_path, case, needle):
    message = _read(golden, "stl", corpus.stl_cases((golden / "design.stl").read_bytes())[case], tmp_path)
    assert needle in message, message


class _Payload:
    """Unpickling this would create the marker file: proof that nothing was unpickled if it stays absent."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickle_payloads_never_run(golden, tmp_path):
    marker = tmp_path / "payload-ran"
    payload = pickle.dumps(_Payload(marker))
    buf = io.BytesIO()
    np.save(buf, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    arrays = corpus.golden_arrays()
    members = {f"{k}.npy": corpus._npy_bytes(v) for k, v in arrays.items()}
    (tmp_path / "a").mkdir()
    assert "dtype '|O'" in _load_with(tmp_path / "a", npz=corpus.zip_members({**members, "binary.npy": buf.getvalue()}))
    assert "BadZipFile" in _load_with(tmp_path, npz=payload)
    for fmt in ("gds", "stl"):
        _read(golden, fmt, payload, tmp_path)
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "checkpoint.npz").write_bytes(payload)
    from designer.npzio import read_npz

    with pytest.raises(DesignerError):
        read_npz(folder / "checkpoint.npz", "checkpoint")
    assert not marker.exists()
