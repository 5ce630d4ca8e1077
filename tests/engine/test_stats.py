"""Every statistic against an independent scipy/numpy reference, on random and adversarial counts."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from mlmon import _engine as e

counts = st.integers(2, 40).flatmap(
    lambda k: st.tuples(
        hnp.arrays(np.float64, k, elements=st.integers(0, 10**9).map(float)),
        hnp.arrays(np.float64, k, elements=st.integers(0, 10**9).map(float)),
    )
)
REL = 1e-9


def smoothed(c: np.ndarray, eps: float) -> np.ndarray:
    p = np.maximum(c / c.sum(), eps)
    return p / p.sum()


@given(counts, st.sampled_from([1e-4, 1e-6, 0.0, 0.01]))
def test_psi_matches_its_formula(pair: tuple[np.ndarray, np.ndarray], eps: float) -> None:
    exp, act = pair
    assume(exp.sum() > 0 and act.sum() > 0)
    if eps == 0.0:
        assume((exp > 0).all() and (act > 0).all())
    p, q = smoothed(exp, eps), smoothed(act, eps)
    want = float(np.sum((q - p) * np.log(q / p)))
    assert e.psi(exp, act, eps) == pytest.approx(want, rel=REL, abs=1e-12)


@given(counts)
def test_kl_matches_scipy_entropy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    exp, act = pair
    assume(exp.sum() > 0 and act.sum() > 0)
    want = sps.entropy(smoothed(act, 1e-4), smoothed(exp, 1e-4))
    assert e.kl_divergence(exp, act) == pytest.approx(want, rel=REL, abs=1e-12)


@given(counts)
def test_js_matches_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    exp, act = pair
    assume(exp.sum() > 0 and act.sum() > 0)
    want = jensenshannon(exp, act, base=2)
    # Compared as divergences (squared distances): near zero the square root multiplies the reference's
    # own rounding (scipy's 3.91401898e-05 vs an exact 3.91401908e-05, 2.6e-8 relative).
    assert e.js_distance(exp, act) ** 2 == pytest.approx(want**2, rel=REL, abs=1e-12)


@given(counts)
def test_hellinger_matches_formula(pair: tuple[np.ndarray, np.ndarray]) -> None:
    exp, act = pair
    assume(exp.sum() > 0 and act.sum() > 0)
    want = np.sqrt(np.sum((np.sqrt(exp / exp.sum()) - np.sqrt(act / act.sum())) ** 2) / 2)
    assert e.hellinger(exp, act) == pytest.approx(want, rel=REL, abs=1e-12)


@given(counts)
def test_wasserstein_matches_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    exp, act = pair
    assume(exp.sum() > 0 and act.sum() > 0)
    pos = np.cumsum(np.linspace(0.5, 3.0, len(exp)))
    want = sps.wasserstein_distance(pos, pos, exp, act)
    assert e.wasserstein(pos, exp, act) == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_wasserstein_accepts_edges() -> None:
    edges = e.BinEdges.explicit([1.0, 2.0], 0.0, 3.0)
    assert e.wasserstein(edges, [1, 0, 0], [0, 0, 1]) == pytest.approx(2.0)


@given(counts)
def test_chi_square_gof_matches_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    obs, ref = pair
    assume(obs.sum() > 0 and (ref > 0).all())
    f_exp = ref / ref.sum() * obs.sum()
    want = sps.chisquare(obs, f_exp)
    stat, dof, p = e.chi_square_gof(obs, ref / ref.sum())
    assert stat == pytest.approx(want.statistic, rel=REL, abs=1e-9)
    assert dof == len(obs) - 1
    assert p == pytest.approx(want.pvalue, abs=1e-9)


@given(counts)
def test_chi_square_contingency_matches_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    ref, cur = pair
    assume(ref.sum() > 0 and cur.sum() > 0 and ((ref + cur) > 0).all())
    want = sps.chi2_contingency(np.vstack([ref, cur]), correction=False)
    stat, dof, p = e.chi_square_contingency(ref, cur)
    assert stat == pytest.approx(want.statistic, rel=REL, abs=1e-9)
    assert dof == want.dof
    assert p == pytest.approx(want.pvalue, abs=1e-9)


def test_contingency_drops_empty_columns() -> None:
    with_empty = e.chi_square_contingency([10, 0, 5], [3, 0, 9])
    without = e.chi_square_contingency([10, 5], [3, 9])
    assert with_empty == without


@given(counts)
def test_pooled_test_is_finite_and_bounded(pair: tuple[np.ndarray, np.ndarray]) -> None:
    ref, cur = pair
    assume(ref.sum() > 0 and cur.sum() > 0)
    stat, dof, p = e.chi_square_pooled(ref, cur)
    assert np.isfinite(stat) and stat >= 0
    assert 0.0 <= p <= 1.0
    assert dof <= len(ref) - 1


def test_pooled_equals_scipy_after_pooling_by_hand() -> None:
    ref = np.array([1000.0, 800.0, 2.0, 1.0, 0.0])
    cur = np.array([990.0, 805.0, 1.0, 0.0, 3.0])
    # Columns by total: [0+3], [1+0], [2+1] pooled -> [3, 4] (smaller expected >= 5? 7 * 0.4997 < 5,
    # so it keeps absorbing the next column).
    stat, dof, p = e.chi_square_pooled(ref, cur)
    pooled = np.array([[1000.0, 803.0], [990.0, 809.0]])
    want = sps.chi2_contingency(pooled, correction=False)
    assert stat == pytest.approx(want.statistic, rel=REL)
    assert (dof, p) == (1, pytest.approx(want.pvalue, abs=1e-12))


def test_a_single_novel_value_does_not_explode() -> None:
    ref = np.array([5000.0, 5000.0, 0.0])
    cur = np.array([499.0, 500.0, 1.0])
    stat, _, p = e.chi_square_pooled(ref, cur)
    assert np.isfinite(stat) and p > 0.05
    assert np.isfinite(e.psi(ref, cur))


def test_chi2_sf_matches_scipy_over_dof_1_to_10000() -> None:
    dofs = np.arange(1, 10_001)
    worst = 0.0
    for frac in (0.3, 0.9, 1.0, 1.1, 1.7, 3.0):
        xs = dofs * frac + np.sqrt(dofs)
        want = sps.chi2.sf(xs, dofs)
        got = np.array([e.chi2_sf(float(x), float(k)) for x, k in zip(xs, dofs, strict=True)])
        worst = max(worst, float(np.max(np.abs(got - want))))
    assert worst <= 1e-12


@pytest.mark.parametrize(
    ("fn", "args"),
    [
        (e.psi, ([1, 2], [1, 2, 3])),
        (e.psi, ([0, 0], [1, 2])),
        (e.psi, ([], [])),
        (e.js_distance, ([1, -1], [1, 1])),
        (e.hellinger, ([np.nan, 1], [1, 1])),
        (e.chi_square_gof, ([1, 2], [0.5])),
    ],
)
def test_bad_inputs_raise_input_error(fn: object, args: tuple[object, object]) -> None:
    with pytest.raises(e.InputError):
        fn(*args)  # type: ignore[operator]


def test_eps_is_validated() -> None:
    with pytest.raises(e.InputError, match="eps"):
        e.psi([1, 2], [2, 1], eps=1.5)
