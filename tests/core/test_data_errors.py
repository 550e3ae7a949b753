"""Malformed data of every kind: one line naming the file and what was expected, exit 2, and no output."""
from __future__ import annotations

import struct

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from designer.cli import main
from tests.conftest import tiny_data, write_toml
from tests.core.datasets import tiny_run_data, write_folders, write_npz, write_ts


def _wav_header_only(rate: int, data: bytes = b"\x00\x01" * 10) -> bytes:
    """A PCM WAV whose header states ``rate``; written by hand because no writer accepts a zero rate."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _broken_folders(tmp_path, defect: str):
    root = write_folders(tmp_path / "clips", ["yes", "no"], per_class=4)
    bad = root / "no" / "bad.wav"
    if defect == "zero frames":
        soundfile.write(bad, np.zeros(0, np.float32), 16000, subtype="PCM_16")
    elif defect == "zero rate":
        bad.write_bytes(_wav_header_only(0))
    elif defect == "folder named like a WAV":
        bad.mkdir()
    elif defect == "non-finite":
        soundfile.write(bad, np.array([0.1, np.nan, 0.2] * 50, np.float32), 16000, subtype="FLOAT")
    elif defect == "not a WAV":
        bad.write_bytes(b"this is not audio" * 8)
    return {"source": "folders", "path": str(root)}, bad


def _assert_refused(tmp_path, doc: dict, *fragments: str):
    config = write_toml(tmp_path / "bad.toml", doc)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["optimize", str(config), "--out", str(out), "--quiet"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not out.exists(), "a refused run must leave no output"


@pytest.mark.parametrize("defect, message", [
    ("zero frames", "no audio frames"),
    ("zero rate", "sample rate 0 Hz"),
    ("folder named like a WAV", "is a folder, expected a WAV file"),
    ("non-finite", "non-finite samples"),
    ("not a WAV", "not a readable WAV file"),
])
def test_malformed_wav(tmp_path, defect, message):
    data, bad = _broken_folders(tmp_path, defect)
    _assert_refused(tmp_path, tiny_run_data(data), str(bad), message)


def test_one_group_only(tmp_path):
    root = write_folders(tmp_path / "clips", ["yes", "no"], per_class=4)
    data = {"source": "folders", "path": str(root), "group_pattern": "(take)"}  # every file: group 'take'
    _assert_refused(tmp_path, tiny_run_data(data), str(root), "one group only", "two or more groups")


def test_more_folds_than_groups(tmp_path):
    root = write_folders(tmp_path / "clips", ["yes", "no"], per_class=4, speakers=2)
    doc = tiny_run_data({"source": "folders", "path": str(root), "group_pattern": "^(s[0-9]+)_"})
    doc["training"]["folds"] = 3
    _assert_refused(tmp_path, doc, "training.folds = 3", "only 2 groups")


def test_file_outside_the_group_pattern(tmp_path):
    root = write_folders(tmp_path / "clips", ["yes", "no"], per_class=4)
    (root / "yes" / "s0_take0.wav").rename(root / "yes" / "unnamed.wav")
    data = {"source": "folders", "path": str(root), "group_pattern": "^(s[0-9]+)_"}
    _assert_refused(tmp_path, tiny_run_data(data), "unnamed.wav", "does not match data.group_pattern")


def test_class_folder_without_recordings(tmp_path):
    root = write_folders(tmp_path / "clips", ["yes", "no"], per_class=4)
    (root / "maybe").mkdir()
    _assert_refused(tmp_path, tiny_run_data({"source": "folders", "path": str(root)}), "maybe",
                    "no WAV files for class 'maybe'")


def test_empty_sexes_list(tmp_path):
    doc = tiny_data()
    doc["data"]["sexes"] = []
    _assert_refused(tmp_path, doc, "data.sexes", "got an empty list")


def test_label_with_no_samples(tmp_path):
    path = write_npz(tmp_path / "tones.npz")
    data = {"source": "arrays", "path": str(path), "classes": ["class A", "class B", "class Z"]}
    _assert_refused(tmp_path, tiny_run_data(data), str(path), "no samples for class 'class Z'")


@pytest.mark.parametrize("defect, message", [
    ("inf", "non-finite samples"),
    ("object", "never unpickled"),
    ("lengths", "lengths must be positive and sum to X"),
    ("no labels", "no array y"),
    ("labels", "y has shape"),
])
def test_malformed_arrays(tmp_path, defect, message):
    path = tmp_path / "bad.npz"
    x, lengths, y = np.ones(60), np.array([20, 20, 20]), np.array(["a", "b", "a"])
    if defect == "inf":
        x[33] = np.inf
    if defect == "lengths":
        lengths = np.array([20, 20, 30])
    arrays = {"X": x, "lengths": lengths, "y": y}
    if defect == "no labels":
        del arrays["y"]
    if defect == "labels":
        arrays["y"] = np.array(["a", "b"])
    if defect == "object":
        arrays["X"] = np.array([np.ones(3), np.ones(4)], dtype=object)
        del arrays["lengths"]
    np.savez(path, **arrays)
    classes = {} if defect in ("no labels", "object") else {"classes": ["a", "b"]}
    _assert_refused(tmp_path, tiny_run_data({"source": "arrays", "path": str(path), **classes}), str(path), message)


def test_csv_with_text_among_the_samples(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,0.1,0.2,0.3\nb,0.1,oops,0.3\n")
    _assert_refused(tmp_path, tiny_run_data({"source": "arrays", "path": str(path)}), str(path), "line 2",
                    "expected numbers")


@pytest.mark.parametrize("defect, message", [
    ("multivariate", "multivariate series (2 dimensions)"),
    ("nan", "non-finite samples"),
    ("no data", "expected an @ header line or @data"),
    ("text", "'x' is not a number"),
])
def test_malformed_ts(tmp_path, defect, message):
    folder = write_ts(tmp_path / "archive")
    path = folder / "Tones_TRAIN.ts"
    text = path.read_text()
    head, _, body = text.partition("@data\n")
    first, *rest = body.splitlines()
    values, label = first.split(":")
    if defect == "multivariate":
        first = f"{values}:{values}:{label}"
    elif defect == "nan":
        first = values.replace(",", ",NaN,", 1) + ":" + label
    elif defect == "text":
        first = "x," + values + ":" + label
    text = head + ("" if defect == "no data" else "@data\n") + "\n".join([first, *rest]) + "\n"
    path.write_text(text)
    data = {"source": "ucr", "path": str(folder), "classes": ["c0", "c1"], "window_samples": 0}
    _assert_refused(tmp_path, tiny_run_data(data), str(path), message)


def test_multivariate_header_is_refused(tmp_path):
    folder = write_ts(tmp_path / "archive")
    path = folder / "Tones_TRAIN.ts"
    path.write_text(path.read_text().replace("@univariate true", "@univariate false\n@dimensions 3"))
    _assert_refused(tmp_path, tiny_run_data({"source": "ucr", "path": str(path), "window_samples": 0}), str(path),
                    "multivariate series (3 dimensions)", "univariate")


def test_archive_split_and_folds_contradict(tmp_path):
    folder = write_ts(tmp_path / "archive")
    doc = tiny_run_data({"source": "ucr", "path": str(folder), "window_samples": 0})
    doc["training"]["folds"] = 2
    _assert_refused(tmp_path, doc, "training.folds = 2", "its own train/test split")


def test_missing_data_folder(tmp_path):
    _assert_refused(tmp_path, tiny_run_data({"source": "folders", "path": str(tmp_path / "none")}), "data.path",
                    "data folder not found")


def test_unknown_source_lists_the_sources(tmp_path):
    _assert_refused(tmp_path, tiny_run_data({"source": "wav"}), "data.source", "synthetic, hillenbrand, folders, "
                    "arrays, ucr, code")


def test_old_and_new_key_together_is_one_line(tmp_path):
    doc = tiny_data()
    doc["data"]["source"] = "synthetic"  # beside the older spelling, corpus
    _assert_refused(tmp_path, doc, "data.corpus", "older name of data.source")
