"""Mapping a register's values: each distinct value of a choice
column with its count and a suggestion; the steward's decisions are applied,
remembered, and suggested again next time; the command takes them from a file."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from crm.models import ImportJob, ImportStatus
from crm.sheets.writer import xlsx_bytes
from customers.import_jobs import import_job_analyse, import_job_run
from customers.models import Customer, ImportValueMapping, SourceChannel
from customers.tests.test_transfer_views import _login, _upload

pytestmark = pytest.mark.django_db

ROWS = [
    ["姓名", "性别", "来源", "重点客户"],
    ["甲", "男士", "朋友介绍", "重要"],
    ["乙", "女", "抖音", "一般"],
    ["丙", "男生", "抖音", "一般"],
    ["丁", "女", "百度竞价", "A类"],
    ["戊", "保密", "地推活动", "看情况"],
]


def _wizard_to_values(client, steward, rows=ROWS):
    _login(client, steward)
    _upload(client, xlsx_bytes(rows))
    job = ImportJob.objects.latest("pk")
    response = client.post(reverse("customers:import_mapping", args=[job.pk]), {
        **{f"col_{i}": key for i, key in enumerate(job.mapping)}, "owner": "self", "mode": "fill"
    })  # fmt: skip
    assert response["Location"] == reverse("customers:import_values", args=[job.pk])
    return job, client.get(response["Location"])


def _rows(page, key):
    group = next(g for g in page.context["form"].groups if g["key"] == key)
    return {row["text"]: row for row in group["rows"]}


def test_each_value_comes_with_its_count_and_a_suggestion(client, steward):
    __, page = _wizard_to_values(client, steward)
    sources = _rows(page, "source")
    assert {text: row["count"] for text, row in sources.items()} == {
        "抖音": 2, "地推活动": 1, "朋友介绍": 1, "百度竞价": 1,
    }  # fmt: skip
    # Kehu's own words first, then the closest known word, else nothing.
    assert (sources["朋友介绍"]["suggestion"].target, sources["朋友介绍"]["suggestion"].how) == (
        "referral", "builtin",
    )  # fmt: skip
    assert sources["百度竞价"]["suggestion"].how == "fuzzy"
    assert sources["百度竞价"]["suggestion"].target == "advertising"
    assert sources["抖音"]["suggestion"].target is None
    genders = _rows(page, "gender")
    assert genders["男士"]["suggestion"].target == "male"
    assert genders["保密"]["suggestion"].target == ""  # a word for "not given"
    keys = _rows(page, "is_key_account")
    assert keys["A类"]["suggestion"].target == "yes" and keys["一般"]["suggestion"].target == "no"
    text = page.content.decode()
    assert "Add “抖音” as a new source" in text and "Close to" in text


def test_the_stewards_decisions_are_applied_and_remembered(client, steward):
    job, page = _wizard_to_values(client, steward)
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields}
    field = {row["text"]: row["field"] for row in (*_rows(page, "source").values(),)}
    data[field["抖音"]] = "+new"
    data[field["地推活动"]] = "walk_in"
    gender_field = _rows(page, "gender")["男生"]["field"]
    data[gender_field] = "male"
    response = client.post(reverse("customers:import_values", args=[job.pk]), data)
    assert response["Location"] == reverse("customers:import_preview", args=[job.pk])
    preview = client.get(response["Location"]).content.decode()
    assert "看情况" in preview  # the one value nobody mapped: a warning in the preview
    assert not SourceChannel.objects.filter(name_zh="抖音").exists()  # nothing before the commit
    client.post(reverse("customers:import_preview", args=[job.pk]))
    import_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.SUCCEEDED, job.error
    douyin = SourceChannel.objects.get(name_zh="抖音")
    assert douyin.code == "douyin" and douyin.is_active
    got = {c.name: (c.gender, c.source_id, c.is_key_account) for c in Customer.objects.all()}
    assert got == {
        "甲": ("male", "referral", True),
        "乙": ("female", "douyin", False),
        "丙": ("male", "douyin", False),
        "丁": ("female", "advertising", True),
        "戊": ("", "walk_in", False),
    }
    assert "看情况" in Customer.objects.get(name="戊").import_remarks
    # Remembered: the next register's 男生 and 地推活动 come suggested as decided.
    assert ImportValueMapping.objects.get(key="gender", value="男生").target == "male"
    __, page = _wizard_to_values(client, steward, [ROWS[0], ["己", "男生", "地推活动", None]])
    assert _rows(page, "gender")["男生"]["suggestion"].how == "previous"
    assert _rows(page, "source")["地推活动"]["suggestion"].target == "walk_in"


def test_the_command_applies_suggestions_and_lists_what_is_left(admin_user, tmp_path):
    path = tmp_path / "register.xlsx"
    path.write_bytes(xlsx_bytes(ROWS))
    out = io.StringIO()
    call_command("import_customers", str(path), "--lang", "en", stdout=out)
    text = out.getvalue()
    assert "Unmapped values" in text
    assert "Source channel: 抖音 ×2" in text and "Source channel: 地推活动 ×1" in text
    assert "Key account: 看情况 ×1" in text
    assert Customer.objects.get(name="丁").source_id == "advertising"  # the close word
    assert not ImportValueMapping.objects.exists()  # no one decided: nothing remembered


def test_the_command_takes_a_mapping_file(admin_user, tmp_path):
    path = tmp_path / "register.xlsx"
    path.write_bytes(xlsx_bytes(ROWS))
    mapping = tmp_path / "values.json"
    out = io.StringIO()
    call_command(
        "import_customers", str(path), "--values-out", str(mapping), "--lang", "en", stdout=out
    )
    assert not Customer.objects.exists()
    suggested = json.loads(mapping.read_text())
    assert suggested["source"]["朋友介绍"] == "referral" and suggested["source"]["抖音"] == ""
    suggested["source"].update({"抖音": "+new", "地推活动": "到店"})  # a label works too
    suggested["gender"]["男生"] = "male"
    mapping.write_text(json.dumps(suggested, ensure_ascii=False))
    out = io.StringIO()
    call_command(
        "import_customers", str(path), "--values", str(mapping), "--lang", "en", stdout=out
    )
    assert "Unmapped values" not in out.getvalue()  # the file decides every value
    assert Customer.objects.get(name="乙").source_id == "douyin"
    assert Customer.objects.get(name="戊").source_id == "walk_in"
    assert Customer.objects.get(name="丙").gender == "male"
    assert ImportValueMapping.objects.get(key="source", value="地推活动").target == "walk_in"


def test_a_bad_mapping_file_is_refused_before_anything_is_written(admin_user, tmp_path):
    path = tmp_path / "register.xlsx"
    path.write_bytes(xlsx_bytes(ROWS))
    mapping = tmp_path / "values.json"
    mapping.write_text(json.dumps({"source": {"抖音": "火星"}, "colour": {}}))
    with pytest.raises(CommandError) as caught:
        call_command("import_customers", str(path), "--values", str(mapping), stdout=io.StringIO())
    assert "火星" in str(caught.value) and "colour" in str(caught.value)
    assert not Customer.objects.exists()


def test_a_worker_reads_the_upload_and_the_web_never_opens_it(client, steward, monkeypatch):
    from crm.sheets import xlsx_sheet as reader

    _login(client, steward)
    opened = []
    original = reader.XlsxSheet.__init__
    monkeypatch.setattr(
        reader.XlsxSheet,
        "__init__",
        lambda self, *a, **k: opened.append(1) or original(self, *a, **k),
    )
    _upload(client, xlsx_bytes(ROWS), read=False)
    job = ImportJob.objects.get()
    assert opened == []  # the upload request checked the container only
    import_job_analyse(job.pk)
    assert opened == [1]
    client.get(reverse("customers:import_mapping", args=[job.pk]))
    client.post(reverse("customers:import_mapping", args=[job.pk]), {
        **{f"col_{i}": key for i, key in enumerate(job.mapping)}, "owner": "self", "mode": "fill"
    })  # fmt: skip
    client.get(reverse("customers:import_values", args=[job.pk]))
    client.get(reverse("customers:import_preview", args=[job.pk]))
    assert opened == [1]  # mapping, values and preview read what the worker kept
