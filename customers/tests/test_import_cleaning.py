"""Forgiving imports: what hand-kept registers hold is understood, a bad
optional value is a warning with the original kept, and a row is refused only
when it cannot be a customer."""

from __future__ import annotations

import datetime
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone, translation

from crm.sheets.reader import sheet_open
from customers.imports import Options, customers_import, layout_detect
from customers.models import Customer, ImportRules

pytestmark = pytest.mark.django_db

HEADER = ["姓名", "性别", "出生日期", "手机", "邮箱", "来源", "负责人", "重点客户"]


def _xlsx(rows, header=HEADER) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _import(actor, data: bytes, *, language="zh-hans", name="r.xlsx", **options):
    with translation.override(language):
        sheet = sheet_open(data, name=name)
        layout = layout_detect(sheet)
        options.setdefault("owner", actor)
        return customers_import(
            actor=actor, sheet=sheet, layout=layout, options=Options(**options), source=name
        )


def _warnings(result, row: int) -> dict[str, str]:
    found = next(r for r in result.warned if r.row_number == row)
    return {w.key: w.message for w in found.warnings}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_words_are_understood_whatever_the_interface_language(steward, language):
    rows = [
        ["周先生", "男士", None, "13800000001", None, "朋友介绍", None, "重要"],
        ["吴女士", "女性", None, "13800000002", None, "老客户转介绍", None, "一般"],
        ["郑先生", "先生", None, "13800000003", None, "电话营销", None, "是"],
        ["王小姐", "F", None, "13800000004", None, "线下门店", None, None],
        ["冯先生", "male", None, "13800000005", None, "百度推广", None, "VIP"],
    ]
    result = _import(steward, _xlsx(rows), language=language)
    assert result.counts["created"] == 5 and not result.warned
    got = {
        c.name: (c.gender, c.source_id, c.is_key_account) for c in Customer.objects.order_by("pk")
    }
    assert got == {
        "周先生": ("male", "referral", True),
        "吴女士": ("female", "referral", False),
        "郑先生": ("male", "cold_call", True),
        "王小姐": ("female", "walk_in", False),
        "冯先生": ("male", "advertising", True),
    }


def test_placeholders_mean_empty_in_any_column(steward):
    rows = [
        ["钱七", "不详", "暂无", "无", "-", "待补充", "—", "N/A"],
        ["孙八", "空", "#N/A", "13800000011", "—", "不详", "无", "-"],
    ]
    result = _import(steward, _xlsx(rows))
    assert result.counts["created"] == 2 and not result.warned and not result.rejected
    qian = Customer.objects.get(name="钱七")
    assert (qian.gender, qian.birth_date, qian.phones.count(), qian.emails.count()) == (
        "", None, 0, 0,
    )  # fmt: skip
    assert qian.source_id == "import" and qian.owner == steward and qian.import_remarks == ""


def test_a_name_that_is_a_placeholder_rejects_the_row_and_says_why(steward):
    result = _import(steward, _xlsx([["-", "男", None, "13800000021", None, None, None, None]]))
    assert result.counts["rejected"] == 1
    assert "姓名" in result.rejected[0].reason


def test_phones_as_people_write_them(steward):
    rows = [
        ["甲", None, None, "13236205989 微信同号", None, None, None, None],
        ["乙", None, None, "152 5656 6993（微信同号）", None, None, None, None],
        ["丙", None, None, "136****6329", None, None, None, None],
        ["丁", None, None, "13800138000/12345", None, None, None, None],
        ["戊", None, None, "010-8888 8888 转 801\n13912345678（办）", None, None, None, None],
        ["己", None, None, "021-62345678 宅、13712345678；13612345678", None, None, None, None],
    ]
    result = _import(steward, _xlsx(rows))
    assert result.counts["created"] + result.counts["created_warned"] == 6

    def phones(name):
        customer = Customer.objects.get(name=name)
        return [(p.number, p.label, p.note, p.wechat) for p in customer.phones.all()]

    assert phones("甲") == [("+8613236205989", "mobile", "微信同号", True)]
    assert phones("乙") == [("+8615256566993", "mobile", "微信同号", True)]
    assert phones("丙") == []  # a masked number is not a number ...
    assert "打码" in _warnings(result, 4)["phones"]
    assert "136****6329" in Customer.objects.get(name="丙").import_remarks  # ... and is kept
    # One bad number among several drops that one only.
    assert phones("丁") == [("+8613800138000", "mobile", "", False)]
    assert "12345" in Customer.objects.get(name="丁").import_remarks
    assert phones("戊") == [
        ("+861088888888", "mobile", "转 801", False),
        ("+8613912345678", "work", "办", False),
    ]
    assert [p[0] for p in phones("己")] == ["+862162345678", "+8613712345678", "+8613612345678"]
    assert phones("己")[0][1:3] == ("home", "宅")  # the first is the primary


