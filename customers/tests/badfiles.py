"""A corpus of bad uploads, each made in code when a test asks for it (no binary
file is committed): zip bombs, XML entities, forged dimensions, a million rows,
16,384 columns, other file types renamed .xlsx, old and password-protected
Excel files, macros, every encoding a CSV arrives in, NUL bytes, huge cells,
formulas everywhere. Each case says what a data steward sees: the upload
refused (and the message under the file field), the worker's reading refused
(the message on the job page), or the customers imported (how many, and the
counts and reasons of the rows that were not)."""

from __future__ import annotations

import codecs
import io
import random
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from xml.sax.saxutils import escape

from crm.sheets.values import column_letters
from crm.tests.rawxlsx import MAIN, RELS

# What happens to a case.
UPLOAD = "upload"  # refused by the upload request: the message is under the file field
READ = "read"  # refused by the worker's reading: the job failed, its page says why
IMPORTED = "imported"  # read and imported: `customers` created, `counts` as given

MB = 1024 * 1024
HEADER = ["姓名", "手机", "公司"]
ROWS = [["张三", "13800138000", "甲公司"], ["李四", "13900139000", "乙公司"]]
REGISTER = [HEADER, *ROWS]

# The messages, in English (the steward reads English): fragments of each one.
DAMAGED = "The workbook is damaged and cannot be read"
NEITHER = "Kehu reads Excel workbooks (.xlsx) and CSV files; this file is neither."
ZIP_BOMB = "Kehu refuses it as a possible zip bomb"
DOCTYPE = "XML declarations that Kehu refuses for safety (a DOCTYPE)"
NO_SHEET = "The workbook has no worksheet."
XLS = "save it as an Excel Workbook (.xlsx)"
PASSWORD = "remove the password"
TOO_MANY_ROWS = "data rows, the most one import takes. Split it into several files."
ENCODING = "Save it again as “CSV UTF-8”"
EMPTY_SHEET = "The sheet is empty: there is nothing to import."
EMPTY_UPLOAD = "The submitted file is empty."  # Django's own (forms.FileField)


@dataclass(frozen=True)
class BadFile:
    name: str
    filename: str
    make: Callable[[], bytes]
    outcome: str
    message: str = ""  # a fragment of the message shown (UPLOAD, READ)
    customers: int = 0  # created (IMPORTED)
    counts: dict[str, int] = field(default_factory=dict)  # expected job counts (IMPORTED)
    reason: str = ""  # a fragment of a rejected row's reason or a warning (IMPORTED)
    why: str = ""  # what the case is about
    family: str = ""  # the kind of trouble: "zip", "xml", "encoding"…


# --- workbooks, part by part -----------------------------------------------------

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
CONTENT_TYPES = (
    f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/></Types>'
)
ROOT_RELS = (
    f'{_XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    f'relationships"><Relationship Id="rId1" Type="{RELS}/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    f'{_XML}<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets><sheet name="Sheet1" '
    'sheetId="1" r:id="rId1"/></sheets></workbook>'
)


def workbook_rels(sheet_target: str = "worksheets/sheet1.xml") -> str:
    return (
        f'{_XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{RELS}/worksheet" '
        f'Target="{escape(sheet_target)}"/><Relationship Id="rId2" Type="{RELS}/'
        'sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" '
        f'Type="{RELS}/styles" Target="styles.xml"/></Relationships>'
    )


STYLES = (
    f'{_XML}<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="176" '
    'formatCode="yyyy/m/d;@"/></numFmts><cellXfs count="2"><xf numFmtId="0"/>'
    '<xf numFmtId="176" applyNumberFormat="1"/></cellXfs></styleSheet>'
)


class Inline(str):
    """A text written inline in the cell (t="inlineStr"), not in the shared strings."""


@dataclass
class Cell:
    """A cell written as given: its type, style, formula and saved value."""

    value: str | None = None
    kind: str = ""
    style: int = 0
    formula: str = ""


