"""Reports: calls per queue, language and hour, answered within 15 s, abandon rate, wait and
talk, after-call work, pauses by reason, callbacks before their deadline, per agent
(`cti report`), as CSV for spreadsheets or HTML with matplotlib charts."""

from cti.reports.csv_out import to_csv
from cti.reports.figures import (
    ANSWER_TARGET_S,
    AgentDay,
    CallbackRow,
    CallRow,
    Calls,
    PeriodRow,
    Report,
    build,
)
from cti.reports.load import load_report

__all__ = [
    "ANSWER_TARGET_S",
    "AgentDay",
    "CallRow",
    "CallbackRow",
    "Calls",
    "PeriodRow",
    "Report",
    "build",
    "load_report",
    "to_csv",
]
