"""The fused engine's divergence form, per-sample lengths and traces against the reference engine."""
from __future__ import annotations

import math

import pytest
import torch

from designer.physics.engines import ENGINES, TRACE_ENGINES, get_engine
from designer.physics.fused import simulate_fused, simulate_traces_fused
from designer.physics.wave import Medium, simulate, simulate_traces
from tests.physics.test_fused import BACKENDS, make_problem, relative_error

TOLERANCE = 1e-10  # max |fused - reference| / max |reference|, float64
MAPS = ("courant", "damping", "inv_density")


def inverse_density(nx: int, ny: int, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    """rho_ref / rho uniform in [1e-3, 1], with a block of sound-hard cells (q = 0) and one lone one."""
    g = torch.Generator().manual_seed(seed)
    q = 1e-3 + (1.0 - 1e-3) * torch.rand(nx, ny, generator=g, dtype=torch.float64)
    q[nx // 3:nx // 3 + 3, ny // 3:ny // 3 + 4] = 0.0
    q[nx - 3, 2] = 0.0
    return q.to(dtype)


def density_problem(nx=22, ny=17, batch=3, steps=50, damping=True, seed=0, dtype=torch.float64) -> dict:
    problem = make_problem(nx=nx, ny=ny, batch=batch, steps=steps, seed=seed, dtype=dtype)
    problem["inv_density"] = inverse_density(nx, ny, seed, dtype)
    if not damping:
        problem["damping"] = torch.zeros_like(problem["damping"])
    return problem


def _leaves(problem: dict, wants) -> dict:
    return {k: None if v is None else v.clone().requires_grad_(k in wants) for k, v in problem.items()}


def _medium(t: dict) -> Medium:
    return Medium(t["courant"], t["damping"], t.get("kerr"), t.get("saturable"), 1.0, t.get("inv_density"))


def run_power(engine, problem, wants, record_every=0, **kwargs):
    """Power, frames and the gradients of a fixed weighted sum of the power."""
    t = _leaves(problem, wants)
    power, frames = engine(_medium(t), t["source_weights"], t["inputs"], t["probe_weights"], record_every, **kwargs)
    weights = torch.linspace(0.5, 1.5, power.numel(), dtype=power.dtype, device=power.device).view_as(power)
    (power * weights).sum().backward()
    return power.detach(), frames, {k: t[k].grad for k in wants}


def run_traces(engine, problem, cells, wants, **kwargs):
    """Traces and the gradients of a fixed random weighting of them."""
    t = _leaves(problem, wants)
    traces = engine(_medium(t), t["source_weights"], t["inputs"], cells, **kwargs)
    weights = torch.randn(traces.shape, generator=torch.Generator().manual_seed(7), dtype=traces.dtype)
    weights = weights.to(traces.device)
    (traces * weights).sum().backward()
    return traces.detach(), {k: t[k].grad for k in wants}


def assert_close(fused: dict, reference: dict, tol: float = TOLERANCE) -> None:
    assert fused.keys() == reference.keys()
    for name, ref in reference.items():
        assert fused[name] is not None, name
        assert fused[name].shape == ref.shape, name
        assert relative_error(fused[name], ref) < tol, name


ALL = MAPS + ("source_weights", "inputs", "probe_weights")


@pytest.mark.parametrize("lengths", [None, [50, 23, 0]], ids=["all-steps", "lengths"])
@pytest.mark.parametrize("damping", [True, False], ids=["damped", "undamped"])
@pytest.mark.parametrize("shape", [(22, 17), (13, 20)], ids=["tall", "wide"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_density_power_frames_and_every_gradient_match_the_reference(backend, shape, damping, lengths):
    problem = density_problem(*shape, damping=damping)
    extra = {} if lengths is None else {"lengths": torch.tensor(lengths)}
    pr, fr, gr = run_power(simulate, problem, ALL, record_every=7, **extra)
    pf, ff, gf = run_power(simulate_fused, problem, ALL, record_every=7, backend=backend, **extra)
    assert_close({"power": pf, "frames": ff, **gf}, {"power": pr, "frames": fr, **gr})
    assert float(gr["inv_density"].abs().max()) > 0
    if lengths is not None:  # nothing after a sample's length reaches its loss
        assert not gf["inputs"][1, 23:].any() and not gf["inputs"][2].any()


@pytest.mark.parametrize("backend", BACKENDS)
def test_design_gradients_alone_match_the_reference(backend):
    """The training case: courant and inv_density want a gradient, nothing else (K not dividing T)."""
    problem = density_problem(nx=30, ny=12, batch=2, steps=80, seed=1)
    wants = ("courant", "inv_density")
    reference = run_power(simulate, problem, wants)
    fused = run_power(simulate_fused, problem, wants, backend=backend, checkpoint_every=9)
    assert_close({"power": fused[0], **fused[2]}, {"power": reference[0], **reference[2]})


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_density_gradients_match_the_reference(backend):
    problem = density_problem(dtype=torch.float32)
    pr, _, gr = run_power(simulate, problem, MAPS)
    pf, _, gf = run_power(simulate_fused, problem, MAPS, backend=backend)
    assert_close({"power": pf, **gf}, {"power": pr, **gr}, tol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_lengths_give_each_sample_the_power_it_has_alone(backend):
    """Sample b of a batch with lengths equals sample b simulated alone for lengths[b] steps."""
    problem = density_problem(batch=4, steps=60)
    lengths = torch.tensor([60, 33, 41, 52])
    medium = _medium(problem)
    args = (problem["source_weights"], problem["inputs"], problem["probe_weights"])
    for name, engine in ENGINES.items():
        kwargs = {"backend": backend} if name == "fused" else {}
        with torch.no_grad():
            batch, _ = engine(medium, *args, lengths=lengths, **kwargs)
            for b, n in enumerate(lengths.tolist()):
                alone, _ = engine(medium, args[0], args[1][b:b + 1, :n], args[2], **kwargs)
                assert float(alone.abs().max()) > 1e-6
                assert relative_error(batch[b], alone[0]) < 1e-12, (name, b)


def _cells(problem: dict) -> torch.Tensor:
    """Every cell of every probe, and one cell twice."""
    cells = torch.nonzero(problem["probe_weights"].sum(0))
    return torch.cat([cells, cells[:1]])


MEDIA = {"speed-only": {}, "density": {"inv_density": True}, "kerr+saturable": {"kerr": True, "saturable": True}}


@pytest.mark.parametrize("media", list(MEDIA))
@pytest.mark.parametrize("backend", BACKENDS)
def test_traces_and_their_gradients_match_the_reference(backend, media):
    spec = MEDIA[media]
    problem = make_problem(batch=2, steps=45, kerr=spec.get("kerr", False), saturable=spec.get("saturable", False))
    if spec.get("inv_density"):
        problem["inv_density"] = inverse_density(22, 17)
    wants = [k for k in (*MAPS, "kerr", "saturable", "source_weights", "inputs") if problem.get(k) is not None]
    cells = _cells(problem)
    tr, gr = run_traces(simulate_traces, problem, cells, wants)
    tf, gf = run_traces(simulate_traces_fused, problem, cells, wants, backend=backend, checkpoint_every=8)
    assert tf.shape == (2, 45, cells.shape[0])
    assert_close({"traces": tf, **gf}, {"traces": tr, **gr})


@pytest.mark.parametrize("backend", BACKENDS)
def test_weighted_squared_traces_sum_to_the_probe_power(backend):
    problem = density_problem()
    medium = _medium(problem)
    weights = problem["probe_weights"]
    cells = torch.nonzero(weights.sum(0) > 0)
    with torch.no_grad():
        power, _ = simulate_fused(medium, problem["source_weights"], problem["inputs"], weights, backend=backend)
        traces = simulate_traces_fused(medium, problem["source_weights"], problem["inputs"], cells, backend=backend)
    from_traces = torch.einsum("btc,pc->bp", traces**2, weights[:, cells[:, 0], cells[:, 1]])
    assert relative_error(from_traces, power) < 1e-12


@pytest.mark.parametrize("backend", BACKENDS)
def test_checkpoint_interval_leaves_density_and_trace_gradients_bit_identical(backend):
    problem = density_problem(steps=40)
    cells = _cells(problem)
    wants = MAPS + ("source_weights", "inputs")
    base = run_traces(simulate_traces_fused, problem, cells, wants, backend=backend)[1]
    power_base = run_power(simulate_fused, problem, MAPS, backend=backend)[2]
    for every in (1, 7, 40, 100):
        grads = run_traces(simulate_traces_fused, problem, cells, wants, backend=backend, checkpoint_every=every)[1]
        power = run_power(simulate_fused, problem, MAPS, backend=backend, checkpoint_every=every)[2]
        for name in base:
            assert torch.equal(grads[name], base[name]), (every, name)
        for name in power_base:
            assert torch.equal(power[name], power_base[name]), (every, name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_sample_traces_keep_sqrt_T_fields(backend):
    """B = 1 traces store about sqrt(2 T) checkpoint pairs, as the power path does."""
    stored = []
    for steps in (100, 400, 1600):
        problem = density_problem(nx=6, ny=5, batch=1, steps=steps)
        saved = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
            run_traces(simulate_traces_fused, problem, torch.tensor([[2, 2]]), ("courant",), backend=backend)
        (ckpt,) = [t for t in saved if t.dim() == 5]
        assert ckpt.shape[1] == math.ceil(steps / math.ceil(math.sqrt(2 * steps))) - 1
        stored.append(ckpt.shape[1])
    assert stored[1] <= 2.5 * stored[0] and stored[2] <= 2.5 * stored[1], stored


def test_engine_registries_pair_power_and_traces():
    assert ENGINES.keys() == TRACE_ENGINES.keys()
    assert get_engine("reference", traces=True) is simulate_traces
    problem = density_problem(batch=1, steps=20)
    cells = torch.tensor([[5, 5]])
    args = (_medium(problem), problem["source_weights"], problem["inputs"], cells)
    with torch.no_grad():
        assert relative_error(get_engine("fused", traces=True)(*args), simulate_traces(*args)) < 1e-12
    with pytest.raises(ValueError, match="auto, reference, fused"):
        get_engine("spectral", traces=True)


@pytest.mark.parametrize("engine", [simulate, simulate_fused], ids=["reference", "fused"])
def test_bad_density_lengths_and_cells_are_rejected(engine):
    p = density_problem()
    args = (p["source_weights"], p["inputs"], p["probe_weights"])
    with pytest.raises(ValueError, match="must be linear"):
        engine(Medium(p["courant"], p["damping"], kerr=p["courant"], inv_density=p["inv_density"]), *args)
    with pytest.raises(ValueError, match=r"inv_density.*\(22, 17\)"):
        engine(Medium(p["courant"], p["damping"], inv_density=p["inv_density"][:5]), *args)
    medium = _medium(p)
    with pytest.raises(ValueError, match=r"lengths.*shape \(3,\)"):
        engine(medium, *args, lengths=torch.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"lengths.*\[0, 50\].*\[0, 51\]"):
        engine(medium, *args, lengths=torch.tensor([0, 51, 3]))
    with pytest.raises(ValueError, match="lengths.*integers"):
        engine(medium, *args, lengths=torch.tensor([1.0, 2.0, 3.0]))
    traces = simulate_traces if engine is simulate else simulate_traces_fused
    with pytest.raises(ValueError, match=r"cells.*inside the grid \(22, 17\).*\[22, 0\]"):
        traces(medium, p["source_weights"], p["inputs"], torch.tensor([[1, 1], [22, 0]]))
    with pytest.raises(ValueError, match=r"cells.*\(C, 2\)"):
        traces(medium, p["source_weights"], p["inputs"], torch.tensor([1, 1]))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_density_lengths_and_traces_match_the_reference():
    problem = {k: None if v is None else v.cuda() for k, v in density_problem().items()}
    lengths = torch.tensor([50, 23, 0], device="cuda")
    pr, fr, gr = run_power(simulate, problem, ALL, record_every=7, lengths=lengths)
    pf, ff, gf = run_power(simulate_fused, problem, ALL, record_every=7, lengths=lengths)
    assert pf.device.type == "cuda"
    assert_close({"power": pf, "frames": ff, **gf}, {"power": pr, "frames": fr, **gr})
    cells = _cells(problem)
    wants = MAPS + ("source_weights", "inputs")
    tr, gr = run_traces(simulate_traces, problem, cells, wants)
    tf, gf = run_traces(simulate_traces_fused, problem, cells, wants)
    assert_close({"traces": tf, **gf}, {"traces": tr, **gr})
