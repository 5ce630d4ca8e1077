"""Renderers of one DriftReport: HTML page, rich table, Markdown and CSV, and their shared wording.

They sit in the core because ``DriftReport.to_html`` / ``to_table`` / ``to_markdown`` / ``to_csv`` call
them: :mod:`mlmon.core.drift` imports them, and they refer to the report types for annotations only.
The public entry points are re-exported by :mod:`mlmon.report`.
"""
