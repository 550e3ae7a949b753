"""Training under torchrun: 2 gloo ranks on localhost give the 1-process design, resume under 1 rank, run folds in parallel.

The runs are real: ``python -m torch.distributed.run --standalone`` starts
the ranks of ``designer optimize`` on the tiny config, and their designs are
compared bit for bit (arrays, metrics, length scales) with a plain run's.
"""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from designer.cli import main
from designer.config import parse_config
from designer.data import batches, load_corpus
from designer.distributed import TIME_DOMAIN_CHUNKS, Group, work_items
from designer.runner import make_splits
from designer.train import _accumulate_gradient, _initial_theta, make_problem, train_fold
from tests.conftest import tiny_data, write_toml
from tests.hardening.test_checkpoint_kill import assert_same_design

EPOCHS = 4
TIMING = {"seconds_per_epoch"}
# One thread per rank: two ranks share this machine's cores without oversubscribing them.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def tiny_document(**nonlinearity) -> dict:
    data = tiny_data()
    data["training"]["epochs"] = EPOCHS
    data["data"].update(speakers_per_sex=3, window_samples=120)
    if nonlinearity:
        data["nonlinearity"] = nonlinearity
    return data


def torchrun(ranks: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={ranks}",
            "-m", "designer", "optimize", *args]


def plain(*args: str) -> None:
    result = CliRunner().invoke(main, ["optimize", *args, "--quiet"])
    assert result.exit_code == 0, result.output


def runtime(folder: Path) -> dict:
    return json.loads((folder / "design.json").read_text())["runtime"]["distributed"]


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    return write_toml(tmp_path_factory.mktemp("config") / "tiny.toml", tiny_document())


@pytest.fixture(scope="module")
def one_process(config) -> Path:
    out = config.parent / "one-process"
    plain(str(config), "--out", str(out))
    return out


