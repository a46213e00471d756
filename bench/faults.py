"""Faults under load: the production stack of bench/load.py with a moderate load
(--users, default 50), one fault at a time, and what users saw before, during and
after it.

    .venv/bin/python bench/faults.py [--users 50] [--only postgres,redis,...]

Faults (each in its own locust run; the writes of every run checked afterwards):
- postgres: `pg_ctlcluster 15 main restart` mid-run; errors only while it is
  down, then recovery without restarting Kehu.
- redis: Redis shut down (no save) and started again: the sessions' Redis copy
  and the log-in throttle's counters are gone; no 5xx once it is back.
- web-worker: one gunicorn worker SIGKILLed: how many requests failed.
- celery-import: the data steward's register import (the wizard, as
  bench/transfer.py does it) committed, and the worker's pool process SIGKILLed
  while the commit runs: the job ends once, the customers are there once.
- celery-survey: survey invitations e-mailed by the worker (mail to files), the
  pool process SIGKILLed half-way: every invitation e-mailed, none twice.
- disk-full: PRIVATE_FILES_ROOT on a 1 MB tmpfs, a 2 MB signed contract uploaded:
  a clear message, no contract row, no partial file.

Needs root (pg_ctlcluster, mount) and must not run beside another benchmark: it
restarts PostgreSQL and Redis.
"""

# ruff: noqa: T201, S310, S603, S607

from __future__ import annotations

import argparse
import datetime
import http.cookiejar
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from benchenv import BENCH_DIR, DB_NAME, DEMO_PASSWORD, bench_env_apply
from transfer import multipart

FAULTS = ("postgres", "redis", "web-worker", "celery-import", "celery-survey", "disk-full")
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
    "--save", "", "--appendonly", "no",
]  # fmt: skip
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """urllib with cookies over HTTPS to the stack's nginx (its own certificate)."""

    def __init__(self, stack):
        self.base = stack.base
        context = ssl.create_default_context(cafile=str(stack.folder / "cert.pem"))
        context.check_hostname = False
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context),
            urllib.request.HTTPCookieProcessor(self.jar),
        )

    def open(self, path: str, data: bytes | None = None, content_type: str = ""):
        headers = {"Referer": self.base + path}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base + path, data=data, headers=headers)
        try:
            with self.opener.open(request, timeout=300) as response:
                return response.status, response.read(), response.url
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.url

    def form(self, path: str, fields: dict, **kw):
        return self.open(path, urllib.parse.urlencode(fields).encode(), FORM, **kw)

    def login(self, username: str) -> int:
        __, page, __ = self.open("/login/")
        token = CSRF.search(page).group(1).decode()
        status, __, url = self.form(
            "/login/",
            {"csrfmiddlewaretoken": token, "username": username, "password": DEMO_PASSWORD},
        )
        return 302 if "/login/" not in urllib.parse.urlsplit(url).path else status


FORM = "application/x-www-form-urlencoded"


def windows_report(rows, marks: dict[str, float], end: float) -> dict:
    """Requests, 5xx and other errors before the fault, while it lasted, after."""
    from stack import page_table

    spans = {
        "before": (marks["load"], marks["fault"]),
        "during": (marks["fault"], marks["recovered"]),
        "after": (marks["recovered"], end),
    }
    out = {}
    for label, (start, stop) in spans.items():
        __, total = page_table(rows, start, stop)
        out[label] = {
            "seconds": round(stop - start, 1),
            "requests": total["requests"],
            "5xx": total["5xx"],
            "errors": total["errors"],
            "read_p95": round(total["read_p95"]),
        }
    return out