def _cell(ref: str, value, strings: dict[str, int]) -> str:
    if value is None:
        return ""
    if isinstance(value, Cell):
        kind = f' t="{value.kind}"' if value.kind else ""
        style = f' s="{value.style}"' if value.style else ""
        formula = f"<f>{escape(value.formula)}</f>" if value.formula else ""
        saved = "" if value.value is None else f"<v>{escape(value.value)}</v>"
        return f'<c r="{ref}"{kind}{style}>{formula}{saved}</c>'
    if isinstance(value, Inline):
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    index = strings.setdefault(value, len(strings))
    return f'<c r="{ref}" t="s"><v>{index}</v></c>'


def sheet_parts(
    rows: list[list], *, numbers: list[int] | None = None, dimension: str = ""
) -> tuple[str, str]:
    """The worksheet and the shared strings of `rows` (row numbers `numbers`, else 1…)."""
    strings: dict[str, int] = {}
    body = io.StringIO()
    for index, row in enumerate(rows):
        number = numbers[index] if numbers else index + 1
        cells = "".join(
            _cell(f"{column_letters(col)}{number}", value, strings)
            for col, value in enumerate(row, start=1)
        )
        body.write(f'<row r="{number}">{cells}</row>')
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (
        f'{_XML}<worksheet xmlns="{MAIN}" xmlns:r="{RELS}">{dim}<sheetData>'
        f"{body.getvalue()}</sheetData></worksheet>"
    )
    return sheet, shared_xml(strings)


def shared_xml(strings: dict[str, int] | list[str]) -> str:
    texts = sorted(strings, key=strings.get) if isinstance(strings, dict) else strings
    items = "".join(f'<si><t xml:space="preserve">{escape(text)}</t></si>' for text in texts)
    return (
        f'{_XML}<sst xmlns="{MAIN}" count="{len(texts)}" uniqueCount="{len(texts)}">{items}</sst>'
    )


def workbook_parts(rows: list[list] = REGISTER, **sheet_options) -> dict[str, str | bytes]:
    sheet, shared = sheet_parts(rows, **sheet_options)
    return {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": ROOT_RELS,
        "xl/workbook.xml": WORKBOOK,
        "xl/_rels/workbook.xml.rels": workbook_rels(),
        "xl/styles.xml": STYLES,
        "xl/worksheets/sheet1.xml": sheet,
        "xl/sharedStrings.xml": shared,
    }


def zip_bytes(
    parts: dict[str, str | bytes | None], *, stored: frozenset[str] = frozenset()
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in parts.items():
            if content is None:
                continue
            data = content.encode() if isinstance(content, str) else content
            method = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            target.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, method)
    return out.getvalue()


def xlsx(rows: list[list] = REGISTER, **changes: str | bytes | None) -> bytes:
    """A workbook of `rows`; `changes` replace parts (None: leave the part out), by
    part name with "/" and "." written "_" ("xl_workbook_xml")."""
    parts = workbook_parts(rows)
    for key, content in changes.items():
        name = next(n for n in parts if n.replace("/", "_").replace(".", "_") == key)
        parts[name] = content
    return zip_bytes(parts)


def xlsx_with(extra: dict[str, str | bytes], rows: list[list] = REGISTER, **options) -> bytes:
    return zip_bytes({**workbook_parts(rows, **options), **extra})


def _declared_size(data: bytes, name: str, size: int) -> bytes:
    """The zip with `name`'s unpacked size forged to `size`, in its local header and
    in the central directory (what a zip bomb's directory would say)."""
    out = bytearray(data)
    encoded = name.encode()
    local = out.find(b"PK\x03\x04")
    while local != -1:
        name_length = struct.unpack_from("<H", out, local + 26)[0]
        if bytes(out[local + 30 : local + 30 + name_length]) == encoded:
            struct.pack_into("<I", out, local + 22, size)
        local = out.find(b"PK\x03\x04", local + 4)
    central = out.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", out, central + 28)[0]
        if bytes(out[central + 46 : central + 46 + name_length]) == encoded:
            struct.pack_into("<I", out, central + 24, size)
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


# --- the cases -----------------------------------------------------------------


def _bomb_ratio() -> bytes:
    """A sheet that unpacks 1,000 to 1: 40 MB of spaces inside a row."""
    out = io.BytesIO()
    parts = workbook_parts()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                target.writestr(name, content)
        head, tail = parts["xl/worksheets/sheet1.xml"].split("<sheetData>")
        with target.open("xl/worksheets/sheet1.xml", "w") as part:
            part.write(f"{head}<sheetData>".encode())
            for __ in range(40):
                part.write(b" " * MB)
            part.write(tail.encode())
    return out.getvalue()