def test_two_gloo_ranks_train_the_one_process_design_bit_for_bit(config, one_process, tmp_path):
    out = tmp_path / "two"
    done = subprocess.run(torchrun(2, str(config), "--out", str(out)), env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_same_design(one_process, out)
    assert done.stdout.count("run folder") == 1  # rank 0 alone reports
    record = runtime(out)
    assert (record["world_size"], record["backend"], record["group_ranks"]) == (2, "gloo", [0, 1])
    steps = record["steps"]
    assert steps == EPOCHS * 2 and record["items_per_step"] == 3  # impulse engine: one item per robust variant
    theta_bytes = 48 * 36 * 4
    assert record["gradient_bytes_per_step"] == 2 * 2 * (theta_bytes + 8)  # 2 ranks x 2 item slots, and losses
    assert runtime(one_process) == {"world_size": 1, "backend": None}


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (torchrun starts each rank in a session of its own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _wait_until_dead(pids: list[int], timeout: float = 60.0) -> None:
    """Block until every pid has exited (gone, or a zombie: its descriptors, and so its run lock, are released).

    ``os.kill`` only queues SIGKILL; a loaded machine can take a moment to tear a rank down, and a
    resume started before that finds the lock still held, as it should.
    """
    deadline = time.time() + timeout
    for pid in pids:
        while time.time() < deadline:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                break
            if state in ("Z", "X"):
                break
            time.sleep(0.01)
        else:
            raise AssertionError(f"rank pid {pid} still alive {timeout:.0f} s after SIGKILL")


def test_a_two_rank_run_killed_after_epoch_1_resumes_with_one_rank_to_the_same_design(config, one_process, tmp_path):
    out = tmp_path / "killed"
    launcher = subprocess.Popen(torchrun(2, str(config), "--out", str(out), "--quiet"), env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint, deadline = out / "checkpoint.npz", time.time() + 300
    while not checkpoint.exists() and time.time() < deadline and launcher.poll() is None:
        time.sleep(0.01)
    ranks = _children(launcher.pid)
    for pid in ranks:  # SIGKILL every rank, then the launcher: no cleanup runs anywhere
        os.kill(pid, signal.SIGKILL)
    launcher.kill()
    launcher.wait()
    _wait_until_dead(ranks)
    with np.load(checkpoint) as data:
        epoch = json.loads(data["meta"].tobytes())["epoch"]
    assert epoch < EPOCHS - 1 and not (out / "design.npz").exists(), "the run finished before it could be killed"
    plain(str(config), "--out", str(out), "--resume")
    assert_same_design(one_process, out)


@pytest.mark.slow  # 15 s; the default suite keeps the bit-for-bit and resume runs on two ranks
def test_two_ranks_train_two_folds_in_parallel_with_the_serial_summary(config, tmp_path):
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    plain(str(config), "--out", str(serial), "--folds", "2", "--epochs", "2")
    done = subprocess.run(torchrun(2, str(config), "--out", str(parallel), "--folds", "2", "--epochs", "2",
                                   "--quiet"), env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    summaries = [json.loads((out / "summary.json").read_text()) for out in (serial, parallel)]
    for summary in summaries:
        for fold in summary["folds"]:
            for key in TIMING:
                del fold[key]
    assert summaries[0] == summaries[1]
    for k in (0, 1):
        assert_same_design(serial / f"fold-{k}", parallel / f"fold-{k}")
        assert runtime(parallel / f"fold-{k}")["group_ranks"] == [k]  # each rank trained one fold


@pytest.mark.slow
def test_a_time_domain_run_gives_one_design_for_any_number_of_ranks(tmp_path):
    """Nonlinear media run the fused engine: (variant, chunk) items, the same sum with 1 or 2 ranks."""
    document = tiny_document(kerr=0.05)
    document["training"]["epochs"] = 2
    config = write_toml(tmp_path / "kerr.toml", document)
    two = tmp_path / "two"
    done = subprocess.run(torchrun(2, str(config), "--out", str(two), "--quiet"), env=ENV, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert runtime(two)["items_per_step"] == 3 * TIME_DOMAIN_CHUNKS
    cfg = parse_config(document, str(config))
    corpus = load_corpus(cfg.data)
    one = tmp_path / "one"
    alone = Group(0, (0,), None, torch.device("cpu"), "gloo", 1, 1)  # a one-rank group exchanges nothing
    train_fold(cfg, corpus, make_splits(cfg, corpus)[0], one, group=alone)
    assert_same_design(one, two)


@pytest.mark.parametrize("dtype, bound", [("float64", 1e-13), ("float32", 1e-6)])
def test_the_chunked_time_domain_gradient_is_the_one_call_gradient_to_rounding(dtype, bound):
    """The items' gradients add up to the plain step's: exactly in float64, a few ulps in float32."""
    document = tiny_document(kerr=0.05)
    document["simulation"] = {"dtype": dtype}
    cfg = parse_config(document, "tiny.toml")
    corpus = load_corpus(cfg.data)
    problem = make_problem(cfg)
    x, y, _, lengths = next(batches(corpus, make_splits(cfg, corpus)[0].train, 8, 120,
                                    rng=np.random.default_rng(0), dtype=problem.dtype))
    theta = _initial_theta(problem)
    theta = (theta + 0.3 * torch.randn(theta.shape, generator=torch.Generator().manual_seed(1)).to(theta))
    theta.requires_grad_(True)
    losses, grads = [], []
    for group in (None, Group(0, (0,), None, torch.device("cpu"), "gloo", 1, 1)):
        theta.grad = None
        losses.append(_accumulate_gradient(dataclasses.replace(problem, group=group), theta, 4.0, 0, x, y, lengths))
        grads.append(theta.grad.clone())
    assert len(work_items(3, 8, True)) == 3 * TIME_DOMAIN_CHUNKS
    assert float((grads[0] - grads[1]).abs().max() / grads[0].abs().max()) < bound
    assert abs(losses[0] - losses[1]) < bound * losses[0]


def test_work_is_shared_in_contiguous_blocks_that_cover_every_item_once():
    items = work_items(3, 21, True)
    assert [rows for _, rows in items[:4]] == [slice(0, 6), slice(6, 11), slice(11, 16), slice(16, 21)]
    for size in range(1, 14):
        groups = [Group(r, tuple(range(size)), None, torch.device("cpu"), "gloo", size, 1) for r in range(size)]
        shared = [i for g in groups for i in g.share(len(items))]
        assert shared == list(range(len(items)))
    assert work_items(3, 21, False) == [(0, None), (1, None), (2, None)]


def test_a_used_folder_is_refused_on_every_rank_in_one_line(config, one_process, tmp_path):
    before = sorted(p.name for p in one_process.iterdir())
    done = subprocess.run(torchrun(2, str(config), "--out", str(one_process), "--quiet"), env=ENV,
                          capture_output=True, text=True)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 2 and len(set(lines)) == 1 and "already holds a run" in lines[0], done.stderr[-2000:]
    assert sorted(p.name for p in one_process.iterdir()) == before


@pytest.mark.parametrize(("args", "code", "stream", "text"), [
    (["--version"], 0, "stdout", "version"),
    (["optimize", "missing.toml"], 2, "stderr", "error: missing.toml: config file not found"),
])
def test_a_torchrun_worker_exits_with_the_commands_status_and_output(tmp_path, args, code, stream, text):
    """Under torchrun the CLI leaves by os._exit (no interpreter finalisation): the status and the output survive."""
    launched = {**ENV, "RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1",
                "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29599"}
    done = subprocess.run([sys.executable, "-m", "designer", *args], env=launched, cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == code
    assert text in getattr(done, stream) and "Traceback" not in done.stderr
