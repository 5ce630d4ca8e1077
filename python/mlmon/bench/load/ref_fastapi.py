"""The stack the original design named, as a reference of the load benchmark (served by uvicorn as
``mlmon.bench.load.ref_fastapi:fastapi_app``): FastAPI + pydantic decode a JSON body of number lists,
and numpy updates one histogram per feature (fixed edges) in memory; no store, no durability.
"""

from __future__ import annotations

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

_EDGES = np.linspace(-4.0, 4.0, 21)


class Batch(BaseModel):
    """A JSON batch: number lists per feature."""

    batch_id: str
    version: str | None = None
    columns: dict[str, list[float | None]]


fastapi_app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
_COUNTS: dict[str, np.ndarray] = {}


@fastapi_app.post("/v1/models/{model}/ingest")
def _fastapi(model: str, batch: Batch) -> dict[str, int]:
    # A sync def: FastAPI runs it in its thread pool, the usual way to call numpy from it.
    rows = 0
    for name, values in batch.columns.items():
        column = np.array(values, dtype=np.float64)
        counts, _ = np.histogram(column[~np.isnan(column)], bins=_EDGES)
        _COUNTS[name] = _COUNTS.get(name, 0) + counts
        rows = len(values)
    return {"rows": rows}
