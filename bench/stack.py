"""The production stack for bench/load.py and bench/faults.py, and what both
measure: gunicorn (deploy/gunicorn.conf.py), a Celery worker and beat, nginx with
the shipped site file and a self-signed certificate, all against the bench
database with the bench environment (DEBUG off); locust through nginx over HTTPS;
the CPU of each part; the check of every write the users made.

PostgreSQL and Redis are the machine's own (127.0.0.1:5432 and :6379).
"""

# ruff: noqa: T201, S310, S603, S608

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from benchenv import BENCH_DIR, BENCH_ENV, DB_NAME, DEMO_PASSWORD, ROOT

VENV_BIN = Path(sys.executable).parent
NGINX = "/usr/sbin/nginx"
HOST = "127.0.0.1"
ACCOUNTS = ("rep1", "rep2", "manager")
# Reads judged against the 300 ms p95 goal; the rest are forms and writes.
WRITES = ("log interaction", "enter order", "claim from pool", "log in")


def locust_ensure() -> None:
    """bench/requirements.txt into this virtualenv when locust is missing."""
    if (VENV_BIN / "locust").exists():
        return
    print("Installing bench/requirements.txt (locust) …", flush=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "-r", str(BENCH_DIR / "requirements.txt")],
        check=True,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def is_read(page: str) -> bool:
    """A page that only reads: not a write, nor the form a write starts from."""
    return page not in WRITES and "form" not in page


def port_wait(port: int, process: subprocess.Popen, what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} ended with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{what} did not start within {seconds} s")


