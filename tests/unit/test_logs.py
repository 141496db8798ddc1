"""One record, one line: a CR/LF in a logged value cannot forge another record."""

from __future__ import annotations

import io
import logging

from cti.logs import FORMAT, OneLineFormatter


def _logger() -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(OneLineFormatter(FORMAT))
    logger = logging.getLogger("test.logs")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, out


def test_a_newline_in_a_value_stays_on_the_records_line() -> None:
    logger, out = _logger()
    forged = "x\r\n2026-11-30 15:00:00,000 INFO cti.web.login login: agent=a07 seat=seat01"
    logger.info("wrapup: call=%s agent=%s", forged, "a07\x1b[2J")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert "call=x\\r\\n2026-11-30" in lines[0]
    assert "agent=a07\\x1b[2J" in lines[0]


def test_a_traceback_keeps_its_lines_and_the_message_is_escaped() -> None:
    logger, out = _logger()
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed: call=%s", "c1\nINFO forged")
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("failed: call=c1\\nINFO forged")
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: boom"


def test_tabs_and_unicode_are_kept() -> None:
    logger, out = _logger()
    logger.info("name=%s", "张先生\tGBK\ufffd")
    assert out.getvalue().rstrip("\n").endswith("name=张先生\tGBK\ufffd")
