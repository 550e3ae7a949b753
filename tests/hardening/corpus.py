"""Malformed inputs for every reader, built here from valid files (no binary fixtures).

Each builder returns ``{case id: bytes}`` (or config documents); the cases
are deterministic (seeded), so a failing id names the same bytes every run.
The valid starting points are the golden design (examples/vowels.toml,
130 x 80 cells) and the GDS and STL it exports.
"""
from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
PICKLE = pickle.dumps({"payload": "never unpickled"})


def golden_arrays() -> dict[str, np.ndarray]:
    with np.load(GOLDEN / "design.npz", allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def golden_meta() -> dict:
    return json.loads((GOLDEN / "design.json").read_text())


def npz(arrays: dict, compressed: bool = True) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def npy_member(header: dict, payload: bytes) -> bytes:
    """A raw .npy (version 1.0) with a hand-written header: sizes that lie are the point."""
    text = repr(header).encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + payload


def zip_members(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def flips(data: bytes, count: int, seed: int, skip: int = 0) -> dict[str, bytes]:
    """``count`` copies of ``data``, each with one seeded byte XOR-ed (past ``skip``)."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(count):
        b = bytearray(data)
        pos = int(rng.integers(skip, len(b)))
        b[pos] ^= int(rng.integers(1, 256))
        out[f"flip{i:03d}"] = bytes(b)
    return out


def truncations(data: bytes, count: int) -> dict[str, bytes]:
    """``count`` prefixes of ``data``, from empty to one byte short (ids do not depend on the bytes)."""
    cuts = np.linspace(0, len(data) - 1, count).astype(int)
    return {f"cut{i:02d}": data[:c] for i, c in enumerate(cuts)}


def design_npz_cases() -> dict[str, bytes]:
    """Malformed design.npz files: structure, dtypes, shapes, values, sizes."""
    base = golden_arrays()
    good = npz(base)
    cases = {"empty": b"", "pickle": PICKLE, "text": b"not a zip at all\n" * 10}
    cases.update(truncations(good, 24))
    cases.update(flips(good, 40, seed=1, skip=0))
    for name in ("binary", "theta", "rho", "test_indices", "design_mask", "probe_weights"):
        cases[f"missing-{name}"] = npz({k: v for k, v in base.items() if k != name})
    bad = {
        "binary-str": np.full(base["binary"].shape, "1"),
        "binary-datetime": np.zeros(base["binary"].shape, "datetime64[s]"),
        "binary-complex": base["binary"].astype(np.complex64),
        "binary-half": np.full(base["binary"].shape, 0.5, np.float32),
        "binary-minus-one": np.full(base["binary"].shape, -1, np.int8),
        "binary-two": base["binary"].astype(np.uint8) * 2,
        "binary-1d": base["binary"].ravel(),
        "binary-transposed": base["binary"].T.copy(),
        "binary-3d": base["binary"][None],
        "binary-scalar": np.array(1, np.uint8),
        "binary-structured": np.zeros(base["binary"].shape, [("a", "u1"), ("b", "u1")]),
        "rho-nan": np.full(base["rho"].shape, np.nan, np.float32),
        "rho-above-one": base["rho"] + 2,
        "theta-inf": np.full(base["theta"].shape, np.inf, np.float32),
        "speed-negative": -base["wave_speed_m_per_s"],
        "probe-weights-2d": base["probe_weights"][0],
        "probe-weights-extra-probe": np.concatenate([base["probe_weights"]] * 2),
        "test-indices-empty": np.array([], np.int64),
        "test-indices-float": base["test_indices"].astype(float),
        "test-indices-2d": base["test_indices"][None],
        "test-indices-negative": -base["test_indices"] - 1,
        "test-indices-bool": np.ones(3, bool),
    }
    for case, value in bad.items():
        key = case.split("-")[0].replace("speed", "wave_speed_m_per_s").replace("probe", "probe_weights")
        key = {"test": "test_indices"}.get(key, key)
        cases[case] = npz({**base, key: value})
    members = {f"{k}.npy": _npy_bytes(v) for k, v in base.items()}
    huge = npy_member({"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}, b"\0" * 64)
    cases["declares-1e12-elements"] = zip_members({**members, "binary.npy": huge})
    lying = npy_member({"descr": "|u1", "fortran_order": False, "shape": (130, 80)}, b"\1" * 100)
    cases["header-longer-than-data"] = zip_members({**members, "binary.npy": lying})
    cases["object-dtype"] = zip_members({**members, "binary.npy": npy_member(
        {"descr": "|O", "fortran_order": False, "shape": (130, 80)}, PICKLE)})
    cases["npy-version-9"] = zip_members({**members, "binary.npy": b"\x93NUMPY\x09\x00" + b"\0" * 80})
    cases["not-npy-member"] = zip_members({**members, "readme.txt": b"hello"})
    cases["too-many-members"] = zip_members({**members, **{f"x{i}.npy": _npy_bytes(np.zeros(1)) for i in range(70)}})
    cases["bad-header-literal"] = zip_members({**members, "binary.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': __import__}\n"})
    cases["stored-not-deflated-flip"] = flips(npz(base, compressed=False), 1, seed=7, skip=2000).popitem()[1]
    return cases


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def design_json_cases() -> dict[str, bytes]:
    """Malformed design.json files: not an object, wrong encodings, deep nesting, wrong inner types."""
    meta = golden_meta()
    good = json.dumps(meta).encode()

    def changed(path: str, value) -> bytes:
        m = json.loads(good)
        *parents, last = path.split(".")
        node = m
        for p in parents:
            node = node[p]
        if value is KeyError:
            del node[last]
        else:
            node[last] = value
        return json.dumps(m).encode()

    cases = {
        "list": b"[1, 2, 3]", "string": b'"design"', "null": b"null", "number": b"42", "empty": b"",
        "non-utf8": b'{"config": "\xff\xfe\xfa"}', "utf16": json.dumps(meta).encode("utf-16"),
        "utf8-bom": b"\xef\xbb\xbf" + good, "deep-list": b"[" * 100_000 + b"]" * 100_000,
        "deep-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "pickle": PICKLE,
        "truncated": good[: len(good) // 2], "nan-token-config": good.replace(b'"config"', b'"config": NaN, "x"', 1),
    }
    for path, value in [
        ("config", [1, 2]), ("config", "photonic"), ("config", None), ("config", KeyError),
        ("metrics", []), ("metrics", KeyError), ("metrics.final", "good"), ("metrics.final", KeyError),
        ("metrics.final.test_accuracy", "90%"), ("metrics.final.test_accuracy", 1.5),
        ("metrics.final.test_accuracy", None), ("metrics.final.test_accuracy", True),
        ("metrics.final.train_accuracy", [0.9]), ("metrics.final.test_confusion_matrix", "3x3"),
        ("metrics.final.test_confusion_matrix", [[1.5, 2]]), ("metrics.final.epochs", "24"),
        ("metrics.history", {"0": {}}), ("metrics.history", [1, 2]), ("metrics.history", [{"epoch": "one"}]),
        ("metrics.history", [{"epoch": 0, "train_loss": "low"}]), ("metrics.confusions", 3),
        ("lengthscale", KeyError), ("lengthscale", [2, 2]), ("lengthscale.min_solid_cells", "2"),
        ("lengthscale.rule_cells", None), ("lengthscale.meets_rule", "yes"), ("grayness", "low"),
        ("split", []), ("split.classes", "ae,ei,iy"), ("split.classes", [1, 2, 3]),
        ("config.grid", [130, 80]), ("config.grid.nx", "130"), ("config.grid.nx", -5),
        ("config.template", "no-such-template"), ("config.probes", []), ("config.training.seed", -1),
    ]:
        cases[f"{path}={json.dumps(value) if value is not KeyError else 'missing'}"] = changed(path, value)
    cases.update({k: v for k, v in flips(good, 20, seed=3).items()})
    return cases


def gds_record(rtype: int, dtype: int, payload: bytes = b"") -> bytes:
    return struct.pack(">HBB", 4 + len(payload), rtype, dtype) + payload


def _real8(x: float) -> bytes:
    """GDSII 8-byte excess-64 real (positive x)."""
    if x == 0:
        return b"\0" * 8
    exponent = 64
    while x >= 1:
        x /= 16
        exponent += 1
    while x < 1 / 16:
        x *= 16
        exponent -= 1
    return bytes([exponent]) + int(x * 2**56).to_bytes(7, "big")


def gds_library(cells: list[tuple[str, list[bytes]]], units=(1e-3, 1e-9)) -> bytes:
    """A GDSII stream of ``cells`` (name, element records), written record by record."""
    out = gds_record(0x00, 0x02, struct.pack(">h", 600)) + gds_record(0x01, 0x02, b"\0" * 24)
    out += gds_record(0x02, 0x06, b"LIB\0") + gds_record(0x03, 0x05, _real8(units[0]) + _real8(units[1]))
    for name, elements in cells:
        padded = name.encode() + (b"\0" if len(name) % 2 else b"")
        out += gds_record(0x05, 0x02, b"\0" * 24) + gds_record(0x06, 0x06, padded)
        out += b"".join(elements) + gds_record(0x07, 0x00)
    return out + gds_record(0x04, 0x00)


def gds_box(x0: int, y0: int, x1: int, y1: int, layer: int = 1) -> bytes:
    xy = struct.pack(">10i", x0, y0, x1, y0, x1, y1, x0, y1, x0, y0)
    return (gds_record(0x08, 0x00) + gds_record(0x0D, 0x02, struct.pack(">h", layer))
            + gds_record(0x0E, 0x02, struct.pack(">h", 0)) + gds_record(0x10, 0x03, xy) + gds_record(0x11, 0x00))


def gds_ref(target: str, cols: int = 0, rows: int = 0) -> bytes:
    padded = target.encode() + (b"\0" if len(target) % 2 else b"")
    if cols:
        return (gds_record(0x0B, 0x00) + gds_record(0x12, 0x06, padded)
                + gds_record(0x13, 0x02, struct.pack(">hh", cols, rows))
                + gds_record(0x10, 0x03, struct.pack(">6i", 0, 0, cols, 0, 0, rows)) + gds_record(0x11, 0x00))
    return (gds_record(0x0A, 0x00) + gds_record(0x12, 0x06, padded)
            + gds_record(0x10, 0x03, struct.pack(">2i", 0, 0)) + gds_record(0x11, 0x00))


def _device_point_at_int_min(good: bytes) -> bytes:
    """``good`` with the first device vertex at x = -2**31: what a C writer makes of a NaN coordinate."""
    pos, layer = 0, None
    data = bytearray(good)
    while pos + 4 <= len(data):
        length, rtype = struct.unpack_from(">HB", data, pos)
        if length < 4:
            break
        if rtype == 0x0D:
            layer = struct.unpack_from(">h", data, pos + 4)[0]
        if rtype == 0x10 and layer == 1:
            struct.pack_into(">i", data, pos + 4, -2**31)
            return bytes(data)
        pos += length
    return bytes(data)


def _text(string: bytes | None) -> bytes:
    """A TEXT element; ``string`` None leaves out its STRING record."""
    out = (gds_record(0x0C, 0) + gds_record(0x0D, 2, b"\0\1") + gds_record(0x16, 2, b"\0\0")
           + gds_record(0x10, 3, b"\0" * 8))
    if string is not None:
        out += gds_record(0x19, 6, string + b"\0" * (len(string) % 2))
    return out + gds_record(0x11, 0)


def gds_cases(good: bytes) -> dict[str, bytes]:
    """Malformed GDS streams: crafted structure (cycles, bombs, lengths, units) and mutations of ``good``."""
    box = gds_box(0, 0, 1000, 1000)
    cases = {
        "empty": b"", "pickle": PICKLE, "text": b"GDSII? no.\n" * 20,
        "self-reference": gds_library([("DESIGNER_DEVICE", [box, gds_ref("DESIGNER_DEVICE")])]),
        "mutual-cycle": gds_library([("A", [box, gds_ref("B")]), ("B", [gds_ref("A")])]),
        "three-cycle": gds_library([("A", [gds_ref("B")]), ("B", [gds_ref("C")]), ("C", [box, gds_ref("A")])]),
        "array-self-reference": gds_library([("A", [box, gds_ref("A", 2, 2)])]),
        "deep-chain": gds_library([(f"C{i}", [gds_ref(f"C{i + 1}")]) for i in range(100)] + [("C100", [box])]),
        "array-bomb": gds_library([("TOP", [gds_ref("LEAF", 32767, 32767)]), ("LEAF", [box] * 50)]),
        "duplicate-cell": gds_library([("A", [box]), ("A", [box])]),
        "units-zero": gds_library([("A", [box])], units=(0.0, 0.0)),
        "int-min-coordinates": _device_point_at_int_min(good),
        "text-without-string": gds_library([("A", [box, _text(None)])]),
        "text-not-ascii": gds_library([("A", [box, _text("caf\xe9".encode("latin1"))])]),
        "unknown-record": gds_library([("A", [box, gds_record(0x8E, 0x06, b"XY")])]),
        "xy-wrong-data-type": gds_library([("A", [gds_record(0x08, 0) + gds_record(0x0D, 2, b"\0\1")
                                                  + gds_record(0x0E, 2, b"\0\0") + gds_record(0x10, 2, b"\0" * 8)
                                                  + gds_record(0x11, 0)])]),
        "xy-partial-point": gds_library([("A", [gds_record(0x08, 0) + gds_record(0x0D, 2, b"\0\1")
                                                + gds_record(0x0E, 2, b"\0\0") + gds_record(0x10, 3, b"\0" * 6)
                                                + gds_record(0x11, 0)])]),
        "element-without-endel": gds_library([("A", [box[:-4], box])]),
        "layer-outside-element": gds_library([("A", [gds_record(0x0D, 2, b"\0\1"), box])]),
        "no-endlib": gds_library([("A", [box])])[:-4],
        "starts-without-header": gds_library([("A", [box])])[6:],
    }
    for length in (0, 1, 2, 3, 5, 65534):  # the second record (BGNLIB) starts at byte 6, after HEADER
        cases[f"record-length-{length}"] = good[:6] + struct.pack(">H", length) + good[8:]
    cases.update(truncations(good, 24))
    cases.update(flips(good, 50, seed=2))
    return cases


def stl_cases(good: bytes) -> dict[str, bytes]:
    """Malformed STL files: counts that lie, non-finite coordinates, open meshes, garbage."""
    n = int.from_bytes(good[80:84], "little")
    facets = np.frombuffer(good, dtype=[("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")], offset=84).copy()

    def with_facets(f: np.ndarray) -> bytes:
        return good[:80] + len(f).to_bytes(4, "little") + f.tobytes()

    cases = {"empty": b"", "pickle": PICKLE, "short": b"\0" * 40, "solid-garbage": b"solid x\n garbage \n",
             "ascii-open": b"solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\n"
                           b"endloop\nendfacet\nendsolid t\n",
             "count-too-large": good[:80] + (n + 1).to_bytes(4, "little") + good[84:],
             "count-huge": good[:80] + (2**32 - 1).to_bytes(4, "little") + good[84:],
             "count-zero": good[:80] + (0).to_bytes(4, "little") + good[84:],
             "header-only": good[:80] + (0).to_bytes(4, "little")}
    for value, label in ((np.inf, "inf"), (-np.inf, "minus-inf"), (np.nan, "nan")):
        f = facets.copy()
        f["v"][len(f) // 2, 0, 0] = value
        cases[f"coordinate-{label}"] = with_facets(f)
    for k in (1, 2, 10):
        cases[f"open-{k}-facets-removed"] = with_facets(facets[k:])
    f = facets.copy()
    f["v"][0, 0] += 0.37
    cases["open-vertex-moved"] = with_facets(f)
    cases.update(truncations(good, 16))
    return cases


def config_cases(base: dict) -> dict[str, dict | bytes]:
    """Config documents (dicts written as TOML by the test) and raw bytes that must be refused."""
    import copy

    cases: dict[str, dict | bytes] = {}

    def set_(section: str, key: str, value):
        doc = copy.deepcopy(base)
        if section in ("sources", "probes"):
            doc[section][0][key] = value
        elif section:
            doc.setdefault(section, {})[key] = value
        else:
            doc[key] = value
        return doc

    bad = {
        ("grid", "nx"): [0, -1, "48", 1.5, 10**9, True],
        ("grid", "ny"): [0, -3],
        ("grid", "absorber_cells"): [-1, 100],
        ("grid", "absorber_order"): [0.0, -2.0, "two"],
        ("grid", "absorber_strength"): [-0.5],
        ("grid", "absorber_profile"): ["square"],
        ("design_region", "keepout_cells"): [-5, 40],
        ("design_region", "x0_cells"): [40, -1],
        ("design_region", "x1_cells"): [14, 1000],
        ("sources", "x_cells"): [37, -1, 10**6],
        ("sources", "kind"): ["plane"],
        ("probes", "radius_cells"): [0.0, -1.0, 40.0],
        ("probes", "y_cells"): [18.5],
        ("simulation", "time_scale"): [1e300, -1.0, 1e9],
        ("simulation", "dtype"): ["float16"],
        ("simulation", "engine"): ["fast"],
        ("nonlinearity", "saturable_absorption"): [-10.0],
        ("nonlinearity", "saturation_amplitude"): [0.0, -1.0],
        ("data", "sample_rate_hz"): [0.0, -1.0, 1e12, 1e30],
        ("data", "window_samples"): [0, 10**9],
        ("data", "speakers_per_sex"): [0, 10**8],
        ("data", "test_fraction"): [0.0, 1.0, 2.0],
        ("data", "seed"): [-1, 2**63, 2**64],
        ("data", "vowels"): [["ae"], ["ae", "ae", "iy"], ["xx", "ei", "iy"], "ae"],
        ("data", "sexes"): [["x"]],
        ("data", "corpus"): ["timit"],
        ("training", "seed"): [-1, 2**63, 2**64],
        ("training", "epochs"): [0, 10**9],
        ("training", "batch_size"): [0, 10**9],
        ("training", "learning_rate"): [0.0, -1.0],
        ("training", "lr_decay"): [-0.5, 0.0],
        ("training", "folds"): [1, -1, 9],
        ("training", "select_epochs"): [0],
        ("training", "init_value"): [2.0],
        ("constraints", "indicator_weight"): [-1.0],
        ("constraints", "beta_factor"): [0.5],
        ("constraints", "beta_max"): [1.0],
        ("constraints", "rule_margin"): [0.5],
        ("constraints", "method"): ["magic"],
        ("", "template"): ["no-such", 3],
        ("", "unknown_key"): [1],
    }
    for (section, key), values in bad.items():
        for v in values:
            cases[f"{section or 'top'}.{key}={v!r}"[:80]] = set_(section, key, v)
    two_probes = copy.deepcopy(base)
    two_probes["probes"][1] = dict(two_probes["probes"][0], name="ei")
    cases["coincident-probes"] = two_probes
    on_source = copy.deepcopy(base)
    on_source["probes"][0].update(x_cells=base["sources"][0]["x_cells"], y_cells=base["sources"][0]["y_cells"])
    cases["probe-on-source"] = on_source
    for section in ("grid", "design_region", "sources", "probes", "template"):
        cases[f"missing-{section}"] = {k: v for k, v in base.items() if k != section}
    cases["grid-not-table"] = {**base, "grid": 3}
    cases["probes-empty"] = {**base, "probes": []}
    cases["deep-toml"] = b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n"
    cases["deep-inline-table"] = b"x = " + b"{a = " * 3000 + b"1" + b"}" * 3000 + b"\n"
    cases["non-utf8"] = b'template = "\xff\xfe"\n'
    cases["utf16"] = 'template = "photonic-soi"\n'.encode("utf-16")
    cases["not-toml"] = b"[[[grid\n"
    cases["pickle"] = PICKLE
    cases["nan-value"] = b'template = "photonic-soi"\n[grid]\nnx = nan\nny = 36\n'
    return cases
