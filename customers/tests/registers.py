"""A messy customer register (客户管理簿) as sales teams really keep one, built from a
fixed seed, with the truth of what an import must make of it.

About 2,000 rows: the team's own words for sources and genders, placeholders in
every column, phones with notes (微信同号, 办, 宅, 转 801), masked and mistyped
numbers, several numbers in a cell, e-mails as HYPERLINK formulas and mailto:
text, formulas without a saved result, ages and years in the birth-date column,
dates in every form people type, a company merged down its people, section labels
merged across the table, a header repeated inside the data, repeated customers and
rows without a name. Written as Excel writes it (shared strings, styles), as WPS
writes it, or as a GBK CSV; the truth is the same, but for what CSV cannot hold
(merges and formulas).

    .venv/bin/python -m customers.tests.registers OUTDIR   # register.xlsx + truth.json
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import random
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.utils import timezone

HEADER = ["客户名称", "公司", "性别", "出生日期", "手机", "邮箱", "来源", "重点客户", "备注"]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌宇浩凯晨欣"
    "怡博涵子轩雨婷佳琪梓萱思远"
)
BLOCKS = ("138", "139", "136", "137", "150", "151", "152", "158", "159", "186", "187", "188")
COMPANIES = [
    f"{c}{w}有限公司" for c in "沪京深杭宁苏渝蓉" for w in ("贸易", "科技", "制造", "服饰")
]
# What a team writes for a gender, and what it means.
GENDERS = {
    "男": "male", "男士": "male", "先生": "male", "男性": "male", "M": "male", "male": "male",
    "女": "female", "女士": "female", "小姐": "female", "女性": "female", "F": "female",
    "female": "female",
}  # fmt: skip
# The team's own words for sources: each a seeded channel's synonym, or none.
SOURCES = {
    "朋友介绍": "referral", "老客户转介绍": "referral", "电话营销": "cold_call",
    "百度推广": "advertising", "线下门店": "walk_in", "展会": "exhibition", "官网": "website",
    "公众号": "wechat", "抖音": None, "快手": None,
}  # fmt: skip
KEY_ACCOUNT = {"是": True, "否": False, "重要": True, "一般": False, "VIP": True}
PLACEHOLDERS = ["暂无", "无", "-", "—", "待补充", "不详", "N/A", "#N/A", "空"]


@dataclass
class Expected:
    name: str
    company: str = ""
    gender: str = ""
    source: str = "import"
    phones: list[str] = field(default_factory=list)  # E.164, in order
    wechat: list[str] = field(default_factory=list)  # the numbers flagged 微信同号
    emails: list[str] = field(default_factory=list)
    birth_date: str | None = None
    birth_year: int | None = None
    key_account: bool = False
    remarks: list[str] = field(default_factory=list)  # texts the import remarks must hold


@dataclass
class Register:
    rows: list[list] = field(default_factory=list)  # under the header; None = empty cell
    merges: list[str] = field(default_factory=list)
    customers: dict[str, Expected] = field(default_factory=dict)
    warned: dict[int, list[str]] = field(default_factory=dict)  # sheet row → warned keys
    rejected: list[int] = field(default_factory=list)
    merged_rows: list[int] = field(default_factory=list)
    sections: list[int] = field(default_factory=list)
    headers: list[int] = field(default_factory=list)
    blank: list[int] = field(default_factory=list)

    def truth(self) -> dict:
        return {
            "customers": {name: asdict(c) for name, c in self.customers.items()},
            "warned": {str(row): keys for row, keys in self.warned.items()},
            "rejected": self.rejected,
            "merged": self.merged_rows,
            "counts": self.counts(),
        }

    def counts(self) -> dict[str, int]:
        rows = {2 + i for i in range(len(self.rows))}
        created_rows = rows - set(self.rejected) - set(self.merged_rows)
        created_rows -= set(self.sections) | set(self.headers) | set(self.blank)
        warned = {r for r in self.warned if r in created_rows}
        return {
            "created": len(created_rows) - len(warned),
            "created_warned": len(warned),
            "updated": 0,
            "updated_warned": 0,
            "merged": len(self.merged_rows),
            "rejected": len(self.rejected),
            "skipped": len(self.sections) + len(self.headers) + len(self.blank),
        }


class _Builder:
    def __init__(self, seed: int, fmt: str):
        self.rng = random.Random(seed)  # noqa: S311 - test data
        self.fmt = fmt  # "xlsx" or "csv"
        self.reg = Register()
        self.phone_serial = 0
        self.names: set[str] = set()

    @property
    def next_row(self) -> int:
        return 2 + len(self.reg.rows)  # the header is row 1

    def name(self) -> str:
        while True:
            name = self.rng.choice(SURNAMES) + "".join(self.rng.choices(GIVEN, k=2))
            if name not in self.names:
                self.names.add(name)
                return name

    def mobile(self) -> str:
        self.phone_serial += 1
        return f"{self.rng.choice(BLOCKS)}{self.phone_serial:08d}"

    def add(self, cells: dict[str, object], expected: Expected | None, warned=(), *, merged=False):
        row = [cells.get(column) for column in HEADER]
        number = self.next_row
        self.reg.rows.append(row)
        if expected is None:
            self.reg.rejected.append(number)
        elif merged:
            self.reg.merged_rows.append(number)
        else:
            self.reg.customers[expected.name] = expected
        if warned:
            self.reg.warned[number] = sorted(warned)
        return number

    # --- the kinds of row ------------------------------------------------------------

    def plain(self) -> None:
        """A customer as most rows are: words of the team's own, a mobile, maybe more."""
        rng = self.rng
        e = Expected(self.name())
        cells: dict[str, object] = {"客户名称": e.name}
        warned: set[str] = set()
        if rng.random() < 0.6:
            e.company = rng.choice(COMPANIES)
            cells["公司"] = e.company
        word = rng.choice(list(GENDERS))
        cells["性别"], e.gender = word, GENDERS[word]
        source = rng.choice(list(SOURCES))
        cells["来源"] = source
        if SOURCES[source] is None:
            warned.add("source")
            e.remarks.append(source)
        else:
            e.source = SOURCES[source]
        mobile = self.mobile()
        style = rng.randrange(6)
        if style == 0:
            cells["手机"] = f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"
        elif style == 1:
            cells["手机"] = f"+86-{mobile}"
        elif style == 2:
            cells["手机"] = f"{mobile} 微信同号"
            e.wechat.append(f"+86{mobile}")
        elif style == 3:
            cells["手机"] = f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}（微信同号）"
            e.wechat.append(f"+86{mobile}")
        elif style == 4:
            second = self.mobile()
            cells["手机"] = f"{mobile}{rng.choice(['/', '、', '；', chr(10)])}{second}"
            e.phones.append(f"+86{mobile}")
            mobile = second
        else:
            cells["手机"] = int(mobile) if self.fmt == "xlsx" else mobile  # typed as a number
        e.phones.append(f"+86{mobile}")
        if rng.random() < 0.5:
            address = f"c{self.phone_serial}@example.com"
            cells["邮箱"] = rng.choice([address, address.upper(), f" {address} "])
            e.emails.append(address)
        else:
            cells["邮箱"] = rng.choice(PLACEHOLDERS)
        key = rng.choice([*KEY_ACCOUNT, None])
        if key is not None:
            cells["重点客户"], e.key_account = key, KEY_ACCOUNT[key]
        self.birth(cells, e, warned)
        self.add(cells, e, warned)

    def birth(self, cells: dict, e: Expected, warned: set) -> None:
        rng = self.rng
        day = datetime.date(rng.randrange(1955, 2004), rng.randrange(1, 13), rng.randrange(1, 29))
        form = rng.randrange(10)
        if form == 0 and self.fmt == "xlsx":
            cells["出生日期"] = day  # a real Excel date
        elif form == 1 and self.fmt == "xlsx":
            cells["出生日期"] = (day - datetime.date(1899, 12, 30)).days  # a day number
        elif form in (0, 1, 2):
            cells["出生日期"] = f"{day.year}/{day.month}/{day.day}"
        elif form == 3:
            cells["出生日期"] = day.isoformat()
        elif form == 4:
            cells["出生日期"] = f"{day.year}.{day.month}.{day.day}"
        elif form == 5:
            cells["出生日期"] = day.strftime("%Y%m%d")
        elif form == 6:
            cells["出生日期"] = f"{day.year}年{day.month}月{day.day}日"
        elif form == 7:
            age = rng.randrange(20, 70)
            text = rng.choice([str(age), f"{age}岁", f"{age} 岁"])
            cells["出生日期"] = text
            e.birth_year = timezone.localdate().year - age
            warned.add("birth_date")
            e.remarks.append(text)
            return
        else:
            return  # not given
        e.birth_date = day.isoformat()

    def special(self) -> None:
        """Each case the issue names, a few times over."""
        rng = self.rng
        # A masked number: no phone, the text kept.
        e = Expected(self.name(), gender="female")
        masked = f"136****{rng.randrange(1000, 9999)}"
        e.remarks.append(masked)
        self.add({"客户名称": e.name, "性别": "女士", "手机": masked}, e, {"phones"})
        # One mistyped number among two: that one only is dropped.
        e = Expected(self.name())
        good = self.mobile()
        e.phones, e.remarks = [f"+86{good}"], ["12345"]
        self.add({"客户名称": e.name, "手机": f"{good}/12345"}, e, {"phones"})
        # A landline with an extension and a work mobile.
        e = Expected(self.name(), company=rng.choice(COMPANIES))
        work = self.mobile()
        line = f"010-{rng.randrange(6000, 8999)} {rng.randrange(1000, 9999)}"
        e.phones = ["+8610" + line[4:].replace(" ", ""), f"+86{work}"]
        self.add({"客户名称": e.name, "公司": e.company, "手机": f"{line} 转 801\n{work}（办）"}, e)
        # E-mail as a formula without a saved result, and as mailto: text.
        e = Expected(self.name())
        address = f"link{self.phone_serial}@example.com"
        e.emails = [address]
        formula = f'=HYPERLINK("mailto:{address}","发邮件")'
        cells = {"客户名称": e.name, "邮箱": ("=" + formula[1:], None)}
        if self.fmt == "csv":
            cells["邮箱"] = formula
        self.add(cells, e)
        e = Expected(self.name())
        address = f"to{self.phone_serial}@example.com"
        e.emails = [address]
        self.add({"客户名称": e.name, "邮箱": f"mailto:{address}"}, e)
        # =TODAY() in the birth-date column.
        e = Expected(self.name())
        e.remarks.append("TODAY()")
        self.add({"客户名称": e.name, "出生日期": ("=TODAY()", None)}, e, {"birth_date"})
        # A bad e-mail and a gender nobody knows: warnings, the customer kept.
        e = Expected(self.name())
        e.remarks += ["abc@", "不男不女"]
        self.add({"客户名称": e.name, "邮箱": "abc@", "性别": "不男不女"}, e, {"emails", "gender"})
        # No name: rejected, whatever else the row holds.
        self.add({"客户名称": rng.choice(["", "-", "暂无"]) or None, "手机": self.mobile()}, None)
        # The same customer again (same mobile): merged, filling what was empty.
        e = Expected(self.name())
        mobile = self.mobile()
        e.phones, e.gender, e.source = [f"+86{mobile}"], "male", "exhibition"
        self.add({"客户名称": e.name, "手机": mobile, "来源": "展会"}, e)
        self.add({"客户名称": e.name, "手机": f"+86 {mobile}", "性别": "先生"}, e, merged=True)

    def company_block(self) -> None:
        """People of one company; the company cell merged down them (xlsx)."""
        company = self.rng.choice(COMPANIES) + "集团"
        first = self.next_row
        size = self.rng.randrange(2, 5)
        for index in range(size):
            e = Expected(self.name(), company=company)
            mobile = self.mobile()
            e.phones = [f"+86{mobile}"]
            cell = company if index == 0 or self.fmt == "csv" else None
            self.add({"客户名称": e.name, "公司": cell, "手机": mobile}, e)
        if self.fmt == "xlsx":
            self.reg.merges.append(f"B{first}:B{first + size - 1}")

    def section(self, label: str) -> None:
        if self.fmt != "xlsx":
            return  # a CSV cannot merge: its label would be a customer called 华东区
        number = self.next_row
        self.reg.rows.append([label] + [None] * (len(HEADER) - 1))
        self.reg.merges.append(f"A{number}:I{number}")
        self.reg.sections.append(number)

    def header_again(self) -> None:
        self.reg.headers.append(self.next_row)
        self.reg.rows.append(list(HEADER))

    def blank(self) -> None:
        self.reg.blank.append(self.next_row)
        self.reg.rows.append([None] * len(HEADER))


