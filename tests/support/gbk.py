"""A real recording with one thing changed: the caller name's bytes are GBK, not UTF-8.

What an old trunk delivers. Every other byte, and every field, is the recording's own.
"""

from __future__ import annotations

from pathlib import Path

NAME = "张先生"  # the caller in 03-call-answered.ami
NAME_UTF8 = NAME.encode("utf-8")
NAME_GBK = NAME.encode("gbk")
# What the parser must hand on: each bad byte visibly replaced, nothing else lost.
NAME_REPLACED = NAME_GBK.decode("utf-8", "replace")


def gbk_recording(traces_dir: Path) -> bytes:
    """03-call-answered.ami with every `张先生` Asterisk sent turned into its GBK bytes.

    The client's own actions (`>>> ` lines) stay as recorded.
    """
    data = (traces_dir / "03-call-answered.ami").read_bytes()
    assert NAME_UTF8 in data
    lines = data.split(b"\n")
    return b"\n".join(
        line if line.startswith(b">>>") else line.replace(NAME_UTF8, NAME_GBK) for line in lines
    )


def write_gbk_recording(traces_dir: Path, directory: Path) -> Path:
    """The GBK recording written beside the test's files, for the replay peer."""
    path = directory / "03-call-answered-gbk.ami"
    path.write_bytes(gbk_recording(traces_dir))
    return path
