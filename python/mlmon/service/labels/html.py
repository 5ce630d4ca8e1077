"""The model's performance as HTML: the dashboard's block (per-window sparklines of the realized headline
metric and the CBPE estimate beside the reference, with the label join's counts) and the report page's
"Model performance" section (the range's realized metrics against the reference, the estimate against
the realized metrics, and a table per window).

Both render a :class:`~mlmon.service.labels.view.PerformanceResponse`, the same object the JSON route
returns, so a page never shows another number than ``GET /performance``. Inline SVG only, no script,
every name and value HTML-escaped. The library's report (:meth:`mlmon.core.drift.DriftReport.to_html`)
knows nothing of performance (the core must not import :mod:`mlmon.performance`): the section is
rendered here and put into its page by :func:`insert_section`.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from mlmon.core.render.style import badge
from mlmon.performance import ClassificationMetrics, Estimate, RegressionMetrics
from mlmon.service.labels.view import PerformanceResponse, WindowPerformance
from mlmon.service.labels.watch import severity_of
from mlmon.service.settings import Settings

__all__ = ["dashboard_block", "headline_of", "insert_section", "level", "report_section", "sparkline"]

Metrics = ClassificationMetrics | RegressionMetrics

# Newest windows the report's table lists; the range's figures above it cover every window.
_MAX_WINDOW_ROWS = 168
_NO_DATA = '<svg width="240" height="40" role="img" aria-label="no data"></svg>'


def _num(x: float | None, fmt: str = ".3f") -> str:
    return "–" if x is None else format(x, fmt)


def _cell(x: float | None, fmt: str = ".3f") -> str:
    """A number cell carrying its exact value (``data-value``) beside the rounded text."""
    exact = "" if x is None else f' data-value="{x!r}"'
    return f"<td{exact}>{_num(x, fmt)}</td>"


def headline_of(task: str, metrics: Metrics | None) -> tuple[str, float | None]:
    """The headline metric of a task, as the alerts read it: ``("accuracy", …)`` for a classifier,
    ``("rmse", …)`` for a regression model; the value is ``None`` without rows."""
    if task == "regression":
        return "rmse", metrics.rmse if isinstance(metrics, RegressionMetrics) else None
    return "accuracy", metrics.accuracy if isinstance(metrics, ClassificationMetrics) else None


def level(settings: Settings, metric: str, reference: float | None, value: float | None, rows: int) -> str:
    """The severity of ``value`` against ``reference`` as the alert loop would judge it:
    ``insufficient_data`` without a value or under ``performance_min_rows`` rows, else ``ok``,
    ``warning`` or ``critical``."""
    if value is None or reference is None or rows < settings.performance_min_rows:
        return "insufficient_data"
    return severity_of(settings, metric, reference, value) or "ok"


def sparkline(
    values: Sequence[float | None],
    reference: float | None,
    colors: Sequence[str],
    label: str,
    width: int = 240,
    height: int = 40,
) -> str:
    """An inline SVG polyline of a metric per window (dots coloured by ``colors``, one per value), with
    the reference as a dashed grey line; windows without a value are left out."""
    points = [(v, c) for v, c in zip(values, colors, strict=True) if v is not None]
    if not points:
        return _NO_DATA
    seen = [v for v, _ in points] + ([reference] if reference is not None else [])
    lo, hi = min(seen), max(seen)
    # A flat series still gets a visible band, so a 0.001 wobble does not fill the chart.
    pad = max((hi - lo) * 0.1, abs(reference or hi) * 0.02, 1e-9)
    lo, hi = lo - pad, hi + pad

    def y(v: float) -> float:
        return height - 2 - (v - lo) / (hi - lo) * (height - 4)

    # Inset by a dot's width so the first and last dots are not clipped at the edges.
    step = (width - 6) / max(len(points) - 1, 1)
    xy = [(3 + i * step, y(v)) for i, (v, _) in enumerate(points)]
    line = " ".join(f"{a:.1f},{b:.1f}" for a, b in xy)
    dots = "".join(
        f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2" fill="{escape(c)}"/>'
        for (a, b), (_, c) in zip(xy, points, strict=True)
    )
    ref = ""
    if reference is not None:
        ry = y(reference)
        ref = (
            f'<line x1="0" y1="{ry:.1f}" x2="{width}" y2="{ry:.1f}" stroke="#9e9e9e" stroke-dasharray="4 3"/>'
        )
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="{escape(label)}">{ref}'
        f'<polyline fill="none" stroke="#6a1b9a" points="{line}"/>{dots}</svg>'
    )


def _series(
    perf: PerformanceResponse, settings: Settings, colors: dict[str, str]
) -> list[tuple[str, float | None, int, float | None, str]]:
    """The dashboard's rows: ``(label, range value, rows, reference, sparkline)``."""
    metric, ref = headline_of(perf.task, perf.reference)
    name = "accuracy" if metric == "accuracy" else "RMSE"
    realized = [headline_of(perf.task, w.realized)[1] for w in perf.windows]
    marks = [
        colors[level(settings, metric, ref, v, w.labelled)]
        for v, w in zip(realized, perf.windows, strict=True)
    ]
    total = headline_of(perf.task, perf.total.realized)[1]
    rows = [
        (f"{name} (realized)", total, perf.total.labelled, ref,
         sparkline(realized, ref, marks, f"realized {name}")),
    ]  # fmt: skip
    if perf.task == "classification":
        guessed = [_guess(w.estimate) for w in perf.windows]
        marks = [
            colors[level(settings, "accuracy", ref, v, w.estimated)]
            for v, w in zip(guessed, perf.windows, strict=True)
        ]
        rows.append(
            ("accuracy (estimated)", _guess(perf.total.estimate), perf.total.estimated, ref,
             sparkline(guessed, ref, marks, "estimated accuracy"))
        )  # fmt: skip
    return rows


