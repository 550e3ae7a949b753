"""Labelled time series for training: a registry of data sources, one Corpus, group-aware splits, batches."""
from .batches import Batch, batches, centred_window
from .corpus import Corpus, Split
from .folds import group_folds, make_split
from .registry import SOURCES, infer_source, load_corpus, source_classes
from .timing import ring_down_steps, transit_steps, with_ring_down

__all__ = ["Batch", "Corpus", "SOURCES", "Split", "batches", "centred_window", "group_folds", "infer_source",
           "load_corpus", "make_split", "ring_down_steps", "source_classes", "transit_steps", "with_ring_down"]