def stop(process: subprocess.Popen | None, seconds: float = 30) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Stack:
    """Start with `start()`, end with `stop()`. Logs and the certificate go to `folder`."""

    folder: Path
    web_workers: int = 3
    web_threads: int = 4
    celery_concurrency: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    web: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    beat: subprocess.Popen | None = None
    nginx: subprocess.Popen | None = None
    https: int = 0
    upstream: int = 0

    @property
    def base(self) -> str:
        return f"https://{HOST}:{self.https}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **BENCH_ENV,
            "BEHIND_HTTPS_PROXY": "true",
            "TRUSTED_PROXY_COUNT": "1",
            "KEHU_BIND": f"127.0.0.1:{self.upstream}",
            "WEB_CONCURRENCY": str(self.web_workers),
            "GUNICORN_THREADS": str(self.web_threads),
            # Its own queue and cache keys: another Kehu on this Redis keeps its own.
            "CELERY_QUEUE": f"kehu-load-{DB_NAME}",
            "CACHE_KEY_PREFIX": f"kehu-load-{DB_NAME}",
            **self.extra_env,
        }

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        out = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        return subprocess.Popen(argv, cwd=ROOT, env=self.env(), stdout=out, stderr=out)

    def start(self) -> None:
        from crm.tests.nginx_site import certificate, site_render

        self.folder.mkdir(parents=True, exist_ok=True)
        self.upstream, self.https = free_port(), free_port()
        self.web_start()
        self.worker_start()
        self.beat = self._spawn(
            "beat",
            [str(VENV_BIN / "celery"), "-A", "kehu", "beat", "-l", "warning",
             "-s", str(self.folder / "beat-schedule")],
        )  # fmt: skip
        cert, key = certificate(self.folder, HOST)
        conf = site_render(
            self.folder, host=HOST, https=self.https, plain=free_port(), upstream=self.upstream,
            static=Path(BENCH_ENV["STATIC_ROOT"]), cert=cert, key=key,
            worker_processes=1, worker_connections=4096,
        )  # fmt: skip
        self.nginx = self._spawn("nginx", [NGINX, "-c", conf, "-g", "daemon off;"])
        port_wait(self.https, self.nginx, "nginx")
        self.health_wait()

    def web_start(self) -> None:
        self.web = self._spawn(
            "gunicorn",
            [str(VENV_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "kehu.wsgi:application"],
        )
        port_wait(self.upstream, self.web, "gunicorn")

    def worker_start(self) -> None:
        self.worker = self._spawn(
            "worker",
            [str(VENV_BIN / "celery"), "-A", "kehu", "worker", "-l", "warning",
             "--concurrency", str(self.celery_concurrency), "-n", f"bench-{os.getpid()}@%h"],
        )  # fmt: skip

    def get(self, path: str, timeout: float = 30) -> tuple[int, bytes]:
        context = ssl.create_default_context(cafile=str(self.folder / "cert.pem"))
        context.check_hostname = False
        request = urllib.request.Request(self.base + path)
        try:
            with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def health_wait(self, seconds: float = 120) -> dict:
        """Until /healthz answers 200 through nginx (the worker's and beat's heartbeats in)."""
        deadline = time.monotonic() + seconds
        body = b""
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                status, body = self.get("/healthz", timeout=10)
                if status == 200:
                    return json.loads(body)
            time.sleep(2)
        raise SystemExit(f"/healthz did not turn 200 within {seconds} s: {body[:300]!r}")

    def web_worker_pids(self) -> list[int]:
        import psutil

        return [child.pid for child in psutil.Process(self.web.pid).children()]

    def celery_pool_pids(self) -> list[int]:
        import psutil

        return [child.pid for child in psutil.Process(self.worker.pid).children()]

    def stop(self) -> None:
        for process in (self.nginx, self.beat, self.worker, self.web):
            stop(process)


# --- CPU ---------------------------------------------------------------------

GROUPS = {
    "postgres": lambda p: p.name().startswith("postgres"),
    "gunicorn (Kehu)": lambda p: "gunicorn" in " ".join(p.cmdline()[:2]),
    "celery worker + beat": lambda p: "celery" in " ".join(p.cmdline()[:2]),
    "nginx": lambda p: p.name() == "nginx",
    "redis": lambda p: p.name().startswith("redis"),
    "locust": lambda p: "locust" in " ".join(p.cmdline()[:2]),
}


class CpuSampler(threading.Thread):
    """Every `interval` seconds, the CPU each group of processes used since the
    last sample, in cores (1.0 = one core busy), and the whole machine's."""

    def __init__(self, interval: float = 5.0):
        super().__init__(daemon=True)
        self.interval = interval
        self.samples: list[dict] = []
        self.done = threading.Event()

    def run(self) -> None:
        import psutil

        previous: dict[int, tuple[str, float]] = {}
        last = time.monotonic()
        psutil.cpu_percent(None)
        while not self.done.wait(self.interval):
            now = time.monotonic()
            seen: dict[int, tuple[str, float]] = {}
            used: dict[str, float] = defaultdict(float)
            for process in psutil.process_iter():
                try:
                    group = next((g for g, match in GROUPS.items() if match(process)), None)
                    if group is None:
                        continue
                    times = process.cpu_times()
                    total = times.user + times.system
                except (psutil.Error, OSError):
                    continue
                seen[process.pid] = (group, total)
                before = previous.get(process.pid)
                if before is not None:
                    used[group] += total - before[1]
            elapsed = now - last
            sample = {g: round(used[g] / elapsed, 3) for g in GROUPS}
            sample["machine"] = round(psutil.cpu_percent(None) / 100 * psutil.cpu_count(), 3)
            sample["at"] = time.time()
            if previous:
                self.samples.append(sample)
            previous, last = seen, now

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)

    def summary(self, start: float, end: float) -> dict[str, tuple[float, float]]:
        """Mean and peak cores per group between the two times."""
        window = [s for s in self.samples if start <= s["at"] <= end]
        keys = [*GROUPS, "machine"]
        if not window:
            return dict.fromkeys(keys, (0.0, 0.0))
        return {
            k: (statistics.fmean(s[k] for s in window), max(s[k] for s in window)) for k in keys
        }


# --- locust ------------------------------------------------------------------


def users_data(path: Path, *, per_account: int = 3000, pool: int = 6000) -> dict:
    """For each demo account: customers it may work on, names and phones to search
    for, and customers in the pool to claim (a separate slice each)."""
    from django.db import connection

    from crm.models import User
    from customers.models import CustomerPhone

    data: dict = {"password": DEMO_PASSWORD, "users": {}}
    people = {u.username: u for u in User.objects.filter(username__in=ACCOUNTS)}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM customers_customer WHERE owner_id IS NULL AND deleted_at IS NULL"
            " ORDER BY random() LIMIT %s",
            [pool],
        )
        pool_ids = [row[0] for row in cursor.fetchall()]
        for index, name in enumerate(ACCOUNTS):
            user = people[name]
            if name == "manager":  # the whole team
                where, args = "team_id = %s", [user.team_id]
            else:
                where, args = "owner_id = %s", [user.pk]
            cursor.execute(
                f"SELECT id, name FROM customers_customer WHERE {where} AND deleted_at IS NULL"
                " ORDER BY random() LIMIT %s",
                [*args, per_account],
            )
            rows = cursor.fetchall()
            ids = [row[0] for row in rows]
            names = [row[1] for row in rows if 2 <= len(row[1]) <= 4][:500]
            names += sorted({row[1][0] for row in rows})[:50]  # one-character searches
            phones = [
                phone.number.removeprefix("+86")
                for phone in CustomerPhone.objects.filter(customer_id__in=ids[:400])
            ]
            phones = [f"{p[:3]} {p[3:7]} {p[7:]}" if len(p) == 11 else p for p in phones]
            data["users"][name] = {
                "customers": ids,
                "names": names,
                "phones": phones[:300],
                "pool": pool_ids[index :: len(ACCOUNTS)],
            }
    path.write_text(json.dumps(data, ensure_ascii=False))
    return data


