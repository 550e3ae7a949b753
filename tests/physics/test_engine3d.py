"""The fused 3D engine checked against the reference engine, the 2D model and the physics."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from designer.physics import get_engine
from designer.physics.absorber import damping_profile
from designer.physics.fused3d import _Grid, _run, simulate_fused3d, simulate_traces_fused3d
from designer.physics.wave import Medium, energy, simulate, simulate_traces

# max |fused - reference| / max |reference|: round-off in float64; float32 against the float64 reference.
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4}


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def make_problem(shape=(9, 7, 5), batch=3, steps=40, density=True, seed=0):
    """Random speeds, a graded absorbing layer, random inverse density with sound-hard (q = 0)
    walls across it, two point sources and three random sparse probes, in float64."""
    g = torch.Generator().manual_seed(seed)

    def rand(*s):
        return torch.rand(*s, generator=g, dtype=torch.float64)

    nx, ny, nz = shape
    damping = torch.maximum(damping_profile((nx, ny), 2, 0.3)[:, :, None], damping_profile((nx, nz), 2, 0.3)[:, None])
    q = None
    if density:
        q = 0.3 + rand(*shape)
        q[:, ny // 2, : nz - 1] = 0.0  # a wall with a gap at the top
        q[2] = 0.0
    source = torch.zeros(shape, dtype=torch.float64)
    source[nx // 2, 1, nz // 2] = 1.0
    source[nx - 2, ny - 2, 1] = 0.5
    probes = rand(3, *shape) * (rand(3, *shape) < 0.2)
    return {"medium": Medium(0.2 + 0.2 * rand(*shape), damping, inv_density=q),
            "source_weights": source, "inputs": torch.randn(batch, steps, generator=g, dtype=torch.float64),
            "probe_weights": probes}


def cast(problem: dict, dtype: torch.dtype) -> dict:
    m = problem["medium"]
    medium = Medium(m.courant.to(dtype), m.damping.to(dtype),
                    inv_density=None if m.inv_density is None else m.inv_density.to(dtype))
    return {"medium": medium, **{k: v.to(dtype) for k, v in problem.items() if k != "medium"}}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("density", [True, False], ids=["density", "speed-only"])
def test_power_and_frames_match_the_reference(density, dtype):
    problem = make_problem(density=density)
    lengths = torch.tensor([40, 17, 0])
    ref_power, ref_frames = simulate(**problem, record_every=3, lengths=lengths)
    power, frames = simulate_fused3d(**cast(problem, dtype), record_every=3, lengths=lengths)
    assert power.dtype == frames.dtype == dtype
    assert frames.shape == ref_frames.shape == (3, 14, 9, 7, 5)
    assert relative_error(power, ref_power) < TOLERANCE[dtype]
    assert relative_error(frames, ref_frames) < TOLERANCE[dtype]
    assert float(power[2].abs().max()) == 0.0  # a zero length integrates nothing
    unmasked, none = simulate_fused3d(**cast(problem, dtype))
    assert none is None
    assert relative_error(unmasked, simulate(**problem)[0]) < TOLERANCE[dtype]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_traces_match_the_reference(dtype):
    problem = make_problem(shape=(6, 11, 4), batch=2, steps=30)
    del problem["probe_weights"]
    cells = torch.tensor([[0, 0, 0], [3, 1, 2], [5, 10, 3], [5, 4, 2], [3, 1, 2]])
    reference = simulate_traces(**problem, cells=cells)
    traces = simulate_traces_fused3d(**cast(problem, dtype), cells=cells)
    assert traces.shape == reference.shape == (2, 30, 5)
    assert relative_error(traces, reference) < TOLERANCE[dtype]
    assert torch.equal(traces[..., 1], traces[..., 4])


@pytest.mark.parametrize("density", [True, False], ids=["density", "speed-only"])
def test_threads_and_block_length_leave_results_bit_identical(density):
    """One thread per sample or several per sample, any block length: the same arithmetic."""
    problem = make_problem(shape=(12, 5, 6), density=density, batch=3, steps=37)
    grid = _Grid(problem["medium"], torch.float64, concurrent=1, workers=1)
    cells = np.array([[0, 0, 0], [7, 2, 3], [11, 4, 5]])
    args = (grid, problem["source_weights"], problem["inputs"], problem["probe_weights"], cells, 4,
            torch.tensor([37, 20, 5]))
    base = _run(*args, threads=1, every=1)
    assert float(np.abs(base[0]).max()) > 0
    for threads, every in [(1, 5), (2, 2), (2, 8), (3, 3), (3, 15), (2, 100)]:
        for got, want in zip(_run(*args, threads=threads, every=every), base):
            assert np.array_equal(got, want), (threads, every)


def test_z_invariant_part_between_sound_hard_walls_is_the_2d_model():
    """q = 0 on the first and last z layers: no flux leaves the channel, so each interior layer
    runs the 2D scheme; z-uniform sources and probes averaged over the layers give the 2D powers."""
    g = torch.Generator().manual_seed(4)
    nx, ny, layers = 24, 18, 3
    courant = 0.25 + 0.25 * torch.rand(nx, ny, generator=g, dtype=torch.float64)
    q = 0.4 + torch.rand(nx, ny, generator=g, dtype=torch.float64)
    q[10:13, 4:14] = 0.0  # a sound-hard post inside the channel
    damping = damping_profile((nx, ny), 5, 0.4)
    source = torch.zeros(nx, ny, dtype=torch.float64)
    source[4, 6:12] = 1.0
    probes = torch.zeros(2, nx, ny, dtype=torch.float64)
    probes[0, 18:20, 3:6] = 0.25
    probes[1, 18:20, 12:15] = 0.25
    inputs = torch.randn(2, 120, generator=g, dtype=torch.float64)
    power_2d, _ = simulate(Medium(courant, damping, inv_density=q), source, inputs, probes)

    def extruded(t: torch.Tensor, walls: float) -> torch.Tensor:
        out = t[..., None].repeat(*([1] * t.dim()), layers + 2)
        out[..., 0] = out[..., -1] = walls
        return out

    medium = Medium(extruded(courant, 0.3), extruded(damping, 0.0), inv_density=extruded(q, 0.0))
    power_3d, _ = simulate_fused3d(medium, extruded(source, 0.0), inputs, extruded(probes, 0.0) / layers)
    assert float(power_2d.min()) > 0
    assert relative_error(power_3d, power_2d) < 1e-5
    assert float(((power_3d - power_2d).abs() / power_2d).max()) < 1e-5


@pytest.mark.parametrize("density", [True, False], ids=["density", "speed-only"])
def test_energy_is_conserved_without_absorption(density):
    problem = make_problem(shape=(10, 8, 7), batch=1, steps=300, density=density, seed=2)
    m = problem["medium"]
    medium = Medium(m.courant, torch.zeros_like(m.damping), inv_density=m.inv_density)
    inputs = torch.zeros(1, 300, dtype=torch.float64)
    inputs[0, :20] = torch.randn(20, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    _, frames = simulate_fused3d(medium, problem["source_weights"], inputs, problem["probe_weights"], 1)
    energies = torch.stack([energy(medium, frames[:, n], frames[:, n - 1]) for n in range(25, 300, 25)])
    assert float(energies[0]) > 0
    assert float((energies - energies[0]).abs().max()) <= 1e-12 * float(energies[0])


def _peak_time(trace: np.ndarray) -> float:
    """Sub-step time of a trace's maximum (parabola through the peak and its neighbours)."""
    k = int(np.argmax(trace))
    y0, y1, y2 = (float(v) for v in trace[k - 1:k + 2])
    return k + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)


