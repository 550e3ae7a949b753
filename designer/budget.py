"""Memory and time a run will need, estimated from its config before anything is allocated.

A training step simulates one batch of ``B`` windows of ``T`` steps on the
``nx x ny`` grid, once per density variant (eroded / nominal / dilated under
robust training), each variant's graph released before the next:

- fused engine: stored field pairs every K steps, 2 B T / K fields, plus
  (K + 2) replay fields per concurrently replayed sample, with
  K = :func:`designer.physics.fused.checkpoint_interval` (memory ~ sqrt(T));
- reference engine: autograd keeps about ``REFERENCE_FIELDS_PER_STEP`` fields
  per cell-step and sample (measured: 9.6 GB at 160 x 100 cells, B = 21,
  T = 1000, float32);
- impulse engine (linear media): one traced impulse per variant, the fused
  engine's checkpoints for a batch of one, plus the FFT convolution: the
  field at the C probe cells, B x C x T values kept for its gradient, and
  ``CONVOLUTION_CHUNKS`` chunks of its complex spectra (each at most
  :data:`designer.physics.impulse.CHUNK_BYTES`) while it runs (measured
  440 MiB in all at B = 84, C = 72, T = 4000, float32, where this gives 609);
- spectral engine (a template solved per frequency): one sparse LU per
  frequency and its field, kept for the adjoint. Minimum-degree ordering of
  the 5-point operator fills about ``LU_FILL`` N log2 N entries for N cells
  (measured 2.7-3.1 from 110 x 80 to 260 x 200 cells), complex, with their
  row indices. The batch size does not enter: one set of solves serves a batch.

Evaluation runs without gradients over full-length recordings and needs a
few fields per sample. The estimate is refused when it exceeds the memory
this machine has free (``MemAvailable``, or the cgroup's limit if lower).
Time is a rough figure from this project's measured engine rates on 2 CPU
cores; it is printed, never enforced.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from .errors import DesignerError

__all__ = ["Estimate", "available_memory_bytes", "estimate_training", "estimate_evaluation", "check_fits",
           "epoch_seconds", "lu_entries"]

PROCESS_BYTES = 400 * 2**20
"""torch, numba, LLVM and the kernels loaded, before any step (measured 355 MiB of RSS)."""
REFERENCE_FIELDS_PER_STEP = 7.2
"""Reference engine: autograd's saved tensors per cell-step and sample, in fields."""
PIPELINE_FIELDS = 64
"""Density pipeline, filters, masks, Adam state and probe weights: fields of the grid, float64."""
FUSED_CELL_STEPS_PER_S = {"train": 8.4e8, "eval": 4.0e9}
REFERENCE_CELL_STEPS_PER_S = {"train": 3.5e7, "eval": 1.35e8}
"""Measured at paper scale on 2 cores (README, Results: Engine rows)."""
TRACE_CELL_STEPS_PER_S = {"train": 1.2e8, "eval": 6.0e8}
"""Fused traces of one sample (the impulse engine), density media, one core (benchmarks/bench_engine.py --traces)."""
LU_FILL = 3.5
"""Spectral engine: nonzeros of one LU factorisation per N log2 N cells (measured up to 3.1)."""
LU_ENTRY_BYTES = 16 + 4
"""A complex128 factor entry and its row index."""
LU_SECONDS_PER_ENTRY = 1.5e-7
"""Spectral engine: seconds of factorisation per LU nonzero on one core (measured 0.13-0.18 us)."""
CONVOLUTION_SECONDS = {"train": 5.4e-8, "eval": 2.3e-8}
"""Impulse engine's convolution, seconds per sample, step and probe cell, one thread, float32: a training step
(forward and gradient) and an evaluation (forward) (benchmarks/bench_convolution.py: 1.3 and 0.56 CPU-s for 84
samples x 4000 steps x 72 cells)."""
CONVOLUTION_CHUNKS = 2
"""Chunks of the impulse engine's complex spectra alive at once, forward or gradient (benchmarks/bench_convolution.py)."""


@dataclass(frozen=True)
class Estimate:
    """Peak bytes of one step and what they are made of."""

    bytes: int
    detail: str

    def mib(self) -> float:
        return self.bytes / 2**20


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_left() -> int | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(0, int(limit) - used)


def available_memory_bytes() -> int:
    """Memory this process can still take: the lower of MemAvailable and the cgroup's headroom."""
    values = [v for v in (_meminfo_available(), _cgroup_left()) if v is not None]
    return min(values) if values else 1 << 62


