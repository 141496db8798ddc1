"""A deterministic synthetic registry for the demo and the benchmarks, and writing it out.

Same `count` and `seed`, same residents, byte for byte. Numbers are unique by construction
(affine permutations of the index), except the landline a couple shares on purpose.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path

from locator.importer import COLUMNS
from locator.records import KinRecord, ResidentRecord

_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江"
    "史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
_MALE = "建国志明德华宝华永强振东国庆文斌秀峰玉成树林长福金山世杰开明兆祥"
_FEMALE = "桂兰秀英淑珍凤英玉兰秀兰桂英淑英玉珍凤兰桂芝素梅丽华翠花月娥"
_KO_NAMES = ("김순자", "이영수", "박정희", "최민호", "정옥순", "강성민", "윤미자", "장동건")
_EN_NAMES = (
    ("Margaret", "Brown"),
    ("John", "Smith"),
    ("Mary", "Johnson"),
    ("Robert", "Williams"),
    ("Patricia", "Jones"),
    ("James", "Miller"),
    ("Linda", "Davis"),
    ("Peter", "Wilson"),
)
_STREETS = {
    "黄海路街道": ("滨海社区", "海韵社区", "黄海社区"),
    "初家街道": ("东方社区", "初家社区", "金山社区"),
    "滨海路街道": ("山海社区", "银海社区", "滨海路社区"),
    "解甲庄街道": ("新村社区", "解甲庄社区"),
    "院格庄街道": ("院格庄社区", "朱柳社区"),
    "莱山街道": ("莱山社区", "盛泉社区", "马山社区"),
}
_ROADS = (
    "滨海中路",
    "观海路",
    "迎春大街",
    "港城东大街",
    "山海路",
    "红旗东路",
    "盛泉路",
    "金海路",
    "银海路",
    "双河东路",
    "清泉路",
    "枫林路",
)
_RELATIONS = ("儿子", "女儿", "侄子", "外孙", "孙女", "儿媳", "邻居", "网格员")
_NOTES = (
    "",
    "",
    "",
    "高血压",
    "糖尿病",
    "行动不便",
    "听力较弱",
    "心脏病史，使用助听器",
    "独自服药",
)
_MOBILE_PREFIXES = ("130", "133", "135", "137", "138", "139", "150", "152", "158", "186", "188")
_EPOCH = date(1926, 1, 1)
_SPAN_DAYS = (date(1955, 12, 31) - _EPOCH).days


def _perm(i: int, modulus: int, mult: int, add: int) -> int:
    # An affine map with gcd(mult, modulus) == 1 is a bijection on [0, modulus).
    return (mult * i + add) % modulus


def _landline(i: int) -> str:
    # Yantai landlines are seven digits after 0535: 2,000,000 distinct ones from 6xxxxxx/8xxxxxx.
    n = _perm(i, 2_000_000, 1_299_709, 17)
    return f"+865356{n:06d}" if n < 1_000_000 else f"+865358{n - 1_000_000:06d}"


def _mobile(i: int, salt: int) -> str:
    k = i * 4 + salt
    prefix = _MOBILE_PREFIXES[k % len(_MOBILE_PREFIXES)]
    return f"+86{prefix}{_perm(k // len(_MOBILE_PREFIXES), 100_000_000, 39_916_801, 12_345):08d}"


def generate_residents(count: int, seed: int) -> Iterator[ResidentRecord]:
    """`count` synthetic residents of Laishan district, the same for the same seed.

    About 5 % are couples sharing a landline (and an address), ~2 % speak Korean and ~2 %
    English (with foreign next of kin), most have a 0535 landline and/or a mobile and one or
    two next of kin in calling order.
    """
    rng = random.Random(seed)
    i = 0
    while i < count:
        couple = i + 1 < count and rng.random() < 0.025
        address, community = _address(rng)
        landline = _landline(i) if couple or rng.random() < 0.7 else None
        members = 2 if couple else 1
        surname = rng.choice(_SURNAMES)
        for m in range(members):
            yield _resident(rng, i, m, surname, address, community, landline, couple)
            i += 1


def _address(rng: random.Random) -> tuple[str, str]:
    street = rng.choice(sorted(_STREETS))
    community = f"{street}{rng.choice(_STREETS[street])}"
    road = rng.choice(_ROADS)
    if rng.random() < 0.15:
        return f"莱山区{street[:-2]}{rng.randint(1, 30)}村{rng.randint(1, 300)}号", community
    return (
        f"莱山区{road}{rng.randint(1, 200)}号{rng.randint(1, 6)}单元"
        f"{rng.randint(1, 18)}0{rng.randint(1, 4)}室",
        community,
    )


def _resident(
    rng: random.Random,
    i: int,
    member: int,
    surname: str,
    address: str,
    community: str,
    landline: str | None,
    couple: bool,
) -> ResidentRecord:
    roll = rng.random()
    language = "ko" if roll < 0.02 else "en" if roll < 0.04 else "zh"
    sex = "M" if (member == 0 if couple else rng.random() < 0.45) else "F"
    if language == "ko":
        name = rng.choice(_KO_NAMES)
    elif language == "en":
        first, last = rng.choice(_EN_NAMES)
        name = f"{first} {last}"
    else:
        family = surname if member == 0 else rng.choice(_SURNAMES)
        pool = _MALE if sex == "M" else _FEMALE
        start = rng.randrange(0, len(pool) // 2) * 2
        name = family + pool[start : start + 2]
    mobile: tuple[str, ...] = ()
    if language == "ko" and rng.random() < 0.5:
        mobile = (f"+8210{_perm(i, 100_000_000, 39_916_801, 7):08d}",)
    elif landline is None or rng.random() < 0.5:
        mobile = (_mobile(i, 0),)
    kin = tuple(_kin(rng, i, k, surname, language) for k in range(rng.choice((1, 1, 2))))
    lives_alone = not couple and rng.random() < 0.35
    return ResidentRecord(
        id=f"LS{i + 1:07d}",
        name=name,
        sex=sex,
        birth_date=_EPOCH + timedelta(days=rng.randrange(_SPAN_DAYS)),
        community=community,
        address=address,
        landlines=(landline,) if landline else (),
        mobiles=mobile,
        language=language,
        lives_alone=lives_alone,
        empty_nest=lives_alone or rng.random() < 0.5,
        lost_only_child=rng.random() < 0.03,
        health_notes=rng.choice(_NOTES),
        next_of_kin=kin,
    )


def _kin(rng: random.Random, i: int, k: int, surname: str, language: str) -> KinRecord:
    if language == "en" and k == 0:
        first, last = rng.choice(_EN_NAMES)
        return KinRecord(f"{first} {last}", "son", (f"+1555{_perm(i, 10_000_000, 7_919, 3):07d}",))
    if language == "ko" and k == 0:
        return KinRecord(rng.choice(_KO_NAMES), "儿子", (f"+82109{i % 10_000_000:07d}",))
    relation = rng.choice(_RELATIONS)
    pool = _MALE if relation in ("儿子", "侄子", "外孙") else _FEMALE
    start = rng.randrange(0, len(pool) // 2) * 2
    return KinRecord(surname + pool[start : start + 2], relation, (_mobile(i, 1 + k),))


def _national(e164: str) -> str:
    """How the archive writes a number: `0535-6683318` for a landline, 11 digits for a mobile."""
    if e164.startswith("+865"):
        return f"0{e164[3:6]}-{e164[6:]}"
    if e164.startswith("+86"):
        return e164[3:]
    return e164


def record_row(record: ResidentRecord, kin_columns: int = 2) -> list[str]:
    """One archive row (the sample file's layout) for `record`."""
    yes_no = ("否", "是")
    row = [
        record.id,
        record.name,
        {"M": "男", "F": "女"}.get(record.sex or "", ""),
        record.birth_date.isoformat() if record.birth_date else "",
        record.community,
        record.address,
        "、".join(_national(p) for p in record.landlines),
        "、".join(_national(p) for p in record.mobiles),
        record.language,
        yes_no[record.lives_alone],
        yes_no[record.empty_nest],
        yes_no[record.lost_only_child],
        record.health_notes,
    ]
    for k in range(kin_columns):
        if k < len(record.next_of_kin):
            kin = record.next_of_kin[k]
            row += [kin.name, kin.relation, "、".join(_national(p) for p in kin.phones)]
        else:
            row += ["", "", ""]
    return row


def header(kin_columns: int = 2) -> list[str]:
    """The archive's header row."""
    out = list(COLUMNS)
    for k in range(1, kin_columns + 1):
        out += [f"紧急联系人{k}姓名", f"紧急联系人{k}关系", f"紧急联系人{k}电话"]
    return out


def write_registry(records: Sequence[ResidentRecord], path: Path) -> None:
    """Write `records` as the archive would: XLSX for `.xlsx`, otherwise UTF-8 CSV with BOM."""
    kin_columns = max([2, *(len(r.next_of_kin) for r in records)])
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("居民档案")
        sheet.append(header(kin_columns))
        for record in records:
            sheet.append(record_row(record, kin_columns))
        workbook.save(path)
        return
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header(kin_columns))
        writer.writerows(record_row(r, kin_columns) for r in records)
