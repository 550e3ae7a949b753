"""numba's pickled cache is only read from a folder this user owns and no one else can reach."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from designer import jit_cache

ROOT = Path(__file__).resolve().parents[2]


def test_a_fresh_folder_is_created_private_and_trusted(tmp_path):
    folder = tmp_path / "cache" / "numba"
    assert jit_cache.check(folder) is None
    assert oct(folder.stat().st_mode & 0o777) == "0o700"


@pytest.mark.parametrize("spoil, reason", [
    (lambda f: f.chmod(0o770), "mode 770, expected 700"),
    (lambda f: f.chmod(0o755), "mode 755, expected 700"),
    (lambda f: (f / "planted.nbi").symlink_to("/etc/passwd"), "a symlink"),
])
def test_a_folder_others_could_have_written_is_not_trusted(tmp_path, spoil, reason):
    folder = tmp_path / "numba"
    assert jit_cache.check(folder) is None
    spoil(folder)
    assert reason in jit_cache.check(folder)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_an_entry_owned_by_someone_else_is_not_trusted(tmp_path):
    folder = tmp_path / "numba"
    jit_cache.check(folder)
    planted = folder / "fused_kernels.backward-238.py311.nbi"
    planted.write_bytes(b"x")
    os.chown(planted, 65534, 65534)
    assert "owned by another user" in jit_cache.check(folder)


def test_a_folder_under_a_world_writable_parent_is_not_trusted(tmp_path):
    parent = tmp_path / "shared"
    parent.mkdir()
    parent.chmod(0o777)  # writable by all and not sticky: anyone could swap the cache folder
    assert "writable by others" in jit_cache.check(parent / "numba")


def _cache_dir(env: dict) -> str:
    code = "import designer, os; from designer import jit_cache; print(os.environ['NUMBA_CACHE_DIR'], jit_cache.status())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                          env={**os.environ, **env})
    return done.stdout.strip()


def test_importing_designer_points_numba_at_the_checked_folder(tmp_path):
    good = tmp_path / "good"
    assert _cache_dir({"DESIGNER_JIT_CACHE": str(good)}) == f"{good} checked"
    bad = tmp_path / "bad"
    bad.mkdir(mode=0o777)
    bad.chmod(0o777)
    where, status = _cache_dir({"DESIGNER_JIT_CACHE": str(bad)}).split(" ", 1)
    assert where != str(bad) and Path(where).name.startswith("designer-numba-")
    assert status == "private: mode 777, expected 700"
    assert _cache_dir({"DESIGNER_JIT_CACHE": "off"}).endswith("private: DESIGNER_JIT_CACHE=off")


class _Payload:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.slow
def test_payloads_planted_beside_the_kernels_never_run(tmp_path):
    """The issue's attack: index files in the source tree's __pycache__, where numba looked by default."""
    from designer.physics import fused_kernels

    marker = tmp_path / "payload-ran"
    pycache = Path(fused_kernels.__file__).parent / "__pycache__"
    pycache.mkdir(exist_ok=True)
    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    kernels = [(name, f.py_func.__code__.co_firstlineno) for name, f in vars(fused_kernels).items()
               if hasattr(f, "py_func")]
    saved = {}
    try:
        for name, line in kernels:
            path = pycache / f"fused_kernels.{name}-{line}.{tag}.nbi"
            saved[path] = path.read_bytes() if path.exists() else None
            path.write_bytes(pickle.dumps(_Payload(str(marker))))
        code = ("import torch; from designer.physics.fused import simulate_fused; "
                "from designer.physics.wave import Medium; c = torch.full((8, 8), 0.3, requires_grad=True); "
                "p, _ = simulate_fused(Medium(c, torch.zeros(8, 8), None, None), torch.ones(8, 8), torch.ones(1, 4), "
                "torch.ones(1, 8, 8) / 64, backend='numba'); p.sum().backward()")
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=600,
                       env={**os.environ, "DESIGNER_JIT_CACHE": str(tmp_path / "cache")})
    finally:
        for path, data in saved.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)
    assert len(kernels) >= 4 and not marker.exists()
