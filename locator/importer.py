"""Reading the archive's files (CSV with or without BOM, XLSX) into validated records.

Real archive files are messy. What is repaired: full-width digits and brackets
(`（0535）6612345`), spaces and dashes in numbers, local numbers without the area code, dates as
`1939/12/01`, `1939.12.01`, `19391201`, `1939年12月1日` or an Excel date, `是/否/Y/N/1/0/√`
flags, a number a spreadsheet wrote as `1.3805356789E+10` when all its digits survived. What is
reported, one `Problem(row, column, reason)` each: a missing id or name, a duplicate id, a
number whose digits a spreadsheet rounded away (`1.38053E+10`), anything that is not a phone
number, an impossible date, an unknown sex, flag or language. Row numbers are the
spreadsheet's: the header is row 1. Pure parsing: nothing here touches the database.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from cti.settings import LocatorSettings
from locator.callerid import mask_number, to_e164
from locator.records import KinRecord, ResidentRecord

COLUMNS = (
    "编号",
    "姓名",
    "性别",
    "出生日期",
    "社区",
    "住址",
    "固定电话",
    "手机",
    "语言",
    "独居",
    "空巢",
    "失独",
    "健康备注",
)
REQUIRED = ("编号", "姓名")
_KIN_HEADER = re.compile(r"^紧急联系人(\d+)(姓名|关系|电话)$")

_YES = frozenset({"是", "y", "yes", "1", "true", "√", "✓", "有", "t"})
_NO = frozenset({"否", "n", "no", "0", "false", "×", "✗", "无", "f", ""})
_SEX = {"男": "M", "m": "M", "male": "M", "女": "F", "f": "F", "female": "F"}
_LANGUAGES = {
    "": "zh",
    "zh": "zh",
    "中文": "zh",
    "汉语": "zh",
    "普通话": "zh",
    "chinese": "zh",
    "en": "en",
    "英语": "en",
    "英文": "en",
    "english": "en",
    "ko": "ko",
    "韩语": "ko",
    "朝鲜语": "ko",
    "韩文": "ko",
    "korean": "ko",
}
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SCIENTIFIC = re.compile(r"^[+]?\d+(?:\.\d+)?[eE][+]?\d+$")
_PHONE_SPLIT = re.compile(r"[,，;；、\n]+")
_EARLIEST_BIRTH = date(1880, 1, 1)

_Bad = Callable[[str, str], None]  # report a problem: (column, reason)


class ImportFileError(Exception):
    """The file cannot be read at all (unknown format, no header, missing columns)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one cell (or row) of the file was rejected."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.reason}"


@dataclass(slots=True)
class ParseResult:
    """The good records in file order and every problem found."""

    records: list[ResidentRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0

    @property
    def bad_rows(self) -> set[int]:
        """The row numbers with at least one problem."""
        return {p.row for p in self.problems}


def read_table(path: Path) -> tuple[list[str], Iterator[list[Any]]]:
    """The header and the data rows of a CSV (UTF-8 with/without BOM, or GB18030) or XLSX."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt", ""):
        return _read_csv(path)
    raise ImportFileError(f"{path.name}: unknown file type {suffix!r} (use .csv or .xlsx)")


def _read_csv(path: Path) -> tuple[list[str], Iterator[list[Any]]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Chinese Windows save "CSV" in the local code page.
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"{path.name}: neither UTF-8 nor GB18030 text") from exc
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise ImportFileError(f"{path.name}: empty file")
    return header, (list(r) for r in reader)


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[list[Any]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise ImportFileError(f"{path.name}: not a readable XLSX file ({exc})") from exc
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        raise ImportFileError(f"{path.name}: empty sheet")

    def data() -> Iterator[list[Any]]:
        try:
            for row in rows:
                yield list(row)
        finally:
            workbook.close()

    return [_cell_text(h) for h in header], data()


# Full-width letters and digits (０-９, Ａ-Ｚ, ａ-ｚ) to ASCII; Chinese punctuation in names and
# notes stays as written.
_FULL_WIDTH = {
    cp: cp - 0xFEE0
    for cp in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))
}
_FULL_WIDTH[0x3000] = 0x20  # ideographic space


def _code(text: str) -> str:
    """A code-like cell (id, date, flag, sex, language) fully NFKC-folded."""
    return unicodedata.normalize("NFKC", text).strip()


def _cell_text(value: Any) -> str:
    """A cell as text: integral floats without `.0`, full-width digits folded, trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).translate(_FULL_WIDTH).strip()


