"""Scale-out under ``torchrun``: data-parallel training steps, and folds trained in parallel by rank groups.

Launch. ``torchrun`` sets RANK, WORLD_SIZE, LOCAL_RANK, ... in every process;
:func:`launch` initialises ``torch.distributed`` from them (gloo on CPU, NCCL
on CUDA with one GPU per local rank) and yields a :class:`World`. Without
them it yields None, and ``optimize`` runs exactly as a single process does.

Folds. A run of K folds on W ranks splits the ranks into min(K, W) groups of
consecutive ranks (so a group stays on one node when it can); fold i is
trained by group i mod G, each group's folds one after another. Every rank
takes part in the collectives of its own group only, and rank 0 of a group
(its leader) alone writes that fold's folder.

Work items of a training step. The cost lies in the wave simulations. The
impulse engine (linear media under "auto") runs ONE traced impulse per
density variant for the whole batch and convolves, so its items are the
variants (eroded, nominal, dilated): splitting the samples would repeat the
same impulse on every rank. The time-domain engines (fused, reference)
simulate every sample, so their items are (variant, chunk), the batch cut
into ``TIME_DOMAIN_CHUNKS`` contiguous chunks. Each rank computes the latent
gradients of a contiguous block of items; the group all-gathers them and
every rank adds them in item order, so every rank holds the same gradient and
takes the same Adam step, whatever the group's size.

Determinism. The batch order, windows and jitter draws depend only on the
seed and the epoch (every rank draws every variant's jitter). For the
impulse engine the items are exactly the terms a single process accumulates
(one backward pass per variant, added in variant order), so the design is
bit-identical to a plain run's for any number of ranks. For the time-domain
engines the chunked sum is bit-identical for any number of ranks, but a plain
run simulates the whole batch in one call, whose kernels add the samples'
gradients in another grouping: the two differ by the rounding of a regrouped
float sum (a few float32 ulps of the gradient), which training can grow into
a different design. Ranks must also round alike: after every step the
group compares a hash of the latent field and stops with one line if a rank
differs (machines of different CPU types; pin ATEN_CPU_CAPABILITY).

Evaluation. Batches are the single process's, dealt round robin; a batch's
powers are computed whole by one rank and summed into a zero buffer by
all-reduce (adding zeros is exact), so every rank classifies bit for bit as
one process would.
"""
from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.distributed as dist

from .errors import DesignerError

__all__ = ["launched", "is_main_process", "launch", "World", "Group", "work_items", "time_domain", "batch_powers",
           "TIME_DOMAIN_CHUNKS", "plain_record"]

LAUNCH_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
TIME_DOMAIN_CHUNKS = 4
"""Chunks per batch for the time-domain engines: 3 variants x 4 chunks = 12 items, shared evenly by 1, 2, 3,
4, 6 or 12 ranks."""
COLLECTIVE_TIMEOUT = datetime.timedelta(hours=24)
"""A group that has trained its folds waits in a collective for the slowest one (hours on a large run);
torchrun stops every rank when one fails, so a long timeout hides no crash."""


def launched() -> bool:
    """Whether this process was started by torchrun (its environment names a rank and a rendezvous)."""
    return all(name in os.environ for name in LAUNCH_VARIABLES)


def is_main_process() -> bool:
    """Rank 0 under torchrun, or a plain process: the one that prints and writes the run's own files."""
    return not launched() or int(os.environ["RANK"]) == 0


def plain_record() -> dict:
    """What design.json records about a run in one process."""
    return {"world_size": 1, "backend": None}


def time_domain(engine: Callable, cfg) -> bool:
    """Whether a training step with ``engine`` simulates every sample (fused, reference), not one impulse per
    variant for the whole batch (impulse, or "auto" on a linear medium)."""
    from .physics import ENGINES, get_engine

    linear = not (cfg.nonlinearity.kerr or cfg.nonlinearity.saturable_absorption)
    return not (engine is ENGINES["impulse"] or (engine is get_engine("auto") and linear))


