"""The users of bench/load.py and bench/faults.py: sales reps and managers who log
in through the real log-in form and work through nginx over HTTPS.

Started by load.py (`locust -f bench/locustfile.py --headless …`), which writes the
pool of customers each demo account may use to the JSON file named by
LOAD_DATA. Every write carries a unique token (an interaction's notes, an order's
notes) and its outcome as the client saw it goes, one JSON line per write, to the
file LOAD_WRITES (+ the process id); load.py then checks each against the database.
Claims are written there too, with the customer and the outcome.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

from locust import FastHttpUser, LoadTestShape, between, events, task

DATA = json.loads(Path(os.environ["LOAD_DATA"]).read_text()) if "LOAD_DATA" in os.environ else {}
PASSWORD = DATA.get("password", "")
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ORDER_DONE = re.compile(r"^/sales/orders/(\d+)/$")
_writes = None


def write_log(record: dict) -> None:
    """One line per write as the client saw it, flushed at once (a killed run keeps
    what it had)."""
    global _writes
    if _writes is None:
        _writes = open(  # noqa: SIM115 - open for the life of the process
            f"{os.environ['LOAD_WRITES']}.{os.getpid()}", "a", encoding="utf-8"
        )
    _writes.write(json.dumps({**record, "at": time.time()}) + "\n")
    _writes.flush()


class FormFields(HTMLParser):
    """The fields of the first form holding `marker`, as a browser would submit them
    unchanged (no submit buttons, checked boxes only, each select's chosen option)."""

    def __init__(self, marker: str):
        super().__init__()
        self.marker = marker
        self.forms: list[list[tuple[str, str]]] = []
        self.current: list[tuple[str, str]] | None = None
        self.select: str | None = None
        self.select_value: str | None = None
        self.first_option: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.current = []
        elif self.current is None:
            return
        elif tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.current.append((a["name"], a.get("value") or ""))
        elif tag == "select" and a.get("name"):
            self.select, self.select_value, self.first_option = a["name"], None, None
        elif tag == "option" and self.select is not None:
            value = a.get("value") or ""
            if self.first_option is None:
                self.first_option = value
            if "selected" in a:
                self.select_value = value
        elif tag == "textarea" and a.get("name"):
            self.textarea, self.text = a["name"], ""

    def handle_data(self, data):
        if self.textarea is not None:
            self.text += data

    def handle_endtag(self, tag):
        if self.current is None:
            return
        if tag == "select" and self.select is not None:
            chosen = self.select_value if self.select_value is not None else self.first_option
            self.current.append((self.select, chosen or ""))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.current.append((self.textarea, self.text.lstrip("\n")))
            self.textarea = None
        elif tag == "form":
            self.forms.append(self.current)
            self.current = None

    def fields(self) -> dict[str, str]:
        for form in self.forms:
            if any(name == self.marker for name, __ in form):
                return dict(form)
        return {}


def form_fields(html: str, marker: str) -> dict[str, str]:
    parser = FormFields(marker)
    parser.feed(html)
    return parser.fields()


class CrmUser(FastHttpUser):
    """Shared by reps and managers: log in once, then a weighted mix with think time."""

    abstract = True
    wait_time = between(3, 8)
    accounts: tuple[str, ...] = ()
    connection_timeout = 60.0
    network_timeout = 120.0

    def on_start(self):
        self.username = random.choice(self.accounts)  # noqa: S311 - load, not secrets
        self.data = DATA["users"][self.username]
        while not self.login():
            time.sleep(5)  # a fault run may start while something is down

    def login(self) -> bool:
        with self.client.get("/login/", name="login form", catch_response=True) as page:
            found = CSRF_FIELD.search(page.text or "")
            if page.status_code != 200 or found is None:
                page.failure(f"log-in page {page.status_code}")
                return False
        with self.client.post(
            "/login/",
            data={
                "csrfmiddlewaretoken": found.group(1),
                "username": self.username,
                "password": PASSWORD,
            },
            headers={"Referer": self.host + "/login/"},
            name="log in",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code != 302 or "/login/" in (answer.headers.get("Location") or ""):
                answer.failure(f"log-in {answer.status_code}")
                return False
        return True

    def _csrf_cookie(self) -> str:
        for cookie in self.client.cookiejar:
            if cookie.name == "csrftoken":
                return cookie.value
        return ""

    def page(self, path: str, name: str, *, htmx: bool = False):
        """A read; a redirect to the log-in page (a lost session) is a failure."""
        headers = {"HX-Request": "true"} if htmx else {}
        with self.client.get(
            path, name=name, headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code == 302 and "/login/" in response.headers.get("Location", ""):
                response.failure("session lost: sent to the log-in page")
                self.login()
            elif response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            return response

    def customer_id(self) -> int:
        return random.choice(self.data["customers"])  # noqa: S311

    # --- reads ---------------------------------------------------------------

    @task(6)
    def customer_list(self):
        self.page("/customers/", "customer list")

    @task(4)
    def search_name(self):
        name = random.choice(self.data["names"])  # noqa: S311
        self.page(f"/customers/?q={quote(name)}", "search: name")

    @task(3)
    def search_phone(self):
        phone = random.choice(self.data["phones"])  # noqa: S311
        self.page(f"/customers/?q={quote(phone)}", "search: phone")

    @task(2)
    def search_top_bar(self):
        name = random.choice(self.data["names"])  # noqa: S311
        self.page(f"/search/?q={quote(name)}", "top-bar search", htmx=True)

    @task(8)
    def customer_page(self):
        self.page(f"/customers/{self.customer_id()}/", "customer 360 page")

    @task(3)
    def workbench(self):
        self.page("/", "workbench")

    # --- writes --------------------------------------------------------------

    @task(3)
    def log_interaction(self):
        customer = self.customer_id()
        token = f"LOAD-{uuid.uuid4().hex}"
        form = self.page(f"/interactions/log/{customer}/", "interaction form", htmx=True)
        if form.status_code != 200:
            return
        fields = form_fields(form.text or "", "subject")
        fields.update({"subject": "Load test call", "notes": f"Asked about the renewal. {token}"})
        record = {"kind": "interaction", "token": token, "user": self.username}
        record["customer"] = customer
        with self.client.post(
            f"/interactions/log/{customer}/",
            data=fields,
            headers={"HX-Request": "true", "X-CSRFToken": self._csrf_cookie(),
                     "Referer": f"{self.host}/customers/{customer}/"},
            name="log interaction", allow_redirects=False, catch_response=True,
        ) as answer:  # fmt: skip
            ok = answer.status_code == 200 and "timeline-changed" in (
                answer.headers.get("HX-Trigger") or ""
            )
            if not ok:
                answer.failure(f"not logged: HTTP {answer.status_code}")
        write_log({**record, "ok": ok, "status": answer.status_code})

    @task(2)
    def enter_order(self):
        customer = self.customer_id()
        token = f"LOAD-{uuid.uuid4().hex}"
        path = f"/sales/orders/new/?customer={customer}"
        form = self.page(path, "order form")
        if form.status_code != 200:
            return
        fields = form_fields(form.text or "", "lines-TOTAL_FORMS")
        if not fields:
            form.failure("no order form on the page")
            return
        fields.update(
            {"notes": f"Phone order. {token}", "status": "pending", "currency": "CNY",
             "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-0-product": "",
             "lines-0-description": "Load test item", "lines-0-quantity": "2",
             "lines-0-unit_price": "149.00", "lines-0-discount_percent": ""}
        )  # fmt: skip
        record = {"kind": "order", "token": token, "user": self.username, "customer": customer}
        with self.client.post(
            path, data=fields, headers={"Referer": self.host + path},
            name="enter order", allow_redirects=False, catch_response=True,
        ) as answer:  # fmt: skip
            location = answer.headers.get("Location") or ""
            ok = answer.status_code == 302 and ORDER_DONE.match(location) is not None
            if not ok:
                answer.failure(f"not saved: HTTP {answer.status_code}")
        write_log({**record, "ok": ok, "status": answer.status_code})

    @task(2)
    def claim_from_pool(self):
        pool = self.page("/customers/pool/", "pool")
        if pool.status_code != 200 or not self.data["pool"]:
            return
        customer = self.data["pool"].pop(random.randrange(len(self.data["pool"])))  # noqa: S311
        token = self._csrf_cookie()
        with self.client.post(
            "/customers/claim/",
            data={"csrfmiddlewaretoken": token, "ids": str(customer), "back": ""},
            headers={"Referer": self.host + "/customers/pool/"},
            name="claim from pool", allow_redirects=False, catch_response=True,
        ) as answer:  # fmt: skip
            location = answer.headers.get("Location") or ""
            # Claimed: off to the customer's page. Refused (the cap, the day's
            # quota, taken by someone else): back to the pool with a message.
            ok = answer.status_code == 302 and location == f"/customers/{customer}/"
            refused = answer.status_code == 302 and location.startswith("/customers/pool/")
            if not (ok or refused):
                answer.failure(f"claim: HTTP {answer.status_code}")
        write_log(
            {"kind": "claim", "customer": customer, "user": self.username, "ok": ok,
             "refused": refused, "status": answer.status_code}
        )  # fmt: skip


class Rep(CrmUser):
    weight = 4
    accounts = ("rep1", "rep2")


class Manager(CrmUser):
    weight = 1
    accounts = ("manager",)

    @task(4)
    def dashboard(self):
        self.page("/dashboard/", "dashboard")

    @task(1)
    def performance(self):
        self.page("/sales/performance/", "sales performance")


_requests = None


@events.request.add_listener
def _request_log(request_type, name, response_time, response_length, response, exception, **kw):
    """Every request with its time, so load.py can cut any window (a step, a fault)."""
    global _requests
    if "LOAD_REQUESTS" not in os.environ:
        return
    if _requests is None:
        _requests = open(f"{os.environ['LOAD_REQUESTS']}.{os.getpid()}", "a")  # noqa: SIM115
    status = getattr(response, "status_code", 0) or 0
    error = " ".join(str(exception).split())[:120] if exception else ""
    _requests.write(f"{time.time():.3f}\t{name}\t{response_time:.1f}\t{status}\t{error}\n")


@events.quitting.add_listener
def _close(environment, **kwargs):
    for file in (_writes, _requests):
        if file is not None:
            file.close()


if "LOAD_STAGES" in os.environ:

    class Stages(LoadTestShape):
        """LOAD_STAGES: [[until second, users, spawn rate], …]; stops after the last."""

        stages = json.loads(os.environ["LOAD_STAGES"])

        def tick(self):
            elapsed = self.get_run_time()
            for until, users, rate in self.stages:
                if elapsed < until:
                    return users, rate
            return None
