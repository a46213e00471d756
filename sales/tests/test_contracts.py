"""Contracts: numbers, terms, states, and signed files checked, kept private, served by scope."""

from __future__ import annotations

import datetime
import errno
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from crm.models import AuditAction, AuditEvent
from kehu.tests.fixtures import PASSWORD
from sales import contracts
from sales.models import Contract, ContractStatus

pytestmark = pytest.mark.django_db

PDF_BYTES = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
EXE_BYTES = b"MZ\x90\x00\x03" + b"\0" * 200


@pytest.fixture(autouse=True)
def private_files(settings, tmp_path):
    settings.PRIVATE_FILES_ROOT = tmp_path / "private"
    with translation.override("en"):
        yield settings.PRIVATE_FILES_ROOT


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def today(days: int = 0) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def make(actor, customer, upload=None, **data):
    values = {"title": "年度供货合同", "start_date": today(-30), "end_date": today(335), **data}
    return contracts.contract_create(
        actor=actor, customer_id=customer.pk, data=values, upload=upload
    )


def login(client, user):
    user.language = "en"
    user.save(update_fields=["language"])
    assert client.login(username=user.username, password=PASSWORD)


def test_numbers_terms_and_states(rep, own_customer):
    first = make(rep, own_customer, amount="50000.00")
    assert first.number.startswith("HT") and first.status == ContractStatus.DRAFT
    assert first.amount == Decimal("50000.00") and first.owner == rep
    own = make(rep, own_customer, number="sh-2026-001")
    assert own.number == "SH-2026-001"
    with pytest.raises(ValidationError) as refused:
        make(rep, own_customer, number="SH-2026-001")
    assert "number" in refused.value.error_dict
    with pytest.raises(ValidationError) as refused:
        make(rep, own_customer, start_date=today(), end_date=today(-1), amount="1.005")
    assert set(refused.value.error_dict) == {"end_date", "amount"}
    active = contracts.contract_status_change(
        actor=rep, contract_id=first.pk, status=ContractStatus.ACTIVE
    )
    assert (active.state, active.signed_on) == ("active", timezone.localdate())
    with pytest.raises(ValidationError, match="cannot become"):
        contracts.contract_status_change(
            actor=rep, contract_id=first.pk, status=ContractStatus.DRAFT
        )
    # In force past its end: expired, without anyone changing it.
    Contract.objects.filter(pk=first.pk).update(end_date=today(-1), start_date=today(-400))
    first.refresh_from_db()
    assert first.state == "expired" and first.state_label == "Expired"


def test_renewal_is_due_inside_the_notice_window(client, rep, own_customer):
    soon = make(rep, own_customer, title="快到期", end_date=today(20), renewal_notice_days=30)
    later = make(rep, own_customer, title="还早", end_date=today(200))
    for contract in (soon, later):
        contracts.contract_status_change(actor=rep, contract_id=contract.pk, status="active")
    soon.refresh_from_db()
    assert soon.renewal_is_due and soon.renewal_due == today(-10)
    login(client, rep)
    page = client.get(reverse("sales:contract_list") + "?state=renewal_due")
    assert [c.title for c in page.context["page_obj"]] == ["快到期"]


def test_the_signed_file_is_private_and_served_only_within_scope(
    client, rep, far_rep, auditor, own_customer, private_files
):
    contract = make(rep, own_customer, upload=SimpleUploadedFile("签字版.pdf", PDF_BYTES))
    (path,) = stored_files(private_files)
    assert path.read_bytes() == PDF_BYTES and "签字版" not in path.name  # a random name
    assert (contract.file_name, contract.file_type, contract.file_size) == (
        "签字版.pdf",
        "application/pdf",
        len(PDF_BYTES),
    )
    url = reverse("sales:contract_file", args=[contract.pk])
    login(client, rep)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(
        action=AuditAction.VIEW_SENSITIVE, target_id=str(contract.pk), actor=rep
    ).exists()
    client.logout()
    login(client, far_rep)  # another team's rep: as if there were no contract
    assert client.get(url).status_code == 404
    assert client.get(contract.get_absolute_url()).status_code == 404
    client.logout()
    login(client, auditor)  # sees every customer, so their contracts
    assert client.get(url).status_code == 200


