"""The OpenAPI document's bodies that Litestar cannot derive: the ingest request (read by the handler
itself, as msgpack or JSON, so there is no ``data`` parameter to describe), the baseline upload, and the
drift responses (``DriftReport`` and ``StoredDriftResult`` have dict defaults, on which Litestar 2.25's
Struct schema generator fails, so those handlers return bytes encoded by msgspec).

msgspec generates the JSON Schemas (OpenAPI 3.1 is JSON Schema); :func:`document_bodies` puts them
into the app's OpenAPI object before the first ``/schema`` request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.spec import Components, OpenAPIMediaType, RequestBody, Schema

from mlmon.core.drift import DriftReport
from mlmon.service.ingest.schemas import CodedColumn, RawNumbers
from mlmon.store import StoredDriftResult

__all__ = ["document_bodies"]

_REF = "#/components/schemas/{name}"
_INGEST = "/v1/models/{model}/ingest"
_BASELINE = "/v1/models/{model}/versions/{version}/baseline"
_DRIFT = "/v1/models/{model}/drift"
_HISTORY = "/v1/models/{model}/drift/history"


@dataclass
class _RawSchema(Schema):
    """A schema given as a JSON Schema dict (rendered as is)."""

    raw: dict[str, Any] = field(default_factory=dict)

    def to_schema(self) -> dict[str, Any]:
        """The dict itself."""
        return self.raw


_MAX_SEQ = (1 << 62) - 1


def _schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    (raw_numbers, coded, report, history), components = msgspec.json.schema_components(
        [RawNumbers, CodedColumn, DriftReport, list[StoredDriftResult]], ref_template=_REF
    )
    name = {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]{1,128}$"}
    values = {"type": "array", "items": {"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "null"}]}}
    components["IngestBatch"] = {
        "title": "IngestBatch",
        "description": "A columnar batch: every column has one value per row. Exactly-once key: "
        "producer_id + sequence (a retry reuses both; the service keeps a 64-sequence window per "
        "producer, 409 beyond it), or a batch_id (a repeat is counted once). Numerical columns: numbers "
        "(null = missing) or RawNumbers; categorical columns: strings or CodedColumn. Send as "
        "application/msgpack (bytes as bin) or application/json (base64).",
        "type": "object",
        "properties": {
            "batch_id": {"anyOf": [name, {"type": "null"}]},
            "producer_id": {"anyOf": [name, {"type": "null"}]},
            "sequence": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": _MAX_SEQ}, {"type": "null"}]},
            "version": {"anyOf": [name, {"type": "null"}]},
            "sent_at": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
            "columns": {"type": "object", "additionalProperties": {"anyOf": [values, raw_numbers, coded]}},
        },
        "required": ["columns"],
        "additionalProperties": False,
    }
    return {
        "ingest": {"$ref": _REF.format(name="IngestBatch")},
        "report": report,
        "history": history,
    }, components


def document_bodies(app: Litestar) -> None:
    """Adds the request and response bodies above to ``app``'s OpenAPI document (call at startup)."""
    spec = app.openapi_schema
    refs, components = _schemas()
    spec.components = spec.components or Components()
    spec.components.schemas = spec.components.schemas or {}
    for key, value in components.items():
        spec.components.schemas.setdefault(key, _RawSchema(raw=value))
    paths = spec.paths or {}
    ingest = paths[_INGEST].post
    if ingest is not None:
        schema = _RawSchema(raw=refs["ingest"])
        ingest.request_body = RequestBody(
            required=True,
            content={m: OpenAPIMediaType(schema=schema) for m in ("application/json", "application/msgpack")},
        )
    baseline = paths[_BASELINE].put
    if baseline is not None:
        binary = _RawSchema(raw={"type": "string", "format": "binary"})
        baseline.request_body = RequestBody(
            required=True, content={"application/octet-stream": OpenAPIMediaType(schema=binary)}
        )
    for path, key in ((_DRIFT, "report"), (_HISTORY, "history")):
        operation = paths[path].get
        if operation is not None and operation.responses is not None:
            ok: Any = operation.responses["200"]
            ok.content = {"application/json": OpenAPIMediaType(schema=_RawSchema(raw=refs[key]))}