def test_hyperlinks_give_their_target_and_formulas_without_a_value_leave_a_warning(steward):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["甲", None, "=TODAY()", '=HYPERLINK("tel:13800138000","拨打")',
               '=HYPERLINK("mailto:jia@example.com","发邮件")', None, None, None])  # fmt: skip
    ws.append(["乙", None, None, None, "mailto:yi@example.com", None, None, None])
    buffer = io.BytesIO()
    wb.save(buffer)  # openpyxl saves formulas without a result, as scripts do
    result = _import(steward, buffer.getvalue())
    jia = Customer.objects.get(name="甲")
    assert [p.number for p in jia.phones.all()] == ["+8613800138000"]
    assert [e.address for e in jia.emails.all()] == ["jia@example.com"]
    assert jia.birth_date is None and "TODAY()" in _warnings(result, 2)["birth_date"]
    assert "=TODAY()" in jia.import_remarks
    assert [e.address for e in Customer.objects.get(name="乙").emails.all()] == ["yi@example.com"]


def test_birth_dates_ages_and_years(steward):
    this_year = timezone.localdate().year
    rows = [
        ["甲", None, "35", None, None, None, None, None],
        ["乙", None, "35岁", None, None, None, None, None],
        ["丙", None, "1985", None, None, None, None, None],
        ["丁", None, "2024.3.5", None, None, None, None, None],
        ["戊", None, "20240305", None, None, None, None, None],
        ["己", None, "2024年3月5日", None, None, None, None, None],
        ["庚", None, 43000, None, None, None, None, None],  # an Excel day number
        ["辛", None, datetime.date(1990, 3, 5), None, None, None, None, None],
        ["壬", None, "1990-13-45", None, None, None, None, None],
        ["癸", None, "2099-01-01", None, None, None, None, None],
    ]
    result = _import(steward, _xlsx(rows))
    got = {c.name: (c.birth_date, c.birth_year) for c in Customer.objects.all()}
    assert got["甲"] == got["乙"] == (None, this_year - 35)
    assert got["丙"] == (None, 1985)
    assert got["丁"] == got["戊"] == got["己"] == (datetime.date(2024, 3, 5), None)
    assert got["庚"] == (datetime.date(2017, 9, 22), None)
    assert got["辛"] == (datetime.date(1990, 3, 5), None)
    assert got["壬"] == got["癸"] == (None, None)
    assert "1990-13-45" in _warnings(result, 10)["birth_date"]
    assert str(this_year - 35) in _warnings(result, 2)["birth_date"]  # says what it made of it
    assert Customer.objects.get(name="甲").approximate_age == 35


def test_the_360_page_shows_an_approximate_birth_year_and_the_remarks(client, steward):
    _import(steward, _xlsx([["甲", None, "35岁", "136****6329", None, None, None, None]]))
    jia = Customer.objects.get(name="甲")
    client.force_login(steward)
    page = client.get(jia.get_absolute_url()).content.decode()
    assert f"约 {timezone.localdate().year - 35} 年（约 35 岁）" in page
    assert "136****6329" in page  # a steward sees the remarks ...


def test_the_remarks_are_hidden_like_the_contact_details(client, steward, rep, manager):
    _import(steward, _xlsx([["甲", None, None, "136****6329", None, None, None, None]]), owner=rep)
    jia = Customer.objects.get(name="甲")
    client.force_login(rep)  # the owner sees them
    assert "136****6329" in client.get(jia.get_absolute_url()).content.decode()
    client.force_login(manager)  # the manager sees the customer, masked
    page = client.get(jia.get_absolute_url()).content.decode()
    assert 'data-testid="import-remarks"' in page and "136****6329" not in page
    page = client.post(reverse("customers:reveal", args=[jia.pk]), HTTP_HX_REQUEST="true")
    page = page.content.decode()
    assert "136****6329" in page  # revealed (and logged) like the phones


def test_an_unknown_value_is_left_empty_with_the_original_kept(steward):
    rows = [["甲", "武装直升机", None, "13800000031", None, "抖音", None, "看情况"]]
    result = _import(steward, _xlsx(rows))
    assert result.counts["created_warned"] == 1
    warned = _warnings(result, 2)
    assert set(warned) == {"gender", "source", "is_key_account"}
    jia = Customer.objects.get(name="甲")
    assert (jia.gender, jia.source_id, jia.is_key_account) == ("", "import", False)
    for text in ("武装直升机", "抖音", "看情况"):
        assert text in jia.import_remarks


