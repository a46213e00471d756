"""Workbooks written part by part, as Excel and WPS write them (shared strings, cell
styles, merged cells), for tests of what openpyxl does not write: openpyxl puts
text inline, Excel and WPS keep it in the shared-strings part."""

from __future__ import annotations

import datetime
import io
import random
import zipfile
from collections.abc import Iterable
from xml.sax.saxutils import escape

from crm.sheets.values import column_letters

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
EPOCH = datetime.date(1899, 12, 30)


def _cell(ref: str, value, strings: dict[str, int]) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):  # style 1: a date format
        return f'<c r="{ref}" s="1"><v>{(value - EPOCH).days}</v></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if isinstance(value, tuple):  # ("=FORMULA()", cached value or None)
        formula, cached = value
        cached_xml = "" if cached is None else f"<v>{escape(str(cached))}</v>"
        kind = ' t="str"' if isinstance(cached, str) else ""
        return f'<c r="{ref}"{kind}><f>{escape(formula.lstrip("="))}</f>{cached_xml}</c>'
    index = strings.setdefault(str(value), len(strings))
    return f'<c r="{ref}" t="s"><v>{index}</v></c>'


def xlsx_parts(
    rows: Iterable[list],
    *,
    merges: Iterable[str] = (),
    app: str = "Microsoft Excel",
    sheet_name: str = "Sheet1",
    wps: bool = False,
) -> bytes:
    """A workbook of one sheet: text in sharedStrings.xml, dates as day numbers with a
    date style, formulas as <f> with their cached value (or none), merged ranges.
    `wps`: as WPS 表格 saves one (its custom properties and cell-images part, dates
    in the built-in Chinese format 31, yyyy"年"m"月"d"日", with no format record)."""
    strings: dict[str, int] = {}
    body = io.StringIO()
    for number, row in enumerate(rows, start=1):
        cells = "".join(
            _cell(f"{column_letters(col)}{number}", value, strings)
            for col, value in enumerate(row, start=1)
        )
        body.write(f'<row r="{number}">{cells}</row>')
    merged = list(merges)
    merge_xml = (
        f'<mergeCells count="{len(merged)}">'
        + "".join(f'<mergeCell ref="{ref}"/>' for ref in merged)
        + "</mergeCells>"
        if merged
        else ""
    )
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN}" '
        f'xmlns:r="{RELS}"><sheetData>{body.getvalue()}</sheetData>{merge_xml}</worksheet>'
    )
    shared = "".join(
        f'<si><t xml:space="preserve">{escape(text)}</t></si>'
        for text, __ in sorted(strings.items(), key=lambda item: item[1])
    )
    return xlsx_zip(sheet, shared, len(strings), app=app, sheet_name=sheet_name, wps=wps)


def xlsx_zip(
    sheet: str | bytes,
    shared: str | bytes,
    count: int,
    *,
    app="",
    sheet_name="Sheet1",
    wps: bool = False,
):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.'
            'org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/></Types>',
        )
        target.writestr(
            "_rels/.rels",
            f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/relationships"><Relationship Id="rId1" Type="{RELS}/officeDocument" '
            f'Target="xl/workbook.xml"/></Relationships>',
        )
        target.writestr(
            "docProps/app.xml",
            f'<?xml version="1.0"?><Properties xmlns="http://schemas.openxmlformats.org/'
            f'officeDocument/2006/extended-properties"><Application>{app}</Application>'
            f"</Properties>",
        )
        target.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets><sheet '
            f'name="{escape(sheet_name)}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        target.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/relationships"><Relationship Id="rId1" Type="{RELS}/worksheet" '
            f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{RELS}/'
            f'sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" '
            f'Type="{RELS}/styles" Target="styles.xml"/></Relationships>',
        )
        date_format = (
            '<xf numFmtId="31" applyNumberFormat="1"/>'
            if wps
            else '<xf numFmtId="176" applyNumberFormat="1"/>'
        )
        target.writestr(
            "xl/styles.xml",
            f'<?xml version="1.0"?><styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt '
            f'numFmtId="176" formatCode="yyyy/m/d;@"/></numFmts><cellXfs count="2"><xf '
            f'numFmtId="0"/>{date_format}</cellXfs></styleSheet>',
        )
        if wps:
            target.writestr(
                "docProps/custom.xml",
                '<?xml version="1.0"?><Properties xmlns="http://schemas.openxmlformats.org/'
                'officeDocument/2006/custom-properties"><property name="KSOProductBuildVer" '
                'fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2"><vt:lpwstr xmlns:vt='
                '"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
                "2052-12.1.0.16120</vt:lpwstr></property></Properties>",
            )
            target.writestr(
                "xl/cellimages.xml",
                '<?xml version="1.0"?><etc:cellImages xmlns:etc="http://www.wps.cn/'
                'officeDocument/2017/etCustomData"/>',
            )
        target.writestr("xl/worksheets/sheet1.xml", sheet)
        if isinstance(shared, str):
            shared = (
                f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="{count}" '
                f'uniqueCount="{count}">{shared}</sst>'
            )
        target.writestr("xl/sharedStrings.xml", shared)
    return out.getvalue()


def xlsx_text_heavy(path, *, rows: list[list[str]], shared_bytes: int) -> None:
    """A workbook at `path` whose shared-strings part holds `shared_bytes` of distinct
    text (most of it referenced by no cell), written as a stream: what a hostile or
    careless file looks like to the reader. Deflate packs it about six to one."""
    strings = [text for row in rows for text in row]
    body = "".join(
        f'<row r="{number}">'
        + "".join(
            f'<c r="{column_letters(col)}{number}" t="s">'
            f"<v>{(number - 1) * len(row) + col - 1}</v></c>"
            for col in range(1, len(row) + 1)
        )
        + "</row>"
        for number, row in enumerate(rows, start=1)
    )
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>'
        f"{body}</sheetData></worksheet>"
    )
    filler = "这一段说明文字在每一条备注里重复出现以便压缩" * 3
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        skeleton = zipfile.ZipFile(io.BytesIO(xlsx_zip(sheet, "", 0)))
        for info in skeleton.infolist():
            if info.filename != "xl/sharedStrings.xml":
                target.writestr(info.filename, skeleton.read(info))
        with target.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'.encode())
            for text in strings:
                part.write(f"<si><t>{escape(text)}</t></si>".encode())
            written, number = 0, 0
            noise = random.Random(number)  # noqa: S311 - test data
            while written < shared_bytes:
                salt = noise.getrandbits(192).to_bytes(24, "big").hex()
                piece = f"<si><t>备注{number:09d}{salt}{filler}</t></si>".encode()
                part.write(piece)
                written += len(piece)
                number += 1
            part.write(b"</sst>")
