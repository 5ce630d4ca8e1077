"""mlmon's per-feature drift values on the fixed workload, to set beside ``evidently_job.py``'s.

Run with mlmon's venv: ``.venv/bin/python benches/peers/mlmon_scores.py [--rows N]``. Prints one JSON
line: for every feature mlmon's score (PSI on reference-decile bins for numerical features, PSI over
categories for categorical ones), its pooled 2 x k chi-square p-value where it has one, and severity.
Not timed: ``benches/compare_pipeline.py`` times the same job.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _workload import ROWS, make_columns, mlmon_pipeline, to_pandas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args()
    ref, cur = to_pandas(make_columns(1, args.rows)), to_pandas(make_columns(2, args.rows, drift=True))
    report = mlmon_pipeline(ref, cur)
    out = {
        name: {"score": f.score, "p_value": f.p_value, "severity": str(f.severity)}
        for name, f in report.features.items()
    }
    print(json.dumps({"tool": "mlmon", "rows": args.rows, "features": out}))


if __name__ == "__main__":
    main()