def test_an_executable_renamed_pdf_is_refused_and_nothing_is_kept(
    client, rep, own_customer, private_files
):
    with pytest.raises(ValidationError, match="a Windows program"):
        make(rep, own_customer, upload=SimpleUploadedFile("合同.pdf", EXE_BYTES))
    with pytest.raises(ValidationError, match="is a PNG file under another name"):
        make(rep, own_customer, upload=SimpleUploadedFile("合同.pdf", PNG_BYTES))
    login(client, rep)
    page = client.post(
        reverse("sales:contract_create") + f"?customer={own_customer.pk}",
        {
            "title": "年度供货合同",
            "kind": "sales",
            "start_date": today().isoformat(),
            "owner": rep.pk,
            "signed_file": SimpleUploadedFile("合同.pdf", EXE_BYTES),
        },
    )
    assert page.status_code == 200
    assert "a Windows program" in str(page.context["form"].errors["signed_file"])
    assert not Contract.objects.exists() and stored_files(private_files) == []


def test_an_upload_over_the_limit_is_dropped_as_it_streams(
    client, rep, own_customer, private_files, settings
):
    settings.CONTRACT_FILE_MAX_BYTES = 1024 * 1024
    login(client, rep)
    big = io.BytesIO(PDF_BYTES + b"\0" * (3 * 1024 * 1024))
    big.name = "扫描件.pdf"
    page = client.post(
        reverse("sales:contract_create") + f"?customer={own_customer.pk}",
        {"title": "大文件", "kind": "sales", "start_date": today().isoformat(),
         "owner": rep.pk, "signed_file": big},
    )  # fmt: skip
    assert page.status_code == 200
    errors = str(page.context["form"].errors["signed_file"])
    assert "The file is 3 MB; a signed contract may be at most 1 MB." in errors
    assert not Contract.objects.exists() and stored_files(private_files) == []


def test_a_new_file_replaces_the_old_once_saved(
    rep, own_customer, private_files, django_capture_on_commit_callbacks
):
    contract = make(rep, own_customer, upload=SimpleUploadedFile("v1.pdf", PDF_BYTES))
    with django_capture_on_commit_callbacks(execute=True):
        contracts.contract_update(
            actor=rep,
            contract_id=contract.pk,
            version=contract.version,
            data={"title": contract.title, "start_date": contract.start_date},
            upload=SimpleUploadedFile("v2.png", PNG_BYTES),
        )
    contract.refresh_from_db()
    (path,) = stored_files(private_files)
    assert path.read_bytes() == PNG_BYTES
    assert (contract.file_name, contract.version) == ("v2.png", 2)
    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, target_id=str(contract.pk)).get()
    assert event.changes["signed_file"] == ["v1.pdf", "v2.png"]


def test_contracts_follow_the_customer(rep, far_rep, manager, far_customer, own_customer):
    from sales.selectors import visible_contracts

    mine = make(rep, own_customer)
    theirs = make(far_rep, far_customer)
    assert set(visible_contracts(rep)) == {mine}
    assert set(visible_contracts(manager)) == {mine}
    assert set(visible_contracts(far_rep)) == {theirs}
    with pytest.raises(ValidationError, match="may not record contracts for this customer"):
        make(rep, far_customer)


