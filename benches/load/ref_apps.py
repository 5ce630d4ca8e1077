"""The two reference endpoints of the load benchmark (served by uvicorn from benches/load):

* ``bare_app``: the limit. A Litestar endpoint that only decodes the same msgpack body into msgspec
  Structs (raw float64 columns) and returns; no counting, no store.
* ``fastapi_app``: the stack the original design named. FastAPI + pydantic decode a JSON body of number
  lists, and numpy updates one histogram per feature (fixed edges) in memory; no store, no durability.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
from fastapi import FastAPI
from litestar import Litestar, Request, post
from pydantic import BaseModel

_EDGES = np.linspace(-4.0, 4.0, 21)


class _Numbers(msgspec.Struct):
    dtype: str
    data: bytes


class _Envelope(msgspec.Struct):
    batch_id: str
    columns: dict[str, _Numbers | list[float | None]]
    version: str | None = None


_DECODER = msgspec.msgpack.Decoder(_Envelope)


@post("/v1/models/{model:str}/ingest", status_code=200)
async def _bare(request: Request[Any, Any, Any], model: str) -> dict[str, int]:
    envelope = _DECODER.decode(await request.body())
    return {"columns": len(envelope.columns)}


bare_app = Litestar([_bare], openapi_config=None, logging_config=None)


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
