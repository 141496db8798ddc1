"""`cti conf check DIR`: parse Asterisk's files back and find what would break at load or at
the first call — dangling references, duplicates, seats without auth, placeholder secrets,
an AMI user with more than it needs."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cti.conf.render import PLACEHOLDER

_SECTION = re.compile(r"^\[([^\]]+)\](\([^)]*\))?\s*$")
_PAIR = re.compile(r"^([^=;]+?)\s*=>?\s*(.*)$")
_GOTO = re.compile(r"\b(?:Goto|GotoIf|Gosub)\(([^)]*)\)")
_QUEUE_APP = re.compile(r"\bQueue\(([^,)]+)")
_SET_QUEUE = re.compile(r"\bSet\(QUEUE=([^)]+)\)")
_SEAT_IFACE = re.compile(r"^(?:PJSIP/(seat\d+)|Local/(seat\d+)@)")
# `originate` is granted for callbacks (Originate to the [callback] context); `system` stays
# forbidden, and without it Asterisk refuses an Originate of System()/Exec()-like apps.
_FORBIDDEN_AMI = {"all", "command", "system", "config"}


@dataclass(frozen=True, slots=True)
class Section:
    """One `[name]` of a file, its `key = value` lines (in order) and where it starts."""

    file: str
    name: str
    line: int
    pairs: tuple[tuple[str, str, int], ...]

    def get(self, key: str) -> str | None:
        """The first value of `key`, or None."""
        return next((v for k, v, _ in self.pairs if k == key), None)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong, where."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class ConfDir:
    """The parsed files of a configuration directory."""

    root: Path
    sections: dict[str, list[Section]] = field(default_factory=dict)
    includes: list[tuple[str, int, str]] = field(default_factory=list)

    def of(self, file: str) -> list[Section]:
        """The sections of `file` (empty when it is absent)."""
        return self.sections.get(file, [])


def parse_file(path: Path) -> tuple[list[Section], list[tuple[str, int, str]]]:
    """The sections and `#include`s of one Asterisk config file."""
    sections: list[Section] = []
    includes: list[tuple[str, int, str]] = []
    name: str | None = None
    start = 0
    pairs: list[tuple[str, str, int]] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("#include"):
            includes.append((path.name, number, line.split(None, 1)[1].strip().strip('"')))
            continue
        if match := _SECTION.match(line):
            if name is not None:
                sections.append(Section(path.name, name, start, tuple(pairs)))
            name, start, pairs = match.group(1), number, []
            continue
        if (match := _PAIR.match(line)) and name is not None:
            pairs.append((match.group(1).strip(), match.group(2).strip(), number))
    if name is not None:
        sections.append(Section(path.name, name, start, tuple(pairs)))
    return sections, includes


def load(root: Path) -> ConfDir:
    """Parse every `*.conf` of `root`."""
    conf = ConfDir(root)
    for path in sorted(root.glob("*.conf")):
        sections, includes = parse_file(path)
        conf.sections[path.name] = sections
        conf.includes += includes
    return conf


def check(root: Path, *, template: bool = False) -> list[Problem]:
    """Every problem found in the configuration in `root` (empty: it is consistent).

    `template=True` accepts CHANGE-ME secrets (the committed asterisk-conf/).
    """
    conf = load(root)
    problems: list[Problem] = []
    for name in ("pjsip.conf", "queues.conf", "extensions.conf", "manager.conf", "modules.conf"):
        if name not in conf.sections:
            problems.append(Problem(name, 0, "file missing"))
    problems += _duplicates(conf)
    problems += _includes(conf)
    problems += _pjsip(conf)
    problems += _queues(conf)
    problems += _dialplan(conf)
    problems += _manager(conf)
    if not template:
        problems += _placeholders(conf)
    return problems


def _duplicates(conf: ConfDir) -> list[Problem]:
    problems = []
    for file, sections in conf.sections.items():
        if file == "pjsip.conf":  # one name may carry an endpoint, an aor and an identify
            keys = Counter((s.name, s.get("type")) for s in sections)
            label = {(s.name, s.get("type")): s for s in sections}
            for key, count in keys.items():
                if count > 1:
                    problems.append(
                        Problem(
                            file, label[key].line, f"duplicate section [{key[0]}] type={key[1]}"
                        )
                    )
        else:
            names = Counter(s.name for s in sections)
            first = {s.name: s for s in reversed(sections)}
            for name, count in names.items():
                if count > 1 and not file.startswith("extensions"):
                    problems.append(Problem(file, first[name].line, f"duplicate section [{name}]"))
    # A context defined in two dialplan files (the include merges them) is a duplicate too.
    contexts = Counter(
        s.name for f, ss in conf.sections.items() if f.startswith("extensions") for s in ss
    )
    for name, count in contexts.items():
        if count > 1 and name not in ("general", "globals"):
            problems.append(
                Problem("extensions.conf", 0, f"context [{name}] defined {count} times")
            )
    return problems


def _includes(conf: ConfDir) -> list[Problem]:
    return [
        Problem(file, line, f"#include {target}: no such file")
        for file, line, target in conf.includes
        if not (conf.root / target).is_file()
    ]


def _pjsip(conf: ConfDir) -> list[Problem]:
    problems = []
    sections = conf.of("pjsip.conf")
    by_type: dict[str, set[str]] = {}
    for s in sections:
        by_type.setdefault(s.get("type") or "", set()).add(s.name)
    for s in sections:
        if s.get("type") is None:
            problems.append(Problem(s.file, s.line, f"[{s.name}] has no type"))
        if s.get("type") != "endpoint":
            continue
        for key, kind in (("aors", "aor"), ("auth", "auth")):
            for ref in filter(None, (s.get(key) or "").split(",")):
                if ref.strip() not in by_type.get(kind, set()):
                    problems.append(Problem(s.file, s.line, f"[{s.name}] {key}={ref}: no {kind}"))
        if re.fullmatch(r"seat\d+", s.name) and not s.get("auth"):
            problems.append(Problem(s.file, s.line, f"seat {s.name} has no auth"))
    return problems


def _seats(conf: ConfDir) -> set[str]:
    return {
        s.name
        for s in conf.of("pjsip.conf")
        if s.get("type") == "endpoint" and re.fullmatch(r"seat\d+", s.name)
    }


def _queue_names(conf: ConfDir) -> set[str]:
    return {s.name for s in conf.of("queues.conf") if s.name != "general"}


def _queues(conf: ConfDir) -> list[Problem]:
    problems = []
    seats = _seats(conf)
    rules = {s.name for s in conf.of("queuerules.conf") if s.name != "general"}
    for s in conf.of("queues.conf"):
        for key, value, line in s.pairs:
            if key == "member":
                iface = value.split(",", 1)[0].strip()
                match = _SEAT_IFACE.match(iface)
                seat = match and (match.group(1) or match.group(2))
                if not seat or seat not in seats:
                    problems.append(Problem(s.file, line, f"[{s.name}] member {iface} is no seat"))
            if key == "defaultrule" and value not in rules:
                problems.append(Problem(s.file, line, f"[{s.name}] defaultrule {value}: no rule"))
    return problems


def _dialplan(conf: ConfDir) -> list[Problem]:
    problems = []
    queues = _queue_names(conf)
    contexts = {s.name for f, ss in conf.sections.items() if f.startswith("extensions") for s in ss}
    for file, sections in conf.sections.items():
        if not file.startswith("extensions"):
            continue
        for s in sections:
            for _key, value, line in s.pairs:
                for name in _QUEUE_APP.findall(value) + _SET_QUEUE.findall(value):
                    name = name.strip()
                    if "${" not in name and name not in queues:
                        problems.append(Problem(file, line, f"queue {name} is not in queues.conf"))
                for args in _GOTO.findall(value):
                    target = args.split("?", 1)[-1].split(":")
                    for branch in target:
                        parts = [p.strip() for p in branch.split(",")]
                        if len(parts) == 3 and "${" not in parts[0] and parts[0] not in contexts:
                            problems.append(Problem(file, line, f"goto to no context {parts[0]}"))
    return problems


def _manager(conf: ConfDir) -> list[Problem]:
    problems = []
    for s in conf.of("manager.conf"):
        if s.name == "general":
            if (s.get("bindaddr") or "0.0.0.0") != "127.0.0.1":
                problems.append(Problem(s.file, s.line, "AMI must listen on loopback only"))
            continue
        for key in ("read", "write"):
            granted = {c.strip() for c in (s.get(key) or "").split(",")}
            if bad := sorted(granted & _FORBIDDEN_AMI):
                problems.append(
                    Problem(s.file, s.line, f"[{s.name}] {key} grants {', '.join(bad)}")
                )
        if not s.get("permit") or s.get("deny") != "0.0.0.0/0.0.0.0":
            problems.append(Problem(s.file, s.line, f"[{s.name}] may log in from anywhere"))
    return problems


def _placeholders(conf: ConfDir) -> list[Problem]:
    return [
        Problem(s.file, line, f"[{s.name}] {key} is a placeholder ({PLACEHOLDER})")
        for sections in conf.sections.values()
        for s in sections
        for key, value, line in s.pairs
        if value == PLACEHOLDER
    ]
