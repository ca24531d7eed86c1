"""Agreement statistics (salt.trial.agreement) against published and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salt.errors import BadValueError
from salt.trial.agreement import agreement_summary, band_kappa, bland_altman, icc

# Shrout & Fleiss (1979), Psychological Bulletin 86:420, table 4: 6 targets x 4 judges.
SHROUT_FLEISS = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
    dtype=float,
)


def test_icc_shrout_fleiss_published_values() -> None:
    table = icc(SHROUT_FLEISS)
    # the paper's values, to its two decimals
    assert round(table.loc["ICC(1,1)", "icc"], 2) == 0.17
    assert round(table.loc["ICC(2,1)", "icc"], 2) == 0.29
    assert round(table.loc["ICC(3,1)", "icc"], 2) == 0.71
    assert round(table.loc["ICC(1,k)", "icc"], 2) == 0.44
    assert round(table.loc["ICC(2,k)", "icc"], 2) == 0.62
    assert round(table.loc["ICC(3,k)", "icc"], 2) == 0.91
    assert table.attrs["n_targets"] == 6 and table.attrs["n_raters"] == 4


def test_icc_shrout_fleiss_f_tests_and_intervals() -> None:
    # F tests and 95 % intervals as printed by R psych::ICC (and DescTools::ICC) on the same
    # data: ICC1 F 1.79 (5, 18) p 0.1648 [-0.133, 0.72]; ICC2 F 11.03 (5, 15) p 0.000135
    # [0.019, 0.76]; ICC3 [0.342, 0.95]; ICC1k [-0.884, 0.91]; ICC2k [0.071, 0.93];
    # ICC3k [0.676, 0.99].
    t = icc(SHROUT_FLEISS)
    assert t.loc["ICC(1,1)", "F"] == pytest.approx(1.79, abs=0.005)
    assert (t.loc["ICC(1,1)", "df1"], t.loc["ICC(1,1)", "df2"]) == (5.0, 18.0)
    assert t.loc["ICC(1,1)", "p"] == pytest.approx(0.164769, abs=5e-6)
    assert t.loc["ICC(2,1)", "F"] == pytest.approx(11.03, abs=0.005)
    assert (t.loc["ICC(2,1)", "df1"], t.loc["ICC(2,1)", "df2"]) == (5.0, 15.0)
    assert t.loc["ICC(2,1)", "p"] == pytest.approx(0.000135, abs=5e-7)
    expected = {
        "ICC(1,1)": (-0.133, 0.72),
        "ICC(2,1)": (0.019, 0.76),
        "ICC(3,1)": (0.342, 0.95),
        "ICC(1,k)": (-0.884, 0.91),
        "ICC(2,k)": (0.071, 0.93),
        "ICC(3,k)": (0.676, 0.99),
    }
    for name, (low, high) in expected.items():
        assert t.loc[name, "ci_low"] == pytest.approx(low, abs=0.0005), name
        assert t.loc[name, "ci_high"] == pytest.approx(high, abs=0.005), name


def test_icc_long_table_equals_wide() -> None:
    long = pd.DataFrame(
        [
            {"visit": f"v{i}", "rater": f"r{j}", "salt": SHROUT_FLEISS[i, j]}
            for i in range(6)
            for j in range(4)
        ]
    )
    a = icc(long, targets="visit", raters="rater", values="salt")
    b = icc(SHROUT_FLEISS)
    pd.testing.assert_frame_equal(a, b)


def test_icc_perfect_agreement_and_constant_offset() -> None:
    x = np.array([10.0, 30.0, 55.0, 80.0, 95.0])
    same = icc(np.column_stack([x, x]))
    assert same.loc["ICC(2,1)", "icc"] == pytest.approx(1.0)
    # rater 2 = rater 1 + 10: consistency is perfect, absolute agreement is not.
    # By hand: squared deviations of x from its mean 54 sum to 4870, so MSR = 2 * 4870 / 4
    # = 2435; MSC = 5 * (5^2 + 5^2) / 1 = 250; MSE = 0;
    # ICC(2,1) = 2435 / (2435 + 2 * 250 / 5) = 2435 / 2535.
    shifted = icc(np.column_stack([x, x + 10.0]))
    assert shifted.loc["ICC(3,1)", "icc"] == pytest.approx(1.0)
    assert shifted.loc["ICC(2,1)", "icc"] == pytest.approx(2435.0 / 2535.0)


def test_icc_missing_ratings() -> None:
    x = SHROUT_FLEISS.copy()
    x[0, 1] = np.nan
    with pytest.raises(BadValueError, match="lack a rating"):
        icc(x)
    dropped = icc(x, nan_policy="omit")
    pd.testing.assert_frame_equal(dropped, icc(SHROUT_FLEISS[1:]), check_like=True, atol=0)
    assert dropped.attrs["n_targets"] == 5


@pytest.mark.parametrize(
    "bad",
    [np.ones((1, 3)), np.ones((4, 1)), np.ones(5), [["a", "b"], ["c", "d"]]],
)
def test_icc_bad_shapes(bad: object) -> None:
    with pytest.raises(BadValueError):
        icc(bad)  # type: ignore[arg-type]


def test_bland_altman_by_hand() -> None:
    # differences 1, 0, 1, -1: mean 0.25; squared deviations sum 2.75, sd = sqrt(2.75 / 3)
    r = bland_altman([1, 2, 3, 4], [0, 2, 2, 5])
    sd = math.sqrt(2.75 / 3)
    assert r.n == 4 and r.bias == 0.25
    assert r.sd == pytest.approx(sd)
    assert (r.loa_low, r.loa_high) == (
        pytest.approx(0.25 - 1.96 * sd),
        pytest.approx(0.25 + 1.96 * sd),
    )
    t = 3.182446305  # t(0.975, 3 df), from tables
    assert r.bias_ci == (
        pytest.approx(0.25 - t * sd / 2, abs=1e-6),
        pytest.approx(0.25 + t * sd / 2, abs=1e-6),
    )
    se = math.sqrt(3 * sd * sd / 4)
    assert r.loa_high_ci[1] == pytest.approx(0.25 + 1.96 * sd + t * se, abs=1e-6)
    assert r.as_dict()["limits"] == 1.96


def test_bland_altman_errors() -> None:
    with pytest.raises(BadValueError, match="different numbers"):
        bland_altman([1, 2], [1, 2, 3])
    with pytest.raises(BadValueError, match="at least 2"):
        bland_altman([1], [1])
    with pytest.raises(BadValueError, match="finite"):
        bland_altman([1, np.nan], [1, 2])


def test_band_kappa_by_hand() -> None:
    # bands S0, S1, S2, S3 vs S0, S1, S3, S3 (codes 0,1,2,3 vs 0,1,3,3).
    # observed mean weight 1/4; expected: linear 5.5/4, quadratic 12/4.
    a, b = [0, 10, 30, 60], [0, 10, 55, 60]
    assert band_kappa(a, b, weights="linear") == pytest.approx(1 - 0.25 / 1.375)  # 9/11
    assert band_kappa(a, b) == pytest.approx(1 - 0.25 / 3.0)  # 11/12
    assert band_kappa(a, a) == 1.0
    # unweighted: p_o = 3/4, p_e = (1/4)(1/4) + (1/4)(1/4) + (1/4)(1/2) = 1/4, kappa = 2/3
    assert band_kappa(a, b, weights=None) == pytest.approx(2 / 3)
    with pytest.raises(BadValueError, match="one band"):
        band_kappa([30, 31], [32, 33])


def test_band_kappa_bands_like_severity_band() -> None:
    # 24.9 is S1 and 25.0 is S2 (unrounded score): one disagreement of one band
    assert band_kappa([0, 24.9, 80], [0, 25.0, 80], weights=None) < 1.0
    assert band_kappa([0, 24.9, 80], [0, 24.0, 80], weights=None) == 1.0


def test_agreement_summary_keys_and_values() -> None:
    x = np.array([10.0, 30.0, 55.0, 80.0, 95.0])
    s = agreement_summary(x, x + 2.0)
    assert s["n"] == 5.0 and s["bias"] == -2.0 and s["mae"] == 2.0
    assert s["icc31"] == pytest.approx(1.0)
    assert s["icc21"] < 1.0
    assert s["kappa_quadratic"] == 1.0  # +2 points never crosses a band here