def _dispersive_speed(pulse: np.ndarray, courant: float, r1: float, r2: float, dims: int) -> float:
    """Peak speed between radii r1 and r2 of ``pulse`` carried by the leapfrog's dispersion relation.

    Along an axis (dims = 1) or a body diagonal (dims = 3) of the 7-point scheme,
    sin^2(w/2) = C^2 sum_i sin^2(k_i/2) with k_i = k / sqrt(dims) (cells, steps):
    each frequency travels with its own wavenumber k(w), which slows a short pulse.
    """
    n = 4096
    spectrum = np.fft.rfft(pulse, n)
    omega = 2 * np.pi * np.fft.rfftfreq(n)
    ratio = np.sin(omega / 2) / (courant * math.sqrt(dims))
    k = 2 * math.sqrt(dims) * np.arcsin(np.minimum(ratio, 1.0))
    peaks = [_peak_time(np.fft.irfft(np.where(ratio < 1, spectrum * np.exp(-1j * k * r), 0), n)) for r in (r1, r2)]
    return (r2 - r1) / (peaks[1] - peaks[0])


def test_point_pulse_travels_at_the_wave_speed_up_to_the_schemes_dispersion():
    """3D Green's function: a pulse s(t) at r = 0 arrives as s(t - r / c) / (4 pi r), so its peak's lag
    between two radii is their distance over c, here slowed by the scheme's numerical dispersion
    (about 1.7 % along an axis and 0.2 % along a diagonal for this short pulse at c = 0.5 cells per
    step): the measured speed matches the dispersion relation's prediction to 0.15 %."""
    n, courant = 96, 0.5
    medium = Medium(torch.full((n, n, n), courant), torch.zeros(n, n, n))
    centre = n // 2
    source = torch.zeros(n, n, n)
    source[centre, centre, centre] = 1.0
    pulse = np.exp(-(((np.arange(130) - 24.0) / 6.0) ** 2))
    paths = {1: [(centre + r, centre, centre) for r in (8, 40)],
             3: [(centre + r, centre + r, centre + r) for r in (5, 23)]}
    cells = torch.tensor(paths[1] + paths[3])
    traces = simulate_traces_fused3d(medium, source, torch.from_numpy(pulse)[None].float(), cells)[0].double().numpy()
    for column, (dims, (a, b)) in zip((0, 2), paths.items()):
        r1, r2 = math.dist(a, (centre,) * 3), math.dist(b, (centre,) * 3)
        speed = (r2 - r1) / (_peak_time(traces[:, column + 1]) - _peak_time(traces[:, column]))
        assert speed == pytest.approx(courant, rel=0.02), dims
        assert speed == pytest.approx(_dispersive_speed(pulse, courant, r1, r2, dims), rel=0.0015), dims