@dataclass
class LocustRun:
    folder: Path
    host: str
    stages: list[tuple[float, int, float]]  # (until second, users, spawn rate)
    process: subprocess.Popen | None = None
    started: float = 0.0

    @property
    def duration(self) -> float:
        return self.stages[-1][0]

    def start(self, data_path: Path) -> None:
        env = {
            **os.environ,
            "LOAD_DATA": str(data_path),
            "LOAD_WRITES": str(self.folder / "writes.jsonl"),
            "LOAD_REQUESTS": str(self.folder / "requests.csv"),
            "LOAD_STAGES": json.dumps(self.stages),
        }
        out = open(self.folder / "locust.log", "ab")  # noqa: SIM115
        self.started = time.time()
        self.process = subprocess.Popen(
            [str(VENV_BIN / "locust"), "-f", str(BENCH_DIR / "locustfile.py"), "--headless",
             "--host", self.host, "--only-summary", "--loglevel", "WARNING",
             "--stop-timeout", "30"],
            cwd=ROOT, env=env, stdout=out, stderr=out,
        )  # fmt: skip

    def wait(self) -> None:
        try:
            self.process.wait(timeout=self.duration + 120)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=60)

    def requests(self) -> list[tuple[float, str, float, int, str]]:
        """(time, name, ms, status, error) of every request locust made."""
        rows = []
        for path in self.folder.glob("requests.csv.*"):
            for line in path.read_text().splitlines():
                at, name, ms, status, error = line.split("\t", 4)
                rows.append((float(at), name, float(ms), int(status), error))
        rows.sort()
        return rows

    def writes(self) -> list[dict]:
        rows = []
        for path in self.folder.glob("writes.jsonl.*"):
            rows += [json.loads(line) for line in path.read_text().splitlines() if line]
        return rows


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def page_table(rows, start: float, end: float) -> tuple[list[dict], dict]:
    """Per page name between two times: requests, req/s, p50/p95/p99, 5xx, other errors."""
    seconds = max(end - start, 1e-9)
    by_name: dict[str, list] = defaultdict(list)
    for row in rows:
        if start <= row[0] < end:
            by_name[row[1]].append(row)
    table = []
    for name in sorted(by_name, key=lambda n: -len(by_name[n])):
        items = by_name[name]
        ms = [r[2] for r in items]
        table.append(
            {
                "page": name,
                "requests": len(items),
                "rps": len(items) / seconds,
                "p50": percentile(ms, 50),
                "p95": percentile(ms, 95),
                "p99": percentile(ms, 99),
                "5xx": sum(1 for r in items if r[3] >= 500),
                "errors": sum(1 for r in items if r[4] and r[3] < 500),
                "read": is_read(name),
            }
        )
    everything = [r for r in rows if start <= r[0] < end]
    reads = [r[2] for r in everything if is_read(r[1])]
    total = {
        "requests": len(everything),
        "rps": len(everything) / seconds,
        "read_p50": percentile(reads, 50),
        "read_p95": percentile(reads, 95),
        "read_p99": percentile(reads, 99),
        "5xx": sum(1 for r in everything if r[3] >= 500),
        "errors": sum(1 for r in everything if r[4] and r[3] < 500),
    }
    return table, total


