"""The language menu, sans-IO: a reply in, the next command out.

`LanguageMenu(caller).start()` gives the first command; `send(event)` with each `Reply` (or
`Hangup`) gives the next command, or a `Finished` that says what the IVR learnt. No socket, no
clock (Asterisk times the digit wait), no logger: the asyncio server only moves bytes.

What callers hear (issue 12):
- A registered elderly resident (the locator matched the caller ID): a greeting in the
  resident's language, no menu; `QUEUE_PRIO` high and `RESIDENT_ID` set (a household: all ids).
- Everyone else: "普通话请按1, For English press 2, 한국어는 3번을 누르세요, 紧急情况请按9";
  the first segment follows the caller's country (+82 → Korean first, other foreign →
  English first). A digit during a prompt stops it.
- 9: an emergency → the duty queue, flagged for the pop.
- No digit within 5 s: the menu once more, then Chinese. An invalid digit: the menu again
  (at most `MAX_ROUNDS` times in all, then Chinese, so a stuck key never loops a caller).
- A hang-up at any point (`WAIT FOR DIGIT` → -1, or the `HANGUP` line) ends the session.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from ivr.prompts import elderly_greeting, invalid_choice, menu_segment
from ivr.protocol import Command, Hangup, Reply, set_variable, stream_file, wait_for_digit

LANGUAGES: Final = ("zh", "en", "ko")
DIGITS: Final = {"1": "zh", "2": "en", "3": "ko"}
EMERGENCY_DIGIT: Final = "9"
# The duty officer's queue (the seeds' emergency path: water, heating, power, gas).
DUTY_QUEUE: Final = "q-duty"
DIGIT_TIMEOUT_MS: Final = 5000
MAX_ROUNDS: Final = 4
# QUEUE_PRIO as Asterisk's Queue() reads it: higher is answered first (07 sends "10").
PRIO_NORMAL: Final = 0
PRIO_ELDERLY: Final = 10
PRIO_EMERGENCY: Final = 20

How: TypeAlias = Literal["recognised", "chosen", "emergency", "timeout", "invalid"]


@dataclass(frozen=True, slots=True)
class CallerFacts:
    """What the locator knew before the menu: residents at this number and the country.

    `resident_language`: the first matched resident's language; `suggested_language`: from
    the number's country (`ko` for +82, `en` for other foreign numbers, `zh` or None here).
    """

    resident_ids: tuple[str, ...] = ()
    resident_language: str | None = None
    suggested_language: str | None = None


@dataclass(frozen=True, slots=True)
class Learnt:
    """What the IVR set on the channel, and how it came to it (for the pop and the log)."""

    language: str
    queue: str
    priority: int
    how: How
    resident_ids: tuple[str, ...] = ()

    @property
    def emergency(self) -> bool:
        """The caller pressed 9."""
        return self.how == "emergency"

    @property
    def recognised(self) -> bool:
        """A registered resident, greeted without the menu."""
        return self.how == "recognised"


@dataclass(frozen=True, slots=True)
class Finished:
    """The session is over: `learnt` is None when the caller hung up before it was set.

    `hung_up`: the caller was seen gone (the variables may be set all the same);
    `refused`: Asterisk answered something other than 200 (`reason` says what).
    """

    learnt: Learnt | None
    hung_up: bool = False
    refused: str | None = None


Step: TypeAlias = Command | Finished
_Script: TypeAlias = Generator[Command, Reply, Finished]


def menu_order(suggested_language: str | None) -> tuple[str, ...]:
    """The languages in the order the menu says them: the caller's country's first."""
    first = suggested_language if suggested_language in LANGUAGES else "zh"
    return (first, *(lang for lang in LANGUAGES if lang != first))


def queue_of(language: str) -> str:
    """`zh` → `q-zh` (the naming of `queues.registry` and the recordings)."""
    return f"q-{language}"


class _HungUp(Exception):
    """A `-1` that can only be a hang-up (`WAIT FOR DIGIT` plays no file)."""


class _Refused(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(f"{reply.code} {reply.text}")


class LanguageMenu:
    """One caller's walk through the menu. `start()` once, then `send()` every event."""

    def __init__(
        self,
        caller: CallerFacts,
        *,
        digit_timeout_ms: int = DIGIT_TIMEOUT_MS,
        prompt_root: str = "",
    ) -> None:
        self._caller = caller
        self._timeout_ms = digit_timeout_ms
        # Asterisk finds `hotline/menu-zh` in its sounds directory; a root (an absolute path
        # without the extension) plays them from elsewhere (the test bed's own copy).
        self._root = prompt_root.rstrip("/")
        self._script = self._run()
        self._learnt: Learnt | None = None
        self._done: Finished | None = None

    @property
    def finished(self) -> Finished | None:
        """The end, once reached."""
        return self._done

    def start(self) -> Step:
        """The first command."""
        return self._step(lambda: next(self._script))

    def send(self, event: Reply | Hangup) -> Step:
        """The next command after `event` (the reply to the last command, or `HANGUP`)."""
        if self._done is not None:
            return self._done
        if isinstance(event, Hangup):
            self._script.close()
            return self._end(Finished(self._learnt, hung_up=True))
        return self._step(lambda: self._script.send(event))

    def _step(self, advance: Callable[[], Command]) -> Step:
        try:
            command: Command = advance()
        except StopIteration as stop:
            result: Finished = stop.value
            return self._end(result)
        except _HungUp:
            return self._end(Finished(self._learnt, hung_up=True))
        except _Refused as exc:
            return self._end(Finished(self._learnt, refused=str(exc)))
        return command

    def _end(self, finished: Finished) -> Finished:
        self._done = finished
        return finished

    # -- the script: each `yield` sends a command and gets its reply ---------------------

    def _run(self) -> _Script:
        caller = self._caller
        if caller.resident_ids:
            language = caller.resident_language or caller.suggested_language or "zh"
            if language not in LANGUAGES:
                language = "zh"
            # -1 here is a missing prompt or a hang-up: setting the queue is right either way.
            yield stream_file(self._prompt(elderly_greeting(language)))
            learnt = Learnt(
                language, queue_of(language), PRIO_ELDERLY, "recognised", caller.resident_ids
            )
            return (yield from self._set(learnt))
        learnt = yield from self._menu(menu_order(caller.suggested_language))
        return (yield from self._set(learnt))

    def _menu(self, order: tuple[str, ...]) -> Generator[Command, Reply, Learnt]:
        timeouts = 0
        for round_ in range(1, MAX_ROUNDS + 1):
            digit = yield from self._prompt_and_wait(order, invalid=round_ > 1 and timeouts == 0)
            if digit == EMERGENCY_DIGIT:
                return Learnt(order[0], DUTY_QUEUE, PRIO_EMERGENCY, "emergency")
            if digit in DIGITS:
                language = DIGITS[digit]
                return Learnt(language, queue_of(language), PRIO_NORMAL, "chosen")
            if digit is None:
                timeouts += 1
                if timeouts == 2:
                    return Learnt("zh", queue_of("zh"), PRIO_NORMAL, "timeout")
            else:
                timeouts = 0
        return Learnt("zh", queue_of("zh"), PRIO_NORMAL, "invalid")

    def _prompt_and_wait(
        self, order: tuple[str, ...], *, invalid: bool
    ) -> Generator[Command, Reply, str | None]:
        escape = "".join((*DIGITS, EMERGENCY_DIGIT))
        prompts = [menu_segment(lang) for lang in order] + [menu_segment("emergency")]
        if invalid:
            prompts.insert(0, invalid_choice(order[0]))
        for prompt in prompts:
            reply = _checked((yield stream_file(self._prompt(prompt), escape)))
            if reply.digit is not None:
                return reply.digit
        reply = _checked((yield wait_for_digit(self._timeout_ms)))
        if reply.failed:
            raise _HungUp
        return reply.digit

    def _prompt(self, name: str) -> str:
        return f"{self._root}/{name}" if self._root else name

    def _set(self, learnt: Learnt) -> Generator[Command, Reply, Finished]:
        # Recorded before the first SET: a hang-up during the SETs still leaves the choice
        # (11 shows Asterisk goes on answering 200 on the dead channel).
        self._learnt = learnt
        settings = [
            ("LANGSEL", learnt.language),
            ("QUEUE", learnt.queue),
            ("QUEUE_PRIO", str(learnt.priority)),
        ]
        if learnt.resident_ids:
            settings.append(("RESIDENT_ID", ",".join(learnt.resident_ids)))
        if learnt.emergency:
            settings.append(("EMERGENCY", "1"))
        settings.append(("CHANNEL(language)", learnt.language))
        for name, value in settings:
            _checked((yield set_variable(name, value)))
        return Finished(learnt)


def _checked(reply: Reply) -> Reply:
    if not reply.ok:
        raise _Refused(reply)
    return reply
