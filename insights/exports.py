"""CSV export of a statistic: the same columns and rows as its JSON."""

from __future__ import annotations

import csv
import io

# Spreadsheets run cells starting with these as formulas; names come from users (CWE-1236).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return str(value)


def to_csv(payload: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = payload["columns"]
    writer.writerow(columns)
    for row in payload["rows"]:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def filename(payload: dict) -> str:
    return f"insights-{payload['name']}.csv"
