"""whylogs on mlmon's fixed workload, run with its own virtualenv: profile both sets, then
``calculate_drift_scores`` between the profiles.

whylogs compares sketches: KS on its KLL quantile sketch for numerical features and a chi-square on its
frequent-items sketch for categorical ones, so its values are approximations of tests mlmon does not
run (KS) or runs exactly on the full counts (chi-square); they are listed, not compared.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "True")  # no telemetry calls during the timed run

import whylogs  # type: ignore[import-not-found, unused-ignore]
from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores  # type: ignore[import-not-found, unused-ignore]

if TYPE_CHECKING:  # the type checker sees the package; the script runs with its own directory on the path
    from mlmon.bench.peers.jobs._harness import Scores, main, workload
else:
    from _harness import Scores, main, workload


def job(ref: Any, cur: Any) -> Scores:
    """The timed job."""
    ref_view = whylogs.log(pandas=ref).view()
    cur_view = whylogs.log(pandas=cur).view()
    drift = calculate_drift_scores(target_view=cur_view, reference_view=ref_view, with_thresholds=True)
    scores: Scores = {}
    for name, value in drift.items():
        if value is None:
            continue
        kind = "chi2sketch" if name in workload.CATEGORICAL else "ks"
        scores[name] = {
            f"{kind}_p": float(value["pvalue"]),
            f"{kind}_stat": float(value["statistic"]),
            "drift": value.get("drift_category") not in (None, "NO_DRIFT"),
        }
    return scores


if __name__ == "__main__":
    main("whylogs", whylogs.__version__, job)