def page_markdown(table: list[dict]) -> str:
    lines = [
        "| page | requests | req/s | p50 ms | p95 ms | p99 ms | 5xx | other errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in table:
        lines.append(
            f"| {row['page']} | {row['requests']:,} | {row['rps']:.1f} | {row['p50']:.0f} "
            f"| {row['p95']:.0f} | {row['p99']:.0f} | {row['5xx']} | {row['errors']} |"
        )
    return "\n".join(lines)


def cpu_markdown(cpu: dict[str, tuple[float, float]]) -> str:
    lines = ["| process | mean cores | peak cores |", "| --- | ---: | ---: |"]
    for name, (mean, peak) in cpu.items():
        lines.append(f"| {name} | {mean:.2f} | {peak:.2f} |")
    return "\n".join(lines)


def errors_seen(rows, start: float, end: float, limit: int = 8) -> list[tuple[str, int]]:
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        if start <= row[0] < end and (row[4] or row[3] >= 500):
            counts[f"{row[1]}: {row[3]} {row[4][:80]}"] += 1
    return sorted(counts.items(), key=lambda kv: -kv[1])[:limit]


# --- the writes ----------------------------------------------------------------


def writes_check(writes: list[dict], since) -> dict:
    """Each token the client saw saved exists exactly once; a token of a failed
    request at most once; each claim the client saw succeed made that user the
    owner with exactly one claim row in the ownership ledger (since `since`)."""
    from django.db import connection

    from crm.models import User
    from customers.models import Customer, OwnershipChange, OwnershipKind
    from interactions.models import Interaction
    from sales.models import Order

    found: dict[str, dict[str, int]] = {}
    connection.close()  # a fault may have ended it (PostgreSQL restarted): a fresh one
    with connection.cursor() as cursor:
        for kind, model in (("interaction", Interaction), ("order", Order)):
            cursor.execute(
                f"SELECT substring(notes from 'LOAD-[0-9a-f]{{32}}'), count(*) "
                f"FROM {model._meta.db_table} WHERE notes LIKE %s GROUP BY 1",
                ["%LOAD-%"],
            )
            found[kind] = dict(cursor.fetchall())
    report: dict = {}
    for kind in ("interaction", "order"):
        mine = [w for w in writes if w["kind"] == kind]
        ok = [w for w in mine if w["ok"]]
        failed = [w for w in mine if not w["ok"]]
        counts = found[kind]
        report[kind] = {
            "sent": len(mine),
            "saved (client saw)": len(ok),
            "lost": sum(1 for w in ok if counts.get(w["token"], 0) == 0),
            "doubled": sum(1 for w in mine if counts.get(w["token"], 0) > 1),
            "failed but saved once": sum(1 for w in failed if counts.get(w["token"], 0) == 1),
            "failed, not saved": sum(1 for w in failed if counts.get(w["token"], 0) == 0),
        }
    claims = [w for w in writes if w["kind"] == "claim"]
    users = {u.username: u.pk for u in User.objects.filter(username__in=ACCOUNTS)}
    ids = {w["customer"] for w in claims}
    owners = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "owner_id"))
    ledger: dict[tuple[int, int], int] = defaultdict(int)
    per_customer: dict[int, int] = defaultdict(int)
    for customer_id, to_user in OwnershipChange.objects.filter(
        customer_id__in=ids, kind=OwnershipKind.CLAIM, at__gte=since
    ).values_list("customer_id", "to_user_id"):
        ledger[(customer_id, to_user)] += 1
        per_customer[customer_id] += 1
    ok_claims = [w for w in claims if w["ok"]]
    report["claim"] = {
        "sent": len(claims),
        "claimed (client saw)": len(ok_claims),
        "refused (cap, quota, taken)": sum(1 for w in claims if w.get("refused")),
        "errors": sum(1 for w in claims if not w["ok"] and not w.get("refused")),
        "claimed but not the owner": sum(
            1 for w in ok_claims if owners.get(w["customer"]) != users[w["user"]]
        ),
        "claimed without exactly one ledger row": sum(
            1 for w in ok_claims if ledger[(w["customer"], users[w["user"]])] != 1
        ),
        "customers with two claim rows": sum(1 for n in per_customer.values() if n > 1),
    }
    return report


def writes_markdown(report: dict) -> str:
    lines = []
    for kind, figures in report.items():
        parts = ", ".join(f"{name} {value:,}" for name, value in figures.items())
        lines.append(f"- {kind}: {parts}")
    return "\n".join(lines)


def writes_clean(report: dict) -> bool:
    return (
        all(report[k]["lost"] == 0 and report[k]["doubled"] == 0 for k in ("interaction", "order"))
        and report["claim"]["claimed but not the owner"] == 0
        and report["claim"]["claimed without exactly one ledger row"] == 0
        and report["claim"]["customers with two claim rows"] == 0
    )


def database_size() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return cursor.fetchone()[0]


def collectstatic() -> None:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def machine() -> str:
    import platform

    import psutil

    memory = psutil.virtual_memory().total / 1024**3
    return (
        f"{psutil.cpu_count()} cores, {memory:.0f} GB RAM, Python {platform.python_version()}, "
        f"database {DB_NAME}"
    )