def _bomb_total() -> bytes:
    """Each part within the compression ratio, but the directory says 600 MB in all."""
    noise = random.Random(7).randbytes(2 * MB)  # noqa: S311 - test data
    data = xlsx_with({"xl/media/image1.bin": noise, "xl/media/image2.bin": noise[::-1]})
    for name in ("xl/media/image1.bin", "xl/media/image2.bin"):
        data = _declared_size(data, name, 300 * MB)
    return data


def _bomb_entries() -> bytes:
    return xlsx_with({f"xl/media/empty{n}.txt": b"" for n in range(1_200)})


def _nested_zip() -> bytes:
    """A zip bomb packed inside the workbook as an embedded object: never opened."""
    inner = io.BytesIO()
    with (
        zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as bomb,
        bomb.open("zeros.bin", "w") as part,
    ):
        for __ in range(64):
            part.write(b"\x00" * MB)
    return xlsx_with({"xl/embeddings/oleObject1.zip": inner.getvalue()})


def _zip_of_a_zip() -> bytes:
    return zip_bytes({"register.xlsx": xlsx()})


def _size_lies_small() -> bytes:
    """The directory says the sheet is 100 bytes; it is more."""
    return _declared_size(xlsx(), "xl/worksheets/sheet1.xml", 100)


def _zip_slip() -> bytes:
    return xlsx_with({"../../../tmp/kehu-evil.txt": b"never written anywhere"})


_XXE = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">'
        for n in range(1, 10)
    )
    + "]>"
)


def _with_doctype(xml: str, doctype: str, entity: str = "") -> str:
    """`xml` with a DOCTYPE after its declaration, and `entity` used in its first text."""
    declaration, rest = xml.split("?>", 1)
    if entity:
        rest = rest.replace("张三", entity, 1)
    return f"{declaration}?>{doctype}{rest}"


def _xxe_sheet() -> bytes:
    sheet, __ = sheet_parts([HEADER, [Inline("张三"), "13800138000"]])
    return xlsx(xl_worksheets_sheet1_xml=_with_doctype(sheet, _XXE, "&xxe;"))


def _laughs_shared() -> bytes:
    __, shared = sheet_parts(REGISTER)
    return xlsx(xl_sharedStrings_xml=_with_doctype(shared, _LAUGHS, "&lol9;"))


def _doctype_workbook() -> bytes:
    return xlsx(xl_workbook_xml=_with_doctype(WORKBOOK, _XXE))


def _doctype_rels() -> bytes:
    return xlsx(xl__rels_workbook_xml_rels=_with_doctype(workbook_rels(), _XXE))


def _doctype_styles() -> bytes:
    return xlsx(xl_styles_xml=_with_doctype(STYLES, _LAUGHS))


def _doctype_content_types() -> bytes:
    parts = workbook_parts()
    parts["[Content_Types].xml"] = _with_doctype(CONTENT_TYPES, _XXE)
    return zip_bytes(parts)


def _broken_xml() -> bytes:
    sheet, __ = sheet_parts(REGISTER)
    return xlsx(xl_worksheets_sheet1_xml=sheet.replace("</row>", "", 1))


def _forged_dimension() -> bytes:
    sheet, shared = sheet_parts(REGISTER, dimension="A1:XFD1048576")
    return xlsx(xl_worksheets_sheet1_xml=sheet, xl_sharedStrings_xml=shared)


def _last_rows() -> bytes:
    sheet, shared = sheet_parts(REGISTER, numbers=[1_048_574, 1_048_575, 1_048_576])
    return xlsx(xl_worksheets_sheet1_xml=sheet, xl_sharedStrings_xml=shared)


def _wide_row() -> bytes:
    """A data row of 16,384 cells under a header of three."""
    wide = [*ROWS[0], *(Inline(f"x{n}") for n in range(16_381))]
    return xlsx([HEADER, wide, ROWS[1]])


def _wide_header_xlsx() -> bytes:
    header = [*HEADER, *(f"列{n}" for n in range(4, 16_385))]
    return xlsx([header, *ROWS])