def register_build(*, seed: int = 25, rows: int = 2000, fmt: str = "xlsx") -> Register:
    builder = _Builder(seed, fmt)
    regions = ["华东区", "华南区", "华北区", "西南区"]
    per_region = rows // len(regions)
    for region in regions:
        builder.section(region)
        start = len(builder.reg.rows)
        while len(builder.reg.rows) - start < per_region:
            draw = builder.rng.random()
            if draw < 0.03:
                builder.special()
            elif draw < 0.05:
                builder.company_block()
            elif draw < 0.055:
                builder.blank()
            else:
                builder.plain()
        if region == "华南区":
            builder.header_again()
    return builder.reg


def register_xlsx(register: Register, *, wps: bool = False) -> bytes:
    from crm.tests.rawxlsx import xlsx_parts

    return xlsx_parts(
        [HEADER, *register.rows],
        merges=register.merges,
        app="WPS 表格" if wps else "Microsoft Excel",
        sheet_name="客户管理簿",
        wps=wps,
    )


def register_csv(register: Register) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in register.rows:
        writer.writerow(
            ["" if cell is None else cell[0] if isinstance(cell, tuple) else cell for cell in row]
        )
    return out.getvalue().encode("gbk")


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    target.mkdir(parents=True, exist_ok=True)
    built = register_build()
    (target / "register.xlsx").write_bytes(register_xlsx(built))
    (target / "truth.json").write_text(
        json.dumps(built.truth(), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    sys.stdout.write(f"{len(built.rows)} rows: {built.counts()}\n")