def _guess(estimate: Estimate | None) -> float | None:
    return None if estimate is None else estimate.accuracy


def _about(perf: PerformanceResponse) -> str:
    """What the model is, escaped: a classifier with its first ten classes, or a regression model."""
    if perf.task == "regression":
        return "regression model"
    classes = [str(c) for c in perf.classes or []]
    more = f" and {len(classes) - 10:,} more" if len(classes) > 10 else ""
    return "classifier of " + escape(", ".join(classes[:10])) + more


def _status(perf: PerformanceResponse) -> str:
    s = perf.labels
    return (
        f'<p class="labels">{_about(perf)} · labels: waiting {s.waiting:,} · labelled {s.labelled:,} · '
        f"pending {s.pending:,} · expired {s.expired_predictions:,} predictions, "
        f"{s.expired_labels:,} labels</p>"
    )


def dashboard_block(perf: PerformanceResponse, settings: Settings, colors: dict[str, str]) -> str:
    """The dashboard's performance table of one version over its windows, and the label join's counts.

    Args:
        perf: The version's performance over the dashboard's days.
        settings: The thresholds the dots are coloured by (as the alerts judge a window).
        colors: A colour per severity (``ok``, ``warning``, ``critical``, ``insufficient_data``).
    """
    head = (
        '<table class="performance"><tr><th>model performance</th><th>last 7 days</th><th>rows</th>'
        "<th>reference</th><th>per window</th></tr>"
    )
    body = "".join(
        f"<tr><td>{escape(label)}</td>{_cell(value)}<td>{rows:,}</td>{_cell(ref)}<td>{chart}</td></tr>"
        for label, value, rows, ref, chart in _series(perf, settings, colors)
    )
    return head + body + "</table>" + _status(perf)


# --- the report page's section -------------------------------------------------------------------


def _change(value: float | None, reference: float | None) -> str:
    if value is None or reference is None:
        return "<td>–</td>"
    return f"<td>{value - reference:+.3f}</td>"


def _realized_rows(perf: PerformanceResponse) -> list[tuple[str, float | None, float | None, str]]:
    """``(metric, realized, reference, note)`` of the range."""
    now, ref = perf.total.realized, perf.reference
    if isinstance(ref, RegressionMetrics):
        r = now if isinstance(now, RegressionMetrics) else RegressionMetrics(0, None, None, None, None)
        return [
            ("MAE", r.mae, ref.mae, ""),
            ("RMSE", r.rmse, ref.rmse, ""),
            ("bias (mean prediction − target)", r.bias, ref.bias, ""),
            ("R²", r.r2, ref.r2, ""),
        ]
    c = now if isinstance(now, ClassificationMetrics) else None
    auc, ref_auc = (c.macro_roc_auc if c else None), ref.macro_roc_auc
    bound = f"± {auc.bound:.3f} from the score bins" if auc is not None else ""
    return [
        ("accuracy", c.accuracy if c else None, ref.accuracy, ""),
        ("macro F1", c.macro_f1 if c else None, ref.macro_f1, ""),
        ("ROC AUC", auc.value if auc else None, ref_auc.value if ref_auc else None, bound),
        ("log loss", c.log_loss if c else None, ref.log_loss, ""),
        ("Brier score", c.brier if c else None, ref.brier, ""),
    ]


def _estimate_rows(perf: PerformanceResponse) -> list[tuple[str, float | None, float | None]]:
    """``(metric, estimated, realized)`` of the range; binary classifiers add the positive class's
    precision, recall, F1 and ROC AUC."""
    est = perf.total.estimate
    c = perf.total.realized if isinstance(perf.total.realized, ClassificationMetrics) else None
    if est is None:
        return []
    rows = [("accuracy", est.accuracy, c.accuracy if c else None)]
    if len(perf.classes or []) == 2:
        auc = c.macro_roc_auc if c else None
        rows += [
            ("precision", est.precision, c.precision[1] if c else None),
            ("recall", est.recall, c.recall[1] if c else None),
            ("F1", est.f1, c.f1[1] if c else None),
            ("ROC AUC", est.roc_auc, auc.value if auc else None),
        ]
    return rows


