"""The dashboard page: models, versions, current severity and per-feature drift over time as inline SVG,
rendered on the server from the store (no JavaScript, no CDN). Every name is HTML-escaped.

A version whose baseline carries a reference performance also shows the model's performance beside its
drift (:func:`mlmon.service.labels.html.dashboard_block`): the realized headline metric and the CBPE
estimate per window over the same days, the reference, and the label join's counts, from one
``Store.performance`` read of the version and one ``Store.label_status`` of the model."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta, timezone
from html import escape
from urllib.parse import quote

from mlmon.core.baseline import Baseline
from mlmon.exceptions import CodecError, InputError
from mlmon.service.ingest.outputs import OutputSpec
from mlmon.service.labels.html import dashboard_block
from mlmon.service.labels.view import read_performance
from mlmon.service.settings import Settings
from mlmon.store import NotFoundError, Store, StoredDriftResult
from mlmon.store.names import validate_name

__all__ = ["render_dashboard", "sparkline"]

_DAYS = 7
_COLORS = {"ok": "#2e7d32", "warning": "#f9a825", "critical": "#c62828", "insufficient_data": "#9e9e9e"}
_STYLE = (
    "body{font:14px system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}"
    "td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}"
    ".sev{font-weight:600}h2{margin-top:2rem}table.performance{margin-top:.8rem}.labels{color:#555}"
)


def sparkline(points: list[StoredDriftResult], width: int = 240, height: int = 40) -> str:
    """An inline SVG polyline of drift scores over time, dots coloured by severity."""
    scored = [p for p in points if p.score is not None]
    if not scored:
        return '<svg width="240" height="40" role="img" aria-label="no data"></svg>'
    top = max(max(p.score or 0.0 for p in scored), 0.5)
    step = width / max(len(scored) - 1, 1)
    xy = [(i * step, height - (p.score or 0.0) / top * (height - 4) - 2) for i, p in enumerate(scored)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{_COLORS.get(p.severity, "#000")}"/>'
        for (x, y), p in zip(xy, scored, strict=True)
    )
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="drift score">'
        f'<polyline fill="none" stroke="#1565c0" points="{line}"/>{dots}</svg>'
    )


def _performance(
    store: Store,
    baseline: Baseline,
    model: str,
    version: str,
    span: tuple[datetime, datetime],
    settings: Settings,
) -> str:
    """The version's performance block; empty without a reference (the section stays as it was)."""
    try:
        spec = OutputSpec.of(baseline, 1)  # only its reference is read here, never a batch
        if spec is None:
            return ""
        perf = read_performance(store, spec, model, version, span)
    except (CodecError, InputError) as exc:
        # Damaged counts cost this block only, like an unreadable baseline costs its section.
        return f"<p>this version's performance cannot be shown: {escape(str(exc))}</p>"
    return dashboard_block(perf, settings, _COLORS)


def _model_section(store: Store, model: str, settings: Settings) -> str:
    versions = store.list_versions(model)
    prod = next((v for v in versions if v.stage == "production"), versions[-1] if versions else None)
    head = f"<h2>{escape(model)}</h2><p>versions: " + ", ".join(
        f"{escape(v.version)} ({escape(v.stage)})" for v in versions
    )
    if prod is None:
        return head + "</p>"
    link = f"/v1/models/{quote(model, safe='')}/report.html?version={quote(prod.version, safe='')}"
    head += f' · <a href="{escape(link)}">report for {escape(prod.version)}</a></p>'
    try:
        _, data = store.get_baseline(model, prod.version)
        baseline = Baseline.from_bytes(data)
        features = list(baseline.features)
        for name in features:
            validate_name(name, "feature")
    except NotFoundError:
        return head + "<p>no baseline yet</p>"
    except (CodecError, InputError) as exc:
        # One unreadable baseline (stored before names were checked at upload) costs its own section,
        # never the page of every other model.
        return head + f"<p>this version's baseline cannot be shown: {escape(str(exc))}</p>"
    end = datetime.now(timezone.utc) + timedelta(seconds=settings.window_seconds)
    start = end - timedelta(days=_DAYS)
    rows = []
    for name in features:
        hist = store.drift_history(model, name, start, end, version=prod.version)
        sev = hist[-1].severity if hist else "insufficient_data"
        score = "" if not hist or hist[-1].score is None else f"{hist[-1].score:.3f}"
        rows.append(
            f'<tr><td>{escape(name)}</td><td class="sev" style="color:{_COLORS[sev]}">{escape(sev)}</td>'
            f"<td>{score}</td><td>{sparkline(hist)}</td></tr>"
        )
    table = "<table><tr><th>feature</th><th>severity</th><th>PSI</th><th>last 7 days</th></tr>"
    html = head + table + "".join(rows) + "</table>"
    return html + _performance(store, baseline, model, prod.version, (start, end), settings)


def render_dashboard(store: Store, settings: Settings, scope: Collection[str] | None = None) -> str:
    """The dashboard HTML for every model in the store, or only those in ``scope``.

    Args:
        store: The store.
        settings: The window length (the charts' last window) and the performance thresholds.
        scope: The models an ingest token may read (``None``: every model).
    """
    models = [m.name for m in store.list_models() if scope is None or m.name in scope]
    sections = [_model_section(store, name, settings) for name in models]
    body = "".join(sections) or "<p>No models yet: upload a baseline to start.</p>"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mlmon</title>'
        f"<style>{_STYLE}</style></head><body><h1>mlmon drift</h1>{body}</body></html>"
    )
