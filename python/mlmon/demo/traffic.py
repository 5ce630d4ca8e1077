"""Production traffic for the demo and the end-to-end tests: rows resampled from the training data
(clean), or with a staged shift of the tumour-size features (drifted), sent through ``POST /predict``."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np

__all__ = ["SHIFTED", "clean_rows", "drifted_rows", "send_rows"]

SHIFTED = ("mean_radius", "mean_perimeter", "mean_area", "mean_texture")
"""The features :func:`drifted_rows` moves (what a new scanner calibration would do)."""


def clean_rows(pool: Any, n: int, seed: int) -> list[dict[str, float]]:
    """``n`` rows drawn with replacement from ``pool``, a DataFrame of features the model was not fitted
    on (the held-out validation set): what production traffic looks like to the model, so neither the
    inputs' drift nor the outputs' moves (a model's outputs on its own training rows are
    overconfident, and would drift from the baseline's, fitted on held-out rows)."""
    rng = np.random.default_rng(seed)
    picked = pool.iloc[rng.integers(0, len(pool), n)]
    records: list[dict[str, float]] = picked.to_dict(orient="records")
    return records


def drifted_rows(pool: Any, n: int, seed: int, strength: float = 1.0) -> list[dict[str, float]]:
    """Clean rows with the :data:`SHIFTED` features scaled up by ``50 % x strength`` (area by its
    square) and the texture moved by ``6 x strength``."""
    rows = clean_rows(pool, n, seed)
    scale = 1.0 + 0.5 * strength
    for row in rows:
        row["mean_radius"] *= scale
        row["mean_perimeter"] *= scale
        row["mean_area"] *= scale * scale
        row["mean_texture"] += 6.0 * strength
    return rows


def send_rows(client: httpx.Client, serving_url: str, rows: list[dict[str, float]], batch: int = 250) -> int:
    """POSTs the rows to ``/predict`` in batches; returns how many were scored.

    Raises:
        httpx.HTTPStatusError: the API refused a batch.
    """
    scored = 0
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        response = client.post(f"{serving_url}/predict", json={"rows": part})
        response.raise_for_status()
        scored += len(response.json()["predictions"])
    return scored