def batch_powers(group: "Group | None", batches: Iterable, compute: Callable, probes: int,
                 dtype: torch.dtype) -> Iterator:
    """(labels, indices, ``compute(batch)``) per batch: in this process, or shared by ``group``'s ranks."""
    if group is None:
        return ((batch.labels, batch.indices, compute(batch)) for batch in batches)
    return group.powers(batches, compute, probes, dtype)


def work_items(variants: int, batch: int, time_domain: bool) -> list[tuple[int, slice | None]]:
    """A step's items, in the order their gradients are added: (variant, rows of the batch or None for all)."""
    if not time_domain:
        return [(v, None) for v in range(variants)]
    chunks = np.array_split(np.arange(batch), min(TIME_DOMAIN_CHUNKS, batch))
    return [(v, slice(int(c[0]), int(c[-1]) + 1)) for v in range(variants) for c in chunks]


@dataclass
class Traffic:
    """One fold's collectives on one rank: payload bytes as gathered or reduced, and where the time went.

    ``evaluation_batches`` counts the batches this rank computed, ``evaluation_batches_total`` the group's.
    """

    steps: int = 0
    items_per_step: int = 0
    gradient_bytes: int = 0
    evaluation_bytes: int = 0
    control_bytes: int = 0
    evaluation_batches: int = 0
    evaluation_batches_total: int = 0
    gradient_seconds: float = 0.0
    evaluation_seconds: float = 0.0
    communication_seconds: float = 0.0