def _wide_csv() -> bytes:
    header = ",".join([*HEADER, *(f"列{n}" for n in range(4, 16_385))])
    return "\n".join([header, *(",".join(row) for row in ROWS)]).encode()


def _million_rows_xlsx() -> bytes:
    """A real sheet of 1,048,576 rows, written row by row into the zip."""
    out = io.BytesIO()
    parts = workbook_parts([["姓名", "手机"]])
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as target:
        for name, content in parts.items():
            if name == "xl/worksheets/sheet1.xml":
                continue
            if name == "xl/sharedStrings.xml":
                content = shared_xml(["姓名", "手机", "张三"])
            target.writestr(name, content)
        with target.open("xl/worksheets/sheet1.xml", "w") as part:
            part.write(
                f'{_XML}<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="s">'
                '<v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'.encode()
            )
            batch = []
            for number in range(2, 1_048_577):
                batch.append(
                    f'<row r="{number}"><c r="A{number}" t="s"><v>2</v></c>'
                    f'<c r="B{number}"><v>{13_000_000_000 + number}</v></c></row>'
                )
                if len(batch) == 50_000:
                    part.write("".join(batch).encode())
                    batch.clear()
            part.write("".join(batch).encode())
            part.write(b"</sheetData></worksheet>")
    return out.getvalue()


def _million_rows_csv() -> bytes:
    out = io.BytesIO()
    out.write("姓名,手机\n".encode())
    for start in range(2, 1_048_577, 50_000):
        stop = min(start + 50_000, 1_048_577)
        out.write("".join(f"张{n},{13_000_000_000 + n}\n" for n in range(start, stop)).encode())
    return out.getvalue()


_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _ole2(*streams: str) -> bytes:
    """An OLE2 compound file's magic, then filler and the directory's stream names."""
    names = b"".join(name.encode("utf-16-le").ljust(64, b"\x00") for name in streams)
    return (_OLE2 + b"\x00" * 504 + names).ljust(8 * 1024, b"\xff")


def _random(size: int, seed: int) -> Callable[[], bytes]:
    return lambda: random.Random(seed).randbytes(size)  # noqa: S311 - test data


def _docx_renamed() -> bytes:
    return zip_bytes({
        "[Content_Types].xml": CONTENT_TYPES.replace("spreadsheetml.sheet", "wordprocessingml"),
        "_rels/.rels": ROOT_RELS.replace("xl/workbook.xml", "word/document.xml"),
        "word/document.xml": f"{_XML}<w:document xmlns:w=\"x\"/>",
    })  # fmt: skip


def _xlsm() -> bytes:
    types = CONTENT_TYPES.replace(
        "spreadsheetml.sheet.main+xml", "ms-excel.sheet.macroEnabled.main+xml"
    ).replace(
        "</Types>",
        '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
    )
    rels = workbook_rels().replace(
        "</Relationships>",
        '<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/relationships/'
        'vbaProject" Target="vbaProject.bin"/></Relationships>',
    )
    parts = workbook_parts()
    parts.update({
        "[Content_Types].xml": types,
        "xl/_rels/workbook.xml.rels": rels,
        "xl/vbaProject.bin": _ole2("VBA", "Module1") + b'Sub Auto_Open()\nShell "calc"',
    })  # fmt: skip
    return zip_bytes(parts)


def _no_sheets() -> bytes:
    return xlsx(xl_workbook_xml=WORKBOOK.replace(
        '<sheet name="Sheet1" sheetId="1" r:id="rId1"/>', ""
    ))  # fmt: skip


def _broken_relationship() -> bytes:
    return xlsx(xl_workbook_xml=WORKBOOK.replace('r:id="rId1"', 'r:id="rId42"'))


def _escaping_sheet_path() -> bytes:
    return xlsx(xl__rels_workbook_xml_rels=workbook_rels("../../etc/passwd"))


def _absolute_sheet_path() -> bytes:
    return xlsx(xl__rels_workbook_xml_rels=workbook_rels("/etc/passwd"))


def _shared_index(index: str) -> Callable[[], bytes]:
    def make() -> bytes:
        rows = [HEADER, [Cell(index, kind="s"), "13800138000"]]
        sheet, __ = sheet_parts(rows)
        __, shared = sheet_parts(REGISTER)  # three headings and six values: index 0-8
        return xlsx(rows, xl_worksheets_sheet1_xml=sheet, xl_sharedStrings_xml=shared)

    return make


