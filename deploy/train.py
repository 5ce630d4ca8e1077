"""Example training pipeline for ``mlmon deploy``: trains a scikit-learn classifier on the breast-cancer
data set shipped with scikit-learn and writes ``model.skops``, ``train.parquet`` and ``validation.parquet``
(the files ``deploy/deploy.toml`` names).

    python deploy/train.py --out deploy/artifacts            # random forest
    python deploy/train.py --out deploy/artifacts --kind logistic --seed 3

Replace :func:`mlmon.deploy.example.train_example` with your own training; what ``mlmon deploy`` needs is
a skops artifact and the two tables with the target column.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mlmon.deploy.example import KINDS, train_example


def main() -> int:
    """Trains and writes the three files; prints their paths."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "artifacts")
    parser.add_argument("--kind", choices=KINDS, default="forest")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = train_example(args.out, kind=args.kind, seed=args.seed)
    for path in (files.artifact, files.training, files.validation):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
