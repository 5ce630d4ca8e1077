"""NannyML's univariate drift calculator on mlmon's fixed workload, run with its own virtualenv.

Fitted on the reference set, calculated on the current set as one chunk. Methods: Kolmogorov-Smirnov
for numerical features (mlmon does not run KS) and chi-square for categorical ones, which NannyML
computes with ``scipy.stats.chi2_contingency`` on the two value-count vectors: the same two-sample test
as mlmon's. NannyML reports the statistic; its p-value is recomputed from the statistic and the degrees
of freedom (categories seen on either side minus one).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import nannyml  # type: ignore[import-not-found, unused-ignore]
from scipy import stats

if TYPE_CHECKING:  # the type checker sees the package; the script runs with its own directory on the path
    from mlmon.bench.peers.jobs._harness import Scores, main, workload
else:
    from _harness import Scores, main, workload


def job(ref: Any, cur: Any) -> Scores:
    """The timed job."""
    calc = nannyml.UnivariateDriftCalculator(
        column_names=workload.NUMERIC + workload.CATEGORICAL,
        continuous_methods=["kolmogorov_smirnov"],
        categorical_methods=["chi2"],
        chunk_number=1,
    )
    calc.fit(ref)
    frame = calc.calculate(cur).filter(period="analysis").to_df()
    scores: Scores = {}
    for name in workload.NUMERIC:
        scores[name] = {
            "ks_stat": float(frame[(name, "kolmogorov_smirnov", "value")].iloc[0]),
            "drift": bool(frame[(name, "kolmogorov_smirnov", "alert")].iloc[0]),
        }
    for name in workload.CATEGORICAL:
        stat = float(frame[(name, "chi2", "value")].iloc[0])
        dof = len(set(ref[name].unique()) | set(cur[name].unique())) - 1
        scores[name] = {
            "chi2_stat": stat,
            "chi2_p": float(stats.chi2.sf(stat, dof)),
            "drift": bool(frame[(name, "chi2", "alert")].iloc[0]),
        }
    return scores


if __name__ == "__main__":
    logging.disable(logging.WARNING)  # NannyML logs a line per column; not part of the measured work
    main("nannyml", nannyml.__version__, job)
