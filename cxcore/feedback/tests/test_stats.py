"""Confidence intervals from counts and sums: NPS, Wilson shares, Student-t means."""

import math

import pytest

from cxcore.feedback.stats import (
    mean_t_interval,
    nps_interval,
    regularised_incomplete_beta,
    t_cdf,
    t_quantile,
    wilson_interval,
)


def test_nps_of_five_promoters_three_passives_two_detractors_is_30_with_its_interval():
    result = nps_interval(5, 3, 2)
    # p = 0.5, d = 0.2: variance of the +1/0/-1 scores = 0.5 + 0.2 - 0.3² = 0.61;
    # standard error = 100 * sqrt(0.61 / 10) = 24.6982; 1.96 * 24.6982 = 48.4084.
    assert result["n"] == 10
    assert result["score"] == pytest.approx(30.0)
    assert result["standard_error"] == pytest.approx(24.69818, abs=1e-4)
    assert result["low"] == pytest.approx(-18.4084, abs=1e-4)
    assert result["high"] == pytest.approx(78.4084, abs=1e-4)
    assert (result["promoters"], result["passives"], result["detractors"]) == (5, 3, 2)


def test_nps_interval_is_clipped_to_the_scale():
    result = nps_interval(9, 0, 1)
    # 80 ± 1.96 * 100 * sqrt(0.36 / 10) = 80 ± 37.19: the top is cut at 100.
    assert result["score"] == pytest.approx(80.0)
    assert result["low"] == pytest.approx(42.81, abs=0.01)
    assert result["high"] == 100.0
    assert nps_interval(0, 0, 4)["low"] == -100.0


def test_nps_has_no_interval_without_two_answers():
    empty = nps_interval(0, 0, 0)
    assert (empty["n"], empty["score"], empty["low"], empty["high"]) == (0, None, None, None)
    one = nps_interval(0, 1, 0)
    assert (one["score"], one["low"], one["high"]) == (0.0, None, None)


def test_wilson_interval_of_8_out_of_10():
    result = wilson_interval(8, 10)
    assert result["share"] == pytest.approx(0.8)
    # Published value of the Wilson score interval for 8/10 at 95 %: 0.4902 to 0.9433.
    assert result["low"] == pytest.approx(0.49016, abs=1e-5)
    assert result["high"] == pytest.approx(0.94332, abs=1e-5)


def test_wilson_interval_stays_inside_0_and_1_at_the_edges():
    none = wilson_interval(0, 10)
    assert none["share"] == 0.0
    assert none["low"] == pytest.approx(0.0, abs=1e-12)
    assert none["high"] == pytest.approx(0.27754, abs=1e-5)
    every = wilson_interval(10, 10)
    assert every["high"] == pytest.approx(1.0) and every["low"] == pytest.approx(0.72246, abs=1e-5)
    assert wilson_interval(0, 0)["share"] is None


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.7062), (2, 4.3027), (5, 2.5706), (10, 2.2281), (30, 2.0423), (120, 1.9799)],
)
def test_student_t_quantiles_match_the_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)


def test_student_t_quantile_tends_to_the_normal_and_is_symmetric():
    assert t_quantile(0.975, math.inf) == pytest.approx(1.95996, abs=1e-5)
    assert t_quantile(0.975, 10**6) == pytest.approx(1.95997, abs=1e-4)
    assert t_quantile(0.025, 5) == pytest.approx(-2.5706, abs=1e-4)
    assert t_quantile(0.995, 3) == pytest.approx(5.8409, abs=1e-4)
    assert t_quantile(0.5, 7) == 0.0
    assert t_cdf(t_quantile(0.9, 4), 4) == pytest.approx(0.9, abs=1e-10)
    with pytest.raises(ValueError):
        t_quantile(1.0, 3)


def test_incomplete_beta_matches_closed_forms():
    # I_x(1, 1) = x and I_x(a, 1) = x^a.
    assert regularised_incomplete_beta(1, 1, 0.3) == pytest.approx(0.3)
    assert regularised_incomplete_beta(3, 1, 0.5) == pytest.approx(0.125)
    assert regularised_incomplete_beta(2, 5, 0) == 0.0
    assert regularised_incomplete_beta(2, 5, 1) == 1.0


def test_mean_t_interval_of_one_to_five():
    values = [1, 2, 3, 4, 5]
    result = mean_t_interval(len(values), sum(values), sum(v * v for v in values))
    # sd = sqrt(2.5) = 1.5811; t(0.975, 4) = 2.7764; half-width = 2.7764 * 1.5811 / sqrt(5).
    assert result["mean"] == pytest.approx(3.0)
    assert result["standard_deviation"] == pytest.approx(1.58114, abs=1e-5)
    assert result["low"] == pytest.approx(1.03676, abs=1e-4)
    assert result["high"] == pytest.approx(4.96324, abs=1e-4)


def test_mean_t_interval_needs_two_values_for_an_interval():
    assert mean_t_interval(0, 0, 0) == {
        "n": 0,
        "mean": None,
        "low": None,
        "high": None,
        "standard_deviation": None,
    }
    one = mean_t_interval(1, 4, 16)
    assert (one["mean"], one["low"], one["high"]) == (4.0, None, None)
    same = mean_t_interval(3, 6, 12)  # 2, 2, 2: no spread, a zero-width interval
    assert (same["low"], same["high"]) == (2.0, 2.0)


def test_mean_t_interval_can_be_clipped_to_its_scale():
    # 2 and 6 on 1..7: 4 ± 12.706 * 2.828 / sqrt(2) = 4 ± 25.4, cut at the scale's ends.
    result = mean_t_interval(2, 8, 40, bounds=(1, 7))
    assert (result["mean"], result["low"], result["high"]) == (4.0, 1, 7)
    assert mean_t_interval(2, 8, 40)["low"] == pytest.approx(4 - 25.4124, abs=1e-3)
