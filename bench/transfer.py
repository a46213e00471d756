"""Time the customer import and export end to end, through a real HTTP server and
a real Celery worker, against `kehu_bench` (bench/generate.py fills it).

    .venv/bin/python bench/transfer.py [--rows 100000]

Import: a register of ROWS rows and 10 columns (name, gender, phone, e-mail,
company, title, province, city, source, tags), fresh phones and e-mails each
run, uploaded as the data steward through the wizard's forms; timed from the
upload until the job page says it finished; rows per second, and the peak
memory (VmHWM) of the worker and of the web server. Export: the same customers
(found by the run's tag) downloaded as xlsx and as CSV through the list's
export link; rows per second, beside the time PostgreSQL takes for the main
query alone. Targets (issue #4): 10,000 rows/s or better, under 500 MB.
"""

# ruff: noqa: T201, S310, S603

from __future__ import annotations

import argparse
import io
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

import psycopg2
from benchenv import DATABASE_URL, DEMO_PASSWORD, ROOT, bench_env_apply
from run import Browser, free_port, server_start

TARGET_ROWS_PER_S = 10_000
BLOCKS = ("199", "198", "195", "193", "191", "189", "188", "187", "186", "185")
TARGET_MB = 500


def register(rows: int, run: int, *, unmapped: bool = False) -> bytes:
    sys.path.insert(0, str(ROOT))
    from crm.sheets.writer import xlsx_bytes

    rng = random.Random(run)  # noqa: S311 - benchmark data
    surnames = (
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    )
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌宇浩凯"
    companies = [
        f"{city}{word}有限公司" for city in "沪京深杭宁苏" for word in ("贸易", "科技", "制造")
    ]
    head = ["姓名", "性别", "手机", "邮箱", "公司", "职务", "省份", "城市", "来源", "标签"]
    data = [head]
    for i in range(rows):
        name = rng.choice(surnames) + rng.choice(given) + rng.choice(given)
        data.append(
            [
                name,
                rng.choice(["男", "女"]),
                # Eleven digits, a mobile block and a digit of the run's: new numbers for
                # up to ten million rows, and for a hundred runs in a row.
                f"{BLOCKS[run // 10 % 10]}{run % 10}{i:07d}",
                f"bench{run}-{i}@example.com",
                rng.choice(companies),
                rng.choice(["经理", "总监", "采购", ""]),
                "广东省",
                rng.choice(["深圳市", "广州市", "东莞市"]),
                # A word no channel has: every row imported with a warning.
                "直播间" if unmapped else rng.choice(["展会", "官网", "转介绍"]),
                f"bench-{run}",
            ]
        )
    return xlsx_bytes(data)


def multipart(
    fields: dict[str, str], file_field: str, name: str, data: bytes,
    kind: str = "application/octet-stream",
):  # fmt: skip
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    for key, value in fields.items():
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode())
        body.write(f"{value}\r\n".encode())
    body.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="{name}"\r\nContent-Type: {kind}\r\n\r\n'.encode()
    )
    body.write(data + b"\r\n" + f"--{boundary}--\r\n".encode())
    return body.getvalue(), f"multipart/form-data; boundary={boundary}"


def post(browser: Browser, path: str, data: bytes, content_type: str):
    request = urllib.request.Request(
        browser.base + path,
        data=data,
        headers={"Content-Type": content_type, "Referer": browser.base + path},
    )
    with browser.opener.open(request, timeout=600) as response:
        return response.status, response.read(), response.url


def csrf(body: bytes) -> str:
    return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()