class RowParser:
    """Turns one row into a `ResidentRecord` or problems; remembers ids for duplicates."""

    def __init__(self, header: Sequence[str], settings: LocatorSettings) -> None:
        names = [_code(_cell_text(h)) for h in header]
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise ImportFileError(f"missing column(s): {', '.join(missing)}")
        self._pos = {name: i for i, name in enumerate(names) if name}
        kin: dict[int, dict[str, int]] = {}
        for i, name in enumerate(names):
            m = _KIN_HEADER.match(name)
            if m:
                kin.setdefault(int(m.group(1)), {})[m.group(2)] = i
        self._kin = [kin[n] for n in sorted(kin)]
        self._settings = settings
        self._seen: dict[str, int] = {}

    def parse(self, row_no: int, row: Sequence[Any]) -> tuple[ResidentRecord | None, list[Problem]]:
        """The record of `row` (spreadsheet row `row_no`), or None and why not."""
        cells = [_cell_text(v) for v in row]
        problems: list[Problem] = []

        def cell(column: str) -> str:
            i = self._pos.get(column)
            return cells[i] if i is not None and i < len(cells) else ""

        def bad(column: str, reason: str) -> None:
            problems.append(Problem(row_no, column, reason))

        rid = _code(cell("编号"))
        if not rid:
            bad("编号", "missing id")
        elif rid in self._seen:
            bad("编号", f"duplicate id {rid!r}, first at row {self._seen[rid]}")
        else:
            self._seen[rid] = row_no
        name = cell("姓名")
        if not name:
            bad("姓名", "missing name")
        sex = _parse_sex(_code(cell("性别")), bad)
        birth = _parse_date(_code(cell("出生日期")), bad)
        language = _LANGUAGES.get(_code(cell("语言")).lower())
        if language is None:
            bad("语言", f"unknown language {cell('语言')!r} (zh, en or ko)")
        flags = [_parse_flag(c, _code(cell(c)), bad) for c in ("独居", "空巢", "失独")]
        landlines = self._phones("固定电话", cell("固定电话"), bad)
        mobiles = self._phones("手机", cell("手机"), bad)
        kin: list[KinRecord] = []
        for n, cols in enumerate(self._kin, start=1):
            kname = cells[cols["姓名"]] if "姓名" in cols and cols["姓名"] < len(cells) else ""
            krel = cells[cols["关系"]] if "关系" in cols and cols["关系"] < len(cells) else ""
            kphone = cells[cols["电话"]] if "电话" in cols and cols["电话"] < len(cells) else ""
            if not (kname or krel or kphone):
                continue
            column = f"紧急联系人{n}电话"
            phones = self._phones(column, kphone, bad)
            if not kname:
                bad(f"紧急联系人{n}姓名", "next of kin without a name")
            elif not kphone:
                bad(column, f"next of kin {kname!r} without a phone number")
            kin.append(KinRecord(kname, krel, phones))
        if problems:
            return None, problems
        assert language is not None
        record = ResidentRecord(
            id=rid,
            name=name,
            sex=sex,
            birth_date=birth,
            community=cell("社区"),
            address=cell("住址"),
            landlines=landlines,
            mobiles=mobiles,
            language=language,
            lives_alone=flags[0],
            empty_nest=flags[1],
            lost_only_child=flags[2],
            health_notes=cell("健康备注"),
            next_of_kin=tuple(kin),
        )
        return record, []

    def _phones(self, column: str, text: str, bad: _Bad) -> tuple[str, ...]:
        out: list[str] = []
        for part in _PHONE_SPLIT.split(text):
            part = _code(part)
            if not part:
                continue
            if _SCIENTIFIC.match(part):
                digits = _from_scientific(part)
                if digits is None:
                    bad(
                        column,
                        f"{_mask(part)} is in scientific notation and lost digits; "
                        "format the column as text and export again",
                    )
                    continue
                part = digits
            e164 = to_e164(part, self._settings.region, self._settings.home_area_code)
            if e164 is None:
                bad(column, f"not a phone number: {_mask(part)}")
            elif e164 not in out:
                out.append(e164)
        return tuple(out)


def _mask(text: str) -> str:
    # Reports go to terminals and logs: never a whole number.
    return repr(mask_number(text))


def _from_scientific(text: str) -> str | None:
    """`1.3805356789E+10` → `13805356789`; None when the notation rounded digits away."""
    try:
        value = Decimal(text.lstrip("+"))
    except InvalidOperation:
        return None
    if value != value.to_integral_value():
        return None
    digits = str(int(value))
    significant = len(value.as_tuple().digits)
    # `1.38053E+10` has 6 significant digits of an 11-digit number: the rest are gone.
    if significant < len(digits.rstrip("0")) or significant < len(digits) - 1:
        return None
    return digits


def _parse_sex(text: str, bad: _Bad) -> str | None:
    if not text:
        return None
    sex = _SEX.get(text.lower())
    if sex is None:
        bad("性别", f"unknown sex {text!r} (男 or 女)")
    return sex


def _parse_flag(column: str, text: str, bad: _Bad) -> bool:
    lowered = text.lower()
    if lowered in _YES:
        return True
    if lowered not in _NO:
        bad(column, f"not yes/no: {text!r} (是 or 否)")
    return False


def _parse_date(text: str, bad: _Bad) -> date | None:
    if not text:
        bad("出生日期", "missing birth date")
        return None
    m = _DATE.match(text) or _COMPACT_DATE.match(text)
    if m is None:
        bad("出生日期", f"not a date: {text!r} (use 1939-12-01)")
        return None
    try:
        value = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        bad("出生日期", f"no such date: {text!r}")
        return None
    if not _EARLIEST_BIRTH <= value <= date.today():
        bad("出生日期", f"impossible birth date: {text!r}")
        return None
    return value


def parse_file(
    path: Path, settings: LocatorSettings, progress: Callable[[int], object] | None = None
) -> ParseResult:
    """Every row of the file checked: good records in order, every problem (row, column, reason).

    Blank rows are skipped. Raises ImportFileError when the file as a whole is unreadable.
    `progress(1)` is called per row read.
    """
    header, rows = read_table(path)
    parser = RowParser(header, settings)
    result = ParseResult()
    for row_no, row in enumerate(rows, start=2):
        if not any(_cell_text(v) for v in row):
            continue
        result.rows += 1
        record, problems = parser.parse(row_no, row)
        if record is not None:
            result.records.append(record)
        result.problems.extend(problems)
        if progress is not None:
            progress(1)
    return result
