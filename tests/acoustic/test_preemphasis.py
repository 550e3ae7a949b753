"""The drive electronics' pre-emphasis ([simulation] preemphasis): its response against theory, end to end."""
from __future__ import annotations

import numpy as np
import pytest

from designer.config import parse_config
from designer.drive import drive_for
from designer.errors import ConfigError
from tests.conftest import tiny_channel_data


def _cfg(a: float):
    data = tiny_channel_data()
    data["simulation"] = {"preemphasis": a}
    return parse_config(data, "pre.toml")


@pytest.mark.parametrize("a", [0.5, 0.97])
def test_preemphasis_multiplies_the_injected_power_by_its_response(a):
    """|Y(f)|^2 / |X(f)|^2 = |1 - a e^{-i 2 pi f / fs}|^2 = 1 + a^2 - 2 a cos(2 pi f / fs) for every signal
    frequency f below the drive's low-pass (the rest of the chain is the same with and without it)."""
    rng = np.random.default_rng(0)
    x = np.zeros(4096)
    x[200:3800] = rng.standard_normal(3600)  # zero at both ends: no edge of the filters' memory is cut
    plain, emphasised = drive_for(_cfg(0.0)), drive_for(_cfg(a))
    fs = _cfg(0.0).data.sample_rate_hz
    y0, y1 = plain.numpy(x), emphasised.numpy(x)
    n = len(y0)
    f = np.fft.rfftfreq(n, 1.0 / (fs * plain.factor))
    ratio = np.abs(np.fft.rfft(y1)) ** 2 / np.maximum(np.abs(np.fft.rfft(y0)) ** 2, 1e-300)
    band = (f > 0.05 * fs) & (f < 0.4 * fs)  # signal frequencies the chain passes (f in signal Hz)
    theory = 1 + a * a - 2 * a * np.cos(2 * np.pi * f[band] / fs)
    np.testing.assert_allclose(ratio[band], theory, rtol=1e-6)
    assert ratio[band][-1] > ratio[band][0]  # it raises the upper band against the lower


def test_preemphasis_outside_zero_to_one_is_one_line():
    with pytest.raises(ConfigError) as err:
        _cfg(1.2)
    assert "\n" not in str(err.value) and "simulation.preemphasis" in str(err.value)


def test_no_preemphasis_leaves_the_chain_as_it_was():
    x = np.random.default_rng(1).standard_normal(500)
    np.testing.assert_array_equal(drive_for(_cfg(0.0)).numpy(x), drive_for(parse_config(tiny_channel_data(), "t")).numpy(x))