def test_an_owner_the_importer_may_not_name_keeps_the_customer_for_the_default(steward, rep):
    rows = [["甲", None, None, "13800000041", None, None, "不存在的人", None]]
    result = _import(steward, _xlsx(rows), owner=rep)
    assert result.counts["created_warned"] == 1 and "owner" in _warnings(result, 2)
    assert Customer.objects.get(name="甲").owner == rep


def test_the_companys_rule_can_require_a_phone_or_email(steward):
    rows = [["甲", None, None, "136****6329", None, None, None, None],
            ["乙", None, None, "13800000051", None, None, None, None]]  # fmt: skip
    assert _import(steward, _xlsx(rows)).counts["rejected"] == 0
    Customer.objects.all().delete()
    ImportRules.objects.update_or_create(pk=1, defaults={"require_contact": True})
    assert ImportRules.current().require_contact
    result = _import(steward, _xlsx(rows))
    assert result.counts["rejected"] == 1 and result.rejected[0].row_number == 2
    assert "打码" in result.rejected[0].reason  # what else was wrong goes with the reason


def test_the_remarks_are_cleared_on_the_edit_form_once_dealt_with(client, steward, rep):
    from kehu.tests.fixtures import edit_form_data

    _import(steward, _xlsx([["甲", None, None, "136****6329", None, None, None, None]]), owner=rep)
    jia = Customer.objects.get(name="甲")
    client.force_login(rep)
    form = client.get(reverse("customers:update", args=[jia.pk])).content.decode()
    assert "136****6329" in form
    data = edit_form_data(jia, import_remarks="", phones="136 1234 6329")
    assert client.post(reverse("customers:update", args=[jia.pk]), data).status_code == 302
    jia.refresh_from_db()
    assert jia.import_remarks == "" and jia.phones.get().number == "+8613612346329"


def test_a_phones_note_survives_an_edit_of_the_others(client, steward, rep):
    from kehu.tests.fixtures import edit_form_data

    cell = "13236205989 微信同号、010-8888 8888 转 801"
    _import(steward, _xlsx([["甲", None, None, cell, None, None, None, None]]), owner=rep)
    jia = Customer.objects.get(name="甲")
    client.force_login(rep)
    data = edit_form_data(jia, phones="132 3620 5989, 13912345678")
    assert client.post(reverse("customers:update", args=[jia.pk]), data).status_code == 302
    phones = [(p.number, p.note, p.wechat) for p in jia.phones.all()]
    assert phones == [("+8613236205989", "微信同号", True), ("+8613912345678", "", False)]
    page = client.get(jia.get_absolute_url()).content.decode()
    assert "微信同号" in page  # the badge on the 360 page


def test_merged_cells_section_labels_and_repeated_headers(steward):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2024 客户管理簿"])
    ws.merge_cells("A1:E1")
    ws.append(["公司", "姓名", "手机", "邮箱", "来源"])
    ws.append(["华东区"])  # 3: a section label across the table
    ws.merge_cells("A3:E3")
    ws.append(["上海云帆", "张伟", "13800000061", None, "展会"])  # 4-6: one company
    ws.append([None, "李娜", "13800000062", None, None])
    ws.append([None, "王芳", "13800000063", None, None])
    ws.merge_cells("A4:A6")
    ws.merge_cells("E4:E6")
    ws.append(["公司", "姓名", "手机", "邮箱", "来源"])  # 7: pasted from another sheet
    ws.append(["华南区"])  # 8
    ws.merge_cells("A8:E8")
    ws.append(["深圳星河", "赵敏", "13800000064", "发邮件", None])  # 9
    ws["D9"].hyperlink = "mailto:zhaomin@example.com"
    buffer = io.BytesIO()
    wb.save(buffer)
    result = _import(steward, buffer.getvalue())
    assert result.counts["created"] == 4 and not result.warned and not result.rejected
    assert (result.counts["skipped"], result.counts["skipped_section"]) == (3, 2)
    assert result.counts["skipped_header"] == 1
    companies = dict(Customer.objects.values_list("name", "company"))
    assert companies == {
        "张伟": "上海云帆",
        "李娜": "上海云帆",
        "王芳": "上海云帆",
        "赵敏": "深圳星河",
    }
    assert set(Customer.objects.values_list("source", flat=True)) == {"exhibition", "import"}
    assert Customer.objects.get(name="王芳").source_id == "exhibition"  # merged down too
    zhao = Customer.objects.get(name="赵敏")
    assert [e.address for e in zhao.emails.all()] == ["zhaomin@example.com"]


def test_an_admin_sets_the_import_rules(admin_client):
    url = reverse("admin:customers_importrules_change", args=[ImportRules.current().pk])
    assert admin_client.post(url, {"require_contact": "on"}).status_code == 302
    assert ImportRules.current().require_contact
