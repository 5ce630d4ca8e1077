"""alibi-detect's drift detectors on mlmon's fixed workload, run with its own virtualenv.

Numerical features: one ``KSDrift`` per feature on the non-missing values (alibi-detect does not accept
NaN, so missing values are dropped first, as a user would). Categorical features: one ``ChiSquareDrift``
over the five columns as integer codes (shared category index of reference and current), which runs
``scipy.stats.chi2_contingency`` per feature: the same two-sample test as mlmon's and the numpy job's
untimed reference. Encoding the strings to codes is part of the timed job (alibi-detect needs numbers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import alibi_detect  # type: ignore[import-not-found, unused-ignore]
import numpy as np
import pandas as pd
from alibi_detect.cd import ChiSquareDrift, KSDrift  # type: ignore[import-not-found, unused-ignore]

if TYPE_CHECKING:  # the type checker sees the package; the script runs with its own directory on the path
    from mlmon.bench.peers.jobs._harness import Scores, main, workload
else:
    from _harness import Scores, main, workload


def job(ref: Any, cur: Any) -> Scores:
    """The timed job."""
    scores: Scores = {}
    for name in workload.NUMERIC:
        r, c = ref[name].to_numpy(), cur[name].to_numpy()
        detector = KSDrift(r[~np.isnan(r)][:, None], p_val=0.05)
        pred = detector.predict(c[~np.isnan(c)][:, None], return_p_val=True, return_distance=True)["data"]
        scores[name] = {
            "ks_p": float(pred["p_val"][0]),
            "ks_stat": float(pred["distance"][0]),
            "drift": bool(pred["is_drift"]),
        }
    codes_ref, codes_cur, sizes = [], [], {}
    for i, name in enumerate(workload.CATEGORICAL):
        index = pd.Index(pd.unique(np.concatenate([ref[name].to_numpy(), cur[name].to_numpy()])))
        codes_ref.append(index.get_indexer(ref[name].to_numpy()))
        codes_cur.append(index.get_indexer(cur[name].to_numpy()))
        sizes[i] = len(index)  # codes 0..n-1
    x_ref, x_cur = np.column_stack(codes_ref), np.column_stack(codes_cur)
    detector = ChiSquareDrift(x_ref, p_val=0.05, categories_per_feature=sizes)
    pred = detector.predict(x_cur, drift_type="feature", return_p_val=True, return_distance=True)["data"]
    for i, name in enumerate(workload.CATEGORICAL):
        scores[name] = {
            "chi2_p": float(pred["p_val"][i]),
            "chi2_stat": float(pred["distance"][i]),
            "drift": bool(pred["is_drift"][i]),
        }
    return scores


if __name__ == "__main__":
    main("alibi-detect", alibi_detect.__version__, job)
