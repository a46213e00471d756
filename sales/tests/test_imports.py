"""Importing a messy order history: every row created, merged or rejected with its reason."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation

from crm.models import AuditAction, AuditEvent, ImportJob, ImportStatus
from crm.sheets.reader import sheet_open
from crm.sheets.sheet import SheetError
from customers.import_jobs import import_job_analyse, import_job_create, import_job_run
from customers.models import CustomerMetrics
from kehu.tests.fixtures import PASSWORD
from sales.imports import orders_import
from sales.imports.layout import orders_layout_detect
from sales.models import Order, OrderSource, OrderStatus, Product

pytestmark = pytest.mark.django_db

HEADER = [
    "订单号",
    "客户编号",
    "手机",
    "下单日期",
    "产品",
    "数量",
    "单价",
    "金额",
    "销售员",
    "备注",
]


def messy_rows(own, pool, far) -> list[list]:
    return [
        # 2-4: one order of three lines: by SKU, by name with an amount, and the same
        # line again (two kettles bought as two lines are two kettles)
        ["A1001", own.number, "", "2026-03-05", "EAR-01", "2", "299", "", "", "门店"],
        ["A1001", own.number, "", "2026-03-05", "电水壶", "1", "", "89.90", "", ""],
        ["A1001", own.number, "", "2026-03-05", "电水壶", "1", "", "89.90", "", ""],
        # 5: found by phone in another format; a free sample at zero; unknown product
        ["", "", "139-1234-5678", "2026/3/6 14:30", "赠品小样", "1", "0", "", "", ""],
        # 6-7: a negative quantity rejects its row and the rest of order A1002
        ["A1002", own.number, "", "2026-03-07", "EAR-01", "-1", "299", "", "", ""],
        ["A1002", own.number, "", "2026-03-07", "KET-02", "1", "89.90", "", "", ""],
        # 8: blank
        [""] * 10,
        # 9: a customer of another team: reported like an unknown one
        ["A1003", far.number, "", "2026-03-08", "EAR-01", "1", "299", "", "", ""],
        # 10-12: far future, three decimals in CNY, a customer number nobody has
        ["", own.number, "", "2099-01-01", "EAR-01", "1", "299", "", "", ""],
        ["", own.number, "", "2026-03-09", "EAR-01", "1", "299.999", "", "", ""],
        ["", "KH9999999", "", "2026-03-09", "EAR-01", "1", "299", "", "", ""],
        # 13: no product, only the amount, the salesperson by full name
        ["", own.number, "", "2026年3月10日", "", "", "", "120.5", "李娜", ""],
        # 14: a row of order A1004 for another customer than its first row (15)
        ["A1004", pool.number, "", "2026-03-11", "KET-02", "1", "89.90", "", "", ""],
        ["A1004", own.number, "", "2026-03-11", "KET-02", "1", "89.90", "", "", ""],
    ]  # fmt: skip


def csv_file(rows, encoding="gbk") -> bytes:
    lines = [",".join(HEADER)] + [",".join(str(cell) for cell in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def run(actor, data: bytes, name="orders.csv", **options):
    sheet = sheet_open(data, name=name)
    with translation.override("en"):
        return orders_import(
            actor=actor, sheet=sheet, layout=orders_layout_detect(sheet), source=name, **options
        )


@pytest.fixture
def messy(own_customer, pool_customer, far_customer, headphones, kettle):
    return csv_file(messy_rows(own_customer, pool_customer, far_customer))


def test_every_row_of_a_messy_file_is_accounted_for(
    manager, rep, messy, own_customer, pool_customer, headphones
):
    with translation.override("en"):
        result = run(manager, messy)
    assert result.counts == {
        "created": 3,
        "merged": 2,
        "rejected": 8,
        "skipped": 1,
        "products": 1,
    }
    reasons = {row.row_number: row.reason for row in result.rejected}
    assert "The quantity must be more than zero." in reasons[6]
    assert "Row 6 of the same order A1002 was rejected" in reasons[7]
    assert "No customer you may record orders for matches" in reasons[9]
    assert "The order date is in the future." in reasons[10]
    assert "at most 2 decimal places" in reasons[11]
    assert "KH9999999" in reasons[12]
    assert (
        f"for customer {pool_customer.number}; this row for {own_customer.number}" in (reasons[15])
    )
    assert "Row 15 of the same order A1004" in reasons[14]
    # The rejected rows keep their cells, to be fixed and imported again.
    assert [row.row_number for row in result.rejected] == [6, 7, 9, 10, 11, 12, 14, 15]
    assert result.rejected[0].cells[0] == "A1002"

    a1001 = Order.objects.get(external_number="A1001")
    assert a1001.customer == own_customer
    assert a1001.number.startswith("SO")
    assert a1001.source == OrderSource.IMPORT
    assert a1001.status == OrderStatus.COMPLETED
    assert a1001.salesperson == rep  # the customer's owner when the row names nobody
    assert a1001.total == Decimal("777.80")  # 2 × 299 + 89.90 + 89.90
    assert a1001.notes == "门店"
    local = timezone.localtime(a1001.ordered_at)
    assert (local.date(), local.hour) == (datetime.date(2026, 3, 5), 12)
    assert a1001.paid_at == a1001.completed_at == a1001.ordered_at
    lines = list(a1001.lines.order_by("position"))
    assert [(line.description, line.quantity, line.line_total) for line in lines] == [
        ("无线耳机", Decimal("2.000"), Decimal("598.00")),
        ("电水壶", Decimal("1.000"), Decimal("89.90")),
        ("电水壶", Decimal("1.000"), Decimal("89.90")),
    ]
    assert lines[0].product == headphones

    sample = Order.objects.get(customer=pool_customer)
    assert sample.total == Decimal("0.00")
    assert timezone.localtime(sample.ordered_at).strftime("%H:%M") == "14:30"
    placeholder = sample.lines.get().product
    assert (placeholder.name, placeholder.is_active, placeholder.is_placeholder) == (
        "赠品小样",
        False,
        True,
    )
    assert placeholder.sku.startswith("IMP-")

    amount_only = Order.objects.get(customer=own_customer, external_number="")
    line = amount_only.lines.get()
    assert (line.product, line.line_total, line.description) == (
        None,
        Decimal("120.50"),
        "Imported item",
    )
    assert Order.objects.count() == 3
    # The purchase summary follows at once: three purchases of the customer.
    metrics = CustomerMetrics.objects.get(customer=own_customer)
    assert (metrics.orders_count, metrics.total_spent) == (2, Decimal("898.30"))
    # One audit event per order, one for the import.
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, target_id=str(a1001.pk)).exists()
    summary = AuditEvent.objects.get(action=AuditAction.IMPORT)
    assert summary.extra["created"] == 3 and summary.extra["kind"] == "orders"


def test_the_same_file_imported_twice_records_nothing_twice(manager, messy):
    run(manager, messy)
    again = run(manager, messy)
    assert again.counts["created"] == 2  # the rows without an order number are new sales
    reasons = {row.row_number: row.reason for row in again.rejected}
    assert "A1001 is in Kehu already" in reasons[2]
    assert Order.objects.filter(external_number="A1001").count() == 1
    assert Product.objects.filter(name="赠品小样").count() == 1  # found by name the second time


def test_a_dry_run_counts_exactly_and_writes_nothing(manager, messy):
    result = run(manager, messy, dry_run=True)
    assert result.counts["created"] == 3
    assert not Order.objects.exists()
    assert not Product.objects.filter(is_placeholder=True).exists()


def test_a_rep_imports_only_for_own_customers(rep, messy):
    result = run(rep, messy)
    reasons = {row.row_number: row.reason for row in result.rejected}
    # The pool customer is not theirs until claimed: its row reads like an unknown one.
    assert "No customer you may record orders for matches" in reasons[5]
    assert result.counts["created"] == 2


def test_xlsx_with_dates_numbers_and_english_headers(steward, own_customer, kettle):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Order history 2026"])
    sheet.append(["Customer number", "Order date", "Product", "Qty", "Unit price", "Discount %"])
    sheet.append(
        [
            own_customer.number,
            datetime.datetime(2026, 4, 1, 9, 15),  # noqa: DTZ001 - Excel has no zones
            "ket-02",
            3,
            89.9,
            "9折",
        ]
    )
    sheet.append([own_customer.number, datetime.date(2026, 4, 2), "KET-02", 1, 0, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = run(steward, buffer.getvalue(), name="history.xlsx")
    assert [r.reason for r in result.rejected] == []
    assert result.counts["created"] == 2
    first = Order.objects.order_by("ordered_at").first()
    assert timezone.localtime(first.ordered_at).strftime("%Y-%m-%d %H:%M") == "2026-04-01 09:15"
    line = first.lines.get()
    assert (line.product, line.discount_percent, line.line_total) == (
        kettle,
        Decimal("10.00"),
        Decimal("242.73"),  # 3 × 89.90 × 0.9 = 242.73
    )


def test_the_command_prints_the_counts_and_writes_the_rejected_rows(
    manager, messy, tmp_path, capsys
):
    path = tmp_path / "orders.csv"
    path.write_bytes(messy)
    call_command("import_orders", str(path), "--as", "manager", "--lang", "en")
    out = capsys.readouterr().out
    assert (
        "14 rows: 3 orders created, 2 rows merged into an order, 8 rejected, 1 skipped; "
        "1 placeholder products created"
    ) in out
    rejected = openpyxl.load_workbook(tmp_path / "orders.rejected.xlsx").active
    assert rejected.max_row == 9  # the header and eight rows
    assert rejected.cell(1, len(HEADER) + 1).value == "Reason rejected"


def test_a_file_without_order_columns_is_refused(manager, tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("姓名,爱好\n张三,篮球\n", encoding="utf-8")
    with translation.override("en"), pytest.raises(CommandError, match="No column heading"):
        call_command("import_orders", str(path), "--as", "manager", "--lang", "en")
    missing = tmp_path / "no-date.csv"
    missing.write_text("客户编号,金额\nKH0000001,10\n", encoding="utf-8")
    with pytest.raises(CommandError, match="order date"):
        call_command("import_orders", str(missing), "--as", "manager", "--lang", "en")
    assert not Order.objects.exists()


def test_the_wizard_imports_orders_with_the_same_rules(client, manager, messy):
    manager.language = "en"
    manager.save(update_fields=["language"])
    assert client.login(username=manager.username, password=PASSWORD)
    page = client.get(reverse("customers:import") + "?kind=orders")
    assert page.context["form"].initial["kind"] == "orders"
    response = client.post(
        reverse("customers:import"),
        {"kind": "orders", "file": SimpleUploadedFile("orders.csv", messy)},
    )
    job = ImportJob.objects.get()
    assert job.kind == "orders"
    assert response["Location"] == reverse("customers:import_job", args=[job.pk])
    import_job_analyse(job.pk)  # what the worker does with the upload
    job.refresh_from_db()
    assert job.mapping[:4] == ["order_number", "customer_number", "phone", "ordered_at"]
    response = client.get(response["Location"])
    assert response["Location"] == reverse("customers:import_mapping", args=[job.pk])
    page = client.get(response["Location"])
    assert "Owner of the new customers" not in page.content.decode()  # no owner for orders
    mapping = {f"col_{i}": key for i, key in enumerate(job.mapping)}
    # Without the date column the mapping is refused next to the form.
    refused = client.post(response["Location"], {**mapping, "col_3": ""})
    assert "Choose the column that holds the order date." in refused.content.decode()
    response = client.post(response["Location"], mapping)  # no value step for orders
    assert response["Location"] == reverse("customers:import_preview", args=[job.pk])
    preview = client.get(reverse("customers:import_preview", args=[job.pk]))
    assert "New order" in preview.content.decode()
    assert "A further line of the order above" in preview.content.decode()
    assert not Order.objects.exists()
    client.post(reverse("customers:import_preview", args=[job.pk]))
    import_job_run(job.pk)  # what the worker does
    job.refresh_from_db()
    assert job.status == ImportStatus.SUCCEEDED
    assert job.counts == {"created": 3, "merged": 2, "rejected": 8, "skipped": 1, "products": 1}
    page = client.get(reverse("customers:import_job", args=[job.pk])).content.decode()
    assert "3 orders created, 2 rows merged into an order, 8 rejected" in page
    rejected = client.get(reverse("customers:import_rejected", args=[job.pk]))
    rows = list(openpyxl.load_workbook(io.BytesIO(rejected.content)).active.values)
    assert rows[1][0] == "A1002" and "more than zero" in rows[1][-1]
    assert Order.objects.count() == 3


def test_someone_who_may_not_record_orders_cannot_import_them(client, auditor, messy):
    assert client.login(username=auditor.username, password=PASSWORD)
    assert client.get(reverse("customers:import")).status_code == 403
    with pytest.raises(SheetError, match="orders"), translation.override("en"):
        import_job_create(actor=auditor, name="o.csv", file=io.BytesIO(messy), kind="orders")


def test_a_further_line_without_a_currency_is_in_its_orders(steward, own_customer, kettle):
    rows = "\r\n".join(
        [
            "订单号,客户编号,下单日期,产品,数量,单价,币种,汇率",
            f"J1,{own_customer.number},2026-05-01,KET-02,1,1200,JPY,0.048",
            f"J1,{own_customer.number},2026-05-01,KET-02,2,800,,",
            f"J2,{own_customer.number},2026-05-02,KET-02,1,1200,JPY,0.048",
            f"J2,{own_customer.number},2026-05-02,KET-02,1,99.5,,",  # yen have no cents
        ]
    ).encode()
    result = run(steward, rows)
    order = Order.objects.get(external_number="J1")
    assert (order.currency, order.exchange_rate, order.total) == (
        "JPY",
        Decimal("0.048000"),
        Decimal("2800.00"),
    )
    reasons = {row.row_number: row.reason for row in result.rejected}
    assert "Amounts in JPY have no decimal places." in reasons[5]
    assert not Order.objects.filter(external_number="J2").exists()
