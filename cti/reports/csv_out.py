"""The report as CSV for spreadsheets: one tidy table, `section,group,metric,value`."""

from __future__ import annotations

import csv
import io

from cti.reports.figures import Report
from cti.reports.tables import rows


def to_csv(report: Report) -> str:
    """The CSV text (a header line, then one line per figure; empty for no value)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["period_start", "period_end", "section", "group", "metric", "value"])
    start, end = report.start.isoformat(), report.end.isoformat()
    for section, group, metric, value in rows(report):
        writer.writerow([start, end, section, group, metric, "" if value is None else value])
    return out.getvalue()
