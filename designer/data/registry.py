"""The data sources, by name: ``[data] source`` picks one; each turns a DataSpec into a Corpus."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..errors import DesignerError
from .arrays import array_classes, load_arrays
from .corpus import Corpus
from .folders import WAV_SUFFIXES, folder_classes, load_folders
from .hillenbrand import DEFAULT_VOWELS, NAME, load_hillenbrand
from .synthetic import load_synthetic
from .ucr import UCR_SUFFIXES, load_ucr, ucr_classes

if TYPE_CHECKING:
    from ..config import DataSpec

__all__ = ["Source", "SOURCES", "get_source", "load_corpus", "source_classes", "infer_source", "resolve_data_path"]


@dataclass(frozen=True)
class Source:
    """One kind of data.

    load: DataSpec -> Corpus. classes: DataSpec -> class names, for a spec
    whose ``classes`` is empty (read from the data, or the source's default).
    needs_path: the source reads files at ``[data] path``. vowels: class names
    are vowel codes and ``sexes`` selects speakers (the vowel corpora).
    """

    name: str
    load: Callable[["DataSpec"], Corpus]
    classes: Callable[["DataSpec"], tuple[str, ...]]
    needs_path: bool
    vowels: bool


def _made_in_code(spec: "DataSpec") -> Corpus:
    raise DesignerError("data.source = 'code': the corpus is made in Python and passed to train_fold; a finished "
                        "run stores it beside its design as corpus.npz")


def _named_classes(spec: "DataSpec") -> tuple[str, ...]:
    raise DesignerError("data.source = 'code': expected the class names in data.classes")


SOURCES: dict[str, Source] = {
    "synthetic": Source("synthetic", load_synthetic, lambda spec: DEFAULT_VOWELS, False, True),
    "hillenbrand": Source("hillenbrand", load_hillenbrand, lambda spec: DEFAULT_VOWELS, True, True),
    "folders": Source("folders", load_folders, folder_classes, True, False),
    "arrays": Source("arrays", load_arrays, array_classes, True, False),
    "ucr": Source("ucr", load_ucr, ucr_classes, True, False),
    "code": Source("code", _made_in_code, _named_classes, False, False),
}


def get_source(name: str) -> Source:
    if name not in SOURCES:
        raise DesignerError(f"data source {name!r}: expected one of {', '.join(SOURCES)}")
    return SOURCES[name]


def load_corpus(spec: "DataSpec") -> Corpus:
    """The corpus ``spec`` describes, checked (every error one line naming the file)."""
    return get_source(spec.source).load(spec)


def source_classes(spec: "DataSpec") -> tuple[str, ...]:
    """``spec.classes``, or the source's when the spec names none."""
    return tuple(spec.classes) or tuple(get_source(spec.source).classes(spec))


def infer_source(path: Path) -> str:
    """The source that reads ``path``: by suffix for files, by contents for folders."""
    path = Path(path)
    if not path.exists():
        raise DesignerError(f"{path}: not found")
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in UCR_SUFFIXES:
            return "ucr"
        if suffix in (".npz", ".csv"):
            return "arrays"
        raise DesignerError(f"{path}: unknown data file {suffix!r}; expected .ts, .tsv, .txt (UCR), .npz or .csv "
                            "(arrays), or a folder")
    entries = list(path.iterdir())
    names = [p.name for p in entries]
    if any(NAME.match(n) for n in names):
        return "hillenbrand"
    if any(n.endswith(f"_TRAIN{s}") for n in names for s in UCR_SUFFIXES):
        return "ucr"
    if "X.npy" in names:
        return "arrays"
    if any(p.is_dir() and any(q.suffix.lower() in WAV_SUFFIXES for q in p.iterdir()) for p in entries):
        return "folders"
    raise DesignerError(f"{path}: cannot tell the kind of data; expected class folders of WAV files, "
                        "Hillenbrand-named WAV files, X.npy/y.npy, or a UCR <Name>_TRAIN file")


PACKAGE_PREFIX = "package:"


def resolve_data_path(path: str, base: Path) -> str:
    """An absolute path for ``[data] path``: relative to ``base``, or ``package:NAME/sub/path``.

    ``package:`` paths point into an installed Python package's files (e.g.
    archives a wheel ships), found without importing the package.
    """
    if not path:
        return path
    if path.startswith(PACKAGE_PREFIX):
        package, _, rest = path[len(PACKAGE_PREFIX):].partition("/")
        spec = importlib.util.find_spec(package) if package and "." not in package else None
        if spec is None or not spec.submodule_search_locations:
            raise DesignerError(f"data.path {path!r}: no installed package {package!r} "
                                f"(e.g. pip install {package}, or the extra that names it)")
        return str(Path(list(spec.submodule_search_locations)[0]) / rest)
    p = Path(path)
    return str(p if p.is_absolute() else (base / p).resolve())
