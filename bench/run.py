"""Time the customer pages through a real HTTP server, beside their raw SQL.

    .venv/bin/python bench/run.py [--runs 30] [--warmup 3] [--no-sweep]

Needs a filled `kehu_bench` (bench/generate.py). First a sweep: the list page's
main query for every one-character Chinese search in the data, straight in SQL
as rep1, which finds the slowest character. Then starts bench/server.py (Django's
WSGI server, DEBUG off) on a free port, logs in through the real log-in form as
rep1 (own + collaborating + pool customers) and as the manager (the whole team
and the pool), and times each page: the list's first page; on the list and in the
top bar, a common (王), a rare and the sweep's slowest one-character search, a
three-character name and a phone typed with spaces; plus, not judged, a what-if:
the slowest search sorted by customer number. Beside each figure: the
statements the page ran (counted by the server) and the time of those same
statements sent straight to PostgreSQL with psycopg2.

Then EXPLAIN (ANALYZE, BUFFERS) of the one-character list searches' main query
(the n-gram GIN index must serve at least one), and of the slowest statement of
any page that misses the target. Exits 1 when a target is missed.
"""

# ruff: noqa: T201, S310, S603

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import psycopg2
from benchenv import BENCH_DIR, DATABASE_URL, DB_NAME, DEMO_PASSWORD, ROOT, bench_env_apply

TARGET_MS = 100.0
TARGET_QUERIES = 15  # fewer than this
GIN_INDEX = "customers_search_grams_gin"
COMMON_CHARACTER = "王"  # the commonest surname
SLOWEST = "slowest in the sweep"
RARE_COUNT = 500  # a rare character: the one held by about this many customers
USERS = ("rep1", "manager")


# --- HTTP -------------------------------------------------------------------


