"""Vowel corpora: the built-in synthetic one and the Hillenbrand recordings."""
from .dataset import Corpus, Split, batches, centred_window, load_corpus, make_split, speaker_folds

__all__ = ["Corpus", "Split", "batches", "centred_window", "load_corpus", "make_split", "speaker_folds"]