def test_engine_registry_dispatches_on_the_medium_dimension():
    problem = make_problem(batch=2, steps=12)
    with torch.no_grad():
        power, _ = get_engine("fused")(**problem)
    assert torch.equal(power, simulate_fused3d(**problem)[0])


def test_callers_floating_point_mode_is_left_alone():
    """Workers flush denormals to zero, but only in their own threads."""
    simulate_fused3d(**cast(make_problem(batch=1), torch.float32))
    tiny = torch.tensor([1e-39], dtype=torch.float32)
    assert (tiny * 1.0).item() > 0


def test_bad_input_gets_one_line_errors():
    p = make_problem(batch=2, steps=5)
    m = p["medium"]
    with pytest.raises(ValueError, match="forward only"):
        simulate_fused3d(Medium(m.courant.clone().requires_grad_(True), m.damping), p["source_weights"], p["inputs"],
                         p["probe_weights"])
    with pytest.raises(ValueError, match="3-dimensional"):
        simulate_fused3d(Medium(m.courant[0], m.damping[0]), p["source_weights"][0], p["inputs"],
                         p["probe_weights"][:, 0])
    with pytest.raises(ValueError, match="linear media only"):
        simulate_fused3d(Medium(m.courant, m.damping, kerr=m.courant), p["source_weights"], p["inputs"],
                         p["probe_weights"])
    with pytest.raises(ValueError, match="inv_density"):
        simulate_fused3d(Medium(m.courant, m.damping, inv_density=m.courant[:-1]), p["source_weights"], p["inputs"],
                         p["probe_weights"])
    with pytest.raises(ValueError, match="probe_weights"):
        simulate_fused3d(m, p["source_weights"], p["inputs"], p["probe_weights"][0])
    with pytest.raises(ValueError, match="lengths"):
        simulate_fused3d(**p, lengths=torch.tensor([3]))
    with pytest.raises(ValueError, match="integers"):
        simulate_fused3d(**p, lengths=torch.tensor([3.0, 2.0]))
    with pytest.raises(ValueError, match="float32, float64"):
        simulate_fused3d(Medium(m.courant.half(), m.damping.half()), p["source_weights"].half(), p["inputs"].half(),
                         p["probe_weights"].half())
    with pytest.raises(ValueError, match=r"`cells` must index the grid \(9, 7, 5\), but got \[9, 0, 0\]"):
        simulate_traces_fused3d(m, p["source_weights"], p["inputs"], torch.tensor([[9, 0, 0]]))
    with pytest.raises(ValueError, match=r"shape \(C, 3\)"):
        simulate_traces_fused3d(m, p["source_weights"], p["inputs"], torch.tensor([[1, 0]]))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_runs_the_reference_steps():
    problem = make_problem(batch=2, steps=20)
    cuda = {"medium": Medium(*(getattr(problem["medium"], k).cuda() for k in ("courant", "damping")),
                             inv_density=problem["medium"].inv_density.cuda()),
            **{k: v.cuda() for k, v in problem.items() if k != "medium"}}
    power, _ = simulate_fused3d(**cuda, lengths=torch.tensor([20, 7], device="cuda"))
    assert power.is_cuda
    assert relative_error(power.cpu(), simulate(**problem, lengths=torch.tensor([20, 7]))[0]) < 1e-10


def test_impulse_engine_runs_3d_media_on_the_fused_traces():
    """`verify --3d` classifies a batch through the impulse engine: its 3D traces come from
    the fused 3D kernels (registered by dimension) and give the reference's probe powers."""
    from designer.physics.engines import TRACE_ENGINES
    from designer.physics.fused3d import simulate_traces_fused3d as fused3d_traces

    problem = make_problem(shape=(8, 7, 5), batch=3, steps=36)
    cells = torch.tensor([[1, 2, 3], [4, 4, 1]])
    via_registry = TRACE_ENGINES["fused"](problem["medium"], problem["source_weights"], problem["inputs"], cells)
    assert torch.equal(via_registry, fused3d_traces(problem["medium"], problem["source_weights"],
                                                    problem["inputs"], cells))
    lengths = torch.tensor([36, 20, 5])
    power, _ = get_engine("impulse")(**problem, lengths=lengths)
    reference, _ = simulate(**problem, lengths=lengths)
    assert relative_error(power, reference) < 1e-9