@dataclass(frozen=True)
class Group:
    """The ranks that train one fold together. ``rank`` is this process's place in ``ranks`` (global ranks).

    ``handle`` is the torch process group, None for a one-rank group (nothing to exchange).
    """

    rank: int
    ranks: tuple[int, ...]
    handle: object | None
    device: torch.device
    backend: str
    world_size: int
    fold_groups: int
    traffic: Traffic = field(default_factory=Traffic)

    @property
    def size(self) -> int:
        return len(self.ranks)

    @property
    def leader(self) -> bool:
        """Whether this rank writes the fold's folder."""
        return self.rank == 0

    def fresh(self) -> "Group":
        """The same group with its traffic counted from zero (one per fold)."""
        return Group(self.rank, self.ranks, self.handle, self.device, self.backend, self.world_size,
                     self.fold_groups)

    def share(self, n: int, rank: int | None = None) -> range:
        """The items of ``n`` that ``rank`` (default: this one) computes: a contiguous block."""
        r = self.rank if rank is None else rank
        return range(r * n // self.size, (r + 1) * n // self.size)

    def record(self) -> dict:
        """design.json's ``runtime.distributed``: the launch, and the fold's measured traffic."""
        steps = max(self.traffic.steps, 1)
        return {"world_size": self.world_size, "backend": self.backend, "group_ranks": list(self.ranks),
                "fold_groups": self.fold_groups, "gradient_bytes_per_step": self.traffic.gradient_bytes / steps,
                **asdict(self.traffic)}

    def _gather(self, tensor: torch.Tensor, kind: str) -> list[torch.Tensor]:
        tick = time.perf_counter()
        local = tensor.to(self.device).contiguous()
        out = [torch.empty_like(local) for _ in self.ranks]
        dist.all_gather(out, local, group=self.handle)
        self._count(kind, local.numel() * local.element_size() * self.size, tick)
        return out

    def _count(self, kind: str, nbytes: int, tick: float) -> None:
        setattr(self.traffic, f"{kind}_bytes", getattr(self.traffic, f"{kind}_bytes") + nbytes)
        self.traffic.communication_seconds += time.perf_counter() - tick

    def gradient(self, theta: torch.Tensor, items: list, loss_of: Callable) -> float:
        """Set ``theta.grad`` to the sum, in item order, of every item's d loss / d theta; return the summed loss.

        ``loss_of(variant, rows)`` is an item's part of the step's loss. The
        first gradient is taken as is and each later one added in place, as
        autograd accumulates one backward pass after another.
        """
        tick = time.perf_counter()
        width = -(-len(items) // self.size)
        grads = theta.new_zeros((width, *theta.shape))
        losses = torch.zeros(width, dtype=torch.float64, device=theta.device)
        for k, i in enumerate(self.share(len(items))):
            part = loss_of(*items[i])
            (grads[k],) = torch.autograd.grad(part, theta, retain_graph=True)  # the items share the filter's graph
            losses[k] = float(part.detach())
            del part
        self.traffic.gradient_seconds += time.perf_counter() - tick
        self.traffic.steps += 1
        self.traffic.items_per_step = len(items)
        if self.handle is None:
            gathered_grads, gathered_losses = [grads], [losses]
        else:
            gathered_grads, gathered_losses = self._gather(grads, "gradient"), self._gather(losses, "gradient")
        order = [(r, k) for r in range(self.size) for k in range(len(self.share(len(items), r)))]
        total_grad = gathered_grads[order[0][0]][order[0][1]].clone()
        total = float(gathered_losses[order[0][0]][order[0][1]])
        for r, k in order[1:]:
            total_grad += gathered_grads[r][k]
            total += float(gathered_losses[r][k])
        theta.grad = total_grad.to(theta.device)
        return total

    def check_same(self, theta: torch.Tensor, where: str) -> None:
        """One line if the group's ranks no longer hold the same latent field bit for bit."""
        if self.handle is None:
            return
        digest = hashlib.sha256(theta.detach().cpu().numpy().tobytes()).digest()
        hashes = self._gather(torch.tensor(list(digest), dtype=torch.uint8), "control")
        differ = [self.ranks[r] for r, h in enumerate(hashes) if not torch.equal(h, hashes[0])]
        if differ:
            raise DesignerError(f"ranks {differ} hold another latent design than rank {self.ranks[0]} after {where}: "
                                f"the machines round differently; run every rank on one CPU type or pin "
                                f"ATEN_CPU_CAPABILITY (and NUMBA_CPU_NAME) on all of them")

    def powers(self, batches: Iterable, compute: Callable, probes: int, dtype: torch.dtype) -> Iterator:
        """(labels, indices, powers) per batch, each batch computed whole by one rank, every rank getting all."""
        if self.handle is None:
            yield from batch_powers(None, batches, compute, probes, dtype)
            return
        tick = time.perf_counter()
        kept, local = [], {}
        for i, batch in enumerate(batches):
            kept.append((batch.labels, batch.indices))
            if i % self.size == self.rank:
                local[i] = compute(batch)
        self.traffic.evaluation_batches += len(local)
        self.traffic.evaluation_batches_total += len(kept)
        self.traffic.evaluation_seconds += time.perf_counter() - tick
        offsets = np.concatenate([[0], np.cumsum([len(indices) for _, indices in kept])]).astype(int)
        buffer = torch.zeros((int(offsets[-1]), probes), dtype=dtype, device=self.device)
        for i, power in local.items():
            buffer[offsets[i]:offsets[i + 1]] = power
        tick = time.perf_counter()
        dist.all_reduce(buffer, group=self.handle)  # every row is one rank's powers plus zeros: exact
        self._count("evaluation", buffer.numel() * buffer.element_size(), tick)
        for i, (labels, indices) in enumerate(kept):
            yield labels, indices, buffer[offsets[i]:offsets[i + 1]].clone()


@dataclass(frozen=True)
class World:
    """All ranks of a torchrun launch."""

    rank: int
    size: int
    local_rank: int
    local_size: int
    backend: str
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    def _broadcast_bytes(self, data: bytes | None, src: int) -> bytes:
        length = torch.tensor([len(data) if self.rank == src else 0], dtype=torch.int64, device=self.device)
        dist.broadcast(length, src)
        payload = torch.zeros(int(length), dtype=torch.uint8, device=self.device)
        if int(length):
            if self.rank == src:
                payload.copy_(torch.frombuffer(bytearray(data), dtype=torch.uint8))
            dist.broadcast(payload, src)
        return payload.cpu().numpy().tobytes()

    def broadcast_text(self, text: str | None, src: int = 0) -> str:
        return self._broadcast_bytes(text.encode() if self.rank == src else None, src).decode()

    def broadcast_json(self, obj, src: int):
        """``obj`` from rank ``src`` on every rank, as strict JSON (no pickle); ``src`` keeps its own object."""
        import json

        from . import jsonio

        text = self.broadcast_text(jsonio.dumps(obj) if self.rank == src else None, src)
        return obj if self.rank == src else json.loads(text)

    def everyone(self, run: Callable):
        """``run()`` on every rank; if it refuses on any, every rank raises the first refusing rank's line."""
        from templates import TemplateError

        try:
            result, message = run(), ""
        except (DesignerError, TemplateError) as exc:
            result, message = None, str(exc)
        flags = [torch.zeros(1, dtype=torch.int64, device=self.device) for _ in range(self.size)]
        dist.all_gather(flags, torch.tensor([int(bool(message))], dtype=torch.int64, device=self.device))
        failed = [r for r, f in enumerate(flags) if int(f)]
        if failed:
            text = self.broadcast_text(message if self.rank == failed[0] else None, failed[0])
            raise DesignerError(text if failed[0] == 0 else f"rank {failed[0]}: {text}")
        return result

    def on_main(self, run: Callable):
        """``run()`` on rank 0 only (None elsewhere); if it refuses, every rank raises its line."""
        return self.everyone(run if self.main else (lambda: None))

    def same_folder(self, folder: Path, lock_name: str) -> None:
        """Refuse a run folder that some rank does not share with rank 0 (the lock file rank 0 holds differs)."""
        def view() -> str:
            lock = folder / lock_name
            try:
                return f"{lock.read_text()}|{lock.stat().st_mtime_ns}"
            except OSError:
                return "missing"

        expected = self.broadcast_text(view() if self.main else None)

        def check() -> None:
            if view() != expected:
                raise DesignerError(f"{folder}: this rank does not see the run folder rank 0 writes; --out must be "
                                    f"on a filesystem every rank shares")

        self.everyone(check)

    def fold_group(self, folds: int) -> tuple[Group, int, list[int]]:
        """This rank's group for a run of ``folds`` folds, its index and every group's leader (global rank)."""
        count = max(1, min(folds, self.size))
        blocks = [tuple(range(g * self.size // count, (g + 1) * self.size // count)) for g in range(count)]
        handles = []
        for block in blocks:  # every rank creates every group, in one order, as torch.distributed requires
            if count == 1:
                handles.append(dist.group.WORLD if self.size > 1 else None)
            else:
                handle = dist.new_group(list(block))
                handles.append(handle if len(block) > 1 else None)
        index = next(g for g, block in enumerate(blocks) if self.rank in block)
        block = blocks[index]
        group = Group(block.index(self.rank), block, handles[index], self.device, self.backend, self.size, count)
        return group, index, [b[0] for b in blocks]


@contextlib.contextmanager
def launch(device: str) -> Iterator[World | None]:
    """The torchrun launch this process belongs to, initialised for ``device``; None without torchrun."""
    if not launched():
        yield None
        return
    from .physics import resolve_device

    local_rank, local_size = int(os.environ["LOCAL_RANK"]), int(os.environ["LOCAL_WORLD_SIZE"])
    cuda = resolve_device(device).type == "cuda"
    if cuda:
        if local_rank >= torch.cuda.device_count():
            raise DesignerError(f"local rank {local_rank} has no GPU of its own ({torch.cuda.device_count()} on this "
                                f"node); start at most that many processes per node")
        torch.cuda.set_device(local_rank)
    backend = "nccl" if cuda else "gloo"
    owned = not dist.is_initialized()
    if owned:
        dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
    try:
        yield World(dist.get_rank(), dist.get_world_size(), local_rank, local_size, dist.get_backend(),
                    torch.device("cuda", local_rank) if cuda else torch.device("cpu"))
    finally:
        if owned:
            dist.destroy_process_group()
