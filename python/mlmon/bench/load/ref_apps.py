"""The limit of the load benchmark (served by uvicorn as ``mlmon.bench.load.ref_apps:bare_app``):

* ``bare_app``: the limit. A Litestar endpoint that only decodes the same msgpack body into msgspec
  Structs (raw float64 columns) and returns; no counting, no store.

The other reference, FastAPI + pydantic, is ``ref_fastapi`` (its own module: it needs FastAPI).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Request, post


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
