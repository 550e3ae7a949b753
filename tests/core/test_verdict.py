"""The verdict's statistics against closed forms, and the warnings for an unfinished design."""
from __future__ import annotations

import math

import numpy as np
import pytest

from designer.verdict import against_chance, design_warnings, failures, loss_fall_per_epoch


def test_all_correct_on_four_samples_of_two_classes_is_not_significant():
    chance = against_chance([[2, 0], [0, 2]])
    assert chance.chance == 0.5 and chance.p_value == pytest.approx(1 / 16)  # P(4 of 4 | p = 1/2)
    assert not chance.above_chance
    # Clopper-Pearson for k = n: the lower end solves p^n = alpha / 2.
    assert chance.ci_low == pytest.approx(0.025 ** (1 / 4)) and chance.ci_high == 1.0


def test_p_value_is_the_binomial_upper_tail():
    # 5 of 6 correct on three balanced classes: P(K >= 5) = 6 (1/3)^5 (2/3) + (1/3)^6.
    chance = against_chance([[2, 0, 0], [1, 1, 0], [0, 0, 2]])
    assert chance.p_value == pytest.approx(6 * (1 / 3) ** 5 * (2 / 3) + (1 / 3) ** 6)
    assert chance.above_chance and chance.accuracy == pytest.approx(5 / 6)


def test_chance_is_the_most_frequent_class_share():
    """A device that always answers the majority class scores its share: that is not above chance."""
    chance = against_chance([[0, 8], [0, 2]])  # 8 of the 10 samples are of class 0
    assert chance.chance == pytest.approx(0.8) and chance.accuracy == pytest.approx(0.2)
    majority = against_chance([[8, 0], [2, 0]])
    assert majority.accuracy == pytest.approx(0.8) and majority.p_value > 0.5 and not majority.above_chance


def test_zero_correct_interval_upper_end():
    chance = against_chance([[0, 5], [5, 0]])
    assert chance.ci_low == 0.0 and chance.ci_high == pytest.approx(1 - 0.025 ** (1 / 10))
    assert chance.p_value == 1.0


def test_failures_name_each_missed_criterion():
    good = against_chance(np.diag([10, 10, 10]))
    assert failures(good, 0.0, 2.0) == []
    assert failures(good, 3.0, 2.0) == ["drop +3.0 points > allowed 2"]
    assert failures(good, None, 2.0, min_accuracy_percent=100.0) == []
    weak = against_chance([[1, 1], [1, 1]])
    missed = failures(weak, 5.0, 2.0, min_accuracy_percent=60.0)
    assert len(missed) == 3 and missed[0].startswith("not significantly above chance")
    assert missed[2] == "accuracy 50.0% < required 60%"


def test_loss_fall_per_epoch():
    assert loss_fall_per_epoch([1.0, 0.9, 0.8], 3) == pytest.approx(0.1)
    assert loss_fall_per_epoch([1.0, 0.5, 0.5, 0.5], 2) == 0.0
    assert loss_fall_per_epoch([0.5, 0.6], 2) == pytest.approx(-0.2)
    assert loss_fall_per_epoch([0.5], 4) == 0.0
    assert loss_fall_per_epoch([math.nan, 1.0, 0.99], 3) == pytest.approx(0.01)


def _meta(grayness: float, losses: list[float], confusion) -> dict:
    history = [{"epoch": e, "train_loss_running": x} for e, x in enumerate(losses)]
    return {"grayness": grayness, "metrics": {"history": history, "final": {"test_confusion_matrix": confusion}}}


def test_a_finished_design_gets_no_warning():
    flat = [1.0] * 8 + [0.5] * 4
    assert design_warnings(_meta(0.01, flat, np.diag([10, 10, 10]).tolist())) == []


def test_each_sign_of_an_unfinished_design_is_one_line():
    warnings = design_warnings(_meta(0.3, [1.0, 0.9, 0.8, 0.7], [[2, 2], [2, 2]]), "fold-1")
    assert len(warnings) == 3 and all(w.startswith("warning: fold-1: ") for w in warnings)
    assert "still grey (grayness 0.300" in warnings[0]
    assert "still falls" in warnings[1] and "last 2 epochs" in warnings[1]
    assert "near chance" in warnings[2] and "50.0%" in warnings[2]


def test_a_selected_record_does_not_count_as_an_epoch():
    meta = _meta(0.01, [1.0, 1.0, 1.0, 1.0], np.diag([9, 9]).tolist())
    meta["metrics"]["history"].append({"epoch": 1, "train_loss_running": 0.1, "selected": True})
    assert design_warnings(meta) == []
