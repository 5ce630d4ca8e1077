"""``python -m mlmon.demo`` (what ``make demo`` runs)."""

from mlmon.demo import main

raise SystemExit(main())
