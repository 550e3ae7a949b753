"""Fuzz every reader with malformed inputs: each is one line or accepted, never a traceback or a hang.

The corpus (tests/hardening/corpus.py) is built from valid files: crafted
structure (reference cycles, lying sizes, wrong dtypes, deep nesting) plus
seeded truncations and byte flips. Each case runs under a 10 s alarm (a hang
is a failure, not a slow pass). A case that must be refused is refused by a
DesignerError / FabricationReadError of one line naming the file; the CLI
turns it into ``error: ...``, exit 2, and writes nothing. Random byte flips may
land where a reader cannot tell (a label, a coordinate) and may be accepted.
The slow-marked test at the end repeats the byte-level mutations with many
more seeds.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import fabrication as fab
from designer.checkpoint import load_checkpoint, run_fingerprint
from designer.cli import main
from designer.config import load_config, parse_config
from designer.design import load_design
from designer.errors import DesignerError
from designer.export import config_of, fab_layout, fab_process
from tests.conftest import tiny_data, write_toml
from tests.hardening import corpus

ALARM_S = 10


@contextlib.contextmanager
def no_hang(case: str):
    def expire(*_):
        raise TimeoutError(f"{case}: still running after {ALARM_S} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(ALARM_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def outcome(call, case: str, errors=(DesignerError, fab.FabricationReadError)) -> str | None:
    """None if ``call`` accepted the input, else the one-line message; any other exception fails."""
    with no_hang(case):
        try:
            call()
        except errors as exc:
            message = str(exc)
            assert message and "\n" not in message, f"{case}: not one line: {message!r}"
            return message
    return None


def must_reject(case: str) -> bool:
    return not case.startswith("flip")


@pytest.fixture(scope="module")
def golden_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("golden")
    for name in ("design.npz", "design.json"):
        shutil.copy(corpus.GOLDEN / name, folder / name)
    for fmt in ("gds", "stl"):
        result = CliRunner().invoke(main, ["export", str(folder), "--format", fmt])
        assert result.exit_code == 0, result.output
    return folder


def _assert_cli_refuses(args: list[str], folder: Path, case: str) -> None:
    before = sorted(p.name for p in folder.iterdir())
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, f"{case}: exit {result.exit_code}: {result.output[-400:]}"
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), f"{case}: {result.output[-400:]}"
    assert sorted(p.name for p in folder.iterdir()) == before, f"{case}: wrote output for a rejected input"


DESIGN_NPZ = corpus.design_npz_cases()
DESIGN_JSON = corpus.design_json_cases()


@pytest.mark.parametrize("case", sorted(DESIGN_NPZ))
def test_design_npz(case, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(corpus.GOLDEN / "design.json", folder / "design.json")
    (folder / "design.npz").write_bytes(DESIGN_NPZ[case])
    message = outcome(lambda: load_design(folder), case)
    assert message is not None or not must_reject(case), f"{case}: accepted"
    if message is not None:
        assert "design.npz" in message
        _assert_cli_refuses(["export", str(folder), "--format", "svg"], folder, case)


@pytest.mark.parametrize("case", sorted(DESIGN_JSON))
def test_design_json(case, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(corpus.GOLDEN / "design.npz", folder / "design.npz")
    (folder / "design.json").write_bytes(DESIGN_JSON[case])
    message = outcome(lambda: load_design(folder), case)
    assert message is not None or not must_reject(case), f"{case}: accepted"
    if message is not None:
        assert "design.json" in message
        _assert_cli_refuses(["export", str(folder), "--format", "svg"], folder, case)


@pytest.fixture(scope="module")
def part_cases(golden_run) -> dict[str, dict[str, bytes]]:
    return {"gds": corpus.gds_cases((golden_run / "design.gds").read_bytes()),
            "stl": corpus.stl_cases((golden_run / "design.stl").read_bytes())}


# Case ids do not depend on the bytes, so they can be listed before the golden parts are exported.
GDS_IDS = sorted(corpus.gds_cases(b"\0" * 64))
STL_IDS = sorted(corpus.stl_cases(b"\0" * 80 + (1).to_bytes(4, "little") + b"\0" * 50))


def _read_part(fmt: str, golden_run: Path, data: bytes, tmp_path: Path, case: str) -> None:
    design = load_design(golden_run)
    cfg = config_of(design)
    path = tmp_path / f"part.{fmt}"
    path.write_bytes(data)
    message = outcome(lambda: fab.read(fmt, path, fab_layout(cfg), fab_process(cfg)), case)
    assert message is not None or not must_reject(case), f"{case}: accepted"
    if message is not None:
        assert path.name in message
        _assert_cli_refuses(["show", str(path), "--run", str(golden_run), "--out", str(tmp_path / "x.png")],
                            tmp_path, case)


@pytest.mark.parametrize("case", GDS_IDS)
def test_gds(case, golden_run, part_cases, tmp_path):
    _read_part("gds", golden_run, part_cases["gds"][case], tmp_path, case)


@pytest.mark.parametrize("case", STL_IDS)
def test_stl(case, golden_run, part_cases, tmp_path):
    _read_part("stl", golden_run, part_cases["stl"][case], tmp_path, case)


CONFIG = corpus.config_cases(tiny_data())


@pytest.mark.parametrize("case", sorted(CONFIG))
def test_config(case, tmp_path):
    doc = CONFIG[case]
    path = tmp_path / "bad.toml"
    if isinstance(doc, bytes):
        path.write_bytes(doc)
    else:
        write_toml(path, doc)
    message = outcome(lambda: load_config(path), case)
    if message is None:
        pytest.skip(f"{case}: a valid config")  # a mutation that stays valid is not malformed
    assert "bad.toml" in message
    _assert_cli_refuses(["optimize", str(path), "--out", str(tmp_path / "run"), "--quiet"], tmp_path, case)


@pytest.fixture(scope="module")
def checkpoint_run(tmp_path_factory) -> Path:
    """A real checkpoint: one epoch of the tiny config."""
    folder = tmp_path_factory.mktemp("ckpt")
    config = write_toml(folder / "tiny.toml", tiny_data())
    result = CliRunner().invoke(main, ["optimize", str(config), "--out", str(folder / "run"), "--epochs", "1",
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    return folder


def _checkpoint_cases(good: bytes) -> dict[str, bytes]:
    with np.load(io.BytesIO(good)) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(arrays["meta"].tobytes())

    def with_meta(**changes) -> bytes:
        m = {**copy.deepcopy(meta), **changes}
        return corpus.npz({**arrays, "meta": np.frombuffer(json.dumps(m).encode(), np.uint8)})

    cases = {"empty": b"", "pickle": corpus.PICKLE}
    cases.update(corpus.truncations(good, 16))
    cases.update(corpus.flips(good, 24, seed=5))
    cases["no-meta"] = corpus.npz({k: v for k, v in arrays.items() if k != "meta"})
    cases["meta-float"] = corpus.npz({**arrays, "meta": arrays["meta"].astype(float)})
    cases["meta-not-json"] = corpus.npz({**arrays, "meta": np.frombuffer(b"{not json", np.uint8)})
    cases["meta-list"] = corpus.npz({**arrays, "meta": np.frombuffer(b"[1]", np.uint8)})
    cases["meta-non-utf8"] = corpus.npz({**arrays, "meta": np.frombuffer(b"\xff\xfe", np.uint8)})
    other_grid = {**meta["run"], "grid": {**meta["run"]["grid"], "nx": 49}}
    for label, key, value in [
            ("old-format", "format", "designer-checkpoint/1"), ("epoch-string", "epoch", "0"),
            ("epoch-negative", "epoch", -1), ("epoch-past-the-run", "epoch", 99), ("epoch-bool", "epoch", True),
            ("history-object", "history", {}), ("history-short", "history", []), ("history-numbers", "history", [1]),
            ("confusions-null", "confusions", None), ("selected-malformed", "selected", {"epoch": "x"}),
            ("sha-missing", "sha256", {}), ("sha-wrong", "sha256", {k: "0" * 64 for k in meta["sha256"]}),
            ("run-missing", "run", {}), ("run-other-grid", "run", other_grid)]:
        cases[f"meta-{label}"] = with_meta(**{key: value})
    theta = arrays["theta"]
    for label, name, value in [("theta-short", "theta", theta[:-1]),
                               ("theta-complex", "theta", theta.astype(np.complex64)),
                               ("theta-transposed", "theta", theta.T.copy()),
                               ("adam-3d", "exp_avg", arrays["exp_avg"][None]),
                               ("step-vector", "step", np.array([1.0, 2.0]))]:
        cases[label] = corpus.npz({**arrays, name: value})
    cases["partial-adam"] = corpus.npz({k: v for k, v in arrays.items() if k != "exp_avg_sq"})
    cases["extra-array"] = corpus.npz({**arrays, "evil": np.zeros(3)})
    return cases


_DUMMY = {"theta": np.zeros((2, 2)), "exp_avg": np.zeros((2, 2)), "exp_avg_sq": np.zeros((2, 2)),
          "meta": np.frombuffer(json.dumps({"run": {"grid": {}}, "sha256": {}}).encode(), np.uint8)}
CHECKPOINT_IDS = sorted(_checkpoint_cases(corpus.npz(_DUMMY)))


@pytest.mark.parametrize("case", CHECKPOINT_IDS)
def test_checkpoint(case, checkpoint_run, tmp_path):
    key = case
    (tmp_path / "checkpoint.npz").write_bytes(_checkpoint_cases((checkpoint_run / "run" / "checkpoint.npz").read_bytes())[key])
    cfg = parse_config(tiny_data(), "tiny.toml")
    theta = torch.zeros(48, 36, requires_grad=True)
    opt = torch.optim.Adam([theta])

    class Selection:
        epoch = loss = theta = None

    message = outcome(lambda: load_checkpoint(tmp_path, theta, opt, Selection(), run_fingerprint(cfg), 2), key)
    assert message is not None or not must_reject(key), f"{key}: accepted"


def test_the_corpus_holds_over_300_malformed_inputs():
    counts = {"design.npz": len(DESIGN_NPZ), "design.json": len(DESIGN_JSON), "gds": len(GDS_IDS),
              "stl": len(STL_IDS), "config": len(CONFIG), "checkpoint": len(CHECKPOINT_IDS)}
    assert sum(counts.values()) >= 300, counts
    assert min(counts.values()) >= 30, counts


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_deep_byte_mutations(seed, golden_run, tmp_path):
    """Many more seeded flips and cuts of every binary format, read in process."""
    design = load_design(golden_run)
    cfg = config_of(design)
    layout, process = fab_layout(cfg), fab_process(cfg)
    for fmt in ("gds", "stl"):
        good = (golden_run / f"design.{fmt}").read_bytes()
        path = tmp_path / f"part.{fmt}"
        for case, data in {**corpus.flips(good, 150, seed=100 + seed), **corpus.truncations(good, 40)}.items():
            path.write_bytes(data)
            outcome(lambda: fab.read(fmt, path, layout, process), f"{fmt}:{case}")
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(corpus.GOLDEN / "design.json", folder / "design.json")
    good = (corpus.GOLDEN / "design.npz").read_bytes()
    for case, data in corpus.flips(good, 150, seed=200 + seed).items():
        (folder / "design.npz").write_bytes(data)
        outcome(lambda: load_design(folder), f"npz:{case}")
