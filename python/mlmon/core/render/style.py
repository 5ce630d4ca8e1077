"""The look shared by the HTML pages (one drift report, a drift history): stylesheet, severity colors, badges.

Plain strings and one helper; it imports nothing of mlmon, so every page can use it.
"""

from __future__ import annotations

from html import escape

__all__ = ["COLORS", "CSS", "badge"]

COLORS = {
    "ok": "#1a7f37",
    "insufficient_data": "#9a6700",
    "warning": "#bc4c00",
    "critical": "#cf222e",
}

CSS = """
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
margin:0;padding:24px 32px;color:#1f2328;background:#f6f8fa}h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px}.muted{color:#656d76}.badge{display:inline-block;padding:1px 8px;
border-radius:10px;color:#fff;font-weight:600;font-size:12px}.summary{display:flex;gap:12px;flex-wrap:wrap;
margin:16px 0}.tile{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:10px 14px;
min-width:150px}.tile b{display:block;font-size:20px}table{border-collapse:collapse;background:#fff;
width:100%;border:1px solid #d0d7de}th,td{padding:4px 10px;border-bottom:1px solid #eaeef2;
text-align:right;white-space:nowrap}th{background:#f6f8fa;font-weight:600}td.l,th.l{text-align:left}
details{background:#fff;border:1px solid #d0d7de;border-radius:8px;margin:10px 0;padding:8px 14px}
summary{cursor:pointer;font-weight:600}.card{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start;
margin-top:8px}dl{display:grid;grid-template-columns:auto auto;gap:2px 14px;margin:0}dt{color:#656d76}
dd{margin:0;text-align:right;font-variant-numeric:tabular-nums}.legend span{display:inline-block;
width:10px;height:10px;margin:0 4px 0 12px}.issues{color:#bc4c00;margin:6px 0 0}
a{color:#0969da;text-decoration:none}
"""


def badge(severity: str) -> str:
    """A colored pill naming ``severity`` (``insufficient_data`` reads "insufficient data")."""
    label = severity.replace("_", " ")
    return f'<span class="badge" style="background:{COLORS[severity]}">{escape(label)}</span>'
