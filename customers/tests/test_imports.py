"""Importing a messy, hand-kept register: every row accounted for, values cleaned."""

from __future__ import annotations

import datetime
import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl.styles import numbers

from crm.models import AuditAction, AuditEvent
from crm.sheets.reader import sheet_open
from crm.sheets.writer import xlsx_bytes
from customers.imports import Options, customers_import, layout_detect
from customers.models import Customer, CustomerPhone
from customers.quality import quality_refresh

pytestmark = pytest.mark.django_db


def messy_register() -> bytes:
    """A register as sales teams keep them: a title, merged group headings, mixed
    phone formats, full-width digits, duplicates, blank rows, formulas and dates."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "客户"
    ws["A1"] = "2024年华东区客户管理簿"
    ws.merge_cells("A1:H1")
    ws["A2"] = "客户信息"
    ws.merge_cells("A2:C2")
    ws["D2"] = "联系方式"
    ws.merge_cells("D2:E2")
    ws.append(["姓名", "性别", "生日", "手机号", "E-mail", "公司", "来源", "微信号"])
    rows = [
        # 4: a clean row, a real Excel date
        ["张伟", "男", datetime.date(1985, 6, 1), "138 0013 8000", "zhang.wei@example.com",
         "云帆贸易", "展会", "zw1985"],
        # 5: full-width digits, text date with 年月日, stray spaces
        ["  李娜 ", "女", "1990年3月5日", "１３９１２３４５６７８", " LiNa@Example.COM ",
         "", "网站", ""],
        # 6: blank
        [None] * 8,
        # 7: the same person as row 4 (same phone, other format): merged, fills the source
        ["张伟", None, "1985/6/1", "+86-138-0013-8000", None, None, None, "zw-work"],
        # 8: a bad phone: rejected with the reason
        ["王芳", "女", "1988-02-30", "12345", None, None, None, None],
        # 9: a formula without a saved value: rejected, never evaluated
        ["赵敏", None, None, "=CONCAT(\"138\",\"00001111\")", None, None, None, None],
        # 10: a formula whose cached value openpyxl cannot write is the same case;
        # a plain text date with slashes and a landline
        ["孙丽", "Female", "2024/3/5", "010-8888 8888", None, None, "Referral", None],
        # 11, 12: blank rows, then data again
        [None] * 8,
        [None] * 8,
        ["周杰", "男", None, "13700001111", None, None, None, None],
    ]  # fmt: skip
    for row in rows:
        ws.append(row)
    ws["C4"].number_format = numbers.FORMAT_DATE_YYYYMMDD2
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def run(actor, data: bytes, name="register.xlsx", **kwargs):
    with translation.override("en"):
        sheet = sheet_open(data, name=name)
        layout = layout_detect(sheet)
        kwargs.setdefault("source", name)
        return layout, customers_import(actor=actor, sheet=sheet, layout=layout, **kwargs)


def test_header_found_under_title_and_merged_group_headings(steward):
    layout = layout_detect(sheet_open(messy_register(), name="r.xlsx"))
    assert layout.header_rows == [2, 3]  # the group headings belong to the header
    assert layout.mapping == [
        "name", "gender", "birth_date", "phones", "emails", "company", "source", "+notes",
    ]  # fmt: skip
    assert layout.columns[7] == "微信号"


def test_a_stage_column_is_recognised_and_not_imported(steward):
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "手机", "客户阶段"])
    wb.active.append(["阶段测试", "13800138123", "活跃"])
    buffer = io.BytesIO()
    wb.save(buffer)
    layout, result = run(steward, buffer.getvalue(), options=Options(owner=steward))
    assert layout.mapping == ["name", "phones", ""]  # ignored, not kept in the notes
    assert result.counts["created"] == 1
    customer = Customer.objects.get(name="阶段测试")
    assert (customer.stage, customer.notes) == ("lead", "")  # the purchases decide


def test_messy_register_imports_with_every_row_accounted_for(steward):
    _layout, result = run(steward, messy_register(), options=Options(owner=steward))
    assert result.counts == {
        "created": 4, "created_warned": 2, "updated": 0, "updated_warned": 0, "merged": 1,
        "rejected": 0, "skipped": 3,
    }  # fmt: skip
    assert result.rows == 10  # rows 4–13 of the sheet
    # A bad optional value keeps the customer: the value is dropped with a warning.
    warned = {r.row_number: {w.key: w.message for w in r.warnings} for r in result.warned}
    assert set(warned) == {8, 9}
    assert "12345" in warned[8]["phones"]
    assert "1988-02-30" in warned[8]["birth_date"]  # every problem of the row
    assert "formula" in warned[9]["phones"]
    wang = Customer.objects.get(name="王芳")
    assert (wang.gender, wang.birth_date, wang.phones.count()) == ("female", None, 0)
    # The original text is kept on the customer, with why it was left out.
    assert "12345" in wang.import_remarks and "1988-02-30" in wang.import_remarks
    assert "register.xlsx, row 8" in wang.import_remarks
    zhao = Customer.objects.get(name="赵敏")
    assert 'CONCAT("138","00001111")' in zhao.import_remarks and zhao.phones.count() == 0

    zhang = Customer.objects.get(name="张伟")
    assert zhang.birth_date == datetime.date(1985, 6, 1)
    assert zhang.source_id == "exhibition"
    assert [p.number for p in zhang.phones.all()] == ["+8613800138000"]
    assert [e.address for e in zhang.emails.all()] == ["zhang.wei@example.com"]
    # Unknown columns are kept as notes; the duplicate row's other value too.
    assert "微信号: zw1985" in zhang.notes
    assert "zw-work" in zhang.notes

    li = Customer.objects.get(name="李娜")
    assert li.birth_date == datetime.date(1990, 3, 5)
    assert [p.number for p in li.phones.all()] == ["+8613912345678"]
    assert [e.address for e in li.emails.all()] == ["lina@example.com"]
    assert li.source_id == "website"

    sun = Customer.objects.get(name="孙丽")
    assert sun.gender == "female" and sun.source_id == "referral"
    assert sun.birth_date == datetime.date(2024, 3, 5)
    assert [p.number for p in sun.phones.all()] == ["+861088888888"]
    assert sun.import_remarks == "" and zhang.import_remarks == ""
    # Searchable and scored like any customer made on the page.
    assert zhang.name_pinyin == "zhangwei" and "张" in zhang.search_grams
    assert zhang.quality > 0
    # Scored in Python on the way in, exactly as the SQL rules score a saved customer.
    assert quality_refresh() == 0
    assert AuditEvent.objects.filter(action=AuditAction.CREATE).count() == 6
    assert AuditEvent.objects.filter(action=AuditAction.IMPORT).count() == 1


def test_matching_an_existing_customer_updates_it_and_fills_gaps(steward, customer_make, rep):
    existing = customer_make(rep, name="张伟", phones="13800138000", company="")
    _layout, result = run(steward, messy_register(), options=Options(owner=steward))
    assert result.counts["updated"] == 1 and result.counts["created"] == 3
    existing.refresh_from_db()
    assert existing.company == "云帆贸易"  # filled: it was empty
    assert existing.owner == rep  # imports never move customers between owners
    assert existing.version == 2
    assert Customer.objects.filter(name="张伟").count() == 1


def test_a_rep_cannot_update_a_colleagues_customer_by_import(rep, customer_make, other_rep):
    customer_make(other_rep, name="张伟", phones="13800138000")
    _layout, result = run(rep, messy_register())
    reasons = [r.reason for r in result.rejected]
    assert any("not yours to change" in reason for reason in reasons)
    assert Customer.objects.filter(owner=rep).count() == 5


def test_dry_run_writes_nothing_and_counts_the_same(steward):
    before = AuditEvent.objects.count()
    _layout, dry = run(steward, messy_register(), dry_run=True)
    assert not Customer.objects.exists()
    assert AuditEvent.objects.count() == before
    _layout, real = run(steward, messy_register())
    assert dry.counts == real.counts


def _register_with_a_nameless_row() -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(messy_register()))
    wb.active.append([None, "男", None, "13911112222", None, "无名公司", None, None])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_rejected_and_warned_workbooks_round_trip(admin_user, tmp_path):
    path = tmp_path / "register.xlsx"
    path.write_bytes(_register_with_a_nameless_row())
    out = io.StringIO()
    call_command("import_customers", str(path), "--lang", "en", stdout=out)
    assert "4 created, 2 created with warnings" in out.getvalue()
    assert "1 rejected" in out.getvalue()
    # The rejected row: only a row that cannot be a customer (no name).
    rows = list(openpyxl.load_workbook(tmp_path / "register.rejected.xlsx").active.values)
    assert rows[0][-1] == "Reason rejected" and "name" in rows[1][-1]
    assert rows[1][3] == "13911112222"
    # The warned rows: original cells, the customer's number, a column per field warned.
    warned = tmp_path / "register.warnings.xlsx"
    rows = list(openpyxl.load_workbook(warned).active.values)
    assert rows[0][8:] == ("Customer number", "⚠ Birth date", "⚠ Phone")
    assert [row[0] for row in rows[1:]] == ["王芳", "赵敏"]
    wang = Customer.objects.get(name="王芳")
    assert rows[1][8] == wang.number and "1988-02-30" in rows[1][9] and "12345" in rows[1][10]
    # Fix the rows in the warnings workbook and import it again: the customers are
    # updated by their number, the warning columns left out.
    wb = openpyxl.load_workbook(warned)
    ws = wb.active
    ws["D2"] = "13512345678"
    ws["C2"] = "1988-02-28"
    ws["D3"] = "13600001111"
    fixed = tmp_path / "fixed.xlsx"
    wb.save(fixed)
    out = io.StringIO()
    call_command("import_customers", str(fixed), "--lang", "en", stdout=out)
    assert "2 updated, 0 updated with warnings" in out.getvalue(), out.getvalue()
    wang.refresh_from_db()
    assert wang.birth_date == datetime.date(1988, 2, 28)
    assert [p.number for p in wang.phones.all()] == ["+8613512345678"]
    assert Customer.objects.filter(name="王芳").count() == 1
    assert not Customer.objects.filter(notes__contains="⚠").exists()


def test_customer_number_column_is_kept_and_the_sequence_moves_past_it(steward, customer_make):
    data = xlsx_bytes([["客户编号", "姓名", "手机"], ["KH90000001", "钱七", "13511112222"]])
    _layout, result = run(steward, data)
    assert result.counts["created"] == 1
    assert Customer.objects.get(name="钱七").number == "KH90000001"
    assert customer_make(None, name="新客户").number == "KH90000002"


def test_csv_in_gbk_with_excel_serial_dates_and_a_second_header_row(steward):
    text = (
        "客户编号,姓名,性别,手机\n"
        "Customer number,Name,Gender,Phone\n"
        ",吴刚,男,13811112222\n"
        "\n"
        ",郑爽,女,13822223333\n"
    )
    _layout, result = run(steward, text.encode("gbk"), name="register.csv")
    assert result.counts == {
        "created": 2, "created_warned": 0, "updated": 0, "updated_warned": 0, "merged": 0,
        "rejected": 0, "skipped": 1,
    }  # fmt: skip
    assert CustomerPhone.objects.count() == 2


def test_command_refuses_an_unreadable_file_with_a_clear_message(admin_user, tmp_path):
    path = tmp_path / "scan.xlsx"
    path.write_bytes(b"%PDF-1.7 not a sheet")
    with pytest.raises(CommandError, match="PDF"):
        call_command("import_customers", str(path), "--lang", "en", stdout=io.StringIO())


def test_a_data_row_that_looks_like_headings_stays_data(steward):
    data = xlsx_bytes([["姓名", "客户类型"], ["上海云帆", "公司"], ["李雷", "个人"]])
    layout, result = run(steward, data)
    assert layout.header_rows == [1] and layout.mapping == ["name", "kind"]
    assert result.counts["created"] == 2
    assert Customer.objects.get(name="上海云帆").kind == "company"


def test_a_row_matching_a_new_row_and_an_existing_customer_is_rejected(steward, customer_make):
    customer_make(None, name="旧客户", phones="13900001111")
    data = xlsx_bytes(
        [["姓名", "手机"], ["新客户", "13800138000"], ["新客户", "13800138000; 13900001111"]]
    )
    _layout, result = run(steward, data)
    assert result.counts["created"] == 1 and result.counts["rejected"] == 1
    assert "row 2" in result.rejected[0].reason


def test_kept_numbers_and_fresh_numbers_never_collide(steward, customer_make):
    customer_make(None, name="甲")  # KH00000001
    rows = [["客户编号", "姓名"], ["KH00000004", "乙"]] + [["", f"丙{i}"] for i in range(5)]
    _layout, result = run(steward, xlsx_bytes(rows))
    assert result.counts["created"] == 6
    numbers = set(Customer.objects.values_list("number", flat=True))
    assert len(numbers) == 7 and "KH00000004" in numbers


def test_a_contacts_phone_does_not_match_a_person_row(steward, customer_make):
    from customers.services.contacts import contact_save

    company = customer_make(None, kind="company", name="云帆贸易")
    contact_save(
        actor=steward, customer_id=company.pk, data={"name": "王秘书", "phones": "13800138000"}
    )
    _layout, result = run(
        steward, xlsx_bytes([["姓名", "手机", "性别"], ["王秘书", "13800138000", "女"]])
    )
    assert result.counts["created"] == 1
    company.refresh_from_db()
    assert company.gender == ""


def test_an_export_imports_back_without_changing_anything(admin_user, customer_make, rep, tmp_path):
    customer = customer_make(
        rep, name="张三", phones="+86 138 0013 8000", emails="zs@example.com", notes="老客户",
        street="世纪大道1号", tags="VIP",
    )  # fmt: skip
    for name in ("all.xlsx", "all.csv"):
        call_command("export_customers", str(tmp_path / name), "--lang", "en", stdout=io.StringIO())
        out = io.StringIO()
        call_command("import_customers", str(tmp_path / name), "--lang", "en", stdout=out)
        assert "1 updated" in out.getvalue() and "0 rejected" in out.getvalue(), out.getvalue()
        customer.refresh_from_db()
        assert customer.notes == "老客户" and customer.version == 1


def test_masked_values_from_a_masked_export_are_left_out_with_a_warning(steward):
    data = xlsx_bytes([["姓名", "电话", "邮箱"], ["张三", "138****8000", "z***@example.com"]])
    _layout, result = run(steward, data)
    assert result.counts["created_warned"] == 1
    messages = {w.key: w.message for w in result.warned[0].warnings}
    assert "masked" in messages["phones"] and "masked" in messages["emails"]
    zhang = Customer.objects.get(name="张三")
    assert zhang.phones.count() == 0 and zhang.emails.count() == 0
    assert "138****8000" in zhang.import_remarks and "z***@example.com" in zhang.import_remarks


def test_huge_numbers_and_missing_shared_strings_are_handled(steward):
    from decimal import Decimal

    from crm.sheets.sheet import SheetError

    data = xlsx_bytes([["姓名", "备注"], ["张三", Decimal("1.2345678901234568E+29")]])
    _layout, result = run(steward, data)
    assert result.counts["created"] == 1
    import re
    import zipfile

    # A cell that points at shared string 99 of a workbook that has none.
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["姓名"], ["张三"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(
                    rb'<c r="A2" t="inlineStr">.*?</c>', b'<c r="A2" t="s"><v>99</v></c>', content
                )
            target.writestr(info, content)
    with pytest.raises(SheetError):
        run(steward, out.getvalue())