def _fused_concurrent(batch: int, device: str) -> int:
    if device != "cpu":
        return batch  # the torch backend replays every sample at once
    try:
        import numba

        return max(1, min(batch, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        return batch


def estimate_training(cells: int, steps: int, batch: int, dtype_bytes: int, engine: str, device: str = "cpu",
                      probes: int = 1, concurrent: int | None = None, probe_cells: int = 13,
                      frequencies: int = 0) -> Estimate:
    """Peak bytes of one training step (forward and gradient of one density variant).

    ``frequencies``: solves per variant of the spectral engine (engine "spectral").
    ``concurrent``: samples the fused engine replays at once (default: its
    worker threads on CPU, the whole batch on a GPU). ``probe_cells``: cells
    the probes cover, all probes together (the impulse engine traces them).
    """
    from .physics.fused import checkpoint_interval

    field = cells * dtype_bytes
    fixed = PROCESS_BYTES + PIPELINE_FIELDS * cells * 8 + probes * cells * 8
    if engine == "spectral":
        lu = lu_entries(cells) * LU_ENTRY_BYTES * frequencies
        fields = frequencies * cells * 16
        return Estimate(int(fixed + lu + fields),
                        f"spectral engine: {lu / 2**20:.0f} MiB of LU factors and {fields / 2**20:.0f} MiB of fields "
                        f"for {frequencies} frequencies of {cells} cells")
    if engine == "impulse":
        k = checkpoint_interval(steps, 1, 1)
        traced = (2 * math.ceil(steps / k) + k + 2) * field
        from .physics.impulse import CHUNK_BYTES

        n_fft = 1 << math.ceil(math.log2(max(2 * steps - 1, 2)))
        kept = batch * probe_cells * steps * dtype_bytes
        spectra = CONVOLUTION_CHUNKS * min(CHUNK_BYTES, batch * (n_fft // 2 + 1) * probe_cells * 2 * dtype_bytes * 2)
        return Estimate(int(fixed + traced + kept + spectra),
                        f"impulse engine: {traced / 2**20:.0f} MiB for one traced impulse of {steps} steps + "
                        f"{(kept + spectra) / 2**20:.0f} MiB for the convolution "
                        f"(batch {batch} x {probe_cells} probe cells)")
    if engine == "reference":
        graph = REFERENCE_FIELDS_PER_STEP * field * steps * batch
        return Estimate(int(fixed + graph), f"reference-engine graph {graph / 2**20:.0f} MiB "
                                            f"({cells} cells x {steps} steps x batch {batch})")
    concurrent = concurrent or _fused_concurrent(batch, device)
    k = checkpoint_interval(steps, batch, concurrent)
    stored = 2 * batch * math.ceil(steps / k) * field
    replay = concurrent * (k + 2) * field
    return Estimate(int(fixed + stored + replay),
                    f"fused engine: {stored / 2**20:.0f} MiB of checkpoints every {k} steps + "
                    f"{replay / 2**20:.0f} MiB of replay ({cells} cells x {steps} steps x batch {batch})")


def lu_entries(cells: int) -> int:
    """Nonzeros of one sparse LU of the 5-point operator on ``cells`` cells (minimum degree)."""
    return int(LU_FILL * cells * math.log2(max(cells, 2)))


def estimate_evaluation(cells: int, batch: int, dtype_bytes: int, probes: int = 1) -> Estimate:
    """Peak bytes of a forward pass without gradients: a few fields per sample."""
    fields = 8 * batch * cells * dtype_bytes
    fixed = PROCESS_BYTES + PIPELINE_FIELDS * cells * 8 + probes * cells * 8
    return Estimate(int(fixed + fields), f"{fields / 2**20:.0f} MiB of fields ({cells} cells x batch {batch})")


def check_fits(estimate: Estimate, what: str) -> None:
    """Raise one DesignerError line when ``estimate`` exceeds the memory free now."""
    free = available_memory_bytes()
    if estimate.bytes > free:
        raise DesignerError(f"{what}: needs about {estimate.mib():.0f} MiB ({estimate.detail}), more than the "
                            f"{free / 2**20:.0f} MiB this machine has free; shrink the grid, the window or "
                            f"batch_size, or use the fused engine")


def epoch_seconds(cells: int, window: int, n_train: int, variants: int, eval_sample_steps: int,
                  engine: str, batches: int = 1, eval_steps: int = 0, frequencies: int = 0,
                  evaluations: int = 2, probe_cells: int = 13) -> float:
    """Rough seconds per epoch: the training windows forward and backward, the evaluations forward.

    ``window``: steps per training window. ``eval_sample_steps``: samples x
    steps over every evaluation of the epoch. The impulse engine simulates
    one impulse per variant and batch (``batches`` per epoch) and one per
    evaluation batch (``eval_steps`` steps over the epoch's evaluations), and
    convolves every sample with it at its ``probe_cells`` (``CONVOLUTION_SECONDS``).
    The spectral engine factors ``frequencies`` operators per variant and
    batch (the adjoint reuses them, about half a factorisation more) and per
    design evaluated (``evaluations``: the smooth and the fabricated design).
    """
    if engine == "spectral":  # one set of solves per variant and batch, one per evaluated design
        solve = lu_entries(cells) * LU_SECONDS_PER_ENTRY * frequencies
        return solve * (batches * variants * 1.5 + evaluations)
    if engine == "impulse":
        r, c = TRACE_CELL_STEPS_PER_S, CONVOLUTION_SECONDS
        traces = cells * (window * batches * variants / r["train"] + eval_steps / r["eval"])
        return traces + probe_cells * (window * n_train * variants * c["train"] + eval_sample_steps * c["eval"])
    rates = REFERENCE_CELL_STEPS_PER_S if engine == "reference" else FUSED_CELL_STEPS_PER_S
    return cells * (window * n_train * variants / rates["train"] + eval_sample_steps / rates["eval"])
