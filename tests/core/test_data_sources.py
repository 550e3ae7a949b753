"""Each data source reads what it promises; splits keep groups whole; a sample's result ignores its batch."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soundfile
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from designer.config import DataSpec, parse_config
from designer.data import (Corpus, batches, group_folds, infer_source, load_corpus, make_split, ring_down_steps,
                           source_classes, transit_steps)
from designer.data.audio import read_wav
from designer.train import evaluate, make_problem, probe_power
from tests.conftest import tiny_data
from tests.core.datasets import RATE_HZ, tone, write_csv, write_folders, write_npz, write_ts, write_tsv


def _load(source: str, path, **kw) -> Corpus:
    spec = DataSpec(source=source, path=str(path), **kw)
    return load_corpus(dataclasses.replace(spec, classes=source_classes(spec)))


@pytest.mark.parametrize("subtype, bits", [("PCM_16", 16), ("PCM_24", 24), ("PCM_32", 32), ("FLOAT", 32), ("DOUBLE", 64)])
def test_wav_formats_read_to_the_same_signal(tmp_path, subtype, bits):
    x = tone(1, 500, np.random.default_rng(0), 22050.0)
    soundfile.write(tmp_path / "a.wav", np.stack([x, -x], axis=1), 22050, subtype=subtype)
    y, rate = read_wav(tmp_path / "a.wav")
    assert rate == 22050.0 and y.dtype == np.float32 and y.shape == (500,)  # the first channel only
    np.testing.assert_allclose(y, x, atol=2.0 ** (1 - min(bits, 24)))


def test_folders_read_free_class_names_any_rate_and_groups(tmp_path):
    names = ["yes", "no", "maybe later", "stop!"]
    root = write_folders(tmp_path / "clips", names, rate_hz=16000)
    assert infer_source(root) == "folders"
    corpus = _load("folders", root, group_pattern="^(s[0-9]+)_", sample_rate_hz=RATE_HZ)
    assert corpus.classes == tuple(sorted(names))  # folder order unless [data] classes says otherwise
    assert np.bincount(corpus.labels).tolist() == [6, 6, 6, 6]
    assert set(corpus.groups.tolist()) == {"s0", "s1", "s2"}
    for x in corpus.signals:
        assert np.abs(x).max() == pytest.approx(1.0)
        assert 240 <= len(x) <= 400  # 400..640 samples at 16 kHz, resampled to 10 kHz
    chosen = load_corpus(DataSpec(source="folders", path=str(root), classes=("stop!", "yes")))
    assert chosen.classes == ("stop!", "yes") and len(chosen.labels) == 12


def test_folder_groups_from_a_csv(tmp_path):
    root = write_folders(tmp_path / "clips", ["up", "down"], per_class=4)
    rows = ["file,group"] + [f"{p.parent.name}/{p.name},{'alice' if i % 2 else 'bob'}"
                             for i, p in enumerate(sorted(root.glob("*/*.wav")))]
    (tmp_path / "groups.csv").write_text("\n".join(rows) + "\n")
    corpus = _load("folders", root, groups_file=str(tmp_path / "groups.csv"))
    assert sorted(set(corpus.groups.tolist())) == ["alice", "bob"]


@pytest.mark.parametrize("kind", ["ragged npz", "rectangular npz", "npy folder", "csv"])
def test_arrays_read_series_labels_and_groups(tmp_path, kind):
    if kind == "csv":
        path = write_csv(tmp_path / "tones.csv")
    else:
        path = write_npz(tmp_path / "tones.npz", ragged=kind != "rectangular npz")
    if kind == "npy folder":
        folder = tmp_path / "npy"
        folder.mkdir()
        with np.load(path) as arrays:
            for key in arrays.files:
                np.save(folder / f"{key}.npy", arrays[key])
        path = folder
    assert infer_source(path) == "arrays"
    corpus = _load("arrays", path)
    assert len(corpus.classes) == 3 and len(corpus.labels) == 24
    lengths = corpus.lengths
    assert (lengths == 260).all() if kind == "rectangular npz" else lengths.min() < lengths.max()
    assert len(set(corpus.groups.tolist())) == (24 if kind == "csv" else 6)


def test_arrays_with_integer_labels_and_a_rate(tmp_path):
    x = np.stack([tone(k % 2, 400, np.random.default_rng(k), 20000.0) for k in range(6)])
    np.savez(tmp_path / "a.npz", X=x, y=np.arange(6) % 2, sample_rate_hz=20000.0)
    corpus = load_corpus(DataSpec(source="arrays", path=str(tmp_path / "a.npz"), classes=("low", "high")))
    assert corpus.classes == ("low", "high") and corpus.labels.tolist() == [0, 1, 0, 1, 0, 1]
    assert (corpus.lengths == 200).all()  # 20 kHz resampled to the run's 10 kHz


@pytest.mark.parametrize("fmt", ["ts", "tsv", "txt"])
def test_ucr_pairs_keep_the_archive_split(tmp_path, fmt):
    folder = {"ts": write_ts, "tsv": write_tsv, "txt": lambda f: write_tsv(f, suffix=".txt")}[fmt](tmp_path / "a")
    assert infer_source(folder) == "ucr"
    corpus = _load("ucr", folder)
    assert corpus.classes == (("c0", "c1") if fmt == "ts" else ("1", "2"))
    assert corpus.is_test.sum() == 12 and (~corpus.is_test).sum() == 16
    split = make_split(corpus, 0, 0, 0.25, 0)
    assert np.array_equal(split.test, np.flatnonzero(corpus.is_test))
    if fmt != "ts":
        assert corpus.lengths.min() < 60  # NaN padding (tsv) and short rows (txt) end a series
    train_only = _load("ucr", next(folder.glob("*_TEST.*")))
    assert train_only.is_test is None and len(train_only.labels) == 12  # one file: split like any data


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=4, max_size=60), st.integers(2, 5), st.integers(0, 3))
def test_group_folds_never_split_a_group(group_ids, folds, seed):
    groups = np.array([f"g{g}" for g in group_ids])
    parts = group_folds(groups, folds, seed)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(groups)))
    for a in range(folds):
        for b in range(a + 1, folds):
            assert not set(groups[parts[a]]) & set(groups[parts[b]])
    sizes = [len(set(groups[p])) for p in parts]
    assert max(sizes) - min(sizes) <= 1  # groups dealt evenly


def test_splits_keep_groups_on_one_side(tmp_path):
    root = write_folders(tmp_path / "clips", ["a", "b", "c"], per_class=8, speakers=4)
    corpus = _load("folders", root, group_pattern="^(s[0-9]+)_")
    for k in range(4):
        split = make_split(corpus, 4, k, 0.25, 0)
        assert not set(corpus.groups[split.train]) & set(corpus.groups[split.test])
        assert len(set(corpus.groups[split.test])) == 1


def test_ungrouped_samples_are_stratified_by_class():
    signals, labels = [np.ones(10, np.float32)] * 30, np.repeat([0, 1, 2], 10)
    corpus = Corpus(tuple(signals), labels, np.arange(30).astype(str), ("a", "b", "c"), RATE_HZ)
    for k in range(5):
        split = make_split(corpus, 5, k, 0.25, 0)
        assert np.bincount(labels[split.test], minlength=3).tolist() == [2, 2, 2]


def _tiny_problem(ring_down: int, engine: str = "fused"):
    doc = tiny_data()
    doc["simulation"] = {"dtype": "float64"}
    doc["data"].update(ring_down_samples=ring_down, window_samples=0)
    cfg = parse_config(doc, "tiny")
    return make_problem(cfg, engine=engine)


@pytest.mark.parametrize("engine", ["auto", "reference", "fused", "impulse"])
def test_a_samples_result_does_not_depend_on_its_batch_mates(engine):
    problem = _tiny_problem(ring_down=40, engine=engine)
    rng = np.random.default_rng(3)
    lengths = [120, 75, 200, 75, 161, 33]
    signals = tuple(tone(i % 3, n, rng) for i, n in enumerate(lengths))
    corpus = Corpus(signals, np.array([0, 1, 2, 0, 1, 2]), np.arange(6).astype(str), ("ae", "ei", "iy"), RATE_HZ)
    rho = torch.as_tensor(rng.uniform(size=(48, 36)), dtype=torch.float64)
    together = evaluate(problem, corpus, np.arange(6), rho, None, batch_size=6)
    for i in range(6):
        alone = evaluate(problem, corpus, np.array([i]), rho, None, batch_size=1)
        row = np.flatnonzero(together.indices == i)[0]
        np.testing.assert_allclose(together.log_probs[row], alone.log_probs[0], rtol=1e-10, atol=1e-12)
    batch = next(batches(corpus, np.arange(6), 6, None, ring_down=40, dtype=torch.float64))
    assert batch.lengths.tolist() == sorted(n + 40 for n in lengths)
    assert batch.inputs.shape[1] == 240
    for b, i in enumerate(batch.indices):
        assert not batch.inputs[b, lengths[i]:].any()  # zero input after each signal


def test_ring_down_lets_a_short_signal_reach_the_probes():
    problem = _tiny_problem(ring_down=-1)
    transit = transit_steps(problem.cfg)
    assert 20 < transit  # the tiny device: ~27 cells at ~0.3 cells per step
    x = torch.as_tensor(tone(0, 20, np.random.default_rng(0))[None], dtype=torch.float64)
    rho = torch.full((48, 36), 0.5, dtype=torch.float64)
    padded = torch.nn.functional.pad(x, (0, transit))
    cut = probe_power(problem, rho, padded, torch.tensor([20]))
    assert float(cut.abs().max()) == 0.0  # 20 steps: the wave has not reached the probes (1 cell per step at most)
    full = probe_power(problem, rho, padded, torch.tensor([20 + transit]))
    assert float(full.min()) > 0
    corpus = Corpus((x[0].numpy().astype(np.float32),) * 2, np.array([0, 1]), np.array(["a", "b"]), ("ae", "ei"),
                    RATE_HZ)
    assert ring_down_steps(problem.cfg, corpus) == transit  # automatic: the signals are short
    long = dataclasses.replace(problem.cfg.data, window_samples=4 * transit)
    assert ring_down_steps(problem.cfg.replace(data=long), corpus) == 0  # long windows need none


def test_init_fits_a_config_to_class_folders(tmp_path):
    from click.testing import CliRunner

    from designer.cli import main
    from designer.config import load_config

    names = [f"word {k}" for k in range(7)] + ['say "hi"']
    write_folders(tmp_path / "clips", names, per_class=2)
    out = tmp_path / "clips.toml"
    result = CliRunner().invoke(main, ["init", "--data", str(tmp_path / "clips"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    cfg = load_config(out)
    assert cfg.data.source == "folders" and cfg.data.classes == tuple(sorted(names))
    assert [p.name for p in cfg.probes] == sorted(names)
    assert cfg.data.path == str((tmp_path / "clips").resolve())  # written relative to the config, read back whole
