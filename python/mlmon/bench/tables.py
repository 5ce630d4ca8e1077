"""Small formatting helpers for the reports: Markdown tables and human units."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["fmt_bytes", "fmt_s", "md_table", "num"]


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table (pipes in cells escaped)."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *(line(r) for r in rows)])


def fmt_s(seconds: float | None) -> str:
    """Seconds in a readable unit (us, ms, s, min)."""
    if seconds is None:
        return ""
    if seconds < 0:
        return "-" + fmt_s(-seconds)
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def fmt_bytes(n: float | None) -> str:
    """Bytes in binary units."""
    if n is None:
        return ""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} B"


def num(value: object) -> str:
    """A table cell: floats with thousands separators, integers without decimals."""
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"
    return str(value)