def _tiles(perf: PerformanceResponse, settings: Settings) -> str:
    metric, ref = headline_of(perf.task, perf.reference)
    name = "accuracy" if metric == "accuracy" else "RMSE"
    _, value = headline_of(perf.task, perf.total.realized)
    sev = level(settings, metric, ref, value, perf.total.labelled)
    tiles = [
        (f"realized {name}", f"{_num(value)} {badge(sev)}"),
        (f"reference {name}", _num(ref)),
        ("labelled rows", f"{perf.total.labelled:,}"),
    ]
    if perf.task == "classification":
        guess = _guess(perf.total.estimate)
        sev = level(settings, "accuracy", ref, guess, perf.total.estimated)
        tiles += [
            ("estimated accuracy", f"{_num(guess)} {badge(sev)}"),
            ("estimated rows", f"{perf.total.estimated:,}"),
        ]
    return (
        '<div class="summary">'
        + "".join(f'<div class="tile">{k}<b>{v}</b></div>' for k, v in tiles)
        + "</div>"
    )


def _window_rows(perf: PerformanceResponse) -> str:
    metric, _ = headline_of(perf.task, perf.reference)
    name = "accuracy" if metric == "accuracy" else "RMSE"
    shown: list[WindowPerformance] = list(reversed(perf.windows))[:_MAX_WINDOW_ROWS]
    head = f"<tr><th class='l'>window (UTC)</th><th>labelled</th><th>realized {name}</th>"
    if perf.task == "classification":
        head += "<th>estimated</th><th>estimated accuracy</th><th>estimated − realized</th>"
    rows = []
    for w in shown:
        value = headline_of(perf.task, w.realized)[1]
        row = f"<tr><td class='l'>{w.window_start:%Y-%m-%d %H:%M} – {w.window_end:%Y-%m-%d %H:%M}</td>"
        row += f"<td>{w.labelled:,}</td>{_cell(value)}"
        if perf.task == "classification":
            guess = _guess(w.estimate)
            row += f"<td>{w.estimated:,}</td>{_cell(guess)}{_change(guess, value)}"
        rows.append(row + "</tr>")
    more = len(perf.windows) - len(shown)
    note = f'<p class="muted">{more:,} earlier windows not listed; the figures above cover them.</p>'
    body = "".join(rows) or "<tr><td class='l'>no window with performance counts in this range</td></tr>"
    return f"<h3>Per window</h3><table><thead>{head}</tr></thead><tbody>{body}</tbody></table>" + (
        note if more > 0 else ""
    )


def report_section(perf: PerformanceResponse, settings: Settings) -> str:
    """The report page's "Model performance" section of a version over the report's range.

    Args:
        perf: The version's performance over the range (``GET /performance``'s answer).
        settings: The thresholds the badges follow (``MLMON_PERFORMANCE_*``, as the alerts).
    """
    realized = "".join(
        f"<tr><td class='l'>{escape(k)}</td>{_cell(v)}{_cell(r)}{_change(v, r)}"
        f"<td class='l muted'>{escape(note)}</td></tr>"
        for k, v, r, note in _realized_rows(perf)
    )
    parts = [
        '<section id="performance"><h2>Model performance</h2>',
        _tiles(perf, settings),
        f'<p class="muted">{_about(perf)} · realized from {perf.total.labelled:,} labelled rows of this '
        "range, against the reference measured on the deploy's validation set.</p>",
        "<h3>Realized vs reference</h3><table><thead><tr><th class='l'>metric</th><th>realized</th>"
        f"<th>reference</th><th>change</th><th class='l'></th></tr></thead><tbody>{realized}</tbody></table>",
    ]
    estimated = _estimate_rows(perf)
    if estimated:
        body = "".join(
            f"<tr><td class='l'>{escape(k)}</td>{_cell(e)}{_cell(r)}{_change(e, r)}</tr>"
            for k, e, r in estimated
        )
        parts.append(
            "<h3>Estimated (CBPE) vs realized</h3><table><thead><tr><th class='l'>metric</th><th>estimated"
            f"</th><th>realized</th><th>estimated − realized</th></tr></thead><tbody>{body}</tbody></table>"
            f'<p class="muted">Estimated from the scores of {perf.total.estimated:,} rows, labelled or not; '
            "realized from the labelled ones only.</p>"
        )
    s = perf.labels
    parts.append(
        f'<p class="muted">Label join (whole model): {s.waiting:,} predictions waiting for a label, '
        f"{s.labelled:,} labelled, {s.pending:,} labels pending without a prediction, "
        f"{s.expired_predictions:,} predictions and {s.expired_labels:,} labels expired unjoined.</p>"
    )
    parts += [_window_rows(perf), "</section>"]
    return "".join(parts)


def insert_section(page: str, section: str) -> str:
    """``page`` with ``section`` after its drift tables (before the distributions), else before
    ``</body>``. The markers are the library's own tags: a name in the page is escaped, so it cannot
    imitate them."""
    for marker in ("<h2>Distributions</h2>", "</body>"):
        at = page.find(marker)
        if at >= 0:
            return page[:at] + section + page[at:]
    return page + section
