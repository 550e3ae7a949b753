"""Gated detection ([readout] gates): each probe's power in consecutive time gates, checked against the time engine."""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from designer.cli import main
from designer.config import parse_config
from designer.data.timing import first_arrival_samples
from designer.errors import ConfigError
from designer.physics import get_engine
from designer.physics.impulse import gate_of_step
from designer.physics.wave import Medium, simulate
from designer.readout import READOUTS
from tests.conftest import tiny_channel_data, tiny_data, write_toml
from tests.physics.test_fused import make_problem

RATIO = READOUTS["ratio"]


def _medium(problem) -> Medium:
    return Medium(problem["courant"], problem["damping"], None, None, 1.0)


def _edges(length: int, gates: int, delay: int) -> list[int]:
    """Gate edges written out: gate g holds the steps n with g (L - D) / G <= n - D < (g + 1) (L - D) / G."""
    return [delay + math.ceil(g * (length - delay) / gates) for g in range(gates + 1)]


def test_gates_split_the_integration_from_the_first_arrival():
    gate = gate_of_step(12, torch.tensor([12, 9, 3]), 3, delay=3)
    assert gate[0].tolist() == [3, 3, 3, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert gate[1].tolist() == [3, 3, 3, 0, 0, 1, 1, 2, 2, 3, 3, 3]
    assert gate[2].tolist() == [0, 1, 2] + [3] * 9  # no longer than the delay: integrated from step 0
    for length, gates, delay in [(60, 3, 5), (47, 4, 0), (31, 2, 27)]:
        index = gate_of_step(60, torch.tensor([length]), gates, delay)[0]
        edges = _edges(length, gates, delay)
        for g in range(gates):
            assert (index[edges[g]:edges[g + 1]] == g).all() and edges[g + 1] > edges[g]


def test_gated_powers_are_the_time_engines_powers_between_the_gate_edges():
    """The impulse engine's gate g equals P(n < end_g) - P(n < start_g), each integrated by the reference engine."""
    problem = make_problem(batch=3, steps=60)
    medium = _medium(problem)
    args = (problem["source_weights"], problem["inputs"], problem["probe_weights"])
    lengths = torch.tensor([60, 47, 31])
    gates, delay = 3, 5
    gated, _ = get_engine("impulse")(medium, *args, lengths=lengths, gates=gates, gate_delay=delay)
    probes = problem["probe_weights"].shape[0]
    assert gated.shape == (3, gates * probes)
    gated = gated.reshape(3, gates, probes)
    whole, _ = simulate(medium, *args, lengths=lengths)
    for b, length in enumerate(lengths.tolist()):
        edges = _edges(length, gates, delay)
        up_to = [simulate(medium, *args, lengths=torch.full((3,), e))[0][b] for e in edges]
        for g in range(gates):
            assert torch.allclose(gated[b, g], up_to[g + 1] - up_to[g], rtol=1e-9, atol=1e-12 * float(whole.max()))
        assert torch.allclose(gated[b].sum(0) + up_to[0], whole[b], rtol=1e-9)  # the gates tile [D, L)
    ungated, _ = get_engine("impulse")(medium, *args, lengths=lengths)
    assert torch.allclose(ungated, whole, rtol=1e-9)  # one gate: the engine as it always was


def test_gated_power_gradient_matches_central_differences():
    problem = make_problem(nx=16, ny=13, batch=2, steps=40)
    direction = torch.rand(problem["courant"].shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    weights = torch.linspace(0.5, 1.5, 2 * 2 * 3, dtype=torch.float64).view(2, 6)

    def loss(courant: torch.Tensor) -> torch.Tensor:
        medium = Medium(courant, problem["damping"], None, None, 1.0)
        power, _ = get_engine("impulse")(medium, problem["source_weights"], problem["inputs"],
                                         problem["probe_weights"], gates=2, gate_delay=4)
        return (power * weights).sum()

    courant = problem["courant"].clone().requires_grad_(True)
    loss(courant).backward()
    eps = 1e-6
    numeric = (loss(problem["courant"] + eps * direction) - loss(problem["courant"] - eps * direction)) / (2 * eps)
    analytic = (courant.grad * direction).sum()
    assert abs(float(analytic) - float(numeric)) <= 1e-6 * abs(float(numeric))


@pytest.mark.parametrize("engine", ["fused", "reference"])
def test_engines_that_integrate_in_the_kernel_refuse_gates(engine):
    problem = make_problem(batch=2, steps=20)
    with pytest.raises(ValueError, match="impulse or auto engine"):
        get_engine(engine)(_medium(problem), problem["source_weights"], problem["inputs"], problem["probe_weights"],
                           gates=2)


def test_no_probe_hears_the_source_before_the_first_arrival():
    """first_arrival_samples is a causal bound: before it the probes' power is the leapfrog's precursor, nothing more."""
    from designer.train import make_problem as problem_for, probe_power

    cfg = parse_config(tiny_channel_data(), "tiny.toml")
    delay = first_arrival_samples(cfg)
    assert delay > 0
    problem = problem_for(cfg)
    rho = torch.full(problem.layout.design_mask.shape, 0.0, dtype=problem.dtype)
    inputs = torch.as_tensor(np.random.default_rng(0).standard_normal((2, 3 * delay)), dtype=problem.dtype)
    early = probe_power(problem, rho, inputs, torch.tensor([delay, delay]))
    whole = probe_power(problem, rho, inputs, torch.tensor([3 * delay, 3 * delay]))
    assert float((early / whole).max()) < 1e-6
    # one sample later than the straight-line arrival at the slower speed, the probes do hear it
    later = probe_power(problem, rho, inputs, torch.tensor([3 * delay // 2] * 2))
    assert float((later / whole).min()) > 1e-3


def test_one_gate_is_the_readout_as_it_was_and_more_gates_average_the_scores():
    rng = np.random.default_rng(0)
    p = torch.as_tensor(rng.uniform(0.01, 2.0, (5, 3 * 6)))  # 3 gates x (3 classes x 2 ports)
    gated = dataclasses.replace(RATIO, gates=3)
    per_gate = [RATIO.scores(p[:, 6 * g:6 * (g + 1)]) for g in range(3)]
    assert torch.allclose(gated.scores(p), sum(per_gate) / 3, rtol=1e-12)
    assert torch.equal(dataclasses.replace(RATIO, gates=1).scores(p[:, :6]), RATIO.scores(p[:, :6]))
    assert (gated.predict(p) == gated.scores(p).argmax(1).numpy()).all()
    labels = torch.tensor([0, 2, 1, 1, 0])
    q = p.clone().requires_grad_(True)
    from designer.metrics import cross_entropy

    assert torch.autograd.gradcheck(lambda x: cross_entropy(x, labels, gated), (q,), eps=1e-6, atol=1e-8)


def test_gates_tell_apart_signals_whose_whole_powers_are_the_same():
    """Two signals whose ports hear the same total powers: class 1's + port evenly in time, or in a burst.

    Ungated, every port's power is the same for both, so no readout of those powers can tell them apart;
    with two gates the ratio readout names class 1 for the even one (log 1.05 > 0) and class 0 for the
    burst ((log 0.2 + log 1.9) / 2 < 0).
    """
    # powers, gate-major: gate 0 (0+, 1+, 0-, 1-), then gate 1
    even = torch.tensor([[1.0, 1.05, 1.0, 1.0, 1.0, 1.05, 1.0, 1.0]], dtype=torch.float64)
    burst = torch.tensor([[1.0, 0.2, 1.0, 1.0, 1.0, 1.9, 1.0, 1.0]], dtype=torch.float64)
    whole = lambda p: p[:, :4] + p[:, 4:]  # noqa: E731  (what one gate integrates)
    assert torch.allclose(whole(even), whole(burst))
    gated = dataclasses.replace(RATIO, gates=2)
    assert int(gated.predict(even)[0]) == 1 and int(gated.predict(burst)[0]) == 0
    assert int(RATIO.predict(whole(even))[0]) == int(RATIO.predict(whole(burst))[0])


@pytest.mark.parametrize("change, expected", [
    ({"readout": {"gates": 0}}, "readout.gates"),
    ({"readout": {"gates": 65}}, "1 to 64 gates"),
    ({"readout": {"gates": 2.5}}, "readout.gates"),
    ({"readout": {"gates": 2}, "simulation": {"engine": "fused"}}, "engine auto or impulse"),
    ({"readout": {"gates": 2}, "template": "photonic-soi-carrier"}, "frequency domain"),
])
def test_bad_gates_are_one_line_errors(change, expected):
    doc = tiny_data()
    doc.update(change)
    with pytest.raises(ConfigError) as err:
        parse_config(doc, "run.toml")
    message = str(err.value)
    assert expected in message and "run.toml" in message and "\n" not in message


def _invoke(*args) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_gated_run_goes_through_export_verify_3d_and_report(tmp_path):
    """Real training with two gates on the printed channel; the STL re-simulated in 2D and 3D reads the same gates."""
    from designer.data import load_corpus, ring_down_steps
    from designer.design import load_design
    from designer.report.simulate import simulate_fields
    from designer.train import make_problem as problem_for, probe_power

    doc = tiny_channel_data()
    doc["readout"] = {"gates": 2}
    out = tmp_path / "run"
    _invoke("optimize", write_toml(tmp_path / "run.toml", doc), "--out", out, "--epochs", 2, "--quiet")
    meta = json.loads((out / "design.json").read_text())
    assert meta["config"]["readout"]["gates"] == 2
    _invoke("export", out, "--format", "stl")
    result = CliRunner().invoke(main, ["verify", str(out / "design.stl"), "--3d", "--json"])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["confusion_matrix"]) == 3
    assert abs(report["drop_points"]) <= 100 / report["test_samples"] + 1e-9
    assert report["three_d"]["agreement_with_2d"] >= 0.5
    refused = CliRunner().invoke(main, ["verify", str(out / "design.stl"), "--engine", "reference"])
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    assert "readout.gates = 2" in refused.output and "'impulse'" in refused.output
    # the report's own time stepping gates the probes' u^2 as the impulse engine does
    cfg = parse_config(doc, str(tmp_path / "run.toml"))
    corpus = load_corpus(cfg.data)
    ring = ring_down_steps(cfg, corpus)
    signals = [np.pad(corpus.signals[i], (0, ring)) for i in (0, 1)]
    rho = load_design(out).arrays["rho"]
    fields = simulate_fields(cfg, rho, signals, corpus.labels[:2], frames=2)
    problem = problem_for(cfg)
    inputs = torch.zeros((2, max(len(s) for s in signals)), dtype=problem.dtype)
    for b, x in enumerate(signals):
        inputs[b, :len(x)] = torch.as_tensor(x)
    lengths = torch.tensor([len(x) for x in signals])
    with torch.no_grad():
        engine = probe_power(problem, torch.as_tensor(rho, dtype=problem.dtype), inputs, lengths)
    assert fields.probe_power.shape == (2, 2 * 3)
    assert np.allclose(fields.probe_power, engine.numpy(), rtol=1e-5)  # float32 runs
    _invoke("report", out, "--no-fields")
    assert (out / "report" / "report.html").exists()


def test_gates_enter_the_resume_fingerprint_only_when_set():
    """Other gates are another loss: a checkpoint must not resume under them; one gate is the run of before."""
    from designer.checkpoint import run_fingerprint

    doc = tiny_data()
    one = parse_config(doc, "run.toml")
    doc["readout"] = {"gates": 3}
    three = parse_config(doc, "run.toml")
    assert "readout_gates" not in run_fingerprint(one)
    assert run_fingerprint(three)["readout_gates"] == 3 and run_fingerprint(three) != run_fingerprint(one)