def print_windows(name: str, windows: dict, notes: list[str]) -> None:
    print(f"\n### {name}\n")
    print("| window | seconds | requests | 5xx | other errors | read p95 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, w in windows.items():
        print(
            f"| {label} | {w['seconds']} | {w['requests']:,} | {w['5xx']} | {w['errors']} "
            f"| {w['read_p95']} |"
        )
    for note in notes:
        print(f"- {note}")


def health_ok(stack) -> bool:
    try:
        return stack.get("/healthz", timeout=5)[0] == 200
    except OSError:
        return False


def until(predicate, seconds: float, step: float = 0.5) -> float | None:
    """Seconds until predicate() is true, or None when the time is up."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if predicate():
            return time.monotonic() - started
        time.sleep(step)
    return None


# --- the faults ----------------------------------------------------------------


def fault_postgres(stack, notes) -> None:
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"], check=True
    )
    notes.append(f"`pg_ctlcluster 15 main restart` took {time.monotonic() - started:.1f} s")


def fault_redis(stack, notes) -> None:
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], check=False)
    time.sleep(1)
    # While Redis is down: is a page served (the session from PostgreSQL), and what
    # does a log-in do (the throttle needs Redis)?
    probe = Browser(stack)
    status = probe.login("rep2")
    notes.append(f"a log-in while Redis was down answered {status} (302 = logged in)")
    if status == 302:
        code, __, __ = probe.open("/customers/")
        notes.append(f"then the customer list answered {code}")
    time.sleep(4)
    subprocess.run(REDIS_START, check=True)
    notes.append("Redis down about 5 s, restarted empty (no save, as configured here)")


def fault_web_worker(stack, notes) -> None:
    pids = stack.web_worker_pids()
    victim = pids[0]
    os.kill(victim, signal.SIGKILL)
    notes.append(f"SIGKILL to gunicorn worker {victim} (one of {len(pids)})")
    back = until(
        lambda: victim not in stack.web_worker_pids() and len(stack.web_worker_pids()) == len(pids),
        60,
        step=0.1,
    )
    notes.append(f"the master had a new worker after {back:.1f} s" if back else "no new worker")


def fault_run(stack, cpu, folder: Path, data_path: Path, name: str, action, *, users: int,
              settle: float, after: float) -> dict:  # fmt: skip
    from stack import LocustRun, errors_seen, writes_check, writes_clean, writes_markdown

    run_folder = folder / name
    run_folder.mkdir()
    since = datetime.datetime.now(datetime.UTC)
    rate = max(users / 20, 1)
    duration = 20 + settle + 240 + after
    run = LocustRun(run_folder, stack.base, [(duration, users, rate)])
    run.start(data_path)
    marks = {"load": run.started + 25}
    time.sleep(20 + settle)
    notes: list[str] = []
    marks["fault"] = time.time()
    action(stack, notes)
    recovered = until(lambda: health_ok(stack), 180)
    marks["recovered"] = time.time()
    notes.append(
        f"/healthz was 200 again {marks['recovered'] - marks['fault']:.1f} s after the fault began"
        if recovered is not None
        else "/healthz did not come back within 180 s"
    )
    end = marks["recovered"] + after
    run.stages = [(end - run.started, users, rate)]
    while time.time() < end:
        time.sleep(1)
    run.process.send_signal(signal.SIGINT)
    run.process.wait(timeout=90)
    rows = run.requests()
    windows = windows_report(rows, marks, end)
    for text, count in errors_seen(rows, marks["fault"], end):
        notes.append(f"error ×{count}: {text}")
    report = writes_check(run.writes(), since)
    notes.append("writes: " + writes_markdown(report).replace("\n", "; "))
    notes.append("no write lost or doubled" if writes_clean(report) else "WRITES NOT CLEAN")
    print_windows(name, windows, notes)
    return {"windows": windows, "notes": notes, "writes": report}


def import_register(rows: int, run: int) -> bytes:
    from transfer import register

    return register(rows, run)


def fault_celery_import(stack, folder: Path, rows: int) -> dict:
    """Upload and commit a register as the steward; SIGKILL the worker's pool
    process while the commit runs; wait for the job to end."""
    from crm.models import ImportJob
    from customers.models import Customer, CustomerEmail, Tag

    run = int(time.time()) % 100_000
    browser = Browser(stack)
    if browser.login("steward") != 302:
        sys.exit("The steward could not log in.")
    __, page, __ = browser.open("/customers/import/")
    body, kind = multipart(
        {"csrfmiddlewaretoken": CSRF.search(page).group(1).decode()},
        "file", "faults.xlsx", import_register(rows, run), "application/octet-stream",
    )  # fmt: skip
    __, page, url = browser.open("/customers/import/", body, kind)
    job_id = int(re.search(r"/customers/import/(\d+)/", url).group(1))
    while "/columns/" not in url:
        time.sleep(0.5)
        __, page, url = browser.open(f"/customers/import/{job_id}/")
    mapping = {
        f"col_{i}": key
        for i, key in enumerate(
            ["name", "gender", "phones", "emails", "company", "title", "province", "city",
             "source", "tags"]
        )
    }  # fmt: skip
    token = CSRF.search(page).group(1).decode()
    __, page, url = browser.form(
        f"/customers/import/{job_id}/columns/",
        {"csrfmiddlewaretoken": token, "owner": "pool", "mode": "fill", **mapping},
    )
    if "/values/" in url:
        chosen = {
            n.decode(): v.decode()
            for n, v in re.findall(
                rb'<select name="(v[\d_]+)".*?<option value="([^"]*)" selected', page, re.DOTALL
            )
        }
        __, page, url = browser.form(
            f"/customers/import/{job_id}/values/",
            {"csrfmiddlewaretoken": CSRF.search(page).group(1).decode(), **chosen},
        )
    browser.form(
        f"/customers/import/{job_id}/preview/",
        {"csrfmiddlewaretoken": CSRF.search(page).group(1).decode()},
    )
    started = time.monotonic()
    running = until(lambda: ImportJob.objects.get(pk=job_id).status == "running", 120, step=0.1)
    time.sleep(1.0)  # well into the commit
    job = ImportJob.objects.get(pk=job_id)
    notes = [f"register of {rows:,} rows (run {run}); job {job_id} running after {running} s"]
    victims = stack.celery_pool_pids()
    if job.status == "running" and victims:
        os.kill(victims[0], signal.SIGKILL)
        notes.append(
            f"SIGKILL to the worker's pool process {victims[0]} "
            f"{time.monotonic() - started:.1f} s into the commit (status then: {job.status})"
        )
    else:
        notes.append(f"NOT KILLED: the job was {job.status} already")
    ended = until(lambda: ImportJob.objects.get(pk=job_id).is_finished, 600, step=1)
    job = ImportJob.objects.get(pk=job_id)
    tag = Tag.objects.filter(name=f"bench-{run}").first()
    made = Customer.objects.filter(tags=tag).count() if tag else 0
    # Each row's e-mail is its own: twice imported would be twice the customers.
    emails = CustomerEmail.objects.filter(customer__tags=tag).count() if tag else 0
    notes.append(
        f"the job ended {job.status} {ended:.0f} s after the kill; counts {job.counts}"
        if ended is not None
        else f"the job did NOT end within 600 s: still {job.status}"
    )
    notes.append(
        f"customers with the run's tag: {made:,} (rows {rows:,}), their e-mails {emails:,}, "
        f"rows counted by the job {sum(job.counts.values()) if job.counts else 0:,}"
    )
    # Once: every row counted once (created, or an update of a customer who had the
    # phone already), and as many customers carry the run's tag as there were rows.
    counted = sum(job.counts.values()) if job.counts else 0
    ok = job.status == "succeeded" and made == rows and counted == rows
    notes.append("completed exactly once" if ok else "NOT completed exactly once")
    return {"job": job_id, "status": job.status, "customers": made, "ok": ok, "notes": notes}


def fault_celery_survey(stack, folder: Path, mail_dir: Path, count: int) -> dict:
    """An open survey's invitations for `count` customers with an e-mail, e-mailed
    by the worker; its pool process SIGKILLed once some are out."""
    from crm.models import User
    from customers.models import Customer
    from feedback.models import Survey, SurveyInvitation
    from feedback.surveys.sending import survey_invite

    manager = User.objects.get(username="manager")
    survey = Survey.objects.filter(status="open").order_by("pk").first()
    if survey is None:  # written and opened through the services, as a manager would
        from feedback.surveys.building import survey_save, survey_status_set

        survey = survey_save(
            actor=manager,
            data={"title_zh": "服务满意度", "title_en": "How did we do?", "link_days": 14,
                  "points_bonus": 0},
            questions=[{"kind": "nps", "text_zh": "您有多大可能推荐我们？",
                        "text_en": "How likely are you to recommend us?", "required": True}],
        )  # fmt: skip
        survey = survey_status_set(actor=manager, survey_id=survey.pk, status="open")
    customers = list(
        Customer.objects.filter(
            team_id=manager.team_id, emails__isnull=False, emails__contact__isnull=True
        )
        .exclude(survey_invitations__survey=survey)
        .values_list("pk", flat=True)
        .distinct()[:count]
    )
    before = set(mail_dir.glob("*")) if mail_dir.exists() else set()
    result = survey_invite(
        actor=manager, survey_id=survey.pk, customer_ids=customers, email=True,
        base_url=stack.base,
    )  # fmt: skip
    ids = [i.pk for i in result.invitations]
    notes = [f"survey {survey.pk}: {len(ids):,} invitations to e-mail"]

    def sent() -> int:
        return SurveyInvitation.objects.filter(pk__in=ids, emailed_at__isnull=False).count()

    until(lambda: sent() >= len(ids) // 4, 300, step=0.05)
    victims = stack.celery_pool_pids()
    at = sent()
    if victims and at < len(ids):
        os.kill(victims[0], signal.SIGKILL)
        notes.append(f"SIGKILL to the pool process {victims[0]} with {at:,} e-mailed")
    else:
        notes.append(f"NOT KILLED: {at:,} of {len(ids):,} already e-mailed")
    done = until(lambda: sent() == len(ids), 300, step=1)
    final = sent()
    tokens: dict[str, int] = {}
    wanted = {i.token: i.pk for i in SurveyInvitation.objects.filter(pk__in=ids)}
    for path in set(mail_dir.glob("*")) - before:
        for token in re.findall(r"/s/([A-Za-z0-9_-]+)/", path.read_text(errors="replace")):
            if token in wanted:
                tokens[token] = tokens.get(token, 0) + 1
    # The text and HTML parts each hold the link: count messages, not links.
    per_message = {t: n // 2 if n % 2 == 0 else n for t, n in tokens.items()}
    twice = sum(1 for n in per_message.values() if n > 1)
    missing = len(wanted) - len(per_message)
    notes.append(
        f"stamped e-mailed: {final:,} of {len(ids):,}"
        + (f", all {done:.0f} s after the kill" if done is not None else ", NOT all within 300 s")
    )
    notes.append(f"messages found: {sum(per_message.values()):,}; twice: {twice}; none: {missing}")
    ok = final == len(ids) and missing == 0
    notes.append(
        "every invitation e-mailed" + (f", {twice} twice" if twice else ", none twice")
        if ok
        else "NOT every invitation e-mailed"
    )
    return {"ok": ok, "twice": twice, "missing": missing, "notes": notes}


def fault_disk_full(stack, private: Path) -> dict:
    from customers.models import Customer
    from sales.models import Contract

    notes = []
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(private)], check=True)
    try:
        browser = Browser(stack)
        if browser.login("rep1") != 302:
            sys.exit("rep1 could not log in.")
        customer = Customer.objects.filter(owner__username="rep1").order_by("pk").first()
        path = f"/sales/contracts/new/?customer={customer.pk}"
        __, page, __ = browser.open(path)
        title = f"Disk full {uuid.uuid4().hex[:8]}"
        today = datetime.datetime.now(datetime.UTC).date()
        fields = {
            "csrfmiddlewaretoken": CSRF.search(page).group(1).decode(),
            "title": title, "kind": "sales", "start_date": today.isoformat(),
            "renewal_notice_days": "30", "owner": str(customer.owner_id), "number": "",
        }  # fmt: skip
        kinds = re.findall(rb'<select name="kind".*?<option value="([^"]+)"', page, re.DOTALL)
        if kinds:
            fields["kind"] = kinds[0].decode()
        pdf = b"%PDF-1.4\n" + os.urandom(2 * 1024 * 1024) + b"\n%%EOF\n"
        body, kind = multipart(fields, "signed_file", "signed.pdf", pdf, "application/pdf")
        status, answer, url = browser.open(path, body, kind)
        text = answer.decode(errors="replace")
        message = re.search(r'class="[^"]*invalid-feedback[^"]*"[^>]*>\s*([^<]+)', text)
        alert = re.search(r'class="alert[^"]*"[^>]*>\s*([^<]+)', text)
        shown = (message or alert).group(1).strip() if (message or alert) else text[:120]
        notes.append(f"the upload answered {status} at {urllib.parse.urlsplit(url).path}")
        notes.append(f"the user saw: {shown!r}")
        rows = Contract.objects.filter(title=title).count()
        left = [(p.name, p.stat().st_size) for p in private.rglob("*") if p.is_file()]
        notes.append(f"contract rows with the title: {rows}; files left on the full disk: {left}")
        ok = status == 200 and rows == 0 and not left
        notes.append("clean refusal" if ok else "NOT a clean refusal")
    finally:
        subprocess.run(["umount", str(private)], check=False)
    return {"ok": ok, "notes": notes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--only", default=",".join(FAULTS))
    parser.add_argument("--settle", type=float, default=60, help="seconds of load before")
    parser.add_argument("--after", type=float, default=90, help="seconds of load after")
    parser.add_argument("--import-rows", type=int, default=50_000)
    parser.add_argument("--invitations", type=int, default=1000)
    args = parser.parse_args()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    folder = BENCH_DIR / "results" / f"faults-{stamp}"
    folder.mkdir(parents=True)
    mail_dir, private = folder / "mail", folder / "private"
    private.mkdir()
    # The worker's queue, mail and private files: the same here as in the stack.
    os.environ.update(
        {"CELERY_QUEUE": f"kehu-load-{DB_NAME}", "EMAIL_URL": f"file:///{mail_dir}",
         "PRIVATE_FILES_ROOT": str(private)}
    )  # fmt: skip
    bench_env_apply()
    os.environ["CACHE_KEY_PREFIX"] = f"kehu-load-{DB_NAME}"
    import django

    django.setup()
    from stack import CpuSampler, Stack, collectstatic, locust_ensure, machine, users_data

    locust_ensure()
    collectstatic()
    data_path = folder / "users.json"
    users_data(data_path)
    print(f"{machine()}; {args.users} users; results in {folder}")
    stack = Stack(
        folder,
        extra_env={"EMAIL_URL": f"file:///{mail_dir}", "PRIVATE_FILES_ROOT": str(private)},
    )
    cpu = CpuSampler()
    cpu.start()
    results: dict = {}
    wanted = args.only.split(",")
    actions = {
        "postgres": fault_postgres,
        "redis": fault_redis,
        "web-worker": fault_web_worker,
    }
    try:
        stack.start()
        for name in wanted:
            print(f"\n{name} …", flush=True)
            if name in actions:
                results[name] = fault_run(
                    stack, cpu, folder, data_path, name, actions[name],
                    users=args.users, settle=args.settle, after=args.after,
                )  # fmt: skip
                continue
            background = LoadBackground(stack, folder / name, data_path, args.users)
            try:
                if name == "celery-import":
                    results[name] = fault_celery_import(stack, folder, args.import_rows)
                elif name == "celery-survey":
                    results[name] = fault_celery_survey(stack, folder, mail_dir, args.invitations)
                elif name == "disk-full":
                    results[name] = fault_disk_full(stack, private)
            finally:
                results.setdefault(name, {"ok": False, "notes": ["the fault run stopped"]})
                results[name]["load"] = background.stop()
            print(f"\n### {name}\n")
            for note in [*results[name]["notes"], *results[name]["load"]]:
                print(f"- {note}")
    finally:
        stack.stop()
        cpu.stop()
    (folder / "results.json").write_text(json.dumps(results, indent=1, default=str))
    clean = all(
        r.get("ok", True) and "WRITES NOT CLEAN" not in r.get("notes", []) for r in results.values()
    )
    sys.exit(0 if clean else 1)


class LoadBackground:
    """The moderate load beside a fault that is not about the stack itself."""

    def __init__(self, stack, folder: Path, data_path: Path, users: int):
        from stack import LocustRun

        folder.mkdir()
        self.since = datetime.datetime.now(datetime.UTC)
        self.run = LocustRun(folder, stack.base, [(3600, users, max(users / 20, 1))])
        self.run.start(data_path)
        time.sleep(30)
        self.fault = time.time()

    def stop(self) -> list[str]:
        from stack import page_table, writes_check, writes_clean

        self.run.process.send_signal(signal.SIGINT)
        self.run.process.wait(timeout=90)
        __, total = page_table(self.run.requests(), self.fault, time.time())
        report = writes_check(self.run.writes(), self.since)
        return [
            f"load beside it: {total['requests']:,} requests, 5xx {total['5xx']}, other errors "
            f"{total['errors']}, read p95 {total['read_p95']:.0f} ms; writes "
            + ("clean" if writes_clean(report) else "NOT CLEAN")
        ]


if __name__ == "__main__":
    main()
