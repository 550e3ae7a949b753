"""npz files in and out, read as a boundary: nothing is allocated before it is checked.

Reading never unpickles and never trusts a size: the zip's member table and
each member's ``.npy`` header (dtype, shape) are read first, and the declared
element counts and the total decompressed size are held against
:class:`designer.limits.Limits` and the machine's free memory before any array
is inflated. Only plain numeric dtypes (bool, integers, floats) are accepted;
object, string, datetime, complex and structured arrays are refused. Every
member's CRC-32 is checked. Any failure is one :class:`DesignerError` line
naming the file (and the array).
"""
from __future__ import annotations

import io
import lzma
import math
import struct
import tokenize
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DesignerError
from .limits import limits, read_regular_file, too_big

__all__ = ["ArraySpec", "npz_bytes", "read_npz", "check_arrays"]

MAX_MEMBERS = 64
PLAIN_KINDS = "biuf"
"""NumPy dtype kinds a design file may hold: bool, signed and unsigned integers, floats."""
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError, ValueError,
               OSError, RuntimeError, OverflowError, struct.error)
_HEADER_ERRORS = (*_ZIP_ERRORS, SyntaxError, tokenize.TokenError, TypeError, KeyError)
"""What numpy's .npy header parser (a restricted literal_eval) raises on a malformed header."""


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A compressed npz of ``arrays`` (no pickles: object arrays raise)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return buf.getvalue()


@dataclass(frozen=True)
class _Header:
    name: str
    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    fortran: bool
    dtype: np.dtype
    offset: int


def _header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> _Header:
    name = info.filename[:-4]
    with zf.open(info) as f, warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)  # a mangled header literal warns before it fails
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"npy format version {version}")
        except _HEADER_ERRORS as exc:
            raise DesignerError(f"{path}: array {name!r} has no readable .npy header ({type(exc).__name__})") from None
        offset = f.tell()
    if dtype.hasobject or dtype.kind not in PLAIN_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise DesignerError(f"{path}: array {name!r} has dtype {dtype.str!r}; expected bool, integer or float")
    return _Header(name, info, tuple(shape), fortran, dtype, offset)


def _inflate(zf: zipfile.ZipFile, h: _Header, path: Path) -> np.ndarray:
    nbytes = math.prod(h.shape) * h.dtype.itemsize
    with zf.open(h.info) as f:
        f.read(h.offset)
        data = f.read(nbytes)
        rest = f.read()  # reaching the end checks the member's CRC-32
    if len(data) != nbytes or rest:
        raise DesignerError(f"{path}: array {h.name!r} holds {len(data) + len(rest)} bytes, "
                            f"its header declares {nbytes}")
    order = "F" if h.fortran else "C"
    return np.frombuffer(data, dtype=h.dtype).reshape(h.shape, order=order).copy(order="C")


def read_npz(path: str | Path, what: str = "npz file") -> dict[str, np.ndarray]:
    """The arrays of the npz at ``path``, checked before they are allocated."""
    from .budget import available_memory_bytes

    path = Path(path)
    cap = limits()
    raw = read_regular_file(path, "npz_bytes", what)
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise DesignerError(f"{path}: {len(infos)} members; a {what} holds at most {MAX_MEMBERS} arrays")
        for info in infos:
            if not info.filename.endswith(".npy") or info.is_dir():
                raise DesignerError(f"{path}: member {info.filename!r} is not a .npy array; expected a {what}")
        declared = sum(info.file_size for info in infos)
        if declared > cap.npz_bytes:
            raise too_big(f"{path}: decompressed size", declared, "npz_bytes", " bytes")
        headers = [_header(zf, info, path) for info in infos]
        for h in headers:
            count = math.prod(h.shape)
            if count > cap.array_elements:
                raise too_big(f"{path}: array {h.name!r} of shape {h.shape}", count, "array_elements", " elements")
            if h.offset + count * h.dtype.itemsize != h.info.file_size:
                raise DesignerError(f"{path}: array {h.name!r} declares shape {h.shape} of {h.dtype.str}, "
                                    f"which does not match its {h.info.file_size}-byte member")
        free = available_memory_bytes()
        if 2 * declared > free:
            raise DesignerError(f"{path}: its arrays need {declared / 2**20:.0f} MiB, twice that while read; "
                                f"the machine has {free / 2**20:.0f} MiB free")
        return {h.name: _inflate(zf, h, path) for h in headers}
    except DesignerError:
        raise
    except _ZIP_ERRORS as exc:
        raise DesignerError(f"{path}: not a readable {what} ({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True)
class ArraySpec:
    """What one array must be: dtype kinds, shape (None: any extent on that axis), value rule."""

    kinds: str
    shape: tuple[int | None, ...]
    values: str = "finite"  # finite | binary | unit | positive | index | any | levels:N (integers 0..N)
    required: bool = True


def _bad_values(a: np.ndarray, rule: str) -> str | None:
    if a.dtype.kind == "f" and rule != "any" and not np.isfinite(a).all():
        return "non-finite values"
    if rule == "binary" and not np.isin(a, (0, 1)).all():
        return f"values other than 0 and 1 (e.g. {a[~np.isin(a, (0, 1))].flat[0].item()!r})"
    if rule.startswith("levels:"):
        top = int(rule.split(":")[1])
        bad = ~np.isin(a, np.arange(top + 1))
        if bad.any():
            return f"values other than the whole numbers 0 to {top} (e.g. {a[bad].flat[0].item()!r})"
    if rule == "unit" and a.size and (a.min() < 0 or a.max() > 1):
        return f"values outside [0, 1] ({a.min().item()!r} .. {a.max().item()!r})"
    if rule == "positive" and a.size and a.min() <= 0:
        return f"non-positive values ({a.min().item()!r})"
    if rule == "index" and (a.size == 0 or a.min() < 0):
        return "no entries" if a.size == 0 else f"negative entries ({a.min().item()!r})"
    return None


def check_arrays(arrays: dict[str, np.ndarray], specs: dict[str, ArraySpec], path: Path) -> None:
    """Raise one DesignerError line unless every array in ``specs`` matches its spec."""
    for name, spec in specs.items():
        if name not in arrays:
            if spec.required:
                raise DesignerError(f"{path}: missing array {name!r}; expected {', '.join(specs)}")
            continue
        a = arrays[name]
        if a.dtype.kind not in spec.kinds:
            kinds = {"b": "bool", "i": "int", "u": "uint", "f": "float"}
            raise DesignerError(f"{path}: array {name!r} has dtype {a.dtype}; expected "
                                f"{' or '.join(kinds[k] for k in spec.kinds)}")
        if a.ndim != len(spec.shape) or any(want is not None and got != want for got, want in zip(a.shape, spec.shape)):
            want = tuple("any" if n is None else n for n in spec.shape)
            raise DesignerError(f"{path}: array {name!r} has shape {a.shape}; expected {want}")
        if (problem := _bad_values(a, spec.values)) is not None:
            raise DesignerError(f"{path}: array {name!r} has {problem}")
