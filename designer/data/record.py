"""What a design records about its data, so that ``verify`` and ``report`` can rebuild its test set.

A corpus loaded from a ``[data]`` spec is recorded by that spec. A corpus made
in code (no spec, or one the config does not describe) is stored beside the
design as ``corpus.npz`` (arrays only) and recorded as an ``arrays`` source
pointing at it, so every run, whatever its data, can be verified and reported.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DesignerError
from .corpus import Corpus

if TYPE_CHECKING:
    from ..config import Config, DataSpec

__all__ = ["data_record", "check_fits", "check_same_data", "STORED_CORPUS", "corpus_arrays"]

STORED_CORPUS = "corpus.npz"
_RUN_ONLY = ("window_samples", "ring_down_samples", "test_fraction")
"""DataSpec fields that shape a run, not the data that is loaded."""


def _loads_same(a: "DataSpec", b: "DataSpec") -> bool:
    skip = set(_RUN_ONLY) | {"classes"}
    return all(getattr(a, f.name) == getattr(b, f.name) for f in dataclasses.fields(a) if f.name not in skip)


def corpus_arrays(corpus: Corpus) -> dict[str, np.ndarray]:
    """The corpus as the arrays source reads it: flat X with lengths, y, groups, classes, rate (and is_test)."""
    arrays = {
        "X": np.concatenate(corpus.signals).astype(np.float32),
        "lengths": corpus.lengths,
        "y": corpus.labels,
        "groups": corpus.groups.astype(str),
        "classes": np.array(corpus.classes, dtype=str),
        "sample_rate_hz": np.array(corpus.sample_rate_hz),
    }
    if corpus.is_test is not None:
        arrays["is_test"] = corpus.is_test
    return arrays


def data_record(cfg: "Config", corpus: Corpus, folder: Path) -> tuple[dict, dict]:
    """(the ``[data]`` table the design's config records, design.json's ``data`` block).

    Writes ``folder/corpus.npz`` (atomically) when ``corpus`` cannot be
    reloaded from ``cfg.data``.
    """
    from ..design import atomic_write_bytes, npz_bytes

    spec = cfg.data
    reloadable = (corpus.spec is not None and _loads_same(corpus.spec, spec)
                  and tuple(spec.classes or corpus.classes) == corpus.classes)
    table = dataclasses.asdict(dataclasses.replace(spec, classes=corpus.classes))
    stored = None
    if not reloadable:
        atomic_write_bytes(Path(folder) / STORED_CORPUS, npz_bytes(corpus_arrays(corpus)))
        stored = STORED_CORPUS
        defaults = {f.name: f.default for f in dataclasses.fields(spec)}
        table = {**defaults, **{k: table[k] for k in ("sample_rate_hz", "classes", *_RUN_ONLY)},
                 "source": "arrays", "path": STORED_CORPUS, "normalise": "none", "seed": spec.seed}
    table = {k: list(v) if isinstance(v, tuple) else v for k, v in table.items()}
    block = {"source": table["source"], "path": table["path"], "classes": list(corpus.classes),
             "stored_corpus": stored, **corpus.summary()}
    return table, block


def check_fits(cfg: "Config", corpus: Corpus) -> None:
    """A one-line error when ``corpus`` cannot run under ``cfg``: another sample rate or class count."""
    if corpus.sample_rate_hz != cfg.data.sample_rate_hz:
        raise DesignerError(f"corpus at {corpus.sample_rate_hz:g} Hz, but data.sample_rate_hz is "
                            f"{cfg.data.sample_rate_hz:g}; expected the corpus at the run's rate (one sample per step)")
    from ..readout import readout_for

    readout = readout_for(cfg)
    if readout.probes_for(len(corpus.classes)) != len(cfg.probes):
        raise DesignerError(f"corpus with {len(corpus.classes)} classes {list(corpus.classes)}, but the config has "
                            f"{len(cfg.probes)} probes; expected {readout.ports_per_class} probe(s) per class "
                            f"(readout {readout.name!r})")


def check_same_data(corpus: Corpus, recorded: dict | None, where: str) -> None:
    """A one-line error when ``corpus`` is not the data a design recorded (sample count, labels, lengths)."""
    if not recorded or "labels_lengths_sha256" not in recorded:
        return
    now = corpus.summary()
    if now["labels_lengths_sha256"] != recorded["labels_lengths_sha256"]:
        raise DesignerError(f"{where}: these data differ from the data the design was trained on "
                            f"({now['samples']} samples, class counts {now['class_counts']}; trained on "
                            f"{recorded['samples']}, {recorded['class_counts']}); pass --data to classify other data")
