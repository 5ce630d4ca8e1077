"""Report renderers: a rich terminal table and a self-contained HTML page, both from a DriftReport.

Renderers only read ``mlmon.core.drift`` results; they never count or compute statistics.
"""

from mlmon.core.render.html import render_html
from mlmon.core.render.table import render_table

__all__ = ["render_html", "render_table"]
