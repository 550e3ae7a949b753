"""The fused engine checked against the reference engine, the oracle of its equations."""
from __future__ import annotations

import math

import pytest
import torch

from designer.physics.absorber import damping_profile
from designer.physics.fused import checkpoint_interval, simulate_fused
from designer.physics.wave import Medium, simulate

BACKENDS = ["numba", "torch"]
NONLINEARITIES = {"linear": (False, False), "kerr": (True, False), "saturable": (False, True), "both": (True, True)}
# max |fused - reference| / max |reference|, per output and gradient.
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4}
ARGS = ("courant", "damping", "kerr", "saturable", "source_weights", "inputs", "probe_weights")


def _disc(nx: int, ny: int, cx: int, cy: int, radius: float) -> torch.Tensor:
    x = torch.arange(nx)[:, None]
    y = torch.arange(ny)[None, :]
    return ((x - cx) ** 2 + (y - cy) ** 2 <= radius**2).double()


def make_problem(nx=22, ny=17, batch=3, steps=50, kerr=False, saturable=False, dtype=torch.float64, seed=0):
    """A random design with graded absorbing edges, one point source and three disc probes.

    Inputs are small (0.3 randn) so that the Kerr term keeps courant below the
    CFL limit; the design is otherwise arbitrary.
    """
    g = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.rand(*shape, generator=g, dtype=torch.float64)

    source = torch.zeros(nx, ny, dtype=torch.float64)
    source[nx // 2, 3] = 1.0
    probes = torch.stack([_disc(nx, ny, (p + 1) * nx // 4, ny - 4, 1.5) for p in range(3)])
    tensors = {
        "courant": 0.3 + 0.3 * rand(nx, ny),
        "damping": damping_profile((nx, ny), 4, 0.3),
        "kerr": 0.05 * rand(nx, ny) if kerr else None,
        "saturable": 0.1 * rand(nx, ny) if saturable else None,
        "source_weights": source,
        "inputs": 0.3 * torch.randn(batch, steps, generator=g, dtype=torch.float64),
        "probe_weights": probes / probes.sum((1, 2), keepdim=True),
    }
    return {k: None if t is None else t.to(dtype) for k, t in tensors.items()}


def run(engine, problem, wants=ARGS, record_every=0, device="cpu", **kwargs):
    """Power, frames and the gradients of a fixed weighted sum of the power."""
    t = {k: None if v is None else v.to(device).clone().requires_grad_(k in wants) for k, v in problem.items()}
    medium = Medium(t["courant"], t["damping"], t["kerr"], t["saturable"], 1.0)
    power, frames = engine(medium, t["source_weights"], t["inputs"], t["probe_weights"], record_every, **kwargs)
    weights = torch.linspace(0.5, 1.5, power.numel(), dtype=power.dtype, device=device).view_as(power)
    (power * weights).sum().backward()
    grads = {k: v.grad for k, v in t.items() if v is not None and k in wants}
    return power.detach(), frames, grads


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def assert_matches(fused, reference, tol):
    (pf, ff, gf), (pr, fr, gr) = fused, reference
    assert relative_error(pf, pr) < tol
    assert (ff is None) == (fr is None)
    if fr is not None:
        assert ff.shape == fr.shape
        assert relative_error(ff, fr) < tol
    assert gf.keys() == gr.keys()
    for name in gr:
        assert gf[name] is not None, name
        assert relative_error(gf[name], gr[name]) < tol, name


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("nonlinearity", list(NONLINEARITIES))
@pytest.mark.parametrize("backend", BACKENDS)
def test_power_frames_and_every_gradient_match_the_reference(backend, nonlinearity, dtype):
    kerr, saturable = NONLINEARITIES[nonlinearity]
    problem = make_problem(kerr=kerr, saturable=saturable, dtype=dtype)
    reference = run(simulate, problem, record_every=7)
    fused = run(simulate_fused, problem, record_every=7, backend=backend)
    assert_matches(fused, reference, TOLERANCE[dtype])


@pytest.mark.parametrize("nonlinearity", ["linear", "kerr", "both"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_design_gradient_alone_matches_the_reference(backend, nonlinearity):
    """The training case: only the maps derived from the design want a gradient."""
    kerr, saturable = NONLINEARITIES[nonlinearity]
    problem = make_problem(nx=30, ny=12, batch=2, steps=80, kerr=kerr, saturable=saturable, seed=1)
    wants = ("courant", "kerr", "saturable")
    assert_matches(run(simulate_fused, problem, wants, backend=backend), run(simulate, problem, wants), 1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_matches_central_differences(backend):
    """Independent of the reference: a directional derivative along a random map."""
    problem = make_problem(nx=10, ny=9, batch=2, steps=40, kerr=True, saturable=True)
    direction = torch.randn(10, 9, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    _, _, grads = run(simulate_fused, problem, ("courant", "kerr", "saturable"), backend=backend)

    def loss(eps: float) -> float:
        p = problem
        medium = Medium(p["courant"] + eps * direction, p["damping"], p["kerr"] + eps * direction,
                        p["saturable"] + eps * direction)
        with torch.no_grad():
            power, _ = simulate_fused(medium, p["source_weights"], p["inputs"], p["probe_weights"], backend=backend)
        return float((power * torch.linspace(0.5, 1.5, power.numel(), dtype=power.dtype).view_as(power)).sum())

    eps = 1e-5  # central differences: truncation ~eps^2, round-off ~1e-16 / eps
    fd = (loss(eps) - loss(-eps)) / (2 * eps)
    ad = float(sum((grads[k] * direction).sum() for k in ("courant", "kerr", "saturable")))
    assert ad == pytest.approx(fd, rel=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("nonlinearity", ["linear", "both"])
def test_checkpoint_interval_leaves_gradients_bit_identical(backend, nonlinearity):
    """K = 1, K not dividing T, K = T and K > T replay the same arithmetic."""
    kerr, saturable = NONLINEARITIES[nonlinearity]
    problem = make_problem(steps=40, kerr=kerr, saturable=saturable)
    _, _, base = run(simulate_fused, problem, backend=backend)
    for every in (1, 7, 40, 100):
        _, _, grads = run(simulate_fused, problem, backend=backend, checkpoint_every=every)
        for name in base:
            assert torch.equal(grads[name], base[name]), (every, name)


def _saved_checkpoints(problem, backend, every=None) -> torch.Tensor:
    """The checkpoint tensor the engine keeps for its backward pass (the one 5-d saved tensor)."""
    saved = []

    def pack(t):
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        run(simulate_fused, problem, ("courant",), backend=backend, checkpoint_every=every)
    (ckpt,) = [t for t in saved if t.dim() == 5]
    return ckpt


@pytest.mark.parametrize("backend", BACKENDS)
def test_stored_checkpoints_number_T_over_K_field_pairs(backend):
    problem = make_problem(nx=8, ny=6, batch=2, steps=60)
    for every in (1, 7, 20, 60, 100):
        ckpt = _saved_checkpoints(problem, backend, every)
        assert tuple(ckpt.shape) == (2, math.ceil(60 / every) - 1, 2, 8, 6), every


@pytest.mark.parametrize("backend", BACKENDS)
def test_default_checkpoint_memory_grows_as_sqrt_of_steps(backend):
    fields = []
    for steps in (100, 400, 1600):
        ckpt = _saved_checkpoints(make_problem(nx=6, ny=5, batch=2, steps=steps), backend)
        fields.append(ckpt.shape[0] * ckpt.shape[1] * ckpt.shape[2])
    assert fields[1] <= 2.5 * fields[0] and fields[2] <= 2.5 * fields[1], fields


def test_default_interval_balances_checkpoints_and_replay_buffers():
    assert checkpoint_interval(1000, 21, 2) == math.ceil(math.sqrt(2 * 1000 * 21 / 2))
    assert checkpoint_interval(4000, 21, 2) / checkpoint_interval(1000, 21, 2) == pytest.approx(2, rel=0.01)
    assert checkpoint_interval(5, 21, 1) == 5


@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_only_gives_the_training_forward(backend):
    problem = make_problem(kerr=True, saturable=True)
    medium = Medium(problem["courant"], problem["damping"], problem["kerr"], problem["saturable"])
    args = (problem["source_weights"], problem["inputs"], problem["probe_weights"])
    with torch.no_grad():
        power, frames = simulate_fused(medium, *args, backend=backend)
    trained, _, _ = run(simulate_fused, problem, backend=backend)
    assert frames is None
    assert torch.equal(power, trained)


def test_callers_floating_point_mode_is_left_alone():
    """The CPU kernels flush denormals to zero, but only in their own threads."""
    run(simulate_fused, make_problem(dtype=torch.float32))
    tiny = torch.tensor([1e-39], dtype=torch.float32)
    assert (tiny * 1.0).item() > 0


def test_mixed_dtypes_promote_like_the_reference():
    problem = make_problem(dtype=torch.float32)
    problem["courant"] = problem["courant"].double()
    problem["probe_weights"] = problem["probe_weights"].double()
    power, _, grads = run(simulate_fused, problem)
    reference, _, ref_grads = run(simulate, problem)
    assert power.dtype == reference.dtype == torch.float64
    assert grads["inputs"].dtype == torch.float32
    assert relative_error(grads["courant"], ref_grads["courant"]) < 1e-5


def test_bad_arguments_are_rejected_with_what_was_wrong():
    p = make_problem()
    medium = Medium(p["courant"], p["damping"])
    with pytest.raises(ValueError, match=r"probe_weights.*\(22, 17\)"):
        simulate_fused(medium, p["source_weights"], p["inputs"], p["probe_weights"][:, :5])
    with pytest.raises(ValueError, match="auto, numba, torch"):
        simulate_fused(medium, p["source_weights"], p["inputs"], p["probe_weights"], backend="fortran")
    with pytest.raises(ValueError, match="float32, float64"):
        simulate_fused(Medium(p["courant"].half(), p["damping"].half()), p["source_weights"].half(),
                       p["inputs"].half(), p["probe_weights"].half())
    with pytest.raises(ValueError, match="checkpoint_every"):
        simulate_fused(medium, p["source_weights"], p["inputs"], p["probe_weights"], checkpoint_every=0)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("nonlinearity", ["linear", "both"])
def test_cuda_path_matches_the_reference_on_the_same_device(nonlinearity):
    kerr, saturable = NONLINEARITIES[nonlinearity]
    problem = make_problem(kerr=kerr, saturable=saturable)
    fused = run(simulate_fused, problem, record_every=5, device="cuda")
    assert fused[0].device.type == "cuda"
    assert_matches(fused, run(simulate, problem, record_every=5, device="cuda"), 1e-10)


@pytest.mark.gpu
@needs_cuda
def test_numba_backend_refuses_cuda_tensors():
    p = {k: None if v is None else v.cuda() for k, v in make_problem().items()}
    with pytest.raises(ValueError, match="CPU only"):
        simulate_fused(Medium(p["courant"], p["damping"]), p["source_weights"], p["inputs"], p["probe_weights"],
                       backend="numba")
