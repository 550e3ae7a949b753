"""The vowel corpora: the synthetic generator, the Hillenbrand loader, speaker-grouped folds, batches."""
from __future__ import annotations

import numpy as np
import pytest

from designer.config import DataSpec
from designer.data import batches, centred_window, group_folds, load_corpus, make_split
from designer.data.synthetic import FORMANTS_HZ
from tests.conftest import HILLENBRAND


def test_synthetic_corpus_is_reproducible_and_normalised():
    spec = DataSpec(speakers_per_sex=3)
    a, b = load_corpus(spec), load_corpus(spec)
    assert len(a.signals) == 3 * 2 * 3
    for x, y in zip(a.signals, b.signals):
        np.testing.assert_array_equal(x, y)
        assert np.abs(x).max() == pytest.approx(1.0)
    other = load_corpus(DataSpec(speakers_per_sex=3, seed=1))
    assert not np.array_equal(a.signals[0][:100], other.signals[0][:100])


def test_synthetic_formants_show_in_the_spectrum():
    """The strongest low-frequency peak sits near the table's F1 (men, 'ah' vs 'iy')."""
    corpus = load_corpus(DataSpec(classes=("ah", "iy"), sexes=("m",), speakers_per_sex=6, sample_rate_hz=10000.0))
    f1 = {}
    for label, vowel in enumerate(corpus.classes):
        peaks = []
        for x in (s for s, y in zip(corpus.signals, corpus.labels) if y == label):
            spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
            freqs = np.fft.rfftfreq(len(x), 1 / 10000.0)
            band = (freqs > 250) & (freqs < 1000)
            peaks.append(freqs[band][spectrum[band].argmax()])
        f1[vowel] = np.median(peaks)
    assert f1["ah"] > f1["iy"] + 200
    assert abs(f1["ah"] - FORMANTS_HZ["m"]["ah"][1]) < 200


def test_speaker_folds_never_share_a_speaker_and_balance_sexes():
    corpus = load_corpus(DataSpec(speakers_per_sex=10))
    folds = group_folds(corpus.groups, 5, seed=0, strata=corpus.strata)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(corpus.labels)))
    for k in range(5):
        split = make_split(corpus, 5, k, 0.25, 0)
        assert not set(corpus.speakers[split.train]) & set(corpus.speakers[split.test])
        sexes = [s[0] for s in set(corpus.speakers[split.test].tolist())]
        assert sexes.count("m") == sexes.count("w") == 2
        assert np.bincount(corpus.labels[split.test]).tolist() == [4, 4, 4]


def test_windows_and_full_length_batches():
    x = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(centred_window(x, 4), [3, 4, 5, 6])
    np.testing.assert_array_equal(centred_window(x[:2], 4), [0, 0, 1, 0])
    corpus = load_corpus(DataSpec(speakers_per_sex=2))
    idx = np.arange(len(corpus.labels))
    (xb, yb, chunk, lengths), *_ = list(batches(corpus, idx, 64, window=None))
    assert xb.shape == (len(idx), max(len(s) for s in corpus.signals))
    own = [len(corpus.signals[i]) for i in chunk]
    assert own == sorted(own) and lengths.tolist() == own


@pytest.mark.skipif(not HILLENBRAND.is_dir(), reason="Hillenbrand recordings not present")
def test_hillenbrand_loader_reads_resamples_and_groups_speakers():
    spec = DataSpec(source="hillenbrand", path=str(HILLENBRAND), sample_rate_hz=10000.0)
    corpus = load_corpus(spec)
    assert set(corpus.classes) == {"ae", "ei", "iy"}
    assert len(corpus.labels) > 100 and {s[0] for s in corpus.speakers} == {"m", "w"}
    for x in corpus.signals[:5]:
        assert np.abs(x).max() == pytest.approx(1.0)
        assert 1500 < len(x) < 10000  # 0.15 - 1 s at 10 kHz
    only_men = load_corpus(DataSpec(source="hillenbrand", path=str(HILLENBRAND), sexes=("m",), classes=("iy", "ae")))
    assert {s[0] for s in only_men.speakers} == {"m"} and set(only_men.labels.tolist()) == {0, 1}
    for k in range(5):
        split = make_split(corpus, 5, k, 0.25, 0)
        assert not set(corpus.speakers[split.train]) & set(corpus.speakers[split.test])


def test_missing_corpus_directory_is_a_clear_error(tmp_path):
    from designer.errors import DesignerError

    with pytest.raises(DesignerError, match="corpus directory not found"):
        load_corpus(DataSpec(source="hillenbrand", path=str(tmp_path / "none")))
