"""Do the tools' scores agree where their methods coincide? Compares each peer's per-feature values with
the untimed reference computed by the numpy/scipy job on the same data.

Which methods coincide:

* PSI on the same bins (reference deciles, the engine's epsilon): mlmon and the numpy implementation.
  Evidently's PSI uses Sturges equal-width bins over both sets pooled: another binning, listed only.
* The two-sample 2 x k chi-square (``scipy.stats.chi2_contingency``): mlmon (which pools sparse cells, so
  it can differ when categories are rare), alibi-detect's ``ChiSquareDrift`` and NannyML's ``chi2``.
* The goodness-of-fit chi-square (``scipy.stats.chisquare`` against reference proportions): Evidently's
  ``chisquare`` and the numpy implementation's.
* Not ours: Kolmogorov-Smirnov (alibi-detect, NannyML; whylogs on a KLL sketch) and whylogs' chi-square on
  a frequent-items sketch. mlmon runs neither, so there is nothing to compare them with.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["COMPARISONS", "agreement", "verdicts"]

# (tool, its key, reference key in the numpy job's scores, measure, what coincides)
COMPARISONS = (
    ("mlmon", "psi", "psi", "relative", "PSI, same reference-decile bins"),
    ("mlmon", "chi2_p", "chi2_p", "absolute", "two-sample chi-square p (mlmon pools sparse cells)"),
    ("alibi-detect", "chi2_p", "chi2_p", "absolute", "two-sample chi-square p (chi2_contingency)"),
    ("alibi-detect", "chi2_stat", "chi2_stat", "relative", "two-sample chi-square statistic"),
    ("nannyml", "chi2_stat", "chi2_stat", "relative", "two-sample chi-square statistic"),
    ("nannyml", "chi2_p", "chi2_p", "absolute", "two-sample chi-square p"),
    ("evidently", "chi2gof_p", "chi2gof_p", "absolute", "goodness-of-fit chi-square p (scipy chisquare)"),
    ("evidently", "psi_equal_width", "psi", "relative", "PSI, but equal-width bins: does not coincide"),
)


def _difference(got: float, want: float, measure: str) -> float:
    if measure == "absolute":
        return abs(got - want)
    if got == want:
        return 0.0
    return abs(got - want) / max(abs(want), 1e-300)


def agreement(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per comparison whose tool ran: the largest difference over the features both report."""
    reference = results.get("numpy/scipy", {}).get("scores")
    if not reference:
        return []
    rows = []
    for tool, key, ref_key, measure, what in COMPARISONS:
        scores = results.get(tool, {}).get("scores")
        if not scores:
            continue
        diffs = {
            name: _difference(float(v[key]), float(reference[name][ref_key]), measure)
            for name, v in scores.items()
            if key in v
            and ref_key in reference.get(name, {})
            and math.isfinite(float(v[key]))
            and math.isfinite(float(reference[name][ref_key]))
        }
        if not diffs:
            continue
        worst = max(diffs, key=lambda n: diffs[n])
        rows.append(
            {
                "tool": tool,
                "value": key,
                "method": what,
                "measure": measure,
                "features": len(diffs),
                "max_difference": diffs[worst],
                "worst_feature": worst,
                "coincides": "does not coincide" not in what,
            }
        )
    return rows


def verdicts(results: dict[str, dict[str, Any]], drifted: set[str]) -> list[dict[str, Any]]:
    """Per tool, how its own drift verdicts compare with the features that really drifted."""
    rows = []
    for tool, result in results.items():
        scores = result.get("scores") or {}
        flagged = {name for name, v in scores.items() if v.get("drift")}
        judged = {name for name, v in scores.items() if "drift" in v}
        if not judged:
            continue
        rows.append(
            {
                "tool": tool,
                "judged": len(judged),
                "true_alarms": len(flagged & drifted),
                "missed": len((judged & drifted) - flagged),
                "false_alarms": len(flagged - drifted),
                "false_alarm_features": sorted(flagged - drifted),
            }
        )
    return rows
