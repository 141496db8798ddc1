"""Reading the archive: the sample file, messy cells repaired, every bad row reported."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from cti.settings import LocatorSettings
from locator.generate import header
from locator.importer import ImportFileError, Problem, parse_file

SETTINGS = LocatorSettings()
HEADER = header(2)


def row(**cells: str) -> list[str]:
    """A valid archive row with `cells` (by header name) replaced."""
    base = {
        "编号": "T001",
        "姓名": "张建国",
        "性别": "男",
        "出生日期": "1941-03-12",
        "社区": "滨海社区",
        "住址": "莱山区滨海中路17号3单元402室",
        "固定电话": "0535-6683318",
        "手机": "",
        "语言": "zh",
        "独居": "否",
        "空巢": "是",
        "失独": "否",
        "健康备注": "高血压，行动不便",
        "紧急联系人1姓名": "张明",
        "紧急联系人1关系": "儿子",
        "紧急联系人1电话": "13953512345",
    }
    base.update(cells)
    return [base.get(h, "") for h in HEADER]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def test_the_archive_sample_reads_without_problems(registry_sample: Path) -> None:
    result = parse_file(registry_sample, SETTINGS)
    assert result.problems == []
    assert result.rows == 8
    by_id = {r.id: r for r in result.records}
    assert by_id["LS0001"].landlines == by_id["LS0002"].landlines == ("+865356683318",)
    assert by_id["LS0007"].landlines == ("+865356881122",)  # "6881122": area code implied
    assert by_id["LS0004"].mobiles == ("+821012345678",)
    assert by_id["LS0004"].language == "ko"
    assert by_id["LS0003"].lives_alone and by_id["LS0003"].lost_only_child
    # LS0003 has only the second next-of-kin column filled: it is first to call.
    assert [k.name for k in by_id["LS0003"].next_of_kin] == ["社区网格员赵强"]
    assert [k.phones for k in by_id["LS0005"].next_of_kin] == [
        ("+15551234567",),
        ("+8613605357788",),
    ]
    assert by_id["LS0001"].health_notes == "高血压，行动不便"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_reads_with_or_without_bom_and_in_gb18030(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "a.csv", [row()], encoding)
    result = parse_file(path, SETTINGS)
    assert result.problems == []
    assert result.records[0].id == "T001"
    assert result.records[0].name == "张建国"


@pytest.mark.parametrize(
    ("cells", "field", "expected"),
    [
        ({"固定电话": "（0535）6612345"}, "landlines", ("+865356612345",)),
        ({"固定电话": "０５３５－６６８３３１８"}, "landlines", ("+865356683318",)),
        ({"固定电话": "0535 668-3318"}, "landlines", ("+865356683318",)),
        ({"固定电话": "6683318、6712008"}, "landlines", ("+865356683318", "+865356712008")),
        ({"手机": "1.3805356789E+10"}, "mobiles", ("+8613805356789",)),
        ({"手机": "+86 138-0535-6789"}, "mobiles", ("+8613805356789",)),
        ({"出生日期": "1939/12/01"}, "birth_date", date(1939, 12, 1)),
        ({"出生日期": "1939.12.1"}, "birth_date", date(1939, 12, 1)),
        ({"出生日期": "19391201"}, "birth_date", date(1939, 12, 1)),
        ({"出生日期": "1939年12月1日"}, "birth_date", date(1939, 12, 1)),
        ({"编号": "ＬＳ００１"}, "id", "LS001"),
        ({"独居": "Y"}, "lives_alone", True),
        ({"独居": "√"}, "lives_alone", True),
        ({"独居": ""}, "lives_alone", False),
        ({"语言": "韩语"}, "language", "ko"),
        ({"语言": "English"}, "language", "en"),
        ({"语言": ""}, "language", "zh"),
        ({"性别": "女"}, "sex", "F"),
        ({"性别": ""}, "sex", None),
    ],
)
def test_messy_cells_are_repaired(
    tmp_path: Path, cells: dict[str, str], field: str, expected: object
) -> None:
    result = parse_file(write_csv(tmp_path / "m.csv", [row(**cells)]), SETTINGS)
    assert result.problems == []
    assert getattr(result.records[0], field) == expected


def test_every_bad_row_is_reported_with_row_column_and_reason(tmp_path: Path) -> None:
    rows = [
        row(编号="A1"),  # row 2: good
        row(编号="A2", 手机="1.38053E+10"),  # 3: digits lost
        row(编号="A1"),  # 4: duplicate of row 2
        row(编号="A4", 出生日期="1939-13-45"),  # 5
        row(编号="A5", 固定电话="电话坏了"),  # 6
        row(编号="", 姓名=""),  # 7: two problems
        row(编号="A7", 语言="fr"),  # 8
        row(编号="A8", 空巢="也许"),  # 9
        row(编号="A9", 性别="X"),  # 10
        row(编号="A10", 紧急联系人1电话="12"),  # 11
        row(编号="A11", 出生日期="2199-01-01"),  # 12
        row(编号="A12", 紧急联系人1姓名=""),  # 13: kin phone without a name
    ]
    result = parse_file(write_csv(tmp_path / "bad.csv", rows), SETTINGS)
    assert [r.id for r in result.records] == ["A1"]
    got = {(p.row, p.column) for p in result.problems}
    assert got == {
        (3, "手机"),
        (4, "编号"),
        (5, "出生日期"),
        (6, "固定电话"),
        (7, "编号"),
        (7, "姓名"),
        (8, "语言"),
        (9, "空巢"),
        (10, "性别"),
        (11, "紧急联系人1电话"),
        (12, "出生日期"),
        (13, "紧急联系人1姓名"),
    }
    reasons = {(p.row, p.column): p.reason for p in result.problems}
    assert "scientific notation" in reasons[(3, "手机")]
    assert "first at row 2" in reasons[(4, "编号")]
    assert result.bad_rows == set(range(3, 14))


def test_a_problem_never_shows_a_whole_phone_number(tmp_path: Path) -> None:
    result = parse_file(write_csv(tmp_path / "b.csv", [row(手机="1380535678x")]), SETTINGS)
    (problem,) = result.problems
    assert "1380535678" not in str(problem)
    assert str(problem).startswith("row 2, 手机: ")


def test_blank_rows_are_skipped(tmp_path: Path) -> None:
    blank = [""] * len(HEADER)
    path = write_csv(tmp_path / "s.csv", [row(编号="A"), blank, row(编号="B")])
    result = parse_file(path, SETTINGS)
    assert result.rows == 2
    assert [r.id for r in result.records] == ["A", "B"]


def test_xlsx_with_numbers_and_dates_as_cells(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    cells = row(编号="X1")
    cells[HEADER.index("出生日期")] = datetime(1939, 12, 1)  # type: ignore[call-overload]
    cells[HEADER.index("手机")] = 13805356789  # type: ignore[call-overload]
    cells[HEADER.index("固定电话")] = 6683318.0  # type: ignore[call-overload]
    sheet.append(cells)
    book.save(tmp_path / "r.xlsx")
    result = parse_file(tmp_path / "r.xlsx", SETTINGS)
    assert result.problems == []
    (record,) = result.records
    assert record.birth_date == date(1939, 12, 1)
    assert record.mobiles == ("+8613805356789",)
    assert record.landlines == ("+865356683318",)


def test_a_file_without_the_id_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("姓名,住址\n张三,某地\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="编号"):
        parse_file(path, SETTINGS)


def test_an_unknown_file_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(b"%PDF")
    with pytest.raises(ImportFileError, match="unknown file type"):
        parse_file(path, SETTINGS)


def test_problem_reads_as_row_column_reason() -> None:
    assert str(Problem(7, "手机", "not a phone number")) == "row 7, 手机: not a phone number"
