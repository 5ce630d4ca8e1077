"""mlmon's whole job (fit the baseline, update, report) as a peer job, run with mlmon's venv."""

from __future__ import annotations

from typing import Any

from _harness import Scores, main

import mlmon
from _workload import CATEGORICAL, mlmon_pipeline


def job(ref: Any, cur: Any) -> Scores:
    """The timed job: PSI for every feature, the pooled 2 x k chi-square p-value for categoricals."""
    report = mlmon_pipeline(ref, cur)
    scores: Scores = {}
    for name, f in report.features.items():
        scores[name] = {"psi": f.score, "drift": str(f.severity) != "ok"}
        if name in CATEGORICAL and f.p_value is not None:
            scores[name]["chi2_p"] = f.p_value
    return scores


if __name__ == "__main__":
    main("mlmon", mlmon.__version__, job)
