"""The hand-written numpy/pandas/scipy implementation (``workloads.pipeline.numpy_pipeline``) as a peer job.

Timed: PSI on reference-decile bins (numerical and categorical) and scipy's goodness-of-fit
``chisquare`` for categoricals. Untimed, for the agreement table: the two-sample 2 x k
``scipy.stats.chi2_contingency`` on the same category counts, the test mlmon, alibi-detect and NannyML
run. Run with mlmon's venv or any with numpy, pandas and scipy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import scipy
from scipy import stats

if TYPE_CHECKING:  # the type checker sees the package; the script runs with its own directory on the path
    from mlmon.bench.peers.jobs._harness import Scores, main, workload
else:
    from _harness import Scores, main, workload


def job(ref: Any, cur: Any) -> Scores:
    """The timed job."""
    out = workload.numpy_pipeline(ref, cur)
    scores: Scores = {name: {"psi": v["psi"]} for name, v in out.items()}
    for name in workload.CATEGORICAL:
        scores[name]["chi2gof_p"] = out[name]["p_value"]
    return scores


def contingency(ref: Any, cur: Any, scores: Scores) -> None:
    """Adds the two-sample chi-square (statistic and p-value) of every categorical feature."""
    for name in workload.CATEGORICAL:
        r, c = ref[name].value_counts(), cur[name].value_counts()
        index = r.index.union(c.index)
        table = np.vstack(
            [r.reindex(index, fill_value=0).to_numpy(), c.reindex(index, fill_value=0).to_numpy()]
        )
        res = stats.chi2_contingency(table[:, table.sum(axis=0) > 0], correction=False)
        scores[name].update(chi2_stat=float(res.statistic), chi2_p=float(res.pvalue))


if __name__ == "__main__":
    main("numpy/scipy", f"numpy {np.__version__}, scipy {scipy.__version__}", job, contingency)
