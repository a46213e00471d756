"""A messy register of about 2,000 rows, built from a fixed seed with its truth
(customers.tests.registers), imports exactly as the truth says: as Excel saves it,
as WPS saves it, and as a GBK CSV."""

from __future__ import annotations

import pytest

from crm.sheets.reader import sheet_open
from customers.imports import Options, customers_import, layout_detect
from customers.imports.values import decisions_suggested, sheet_analyse
from customers.models import Customer
from customers.sources import SourceLookup
from customers.tests.registers import register_build, register_csv, register_xlsx

pytestmark = pytest.mark.django_db


def _found() -> dict[str, dict]:
    customers = Customer.objects.prefetch_related("phones", "emails")
    return {
        c.name: {
            "company": c.company,
            "gender": c.gender,
            "source": c.source_id,
            "phones": [p.number for p in c.phones.all()],
            "wechat": [p.number for p in c.phones.all() if p.wechat],
            "emails": [e.address for e in c.emails.all()],
            "birth_date": c.birth_date.isoformat() if c.birth_date else None,
            "birth_year": c.birth_year,
            "key_account": c.is_key_account,
            "remarks": c.import_remarks,
        }
        for c in customers
    }


@pytest.mark.parametrize("kind", ["excel", "wps", "gbk-csv"])
def test_a_messy_register_imports_exactly_as_its_truth_says(steward, kind):
    register = register_build(fmt="csv" if kind == "gbk-csv" else "xlsx")
    if kind == "gbk-csv":
        data, name = register_csv(register), "客户管理簿.csv"
    else:
        data, name = register_xlsx(register, wps=kind == "wps"), "客户管理簿.xlsx"
    sheet = sheet_open(data, name=name)
    layout = layout_detect(sheet)
    assert layout.header_rows == [1]
    # What the command does without a mapping file: Kehu's suggestions.
    decisions, unmapped = decisions_suggested(
        layout, sheet_analyse(sheet, layout)["values"], SourceLookup()
    )
    assert {(key, text) for key, text, __ in unmapped} >= {("source", "抖音"), ("source", "快手")}
    result = customers_import(
        actor=steward, sheet=sheet, layout=layout, options=Options(owner=steward, values=decisions),
        source=name,
    )  # fmt: skip
    counts = {k: v for k, v in result.counts.items() if not k.startswith("skipped_")}
    assert counts == register.counts()
    assert result.counts.get("skipped_section", 0) == len(register.sections)
    assert result.counts.get("skipped_header", 0) == len(register.headers)
    assert sorted(r.row_number for r in result.rejected) == register.rejected
    warned = {r.row_number: sorted({w.key for w in r.warnings}) for r in result.warned}
    assert warned == register.warned
    found = _found()
    assert set(found) == set(register.customers)
    for name, expected in register.customers.items():
        got = found[name]
        for text in expected.remarks:
            assert text in got["remarks"], (name, text)
        got.pop("remarks")
        want = {k: getattr(expected, k) for k in got if k != "key_account"}
        want["key_account"] = expected.key_account
        assert got == want, name
