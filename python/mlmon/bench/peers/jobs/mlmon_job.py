"""mlmon's whole job (fit the baseline, update, report) as a peer job, run with mlmon's venv."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mlmon

if TYPE_CHECKING:  # the type checker sees the package; the script runs with its own directory on the path
    from mlmon.bench.peers.jobs._harness import Scores, main, workload
else:
    from _harness import Scores, main, workload


def job(ref: Any, cur: Any) -> Scores:
    """The timed job: PSI for every feature, the pooled 2 x k chi-square p-value for categoricals."""
    report = workload.mlmon_pipeline(ref, cur)
    scores: Scores = {}
    for name, f in report.features.items():
        scores[name] = {"psi": f.score, "drift": str(f.severity) != "ok"}
        if name in workload.CATEGORICAL and f.p_value is not None:
            scores[name]["chi2_p"] = f.p_value
    return scores


if __name__ == "__main__":
    main("mlmon", mlmon.__version__, job)
