"""The trainer's per-variant gradient accumulation equals the gradient of the whole loss."""
import numpy as np
import pytest
import torch

from designer.config import parse_config
from designer.data import batches, load_corpus, make_split
from designer.metrics import cross_entropy
from designer.train import _accumulate_gradient, make_problem, probe_power

from ..conftest import tiny_data


@pytest.mark.parametrize("method", ["robust", "both"])
def test_accumulated_gradient_is_the_gradient_of_the_mean_loss(method):
    data = tiny_data()
    data["constraints"]["method"] = method
    data["simulation"] = {"dtype": "float64"}
    cfg = parse_config(data, "test")
    problem = make_problem(cfg, engine="fused")
    corpus = load_corpus(cfg.data)
    split = make_split(corpus, 0, 0, cfg.data.test_fraction, 0)
    x, y, *_ = next(iter(batches(corpus, split.train, 6, cfg.data.window_samples, rng=np.random.default_rng(0),
                                dtype=problem.dtype)))
    theta = torch.randn(problem.density.design_mask.shape, dtype=torch.float64,
                        generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    beta = 8.0
    loss = _accumulate_gradient(problem, theta, beta, 0, x, y)
    accumulated = theta.grad.clone()
    assert problem.density.variants == 3

    theta.grad = None
    variants = problem.density.training(theta, beta, 0)
    whole = sum(cross_entropy(probe_power(problem, rho, x), y) for rho in variants) / 3
    whole = whole + problem.density.penalty(theta, beta)
    whole.backward()
    assert loss == pytest.approx(float(whole.detach()), rel=1e-12)
    assert torch.allclose(accumulated, theta.grad, rtol=1e-10, atol=1e-14)
    assert accumulated.abs().max() > 0
