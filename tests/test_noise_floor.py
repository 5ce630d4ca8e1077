"""The noise floor formula against simulated PSI under no drift."""

from __future__ import annotations

import numpy as np
import pytest

from mlmon import _engine
from mlmon.core.drift import noise_floor


@pytest.mark.parametrize(("n_ref", "n_cur", "bins"), [(2000, 2000, 10), (5000, 1000, 5), (1000, 3000, 20)])
def test_95th_percentile_of_null_psi_matches_formula(n_ref: int, n_cur: int, bins: int) -> None:
    rng = np.random.default_rng(n_ref + n_cur + bins)
    sims = []
    for _ in range(300):
        ref, cur = rng.standard_normal(n_ref), rng.standard_normal(n_cur)
        edges = _engine.BinEdges.quantile(ref, bins)
        e, a = _engine.NumericHistogram(edges), _engine.NumericHistogram(edges)
        e.update(ref)
        a.update(cur)
        sims.append(_engine.psi(e.counts.astype(float), a.counts.astype(float)))
    observed = float(np.quantile(sims, 0.95))
    assert observed == pytest.approx(noise_floor(n_ref, n_cur, bins), rel=0.25)


def test_floor_shrinks_with_sample_size() -> None:
    assert noise_floor(10_000, 10_000, 10) < noise_floor(1_000, 1_000, 10) < noise_floor(100, 100, 10)
