"""Report renderers: a rich terminal table and a self-contained HTML page, both from a DriftReport.

The public import path of the renderers in :mod:`mlmon.core.render` (where ``DriftReport.to_html`` and
``to_table`` find them); a drift history's page is ``DriftHistory.to_html`` (:mod:`mlmon.batch`).
Renderers only read results; they never count or compute statistics.
"""

from mlmon.core.render.html import render_html
from mlmon.core.render.table import render_table

__all__ = ["render_html", "render_table"]