def _inline() -> bytes:
    return xlsx([[Inline(text) for text in row] for row in REGISTER])


def _formulas_cached() -> bytes:
    """Every cell a formula with its saved result, as Excel saves one."""
    rows = [[Cell(text, kind="str", formula=f'"{text}"') for text in row] for row in REGISTER]
    return xlsx(rows)


def _formulas_uncached() -> bytes:
    """Every data cell a formula with no saved result, as a program writes one."""
    rows = [HEADER, *([Cell(formula=f'CONCAT("{v}")') for v in row] for row in ROWS)]
    return xlsx(rows)


def _dde() -> bytes:
    """DDE and HYPERLINK formulas, with and without saved results."""
    rows = [
        ["姓名", "手机", "邮箱", "备注"],
        ["张三", "13800138000",
         Cell("zhang@example.com", kind="str",
              formula='HYPERLINK("mailto:zhang@example.com","zhang@example.com")'),
         Cell("0", kind="str", formula="cmd|' /C calc'!A0")],
        ["李四", "13900139000", "li@example.com", Cell(formula="cmd|' /C calc'!A0")],
    ]  # fmt: skip
    return xlsx(rows)


def _injection_rows() -> list[list[str]]:
    return [
        ["姓名", "手机", "公司", "备注"],
        ["=1+1", "13800138000", "@SUM(A1:A9)", '=HYPERLINK("http://evil.example","x")'],
        ["+王五", "13900139000", "-2+3", "=cmd|' /C calc'!A0"],
    ]


def _injection_csv() -> bytes:
    return "\n".join(",".join(f'"{c.replace(chr(34), chr(34) * 2)}"' for c in row)
                     for row in _injection_rows()).encode()  # fmt: skip


def _injection_xlsx() -> bytes:
    return xlsx(_injection_rows())


def _csv(text: str, encoding: str, *, newline: str = "\n", bom: bytes = b"") -> Callable[[], bytes]:
    return lambda: bom + text.replace("\n", newline).encode(encoding)


_CSV = "\n".join(",".join(row) for row in REGISTER) + "\n"
_CSV_RARE = "姓名,手机,公司\n张䶮,13800138000,𠀾公司\n李四,13900139000,乙公司\n"  # outside GBK
_CSV_BIG5 = "姓名,手機,公司\n張三,13800138000,甲公司\n李四,13900139000,乙公司\n"
_CSV_LATIN = "Name,Phone,Company\nZoë,13800138000,Müller GmbH\nJosé,13900139000,Café Noël\n"


def _invalid_utf8() -> bytes:
    return _CSV.encode().replace("甲公司".encode(), b"\xff\xfe\xfd" + "甲公司".encode())


def _nul_csv() -> bytes:
    return _CSV.encode().replace("甲公司".encode(), "甲\x00公司".encode())


def _nul_xlsx() -> bytes:
    rows = [HEADER, ["张_x0000_三", "13800138000", Inline("甲_x0000_公司")], ROWS[1]]
    return xlsx(rows)


def _ten_megabytes() -> str:
    """10 MB of text that packs about two to one, as real text does (not a zip bomb)."""
    return random.Random(3).randbytes(5 * MB).hex()  # noqa: S311 - test data


def _huge_cell_xlsx() -> bytes:
    rows = [["姓名", "手机", "备注"], ["张三", "13800138000", _ten_megabytes()],
            ["李四", "13900139000"]]  # fmt: skip
    return xlsx(rows)


def _huge_cell_csv() -> bytes:
    return f"姓名,手机,备注\n张三,13800138000,{_ten_megabytes()}\n李四,13900139000\n".encode()


def _absurd_dates() -> bytes:
    rows = [
        ["姓名", "手机", "生日"],
        ["张三", "13800138000", Cell("1e308", style=1)],
        ["李四", "13900139000", Cell("-5", style=1)],
        ["王五", "13700137000", Cell("NaN", style=1)],
    ]
    return xlsx(rows)