def test_the_360_page_lists_contracts(client, rep, own_customer):
    make(rep, own_customer, title="框架协议", kind="framework")
    login(client, rep)
    page = client.get(own_customer.get_absolute_url()).content.decode()
    assert "框架协议" in page and 'id="new-contract"' in page


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_200_mb_upload_is_refused_without_being_kept(
    live_server, rep, own_customer, private_files
):
    """Through a real server: 200 MB streamed at the contract form costs neither
    memory nor disk, and the page says why next to the field."""
    import http.client
    import re
    import tempfile
    import urllib.parse

    from django.conf import settings as django_settings

    rep.language = "en"
    rep.save(update_fields=["language"])
    host = urllib.parse.urlsplit(live_server.url)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)

    def request(method, path, body=None, headers=None):
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response, response.read()

    response, body = request("GET", "/login/")
    cookies = {c.split("=", 1)[0]: c.split("=", 1)[1].split(";")[0]
               for c in response.headers.get_all("Set-Cookie") or []}  # fmt: skip
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": rep.username, "password": PASSWORD}
    )
    response, _body = request("POST", "/login/", form, {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
        "Referer": live_server.url + "/login/",
    })  # fmt: skip
    for header in response.headers.get_all("Set-Cookie") or []:
        name, value = header.split(";")[0].split("=", 1)
        cookies[name] = value
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    path = reverse("sales:contract_create") + f"?customer={own_customer.pk}"
    _response, page = request("GET", path, headers={"Cookie": cookie})
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()

    boundary = "kehu-boundary"
    fields = {"csrfmiddlewaretoken": token, "title": "大文件", "kind": "sales",
              "start_date": today().isoformat(), "owner": str(rep.pk)}  # fmt: skip
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="signed_file"; '
        f'filename="scan.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    )
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = 200 * 1024 * 1024
    chunk = b"%PDF-1.7\n" + b"0" * (1024 * 1024 - 9)

    def stream():
        yield head.encode()
        for _index in range(size // len(chunk)):
            yield chunk
        yield tail

    length = len(head.encode()) + (size // len(chunk)) * len(chunk) + len(tail)
    temp_before = set(Path(tempfile.gettempdir()).iterdir())
    connection.putrequest("POST", path)
    for name, value in {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(length), "Cookie": cookie, "Referer": live_server.url + path,
        "Accept-Language": "en",
    }.items():  # fmt: skip
        connection.putheader(name, value)
    connection.endheaders()
    for part in stream():
        connection.send(part)
    response = connection.getresponse()
    page = response.read().decode()
    assert response.status == 200
    limit = django_settings.CONTRACT_FILE_MAX_BYTES // (1024 * 1024)
    assert f"a signed contract may be at most {limit} MB" in page
    assert not Contract.objects.exists() and stored_files(private_files) == []
    assert set(Path(tempfile.gettempdir()).iterdir()) - temp_before == set()  # no temp file


def test_the_same_file_name_uploaded_again_replaces_the_file(
    rep, own_customer, private_files, django_capture_on_commit_callbacks
):
    contract = make(rep, own_customer, upload=SimpleUploadedFile("scan.pdf", PDF_BYTES))
    second = PDF_BYTES.replace(b"<<>>", b"<< /Signed true >>")
    with django_capture_on_commit_callbacks(execute=True):
        contracts.contract_update(
            actor=rep,
            contract_id=contract.pk,
            version=contract.version,
            data={
                "title": contract.title,
                "start_date": contract.start_date,
                "end_date": contract.end_date,
            },
            upload=SimpleUploadedFile("scan.pdf", second),
        )
    contract.refresh_from_db()
    assert contract.version == 2
    with contract.signed_file.open("rb") as handle:
        assert handle.read() == second
    assert [path.read_bytes() for path in stored_files(private_files)] == [second]


def test_free_text_keeps_what_was_typed_and_numbers_are_folded(rep, own_customer):
    contract = make(
        rep, own_customer, title="  年度框架合同（正式）  ", number="ｓｈ－２０２６－００２"
    )
    assert contract.title == "年度框架合同（正式）"  # not (正式)
    assert contract.number == "SH-2026-002"


class _DiskFillsUp(SimpleUploadedFile):
    """An upload whose writing stops half-way as a full disk would stop it."""

    def chunks(self, chunk_size=None):
        yield PDF_BYTES
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_leaves_no_file_and_no_contract(rep, own_customer, private_files):
    upload = _DiskFillsUp("签字版.pdf", PDF_BYTES + b"\0" * 4096)
    with pytest.raises(ValidationError) as refused:
        make(rep, own_customer, upload=upload)
    assert refused.value.code == "file_storage"
    assert "the disk is full" in refused.value.messages[0]
    assert not Contract.objects.exists() and stored_files(private_files) == []


def test_a_full_disk_is_said_next_to_the_file_not_as_a_server_error(
    client, rep, own_customer, private_files, monkeypatch
):
    from django.core.files.uploadedfile import InMemoryUploadedFile

    def chunks(self, chunk_size=None):
        yield PDF_BYTES
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(InMemoryUploadedFile, "chunks", chunks)
    login(client, rep)
    page = client.post(
        reverse("sales:contract_create") + f"?customer={own_customer.pk}",
        {"title": "年度供货合同", "kind": "sales", "start_date": today().isoformat(),
         "owner": rep.pk, "signed_file": SimpleUploadedFile("合同.pdf", PDF_BYTES)},
    )  # fmt: skip
    assert page.status_code == 200
    assert "could not be stored" in str(page.context["form"].errors["signed_file"])
    assert not Contract.objects.exists() and stored_files(private_files) == []
