"""Production traffic for the demo and the end-to-end tests: rows resampled from the held-out data
(clean), with a staged shift of the tumour-size features (drifted) or with measurement noise on every
feature (noisy: a degraded instrument), sent through ``POST /predict``; and the true labels of the same
draws, for the labels that arrive later."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np

__all__ = ["SHIFTED", "clean_rows", "drifted_rows", "noisy_rows", "send_rows", "truth_of"]

SHIFTED = ("mean_radius", "mean_perimeter", "mean_area", "mean_texture")
"""The features :func:`drifted_rows` moves (what a new scanner calibration would do)."""


def clean_rows(pool: Any, n: int, seed: int) -> list[dict[str, float]]:
    """``n`` rows drawn with replacement from ``pool``, a DataFrame of features the model was not fitted
    on (the held-out validation set): what production traffic looks like to the model, so neither the
    inputs' drift nor the outputs' moves (a model's outputs on its own training rows are
    overconfident, and would drift from the baseline's, fitted on held-out rows)."""
    records: list[dict[str, float]] = _pick(pool, n, seed).to_dict(orient="records")
    return records


def _pick(pool: Any, n: int, seed: int) -> Any:
    rng = np.random.default_rng(seed)
    return pool.iloc[rng.integers(0, len(pool), n)]


def truth_of(labels: Any, n: int, seed: int) -> list[Any]:
    """The true labels of the rows ``clean_rows(pool, n, seed)`` (and the drifted and noisy rows of the
    same seed) draws, given the pool's label column ``labels`` (same index as the pool)."""
    return [v.item() if isinstance(v, np.generic) else v for v in _pick(labels, n, seed).tolist()]


def noisy_rows(pool: Any, n: int, seed: int, noise: float = 1.0) -> list[dict[str, float]]:
    """Clean rows with Gaussian noise of ``noise`` standard deviations (the pool's) on every feature: a
    degraded instrument. The model grows unsure (its scores move towards 0.5), which the label-free
    estimate sees before any label comes."""
    picked = _pick(pool, n, seed)
    rng = np.random.default_rng(seed + 7919)
    noisy = picked + rng.normal(0.0, 1.0, picked.shape) * (noise * pool.std().to_numpy())
    records: list[dict[str, float]] = noisy.to_dict(orient="records")
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


def send_rows(
    client: httpx.Client,
    serving_url: str,
    rows: list[dict[str, float]],
    batch: int = 250,
    request_ids: list[str] | None = None,
) -> int:
    """POSTs the rows to ``/predict`` in batches; returns how many were scored. The request ids the
    API answers with (one per row, for the labels later) are appended to ``request_ids``.

    Raises:
        httpx.HTTPStatusError: the API refused a batch.
    """
    scored = 0
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        response = client.post(f"{serving_url}/predict", json={"rows": part})
        response.raise_for_status()
        answer = response.json()
        scored += len(answer["predictions"])
        if request_ids is not None:
            request_ids.extend(answer["request_ids"])
    return scored
