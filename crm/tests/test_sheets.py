"""Every kind of bad upload is refused with one clear message, before any harm."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import openpyxl
import openpyxl.xml
import pytest
from django.utils import translation

from crm.sheets.reader import sheet_open
from crm.sheets.sheet import SheetError
from crm.sheets.values import TOO_LONG
from crm.sheets.writer import csv_stream, xlsx_bytes


def _xlsx(rows) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _refused(data: bytes, name: str = "upload.xlsx") -> SheetError:
    with translation.override("en"), pytest.raises(SheetError) as caught:
        sheet = sheet_open(data, name=name)
        list(sheet.rows())
    return caught.value


def _replace_part(data: bytes, part: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == part else source.read(info))
    return out.getvalue()


def test_defusedxml_is_active_for_openpyxl():
    assert openpyxl.xml.DEFUSEDXML is True


def test_old_xls_pdf_and_unknown_files_are_named_for_what_they_are():
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    assert _refused(ole2).code == "xls"
    assert ".xlsx" in _refused(ole2).message
    assert _refused(b"%PDF-1.7\n...").code == "pdf"
    assert _refused(b"\x89PNG\r\n", name="photo.xlsx").code == "unknown_type"
    assert _refused(b"", name="empty.csv").code == "empty_file"


def test_password_protected_workbook_is_recognised():
    encrypted = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    encrypted += "EncryptionInfo".encode("utf-16-le") + b"\x00" * 100
    error = _refused(encrypted)
    assert error.code == "encrypted" and "password" in error.message


def test_corrupt_zip_is_refused():
    data = _xlsx([["姓名"], ["张三"]])
    assert _refused(data[: len(data) // 2]).code == "corrupt"
    assert _refused(b"PK\x03\x04garbage").code == "corrupt"


def test_zip_bomb_is_refused_from_the_directory(settings):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("[Content_Types].xml", "<Types/>")
        with bomb.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            block = b"\x00" * (1024 * 1024)
            for _ in range(1024):  # 1 GB of zeros, about 1 MB packed
                part.write(block)
    data = out.getvalue()
    assert len(data) < 2 * 1024 * 1024
    error = _refused(data)
    assert error.code == "zip_bomb"


def test_too_many_zip_entries_are_refused(settings):
    settings.IMPORT_MAX_ZIP_ENTRIES = 10
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as many:
        for index in range(20):
            many.writestr(f"part{index}.xml", "<a/>")
    assert _refused(out.getvalue()).code == "zip_entries"


@pytest.mark.parametrize(
    "payload",
    [
        # billion laughs
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row>'
        b"</sheetData></worksheet>",
        # external entity
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c></row>'
        b"</sheetData></worksheet>",
    ],
    ids=["billion-laughs", "external-entity"],
)
def test_xml_entities_are_refused(payload):
    data = _replace_part(_xlsx([["姓名"]]), "xl/worksheets/sheet1.xml", payload)
    assert _refused(data).code == "xml_doctype"


def test_xml_entities_in_the_workbook_part_are_refused_too():
    payload = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
    )
    data = _replace_part(_xlsx([["姓名"]]), "xl/workbook.xml", payload)
    assert _refused(data).code == "xml_doctype"


def test_forged_dimension_is_ignored_and_only_wanted_columns_are_read():
    data = _xlsx([["姓名", "手机"], ["张三", "13800138000"]])
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    forged = re.sub(rb'<dimension ref="A1:B2"\s*/>', b'<dimension ref="A1:XFD1048576"/>', sheet_xml)
    assert forged != sheet_xml
    sheet = sheet_open(_replace_part(data, "xl/worksheets/sheet1.xml", forged), name="f.xlsx")
    assert list(sheet.rows(max_col=1)) == [(1, {1: "姓名"}), (2, {1: "张三"})]


def test_a_50_mb_cell_is_capped_not_loaded_into_the_import(settings):
    settings.IMPORT_MAX_ZIP_RATIO = 100_000  # the cell packs small; here the cap is tested
    data = _xlsx([["姓名"], ["张三"]])
    big = b"x" * (50 * 1024 * 1024)
    sheet_xml = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
        b'\xe5\xa7\x93\xe5\x90\x8d</t></is></c></row><row r="2"><c r="A2" t="inlineStr">'
        b"<is><t>" + big + b"</t></is></c></row></sheetData></worksheet>"
    )
    sheet = sheet_open(_replace_part(data, "xl/worksheets/sheet1.xml", sheet_xml), name="b.xlsx")
    rows = list(sheet.rows())
    assert rows[1] == (2, {1: TOO_LONG})


def test_file_over_the_size_cap_is_refused(settings):
    settings.IMPORT_MAX_BYTES = 1024
    error = _refused(b"a,b\n" * 1000, name="big.csv")
    assert error.code == "too_big" and "MB" in error.message


def test_sheet_over_the_row_cap_is_refused_early(settings):
    settings.IMPORT_MAX_ROWS = 50
    data = _xlsx([["姓名"]] + [[f"客户{i}"] for i in range(200)])
    error = _refused(data)
    assert error.code == "too_many_rows" and "50" in error.message


def test_csv_in_gbk_and_utf8_read_the_same_and_binary_is_refused():
    text = "姓名,手机\n张三,13800138000\n"
    expected = [(1, {1: "姓名", 2: "手机"}), (2, {1: "张三", 2: "13800138000"})]
    assert list(sheet_open(text.encode("gbk"), name="a.csv").rows()) == expected
    assert list(sheet_open(text.encode("utf-8-sig"), name="a.csv").rows()) == expected
    assert _refused(b"\x80\x81\xff" * 50, name="a.csv").code == "encoding"


def test_formula_text_stays_text_in_xlsx_and_csv_exports():
    rows = [["h"], ['=HYPERLINK("http://x")'], ["+86 138 0013 8000"], ["-1"], ["@SUM(A1)"]]
    wb = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(rows)))
    cells = [row[0] for row in wb.active.iter_rows(min_row=2)]
    assert [c.value for c in cells] == [r[0] for r in rows[1:]]
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)
    text = b"".join(csv_stream(rows)).decode("utf-8-sig")
    cells = [row[0] for row in csv.reader(io.StringIO(text))]
    assert cells[1:] == ["'" + row[0] for row in rows[1:]]


def test_csv_delimiters_are_guessed_from_the_first_rows():
    for delimiter in (",", ";", "\t", "|"):
        text = delimiter.join(["姓名", "手机", "备注"]) + "\n"
        text += delimiter.join(["张三", "13800138000", '"a, b; c"']) + "\n"
        rows = list(sheet_open(text.encode(), name="a.csv").rows())
        assert rows[1] == (2, {1: "张三", 2: "13800138000", 3: "a, b; c"}), delimiter


def test_guessing_the_delimiter_of_crafted_quotes_takes_no_time():
    import time

    from crm.sheets.csv_sheet import csv_delimiter

    # Python's csv.Sniffer backtracks on this: half a second for 8 KB, quadratic in
    # the size; the guess here reads each of the first rows once.
    sample = ', "x' * 16_000
    started = time.process_time()
    csv_delimiter(sample)
    assert time.process_time() - started < 1.0
    text = ("姓名,备注\n" + sample).encode()
    rows = list(sheet_open(text, name="crafted.csv").rows())
    assert rows[0] == (1, {1: "姓名", 2: "备注"})


def test_a_csv_cell_past_excels_limit_refuses_the_file_clearly():
    text = "姓名,备注\n张三," + "长" * 40_000 + "\n"
    error = _refused(text.encode(), name="big-cell.csv")
    assert error.code == "cell_too_long" and "32,767" in error.message and "2" in error.message


def test_shared_strings_past_memory_go_to_disk_and_read_the_same(monkeypatch):
    from crm.sheets import xlsx_parts as reader
    from crm.tests.rawxlsx import xlsx_parts

    rows = [["姓名", "备注"]] + [[f"客户{i}", "说明" * (i % 50) or None] for i in range(3000)]
    data = xlsx_parts(rows)
    expected = list(sheet_open(data, name="a.xlsx").rows())
    monkeypatch.setattr(reader, "SHARED_IN_MEMORY", 1000)
    sheet = sheet_open(data, name="a.xlsx")
    assert list(sheet.rows()) == expected
    assert sheet._shared._list is None  # spilled: a file and an index of offsets
