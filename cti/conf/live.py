"""Applying a changed model to a running Asterisk: rewrite the files, then `QueueReload`.

Why files and not `UpdateConfig`: UpdateConfig needs the AMI `config` class, which can also
read and rewrite every other file Asterisk has (manager.conf with its secrets included); and
its `Update` of a variable the category lacks fails the whole action (19), so a live edit
would have to read the file first and choose Update or Append per line. Writing the rendered
queues.conf/queuerules.conf (atomically, beside Asterisk) and sending `QueueReload` with
`Parameters: yes` — which needs no class — gives the same live result (19: new queues appear,
parameters change, dynamic members stay) with the CTI user still least-privileged.

Files QueueReload does not reread (extensions.conf, pjsip.conf…) are written too, and the
result names them: they take effect at the operator's next `dialplan reload` / `pjsip
reload`, which the CTI user is deliberately not allowed to send.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cti.conf.render import write

LIVE_FILES = ("queues.conf", "queuerules.conf")
RELOAD_FIELDS = {"Parameters": "yes", "Members": "no", "Rules": "yes"}


class ActionSender(Protocol):
    """The AMI client as the apply path uses it."""

    async def send(self, name: str, fields: Mapping[str, str]) -> Any: ...


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """An AMI action the apply would send."""

    action: str
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What Asterisk answered to one action (`message` is Asterisk's own words)."""

    action: str
    ok: bool
    message: str


def diff_files(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, list[str]]:
    """Per changed file, its unified diff lines (a file added or removed diffs against '')."""
    changed: dict[str, list[str]] = {}
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name, ""), new.get(name, "")
        if before != after:
            changed[name] = list(
                difflib.unified_diff(
                    before.splitlines(),
                    after.splitlines(),
                    f"a/{name}",
                    f"b/{name}",
                    lineterm="",
                    n=1,
                )
            )
    return changed


def reload_actions(changed: Mapping[str, object]) -> list[PlannedAction]:
    """The AMI actions that make Asterisk read the changed files (none when no live file
    changed)."""
    if any(name in changed for name in LIVE_FILES):
        return [PlannedAction("QueueReload", dict(RELOAD_FIELDS))]
    return []


def operator_reloads(changed: Mapping[str, object]) -> list[str]:
    """The changed files that take effect only at an operator's reload."""
    return sorted(name for name in changed if name not in LIVE_FILES)


async def apply_files(
    files: Mapping[str, str],
    actions: list[PlannedAction],
    asterisk_dir: Path | None,
    sender: ActionSender | None,
) -> list[ActionResult]:
    """Write `files` into `asterisk_dir` and send `actions`, one result per step.

    A step that cannot run (no directory configured, no AMI link) is reported as failed with
    the reason; nothing raises.
    """
    results: list[ActionResult] = []
    if asterisk_dir is None:
        results.append(ActionResult("write", False, "no CTI_CONF__ASTERISK_DIR: files not written"))
        return results + [
            ActionResult(a.action, False, "not sent: files not written") for a in actions
        ]
    try:
        written = write(files, asterisk_dir)
    except OSError as exc:
        results.append(ActionResult("write", False, f"{asterisk_dir}: {exc.strerror or exc}"))
        return results + [
            ActionResult(a.action, False, "not sent: files not written") for a in actions
        ]
    results.append(ActionResult("write", True, f"{len(written)} file(s) written to {asterisk_dir}"))
    for action in actions:
        if sender is None:
            results.append(ActionResult(action.action, False, "no AMI link"))
            continue
        try:
            response = await sender.send(action.action, action.fields)
        except Exception as exc:  # AMIError, a lost link, a timeout: reported, not raised
            results.append(ActionResult(action.action, False, str(exc) or type(exc).__name__))
            continue
        message = getattr(getattr(response, "response", response), "message", None) or "Success"
        results.append(ActionResult(action.action, True, message))
    return results
