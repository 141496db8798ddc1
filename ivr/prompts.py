"""The menu's prompts: their names (what the menu plays and `asterisk-conf/` references), their
words in Chinese, English and Korean, and `generate()`, which speaks them with espeak-ng and
converts them with sox to what Asterisk plays without transcoding: 8 kHz, mono, 16-bit WAV.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PROMPT_DIR: Final = "hotline"  # under Asterisk's sounds directory
SAMPLE_RATE: Final = 8000
# espeak-ng's voice for each language of the hotline.
VOICES: Final = {"zh": "cmn", "en": "en", "ko": "ko"}


@dataclass(frozen=True, slots=True)
class Prompt:
    """One prompt: its name as AGI `STREAM FILE` takes it, the voice and the words."""

    name: str
    language: str
    text: str


def menu_segment(segment: str) -> str:
    """`zh`/`en`/`ko`: "press 1/2/3" in that language; `emergency`: "9 for emergencies"."""
    return f"{PROMPT_DIR}/menu-{segment}"


def elderly_greeting(language: str) -> str:
    """The greeting a recognised elderly resident hears instead of the menu."""
    return f"{PROMPT_DIR}/greeting-elderly-{language}"


def invalid_choice(language: str) -> str:
    """ "That is not an option", before the menu is said again."""
    return f"{PROMPT_DIR}/invalid-{language}"


PROMPTS: Final = (
    Prompt(menu_segment("zh"), "zh", "普通话请按1。"),
    Prompt(menu_segment("en"), "en", "For English, press 2."),
    Prompt(menu_segment("ko"), "ko", "한국어는 3번을 누르세요."),
    Prompt(menu_segment("emergency"), "zh", "水电暖气紧急情况请按9。"),
    Prompt(
        elderly_greeting("zh"),
        "zh",
        "您好，欢迎致电一号通服务中心。正在为您优先转接，请稍候。",
    ),
    Prompt(
        elderly_greeting("en"),
        "en",
        "Hello, and welcome to the citizen hotline. We are putting you through first. Please hold.",
    ),
    Prompt(
        elderly_greeting("ko"),
        "ko",
        "안녕하세요, 시민 상담 센터입니다. 우선 연결해 드리겠습니다. 잠시만 기다려 주세요.",
    ),
    Prompt(invalid_choice("zh"), "zh", "输入有误。"),
    Prompt(invalid_choice("en"), "en", "Sorry, that is not an option."),
    Prompt(invalid_choice("ko"), "ko", "잘못 누르셨습니다."),
)
PROMPT_NAMES: Final = frozenset(p.name for p in PROMPTS)


class PromptToolMissing(Exception):
    """espeak-ng or sox is not installed (Debian packages `espeak-ng`, `sox`)."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        package = "espeak-ng" if name == "espeak-ng" else "sox"
        raise PromptToolMissing(f"{name} not found: apt-get install {package}")
    return path


def generate(out_dir: Path) -> list[Path]:
    """Write every prompt as `out_dir/hotline/NAME.wav` (8 kHz mono 16-bit); the paths.

    Raises PromptToolMissing when espeak-ng or sox is absent, CalledProcessError when one
    fails.
    """
    espeak, sox = _tool("espeak-ng"), _tool("sox")
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for prompt in PROMPTS:
            raw = Path(tmp) / "raw.wav"
            target = out_dir / f"{prompt.name}.wav"
            target.parent.mkdir(parents=True, exist_ok=True)
            voice = VOICES[prompt.language]
            subprocess.run(
                [espeak, "-v", voice, "-s", "150", "-w", str(raw), prompt.text],
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [sox, str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(target)],
                check=True,
                capture_output=True,
            )
            written.append(target)
    return written