class Browser:
    """A cookie-keeping client on urllib: the real log-in form, then GETs."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, dict, bytes, str]:
        try:
            with self.opener.open(self.base + path, timeout=120) as response:
                return response.status, dict(response.headers), response.read(), response.url
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read(), exc.url

    def login(self, username: str, password: str) -> None:
        status, _headers, body, _url = self.get("/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status != 200 or token is None:
            sys.exit(f"The log-in page answered {status} without a CSRF token.")
        form = {
            "csrfmiddlewaretoken": token.group(1).decode(),
            "username": username,
            "password": password,
        }
        request = urllib.request.Request(
            self.base + "/login/",
            data=urllib.parse.urlencode(form).encode(),
            headers={"Referer": self.base + "/login/"},
        )
        with self.opener.open(request, timeout=60) as response:
            response.read()
            landed = urllib.parse.urlsplit(response.url).path
        if landed.startswith("/login/") or not any(c.name == "sessionid" for c in self.jar):
            sys.exit(f"Log-in as {username} failed (landed on {landed}).")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_start(port: int, log) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "server.py"), "--port", str(port)],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"The server stopped at start (exit {server.returncode}); see {log.name}.")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5):
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    sys.exit(f"The server did not answer within 60 s; see {log.name}.")


# --- measuring ----------------------------------------------------------------


@dataclass
class Scenario:
    label: str
    path: str
    expect: str  # text the page must show: the search found what it should
    one_char: str = ""  # the character, for a one-character search
    what_if: bool = False  # not a default page: shown for comparison, not judged


@dataclass
class Result:
    user: str
    scenario: Scenario
    times: list[float]
    queries: list[int]
    app_sql_ms: list[float]
    statements: list[dict]
    raw_ms: float = 0.0
    slowest_ms: float = 0.0
    slowest_sql: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p90(self) -> float:
        if len(self.times) < 2:  # one timed run (a first load): it is its own p90
            return max(self.times)
        return statistics.quantiles(self.times, n=10, method="inclusive")[-1]

    @property
    def ok(self) -> bool:
        if self.scenario.what_if:
            return True
        return self.median < TARGET_MS and max(self.queries) < TARGET_QUERIES


def page_time(browser: Browser, scenario: Scenario, *, runs: int, warmup: int, user: str):
    times, queries, app_ms = [], [], []
    for i in range(warmup + runs):
        started = time.perf_counter()
        status, headers, body, url = browser.get(scenario.path)
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200 or urllib.parse.urlsplit(url).path.startswith("/login/"):
            sys.exit(f"{scenario.path} as {user} answered {status} ({url}).")
        if i == 0 and scenario.expect.encode() not in body:
            sys.exit(f"{scenario.path} as {user} does not show {scenario.expect!r}.")
        if i >= warmup:
            times.append(elapsed)
            queries.append(int(headers["X-Query-Count"]))
            app_ms.append(float(headers["X-Query-Ms"]))
    # The statements of the last timed request, as the server sent them.
    _status, _headers, body, _url = browser.get("/__bench__/queries")
    return times, queries, app_ms, json.loads(body)


def measure(browser, cursor, scenario: Scenario, *, user: str, runs: int, warmup: int) -> Result:
    """One page for one user: timed through HTTP, then its reads replayed in SQL."""
    times, queries, app_ms, statements = page_time(
        browser, scenario, runs=runs, warmup=warmup, user=user
    )
    result = Result(user, scenario, times, queries, app_ms, statements)
    result.raw_ms, result.slowest_ms, result.slowest_sql = raw_sql_time(
        cursor, statements, runs=runs, warmup=warmup
    )
    print(
        f"  {user:<8} {scenario.label:<45} median {result.median:6.1f} ms  "
        f"p90 {result.p90:6.1f} ms  {max(queries):2d} queries  "
        f"raw SQL {result.raw_ms:6.1f} ms",
        flush=True,
    )
    return result


_DECLARE = re.compile(r'^DECLARE "[^"]+" NO SCROLL CURSOR WITH HOLD FOR ', re.I)


def replayable(sql: str) -> str | None:
    """The statement as a plain read, or None for a write. A server-side cursor
    (QuerySet.iterator() outside a transaction, e.g. a form's choices) becomes its
    SELECT, fetched whole."""
    sql = _DECLARE.sub("", sql.lstrip())
    return sql if sql.upper().startswith(("SELECT", "WITH")) else None


def raw_sql_time(cursor, statements: list[dict], *, runs: int, warmup: int):
    """The page's read statements straight to PostgreSQL, in order: median total
    and the slowest statement (median) with its SQL. Writes (the session's idle
    stamp) are left out: replaying them would change the data."""
    reads = [sql for s in statements if (sql := replayable(s["sql"])) is not None]
    each: list[list[float]] = [[] for _ in reads]
    totals = []
    for i in range(warmup + runs):
        total = 0.0
        for j, sql in enumerate(reads):
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            spent = (time.perf_counter() - started) * 1000
            total += spent
            if i >= warmup:
                each[j].append(spent)
        if i >= warmup:
            totals.append(total)
    if not reads:
        return 0.0, 0.0, ""
    medians = [statistics.median(times) for times in each]
    slowest = max(range(len(reads)), key=medians.__getitem__)
    return statistics.median(totals), medians[slowest], reads[slowest]


def explain(cursor, sql: str) -> str:
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
    return "\n".join(row[0] for row in cursor.fetchall())


# --- the probes -------------------------------------------------------------

CJK_GRAMS = """
    SELECT gram, count(*) FROM customers_customer, unnest(search_grams) AS gram
    WHERE deleted_at IS NULL AND char_length(gram) = 1 AND gram ~ '^[一-鿿]$'
    GROUP BY gram
"""


def probes():
    """A three-character Chinese name and a phone, both of a customer of rep1's,
    so every user measured sees them; the phone typed the way people type it."""
    from crm.models import User
    from customers.models import Customer, CustomerKind, CustomerPhone

    rep = User.objects.get(username="rep1")
    named = (
        Customer.objects.alive()
        .filter(owner=rep, kind=CustomerKind.PERSON, name__regex=r"^[一-鿿]{3}$")
        .order_by("pk")
        .first()
    )
    phone = (
        CustomerPhone.objects.filter(customer__owner=rep, contact__isnull=True)
        .select_related("customer")
        .order_by("pk")
        .first()
    )
    if named is None or phone is None:
        sys.exit("No customer of rep1 to search for: run bench/generate.py first.")
    national = phone.number.removeprefix("+86")  # decrypted by the field
    typed = f"{national[:3]} {national[3:7]} {national[7:]}"
    return named, phone.customer, typed


def list_query(user, query: str, *, order_by: tuple[str, ...] = ()):
    """The list page's main query for a search, as the view builds it (first page:
    the paginator asks for one row more than it shows)."""
    from customers.filters import CustomerFilter
    from customers.selectors import customer_list

    qs = CustomerFilter({"q": query}, queryset=customer_list(user), user=user).qs
    if order_by:
        qs = qs.order_by(*order_by)
    return qs[:51].query.sql_with_params()


def sql_ms(cursor, sql: str, params, *, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        cursor.execute(sql, params)
        cursor.fetchall()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def sweep(cursor, counts: dict[str, int]) -> str:
    """Every one-character Chinese search through the list page's main query (as
    rep1, default filters), straight in SQL; the slowest ten again, beside the same
    query ordered by id. Returns the slowest character."""
    from crm.models import User

    rep = User.objects.get(username=USERS[0])
    first = {g: sql_ms(cursor, *list_query(rep, g), runs=1) for g in sorted(counts)}
    slowest = sorted(first, key=first.__getitem__, reverse=True)[:10]
    again = {g: sql_ms(cursor, *list_query(rep, g), runs=5) for g in slowest}
    by_id = {g: sql_ms(cursor, *list_query(rep, g, order_by=("-id",)), runs=5) for g in slowest}
    times = sorted(first.values())
    print(
        f"Sweep: the list page's main query for each of the {len(times)} one-character "
        f"Chinese searches ({USERS[0]}, default filters, straight in SQL, one run each): "
        f"median {statistics.median(times):.1f} ms, "
        f"95th percentile {times[int(len(times) * 0.95)]:.1f} ms, max {times[-1]:.1f} ms; "
        f"{sum(t >= TARGET_MS for t in times)} at {TARGET_MS:.0f} ms or more, "
        f"{sum(t >= TARGET_MS / 2 for t in times)} at {TARGET_MS / 2:.0f} ms or more."
    )
    print("The slowest ten, median of 5, beside the same query ordered by id instead:\n")
    print("| search | live customers holding it | as the page runs it ms | ORDER BY id DESC ms |")
    print("| --- | ---: | ---: | ---: |")
    for gram in sorted(slowest, key=again.__getitem__, reverse=True):
        print(f"| {gram} | {counts[gram]:,} | {again[gram]:.1f} | {by_id[gram]:.1f} |")
    print()
    return max(slowest, key=again.__getitem__)


def scenarios(name_customer, phone_customer, typed_phone: str, one_chars) -> list[Scenario]:
    """one_chars: (character, why) pairs, e.g. ("王", "common"). The sweep's slowest
    also gets a what-if: the same search sorted by customer number, which follows
    the order rows were inserted in, as the id does."""
    quote = urllib.parse.quote
    name = name_customer.name
    pages = [Scenario("list, first page", "/customers/", "KH")]
    for base, label in (("/customers/", "list ?q="), ("/search/", "top bar ")):
        for char, why in one_chars:
            path = f"{base}?q={quote(char)}"
            pages.append(Scenario(f"{label}{char} (1 char, {why})", path, "KH", char))
            if base == "/customers/" and why == SLOWEST:
                pages.append(
                    Scenario(
                        f"{label}{char}&sort=-number (what-if)",
                        f"{path}&sort=-number",
                        "KH",
                        char,
                        what_if=True,
                    )
                )
        pages.append(
            Scenario(f"{label}{name} (3 chars)", f"{base}?q={quote(name)}", name_customer.number)
        )
        pages.append(
            Scenario(
                f"{label}{typed_phone} (phone)",
                f"{base}?q={quote(typed_phone)}",
                phone_customer.number,
            )
        )
    return pages


# --- report -----------------------------------------------------------------


def table(results: list[Result]) -> str:
    lines = [
        "| page | user | median ms | p90 ms | queries | SQL in app ms | raw SQL ms "
        "| slowest statement ms | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        queries = min(r.queries), max(r.queries)
        shown = str(queries[1]) if queries[0] == queries[1] else f"{queries[0]}–{queries[1]}"
        lines.append(
            f"| {r.scenario.label} | {r.user} | {r.median:.1f} | {r.p90:.1f} | {shown} "
            f"| {statistics.median(r.app_sql_ms):.1f} | {r.raw_ms:.1f} | {r.slowest_ms:.1f} "
            f"| {'what-if' if r.scenario.what_if else 'ok' if r.ok else 'MISSED'} |"
        )
    return "\n".join(lines)


def short(sql: str) -> str:
    """The SQL without its long column list."""
    return re.sub(r"^SELECT .*? FROM ", "SELECT … FROM ", sql, count=1, flags=re.S)


def access_path(plan: str) -> str:
    """How the plan reads customers_customer: its scan lines, trimmed."""
    scans = [
        re.sub(r"\s+\(cost=.*", "", line).strip(" ->")
        for line in plan.splitlines()
        if "Scan" in line and ("customers_customer " in line or GIN_INDEX in line)
    ]
    return "; ".join(scans) or "?"


def main_statement(result: Result) -> str | None:
    reads = (replayable(s["sql"]) for s in result.statements)
    return next((sql for sql in reads if sql and "search_grams" in sql), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--no-sweep", action="store_true", help="skip timing every one-character search in SQL"
    )
    args = parser.parse_args()

    bench_env_apply()
    import django

    django.setup()
    from django.core.management import call_command

    from customers.models import Customer

    count = Customer.objects.alive().count()
    if count == 0:
        sys.exit(f"{DB_NAME} has no customers: run bench/generate.py first.")
    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off needs the manifest

    db = psycopg2.connect(DATABASE_URL)
    db.autocommit = True
    cursor = db.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")  # as Django's connection
    cursor.execute("SHOW server_version")
    pg_version = cursor.fetchone()[0]
    print(
        f"{count:,} live customers in {DB_NAME}; PostgreSQL {pg_version}; "
        f"Python {platform.python_version()}, Django {django.get_version()}; "
        f"{os.cpu_count()} CPU cores ({platform.machine()}).\n"
    )

    cursor.execute(CJK_GRAMS)
    counts = dict(cursor.fetchall())
    rare = min(counts, key=lambda g: (abs(counts[g] - RARE_COUNT), g))
    one_chars = [(COMMON_CHARACTER, "common"), (rare, "rare")]
    if not args.no_sweep:
        worst = sweep(cursor, counts)
        if worst not in (COMMON_CHARACTER, rare):
            one_chars.append((worst, SLOWEST))
    name_customer, phone_customer, typed_phone = probes()
    pages = scenarios(name_customer, phone_customer, typed_phone, one_chars)
    print(
        "Probes: "
        + "; ".join(f"{c!r} ({why}, {counts.get(c, 0):,} customers)" for c, why in one_chars)
        + f"; 3 chars {name_customer.name!r} ({name_customer.number}); "
        f"phone {typed_phone!r} ({phone_customer.number})."
    )
    print(f"{args.warmup} warm-up and {args.runs} timed requests per page and user.\n")

    port = free_port()
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
        "w+", prefix="kehu-bench-server-", suffix=".log", delete=False
    )
    server = server_start(port, log)
    results: list[Result] = []
    try:
        for user in USERS:
            browser = Browser(f"http://127.0.0.1:{port}")
            browser.login(user, DEMO_PASSWORD)
            for scenario in pages:
                results.append(
                    measure(browser, cursor, scenario, user=user, runs=args.runs,
                            warmup=args.warmup)
                )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()

    print("\n" + table(results) + "\n")
    print(
        "median/p90: the whole request through HTTP, client side. queries: statements per "
        "request, counted by the server (a range when the session's idle stamp is written). "
        "SQL in app: their time inside Django. raw SQL: the page's read statements sent "
        "straight to PostgreSQL with psycopg2, median of the total. slowest statement: the "
        "page's slowest one alone.\n"
    )

    # The n-gram index and the one-character searches.
    gin_users = []
    explained = set()
    for r in results:
        if r.user != USERS[0] or not r.scenario.one_char:
            continue
        sql = main_statement(r)
        if sql is None:
            print(f"No search_grams statement on {r.scenario.path}.")
            continue
        plan = explain(cursor, sql)
        if GIN_INDEX in plan:
            gin_users.append(r.scenario.label)
        print(f"{r.scenario.label}, {r.user}: {access_path(plan)}")
        if r.scenario.path.startswith("/customers/"):
            explained.add(sql)
            print(f"\n=== EXPLAIN (ANALYZE, BUFFERS): {r.scenario.label}, as {r.user} ===")
            print(short(sql) + "\n")
            print(plan + "\n")
    print(f"--> {GIN_INDEX} used by: {', '.join(gin_users) or 'NO one-character search'}\n")

    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"=== MISSED: {r.scenario.label} as {r.user} ===")
        if r.slowest_sql in explained:
            print("(its slowest statement is explained above)\n")
            continue
        explained.add(r.slowest_sql)
        print(short(r.slowest_sql) + "\n")
        print(explain(cursor, r.slowest_sql) + "\n")

    db.close()
    os.unlink(log.name)
    if failed or not gin_users:
        print(
            f"{len(failed)} page(s) missed the target (median < {TARGET_MS:.0f} ms and "
            f"< {TARGET_QUERIES} queries); GIN index used by a one-character search: "
            f"{bool(gin_users)}."
        )
        sys.exit(1)
    print(f"Every page met the target; {GIN_INDEX} used by a one-character search.")


if __name__ == "__main__":
    main()