def _huge_numbers() -> bytes:
    rows = [
        ["姓名", "手机", "备注"],
        ["张三", Cell("1e400"), Cell("1e400")],
        ["李四", "13900139000", Cell("-Infinity")],
    ]
    return xlsx(rows)


def _bad_attributes() -> bytes:
    sheet, __ = sheet_parts(REGISTER)
    return xlsx(xl_worksheets_sheet1_xml=sheet.replace('r="2"', 'r="two"', 1))


def _cell_errors() -> bytes:
    rows = [HEADER, ["张三", Cell("#N/A", kind="e", formula="VLOOKUP(1,A:A,2)"), "甲公司"], ROWS[1]]
    return xlsx(rows)


_LISTED: list[str | BadFile] = [  # a family's name, then its cases
    "zip",
    BadFile("zip-bomb-ratio", "bomb.xlsx", _bomb_ratio, UPLOAD, ZIP_BOMB,
            why="one part unpacks 1,000 to 1"),
    BadFile("zip-bomb-total", "bomb.xlsx", _bomb_total, UPLOAD, ZIP_BOMB,
            why="the directory declares 600 MB unpacked"),
    BadFile("zip-bomb-entries", "parts.xlsx", _bomb_entries, UPLOAD,
            "parts, more than any register needs"),
    BadFile("zip-nested-bomb", "nested.xlsx", _nested_zip, IMPORTED, customers=2,
            counts={"created": 2}, why="an embedded zip is never opened"),
    BadFile("zip-of-a-zip", "zipped.xlsx", _zip_of_a_zip, READ, NEITHER),
    BadFile("zip-size-lies", "lies.xlsx", _size_lies_small, READ, DAMAGED,
            why="the directory under-states the sheet's size"),
    BadFile("zip-slip-entry", "slip.xlsx", _zip_slip, IMPORTED, customers=2,
            counts={"created": 2}, why="an entry named ../../../tmp/…: nothing is extracted"),
    BadFile("zip-truncated", "cut.xlsx", lambda: xlsx()[:700], UPLOAD, DAMAGED),
    BadFile("pk-header-garbage", "pk.xlsx", lambda: b"PK\x03\x04" + b"\x01" * 300, UPLOAD,
            DAMAGED),
    "xml",
    BadFile("xxe-sheet", "xxe.xlsx", _xxe_sheet, READ, DOCTYPE),
    BadFile("billion-laughs-shared-strings", "laughs.xlsx", _laughs_shared, READ, DOCTYPE),
    BadFile("doctype-workbook", "doctype.xlsx", _doctype_workbook, READ, DOCTYPE),
    BadFile("doctype-relationships", "doctype.xlsx", _doctype_rels, READ, DOCTYPE),
    BadFile("billion-laughs-styles", "laughs.xlsx", _doctype_styles, READ, DOCTYPE),
    BadFile("doctype-content-types", "doctype.xlsx", _doctype_content_types, IMPORTED,
            customers=2, counts={"created": 2}, why="[Content_Types].xml is never parsed"),
    BadFile("malformed-sheet-xml", "broken.xlsx", _broken_xml, READ, DAMAGED),
    BadFile("non-numeric-row-number", "rownum.xlsx", _bad_attributes, READ, DAMAGED),
    "dimensions",
    BadFile("dimension-forged-XFD1048576", "dim.xlsx", _forged_dimension, IMPORTED,
            customers=2, counts={"created": 2}),
    BadFile("rows-at-1048576", "last.xlsx", _last_rows, IMPORTED, customers=2,
            counts={"created": 2}),
    BadFile("row-of-16384-cells", "wide-row.xlsx", _wide_row, IMPORTED, customers=2,
            counts={"created": 2}),
    BadFile("header-of-16384-columns-xlsx", "wide.xlsx", _wide_header_xlsx, READ,
            "columns; Kehu imports at most"),
    BadFile("csv-of-16384-columns", "wide.csv", _wide_csv, READ,
            "columns; Kehu imports at most"),
    BadFile("xlsx-of-1048576-rows", "million.xlsx", _million_rows_xlsx, READ, TOO_MANY_ROWS),
    BadFile("csv-of-1048576-rows", "million.csv", _million_rows_csv, READ, TOO_MANY_ROWS),
    "types",  # other files renamed, old and protected Excel files
    BadFile("png-renamed", "photo.xlsx", lambda: _PNG + b"\x00" * 200, UPLOAD, NEITHER),
    BadFile("jpeg-renamed", "photo.xlsx", lambda: _JPEG + b"\x00" * 200, UPLOAD, NEITHER),
    BadFile("pdf-renamed", "scan.xlsx", lambda: _PDF, UPLOAD, "This is a PDF, not a spreadsheet"),
    BadFile("empty-xlsx", "empty.xlsx", lambda: b"", UPLOAD, EMPTY_UPLOAD),
    BadFile("random-bytes-xlsx", "noise.xlsx", _random(64 * 1024, 1), UPLOAD, NEITHER),
    BadFile("random-bytes-csv", "noise.csv", _random(64 * 1024, 2), READ,
            "binary data, so it is not a CSV file"),
    BadFile("docx-renamed", "letter.xlsx", _docx_renamed, READ, NEITHER),
    BadFile("xls-biff", "old.xls", lambda: _ole2("Workbook", "SummaryInformation"), UPLOAD, XLS),
    BadFile("xls-biff-renamed", "old.xlsx", lambda: _ole2("Workbook"), UPLOAD, XLS),
    BadFile("encrypted-xlsx", "secret.xlsx",
            lambda: _ole2("EncryptionInfo", "EncryptedPackage"), UPLOAD, PASSWORD),
    BadFile("html-as-xls", "web.xls", lambda: b"<html><table><tr><td>x</td></tr></table></html>",
            UPLOAD, NEITHER),
    "types",  # macros: the values are imported, the macros never run (nothing reads them)
    BadFile("xlsm-with-macros", "macros.xlsm", _xlsm, IMPORTED, customers=2,
            counts={"created": 2}),
    "structure",
    BadFile("no-sheets", "nosheet.xlsx", _no_sheets, READ, NO_SHEET),
    BadFile("missing-workbook-xml", "noworkbook.xlsx", lambda: xlsx(xl_workbook_xml=None), READ,
            NEITHER),
    BadFile("broken-relationship", "rel.xlsx", _broken_relationship, READ, NO_SHEET),
    BadFile("sheet-path-escapes-zip", "escape.xlsx", _escaping_sheet_path, READ, NO_SHEET),
    BadFile("sheet-path-absolute", "escape.xlsx", _absolute_sheet_path, READ, NO_SHEET),
    BadFile("shared-string-out-of-range", "sst.xlsx", _shared_index("99"), READ, DAMAGED),
    BadFile("shared-string-negative", "sst.xlsx", _shared_index("-1"), READ, DAMAGED),
    BadFile("shared-string-not-a-number", "sst.xlsx", _shared_index("x"), READ, DAMAGED),
    BadFile("inline-strings", "inline.xlsx", _inline, IMPORTED, customers=2,
            counts={"created": 2}),
    "formulas",
    BadFile("formulas-with-results", "formulas.xlsx", _formulas_cached, IMPORTED, customers=2,
            counts={"created": 2}),
    BadFile("formulas-without-results", "formulas.xlsx", _formulas_uncached, IMPORTED,
            counts={"rejected": 2}, reason="a formula without a saved result"),
    BadFile("dde-and-hyperlink-formulas", "dde.xlsx", _dde, IMPORTED, customers=2,
            counts={"created": 1, "created_warned": 1}, reason="Kehu never runs formulas"),
    BadFile("cell-error-values", "errors.xlsx", _cell_errors, IMPORTED, customers=2,
            counts={"created": 2}, why="#N/A reads as no value"),
    BadFile("csv-injection-csv", "inject.csv", _injection_csv, IMPORTED, customers=2,
            counts={"created": 2}),
    BadFile("csv-injection-xlsx", "inject.xlsx", _injection_xlsx, IMPORTED, customers=2,
            counts={"created": 2}),
    "encodings",
    BadFile("csv-gbk", "gbk.csv", _csv(_CSV, "gbk"), IMPORTED, customers=2,
            counts={"created": 2}),
    BadFile("csv-gb18030", "gb18030.csv", _csv(_CSV_RARE, "gb18030"), IMPORTED, customers=2,
            counts={"created": 2}),
    BadFile("csv-utf16-bom", "utf16.csv", _csv(_CSV, "utf-16"), IMPORTED, customers=2,
            counts={"created": 2}),
    BadFile("csv-utf16le-no-bom", "utf16.csv", _csv(_CSV, "utf-16-le"), IMPORTED, customers=2,
            counts={"created": 2}),
    BadFile("csv-utf16be-no-bom", "utf16.csv", _csv(_CSV, "utf-16-be"), IMPORTED, customers=2,
            counts={"created": 2}),
    BadFile("tsv-utf16-excel-unicode-text", "unicode.txt",
            _csv(_CSV.replace(",", "\t"), "utf-16", newline="\r\n"), IMPORTED, customers=2,
            counts={"created": 2}),
    BadFile("csv-utf8-bom", "bom.csv", _csv(_CSV, "utf-8", bom=codecs.BOM_UTF8), IMPORTED,
            customers=2, counts={"created": 2}),
    BadFile("csv-big5", "big5.csv", _csv(_CSV_BIG5, "big5"), IMPORTED, customers=2,
            counts={"created": 2}),
    BadFile("csv-latin1", "latin1.csv", _csv(_CSV_LATIN, "latin-1"), READ, ENCODING),
    BadFile("csv-invalid-utf8", "bad.csv", _invalid_utf8, READ, ENCODING),
    BadFile("csv-embedded-nul", "nul.csv", _nul_csv, IMPORTED, customers=2,
            counts={"created": 2}),
    BadFile("xlsx-cell-nul", "nul.xlsx", _nul_xlsx, IMPORTED, customers=2,
            counts={"created": 2}),
    "shapes",  # sizes and shapes
    BadFile("xlsx-10mb-cell", "huge.xlsx", _huge_cell_xlsx, IMPORTED, customers=2,
            counts={"created": 1, "created_warned": 1}, reason="32,767"),
    BadFile("csv-10mb-cell", "huge.csv", _huge_cell_csv, READ, "longer than 32,767 characters"),
    BadFile("csv-crlf", "crlf.csv", _csv(_CSV, "utf-8", newline="\r\n"), IMPORTED, customers=2,
            counts={"created": 2}),
    BadFile("csv-cr-only", "cr.csv", _csv(_CSV, "utf-8", newline="\r"), IMPORTED, customers=2,
            counts={"created": 2}),
    BadFile("csv-unbalanced-quote", "quote.csv",
            lambda: '姓名,手机,公司\n张三,13800138000,"甲公司\n李四,13900139000,乙公司\n'.encode(),
            READ, 'opens a quote (") that is never closed'),
    BadFile("csv-quote-storm", "quotes.csv", lambda: ('"' * 60_000 + "\n" + _CSV).encode(),
            IMPORTED, customers=2, counts={"created": 2}, why="linear time, no backtracking"),
    BadFile("csv-header-only", "header.csv", lambda: "姓名,手机,公司\n".encode(), READ,
            "no rows under them"),
    BadFile("csv-blank", "blank.csv", lambda: b"", UPLOAD, EMPTY_UPLOAD),
    BadFile("csv-whitespace-only", "blank.csv", lambda: b" \r\n\r\n   \n", READ, EMPTY_SHEET),
    BadFile("csv-blank-rows-only", "blank.csv", lambda: b",,,\n,,,\n,,,\n", READ, EMPTY_SHEET),
    BadFile("csv-duplicate-headers", "dupes.csv",
            lambda: "姓名,姓名,手机\n张三,张老三,13800138000\n李四,,13900139000\n".encode(),
            IMPORTED, customers=2, counts={"created": 2}),
    BadFile("absurd-date-serials", "dates.xlsx", _absurd_dates, IMPORTED, customers=3,
            counts={"created_warned": 3}, reason="is not a date"),
    BadFile("numbers-past-double", "numbers.xlsx", _huge_numbers, IMPORTED, customers=2,
            counts={"created": 1, "created_warned": 1}, reason="is not a phone number"),
]  # fmt: skip

CASES: list[BadFile] = []
for _item in _LISTED:
    if isinstance(_item, str):
        _family = _item
    else:
        CASES.append(replace(_item, family=_family))
FAMILIES = sorted({case.family for case in CASES})
BY_NAME = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "case names are unique"
