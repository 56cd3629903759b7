"""Printing a benchmark's results as a plain-text table."""

from __future__ import annotations


def print_table(title: str, rows: list[dict]) -> None:
    """Rows of the same keys, in columns; floats with one decimal, None as "-"."""
    print(f"\n{title}")
    columns = list(rows[0])
    cells = [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))


def _cell(value) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)
