"""The prompts: generated with espeak-ng + sox at 8 kHz mono, plausible lengths, and the very
names the menu plays and `asterisk-conf/` references."""

from __future__ import annotations

import re
import shutil
import wave
from pathlib import Path

import pytest

from ivr.prompts import PROMPT_NAMES, PROMPTS, SAMPLE_RATE, generate

CONF = Path(__file__).resolve().parents[3] / "asterisk-conf" / "extensions-ivr.conf"


def _conf_prompts() -> set[str]:
    text = "\n".join(line.split(";", 1)[0] for line in CONF.read_text().splitlines())
    return set(re.findall(r"hotline/[A-Za-z0-9_-]+", text))


def test_every_prompt_is_8khz_mono_16_bit_and_lasts_plausibly(tmp_path: Path) -> None:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not installed (scripts/test installs espeak-ng and sox)")
    paths = generate(tmp_path)
    assert {p.relative_to(tmp_path).with_suffix("").as_posix() for p in paths} == PROMPT_NAMES
    for prompt, path in zip(PROMPTS, paths, strict=True):
        with wave.open(str(path)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (SAMPLE_RATE, 1, 2)
            seconds = w.getnframes() / w.getframerate()
        # Spoken words: more than a click, less than a speech.
        assert 0.8 < seconds < 15, (prompt.name, seconds)


def test_asterisk_conf_references_only_generated_prompts_and_the_whole_menu() -> None:
    referenced = _conf_prompts()
    assert referenced <= PROMPT_NAMES
    # The dialplan's own menu (when the CTI server is unreachable) says every segment.
    menu = {n for n in PROMPT_NAMES if n.startswith("hotline/menu-")}
    assert menu <= referenced
    assert "hotline/invalid-zh" in referenced


def test_asterisk_conf_sends_the_menu_to_this_fastagi_script() -> None:
    assert "AGI(agi://127.0.0.1:4573/language-menu)" in CONF.read_text()