def peak_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--run", type=int, help="the register of an earlier run again: every row an update"
    )
    parser.add_argument(
        "--unmapped", action="store_true", help="a source no channel has: every row warned"
    )
    args = parser.parse_args()
    bench_env_apply()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off needs the manifest
    run = args.run if args.run is not None else int(time.time()) % 100_000
    data = register(args.rows, run, unmapped=args.unmapped)
    print(f"register: {args.rows:,} rows, {len(data) / 1e6:.1f} MB (run {run})")
    queue = f"kehu-bench-{run}"
    env = {**os.environ, "CELERY_QUEUE": queue}
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kehu", "worker", "--pool=solo", "-Q", queue,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        os.environ["CELERY_QUEUE"] = queue
        port = free_port()
        server = server_start(port, log)
        failed = False
        try:
            browser = Browser(f"http://127.0.0.1:{port}")
            browser.login("steward", DEMO_PASSWORD)
            _status, _headers, page, _url = browser.get("/customers/import/")
            started = time.monotonic()
            body, ctype = multipart({"csrfmiddlewaretoken": csrf(page)}, "file", "bench.xlsx", data)
            _status, page, url = post(browser, "/customers/import/", body, ctype)
            job = re.search(r"/customers/import/(\d+)/", url).group(1)
            # The worker reads the upload; the job page sends the browser on to the
            # columns once it has.
            while "/columns/" not in url:
                if worker.poll() is not None:
                    sys.exit(f"The worker stopped; see {log.name}.")
                if b"alert-danger" in page:
                    sys.exit("The upload could not be read.")
                time.sleep(0.3)
                _status, _headers, page, url = browser.get(f"/customers/import/{job}/")
            read_seconds = time.monotonic() - started
            read_mb = peak_mb(worker.pid)
            mapping = {
                f"col_{i}": key
                for i, key in enumerate(
                    ["name", "gender", "phones", "emails", "company", "title", "province",
                     "city", "source", "tags"]
                )
            }  # fmt: skip
            form = urllib.parse.urlencode(
                {"csrfmiddlewaretoken": csrf(page), "owner": "pool", "mode": "fill", **mapping}
            ).encode()
            _status, page, url = post(
                browser, f"/customers/import/{job}/columns/", form,
                "application/x-www-form-urlencoded",
            )  # fmt: skip
            if "/values/" in url:  # the suggestions as they come
                chosen = {
                    name.decode(): value.decode()
                    for name, value in re.findall(
                        rb'<select name="(v[\d_]+)".*?<option value="([^"]*)" selected',
                        page,
                        re.DOTALL,
                    )
                }
                form = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf(page), **chosen})
                _status, page, url = post(
                    browser, f"/customers/import/{job}/values/", form.encode(),
                    "application/x-www-form-urlencoded",
                )  # fmt: skip
            form = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf(page)}).encode()
            committed = time.monotonic()
            post(
                browser,
                f"/customers/import/{job}/preview/",
                form,
                "application/x-www-form-urlencoded",
            )
            while True:
                _status, _headers, page, _url = browser.get(f"/customers/import/{job}/")
                if b"count-created" in page or b"alert-danger" in page:
                    break
                if worker.poll() is not None:
                    sys.exit(f"The worker stopped; see {log.name}.")
                time.sleep(0.5)
            seconds = time.monotonic() - started
            import_seconds = time.monotonic() - committed
            summary = re.search(rb'id="import-summary">([^<]+)<', page)
            print(f"import: {summary.group(1).decode() if summary else 'FAILED'}")
            rate = args.rows / seconds
            worker_mb, server_mb = peak_mb(worker.pid), peak_mb(server.pid)
            print(
                f"import: {seconds:.1f} s end to end, {rate:,.0f} rows/s "
                f"(target {TARGET_ROWS_PER_S:,}): the worker read the upload for the wizard in "
                f"{read_seconds:.1f} s, the commit took {import_seconds:.1f} s "
                f"({args.rows / import_seconds:,.0f} rows/s); peak memory worker "
                f"{worker_mb:.0f} MB ({read_mb:.0f} MB after reading for the wizard), web "
                f"{server_mb:.0f} MB (target < {TARGET_MB})"
            )
            failed |= rate < TARGET_ROWS_PER_S or max(worker_mb, server_mb) >= TARGET_MB

            with psycopg2.connect(DATABASE_URL) as connection, connection.cursor() as cursor:
                cursor.execute("SELECT id FROM customers_tag WHERE name = %s", [f"bench-{run}"])
                tag = cursor.fetchone()[0]
                started = time.monotonic()
                cursor.execute(
                    "SELECT c.* FROM customers_customer c JOIN customers_customer_tags t "
                    "ON t.customer_id = c.id WHERE t.tag_id = %s AND c.deleted_at IS NULL",
                    [tag],
                )
                rows = len(cursor.fetchall())
                sql_seconds = time.monotonic() - started
            for file_format in ("xlsx", "csv"):
                started = time.monotonic()
                _status, _headers, content, _url = browser.get(
                    f"/customers/export/?tags={tag}&format={file_format}"
                )
                seconds = time.monotonic() - started
                rate = rows / seconds
                print(
                    f"export {file_format}: {rows:,} rows, {len(content) / 1e6:.1f} MB in "
                    f"{seconds:.1f} s, {rate:,.0f} rows/s (raw SQL of the rows: "
                    f"{sql_seconds:.2f} s, ratio {seconds / max(sql_seconds, 1e-6):.0f}×); "
                    f"web peak {peak_mb(server.pid):.0f} MB"
                )
                failed |= rate < TARGET_ROWS_PER_S
        finally:
            server.terminate()
            worker.terminate()
            server.wait(timeout=20)
            worker.wait(timeout=20)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
