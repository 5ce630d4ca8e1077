"""Report renderers: a rich terminal table and a self-contained HTML page, both from a DriftReport.

Renderers only read ``mlmon.drift`` results; they never count or compute statistics.
"""

from mlmon.report.html import render_html
from mlmon.report.table import render_table

__all__ = ["render_html", "render_table"]
