"""Two versions of Kehu side by side on kehu_bench: the same pages, requests
taken in turn (A, B, B, A, …), medians and their ratio.

    .venv/bin/python bench/compare.py --before 54f5219 [--after WORKTREE] [--runs 25]

`--before` is a git revision, checked out into a worktree under bench/.compare/
(kept between runs); `--after` defaults to this checkout. Each version runs its
own bench/server.py (Django's WSGI server, one thread, DEBUG off) against the
same database, so whatever else the machine does costs both alike: a refactor is
judged by the ratio, not by figures taken on another day. The statements each
page runs are compared too (their count, and whether the SQL is the same).

Needs kehu_bench (bench/generate.py) migrated by the newer version; the older
one must be able to run on that schema (models moved with their tables keep it).
"""

# ruff: noqa: T201, S310, S603, S607

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import HTTPCookieProcessor, Request, build_opener

from benchenv import BENCH_DIR, DEMO_PASSWORD, ROOT
from run import free_port

PAGES = [
    "/",
    "/customers/",
    "/customers/?q=王",
    "/customers/?q=裴",
    "/search/?q=王",
    "/search/?q=柯婷亮",
    "/sales/orders/",
    "/sales/pipeline/",
    "/sales/performance/",
    "/interactions/",
    "/interactions/tasks/",
]
USERS = ("rep1", "manager")


class Client:
    def __init__(self, port: int, user: str):
        self.base = f"http://127.0.0.1:{port}"
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))
        page = self.opener.open(self.base + "/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"csrfmiddlewaretoken": token, "username": user, "password": DEMO_PASSWORD}
        self.opener.open(
            Request(
                self.base + "/login/",
                data=urllib.parse.urlencode(form).encode(),
                headers={"Referer": self.base + "/login/"},
            )
        )

    def timed(self, path: str) -> tuple[float, str]:
        """The page's time and statements; a 503 (PostgreSQL or Redis restarting
        under someone else's test) is waited out, up to a minute, and timed again."""
        url = self.base + urllib.parse.quote(path, safe="/?=&")
        for __ in range(30):
            started = time.perf_counter()
            try:
                with self.opener.open(url) as response:
                    response.read()
                    count = response.headers.get("X-Query-Count", "?")
                return (time.perf_counter() - started) * 1000, count
            except HTTPError as error:
                if error.code != 503:
                    raise
                time.sleep(2)
        raise SystemExit(f"{path} answered 503 for a minute")

    def statements(self) -> list[str]:
        with self.opener.open(self.base + "/__bench__/queries") as response:
            sent = json.loads(response.read())
        # Cursor names and the session's signed data differ from run to run.
        return [
            re.sub(r"_django_curs_\w+|session_data\" = '[^']*'", "…", statement["sql"])
            for statement in sent
        ]


def worktree(revision: str) -> Path:
    folder = BENCH_DIR / ".compare" / revision
    if not folder.exists():
        subprocess.run(
            ["git", "worktree", "add", "--force", "--detach", str(folder), revision],
            cwd=ROOT, check=True,
        )  # fmt: skip
    # DEBUG off needs the collected files' manifest; the older tree uses this one's.
    if (BENCH_DIR / "staticfiles").exists() and not (folder / "bench" / "staticfiles").exists():
        shutil.copytree(BENCH_DIR / "staticfiles", folder / "bench" / "staticfiles")
    return folder


def server(tree: Path, log) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "bench/server.py", "--port", str(port)],
        cwd=tree, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            build_opener().open(f"http://127.0.0.1:{port}/login/", timeout=5).read()
            return process, port
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"the server of {tree} did not start (see its log)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision of the older version")
    parser.add_argument("--after", type=Path, default=ROOT, help="source tree of the newer one")
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("pages", nargs="*", default=PAGES)
    args = parser.parse_args()
    trees = {"before": worktree(args.before), "after": args.after.resolve()}
    logs = {name: open(BENCH_DIR / f".compare-{name}.log", "wb") for name in trees}  # noqa: SIM115
    servers = {name: server(tree, logs[name]) for name, tree in trees.items()}
    worse = []
    try:
        print(f"before = {args.before}, after = {trees['after']}; {args.runs} runs each, in turn")
        print("| user | page | before ms | after ms | ratio | queries before → after | SQL |")
        print("| --- | --- | ---: | ---: | ---: | --- | --- |")
        for user in USERS:
            clients = {name: Client(port, user) for name, (__, port) in servers.items()}
            for page in args.pages:
                times: dict[str, list[float]] = {"before": [], "after": []}
                counts = {}
                for run in range(args.warmup + args.runs):
                    order = ("before", "after") if run % 2 else ("after", "before")
                    for name in order:
                        ms, counts[name] = clients[name].timed(page)
                        if run >= args.warmup:
                            times[name].append(ms)
                same = clients["before"].statements() == clients["after"].statements()
                before, after = (statistics.median(times[name]) for name in ("before", "after"))
                ratio = after / before
                if ratio > 1.10:
                    worse.append(f"{user} {page}")
                print(
                    f"| {user} | {page} | {before:.1f} | {after:.1f} | {ratio:.2f} | "
                    f"{counts['before']} → {counts['after']} | {'same' if same else 'differs'} |",
                    flush=True,
                )
    finally:
        for process, __ in servers.values():
            process.terminate()
            process.wait(timeout=30)
        for log in logs.values():
            log.close()
    if worse:
        print("More than 10 % slower: " + ", ".join(worse))
        sys.exit(1)


if __name__ == "__main__":
    main()
