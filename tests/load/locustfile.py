"""The front desk under load: receptionists logging calls, managers watching the queues.

Run by tests/load/run.py (`make load`), which prepares the database and the people and
hands this file their names, callers' numbers and open callbacks (LOAD_DATA, a JSON file).

Each simulated person is a browser: it logs in through the login form, opens pages, and
sends the htmx requests those pages make, read from the pages themselves (hx-get,
hx-trigger, hx-include): on `load`, on `every 10s` (the navigation badges, the queues) for
as long as the page stays open, and when a field it names changes (the lookup panel as a
number is typed, the promise preview as nature and urgency are picked). Out-of-band swaps
in the answers update the form (the caller the server chose, the callback's due time), and
the form is POSTed with every field the browser would send, hidden ones included
(submission_key, csrfmiddlewaretoken, opened_at).

Think times. A receptionist really logs a call every 1 to 3 minutes; here one call takes
23 to 75 s, 48 s on average (the wait for the next call, the greeting, typing the number,
the talk, the save): 2.5 times as fast, so each simulated receptionist logs the calls of
two or three real ones, while the polling keeps its real period (a page polls every 10 s
whoever sits in front of it). LOAD_THINK scales every think time (LOAD_THINK=2.5: real
pace). Managers are not compressed: a manager watches a queue for a minute or so, and its
polling is the load.

A wrong answer is a failure: any status but the one expected (200 for a page or a part of
one, a redirect to the right place after a POST), a form that comes back with an error, a
badge that says the session ended (htmx's 286), a form "sent twice".
"""

import contextlib
import itertools
import json
import os
import random
import re
import time
from collections import Counter
from html.parser import HTMLParser
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import gevent
import psutil
from locust import FastHttpUser, events, task

DATA = json.loads(Path(os.environ["LOAD_DATA"]).read_text()) if "LOAD_DATA" in os.environ else {}
THINK = float(os.environ.get("LOAD_THINK", "1"))
# How long the steady state is measured once every user has logged in (0: until locust's
# --run-time ends the run, ramp-up included).
MEASURE = float(os.environ.get("LOAD_MEASURE_SECONDS", "0"))

# Names in locust's table: one line per kind of request.
HTMX_NAMES = {
    "/callbacks/counts/": "badge: callback counts (htmx)",
    "/escalations/count/": "badge: open escalations (htmx)",
    "/escalations/": "escalation queue, poll (htmx)",
    "/callbacks/": "callback queue, poll (htmx)",
    "/callbacks/open-for/": "open-callback notice (htmx)",
    "/callbacks/promise/": "callback promise preview (htmx)",
}
SUMMARIES = [
    "Wants to move Thursday's appointment",
    "Asked about an invoice",
    "Question about opening hours",
    "Asked for directions and parking",
    "Wants a quote",
    "Asked whether test results are in",
    "Refund for an oversized order",
    "Reported a leak, wants someone today",
]
FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jonas"]
LAST = ["Abbott", "Brennan", "Castillo", "Dufresne", "Eriksen", "Fong", "Garrity", "Holm"]
# (outcome, weight); a message taken carries a message, a callback scheduled a callback.
OUTCOMES = [
    ("resolved", 50),
    ("message_taken", 25),
    ("callback_scheduled", 15),
    ("transferred", 10),
]
NATURES = [("appointment", 45), ("sales", 20), ("urgent", 10), ("other", 25)]
URGENCIES = [("normal", 70), ("low", 15), ("high", 13), ("emergency", 2)]
MOODS = [("calm", 80), ("upset", 15), ("angry", 5)]

# Why the lookup panel was asked (its lines in the table), by the field that changed.
WHY = {"id_phone": "number typed", "id_caller_name": "name typed", "id_business": "business picked"}

# The ramp-up: logging in hashes a password (half a second of CPU each), so locust's
# statistics start again once every user has logged in; what happened before is kept here.
RAMP = {"requests": 0, "failures": Counter(), "logins": [], "logged_in": 0, "kept": 0}
MEASURING = {"since": None, "cpu": None, "until": None}
# The server's processes, for their CPU time: gunicorn (run.py gives its master's pid) and
# the PostgreSQL backends of its database (whose process title names the database).
SERVER_PID = int(os.environ.get("LOAD_SERVER_PID", "0"))
DATABASE = urlsplit(os.environ.get("DATABASE_URL", "")).path.lstrip("/")


def keep_page(html: str) -> None:
    """Keep the first 20 pages that answered wrong beside the run's logs (LOAD_DATA's
    directory: run.py names them)."""
    RAMP["kept"] += 1
    if "LOAD_DATA" in os.environ and RAMP["kept"] <= 20:
        folder = Path(os.environ["LOAD_DATA"]).parent
        (folder / f"refused-{RAMP['kept']}.html").write_text(html)


def weighted(pairs):
    values, weights = zip(*pairs, strict=True)
    return random.choices(values, weights)[0]


def think(low: float, high: float) -> None:
    gevent.sleep(random.uniform(low, high) * THINK)


class Page(HTMLParser):
    """What a browser keeps of a page or an htmx answer: its fields (with the form they
    belong to) and its elements that make htmx requests."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.fields, self.htmx, self.forms = [], [], []
        self._form = self._select = self._textarea = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = {name: value if value is not None else "" for name, value in attrs}
        if tag == "form":
            self._form = {"attrs": attrs, "fields": []}
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea") and "name" in attrs:
            field = {
                "tag": tag,
                "name": attrs["name"],
                "id": attrs.get("id", ""),
                "type": attrs.get("type", "text") if tag == "input" else tag,
                # A checkbox without a value sends "on".
                "value": attrs.get(
                    "value", "on" if attrs.get("type") in ("checkbox", "radio") else ""
                ),
                "checked": "checked" in attrs,
            }
            self.fields.append(field)
            if self._form is not None:
                self._form["fields"].append(field)
            if tag == "select":
                self._select = field
                field["value"] = None
            elif tag == "textarea":
                self._textarea = field
        elif (
            tag == "option"
            and self._select is not None
            and (self._select["value"] is None or "selected" in attrs)
        ):
            # The first option, unless another is selected.
            self._select["value"] = attrs.get("value", "")
        if "hx-get" in attrs and "hx-trigger" in attrs:
            self.htmx.append(attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            # Browsers drop the newline that follows <textarea>.
            self._textarea["value"] += data.removeprefix("\n")


def triggers(spec: str) -> list[tuple[str, str]]:
    """hx-trigger's events as (event, source id): "load", "every 10s", "input changed
    delay:250ms from:#id_phone" -> [("load", ""), ("every 10s", ""), ("input", "id_phone")]."""
    found = []
    for part in spec.split(","):
        words = part.split()
        if not words:
            continue
        source = next((w[len("from:#") :] for w in words if w.startswith("from:#")), "")
        if "from:body" in words:
            source = "body"
        found.append((" ".join(words[:2]) if words[0] == "every" else words[0], source))
    return found


class Person(FastHttpUser):
    """A browser with a person in front of it, behind the TLS proxy."""

    abstract = True
    default_headers = {"X-Forwarded-Proto": "https"}
    network_timeout = 60.0
    connection_timeout = 60.0
    accounts_key = ""
    numbering = None

    def on_start(self):
        # The proxy speaks TLS to the browser: its cookies are Secure, and gunicorn behind
        # it is plain HTTP on the loopback. Send them anyway, as the browser would.
        self.client.cookiejar.set_policy(DefaultCookiePolicy(secure_protocols=("https", "http")))
        # No redirect is ever followed: each answer is checked as it comes (a POST's
        # redirect is followed by hand). Locust's allow_redirects=False swaps this setting
        # of the client for one request and puts it back after: a poll running meanwhile
        # put it back under a POST in flight, which then followed its 302 to the fresh
        # form and looked like a refused save (seen at 200 users).
        self.client.client.redirect_response_codes = frozenset()
        self.fields, self.forms, self.htmx_elements, self.path = [], [], [], "/"
        self.polls, self.poller = [], None
        accounts = DATA[self.accounts_key]
        self.username = accounts[next(self.numbering) % len(accounts)]
        while not self.log_in():
            think(5, 10)
        self.poller = gevent.spawn(self.poll_forever)

    def on_stop(self):
        if getattr(self, "poller", None) is not None:
            self.poller.kill(block=False)

    # Requests

    def origin(self) -> str:
        return "https://" + urlsplit(self.host).netloc

    def page(self, path: str, name: str, refuse: str = "") -> str | None:
        """Open a page (200 expected, without `refuse` in it) and do what htmx does when it
        is shown: its `load` requests at once, its `every` polls from now on."""
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.headers.get('Location', '')}")
                self.polls = []
                return None
            html = response.text
            if refuse and refuse in html:
                response.failure(f"the page says {refuse!r}")
        parsed = Page(html)
        self.path, self.fields, self.forms = path, parsed.fields, parsed.forms
        self.htmx_elements = parsed.htmx
        now = time.monotonic()
        self.polls = [
            {"element": element, "every": float(event.split()[1].rstrip("s")), "due": 0.0}
            for element in self.htmx_elements
            for event, _ in triggers(element["hx-trigger"])
            if event.startswith("every ")
        ]
        for poll in self.polls:
            poll["due"] = now + poll["every"]
        self.fire("load", "", together=True)
        return html

    def htmx(self, element: dict, why: str = "") -> None:
        """The request htmx makes for this element: its hx-get with the values of its own
        field and of the fields hx-include names. Out-of-band fields in the answer update
        the page's; an HX-Trigger header fires the elements listening for it."""
        url = element["hx-get"]
        path = urlsplit(url).path
        values = self.included(element)
        if values:
            url += ("&" if "?" in url else "?") + urlencode(values)
        headers = {
            "HX-Request": "true",
            "HX-Current-URL": self.origin() + self.path,
        }
        if element.get("id"):
            headers["HX-Trigger"] = element["id"]
        if path == "/callers/lookup/":
            label = f"lookup panel: {why} (htmx)"
        else:
            label = HTMX_NAMES.get(path, f"{path} (htmx)")
        with self.client.get(url, name=label, headers=headers, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.headers.get('Location', '')}")
                return
            html = response.text
            event = response.headers.get("HX-Trigger")
        for answered in Page(html).fields:
            for field in self.fields:
                if answered["id"] and field["id"] == answered["id"]:
                    field["value"], field["checked"] = answered["value"], answered["checked"]
        if event:
            self.fire(event, "body")

    def included(self, element: dict) -> list[tuple[str, str]]:
        own = [f for f in self.fields if element.get("id") and f["id"] == element["id"]]
        chosen = list(own)
        for selector in element.get("hx-include", "").split(","):
            selector = selector.strip().removeprefix("#")
            if selector.startswith("fieldset_"):
                chosen += [f for f in self.fields if f["name"] == selector[len("fieldset_") :]]
            elif selector:
                chosen += [f for f in self.fields if f["id"] == selector and f not in chosen]
        return [
            (f["name"], f["value"])
            for f in chosen
            if f["type"] not in ("checkbox", "radio") or f["checked"]
        ]

    def fire(self, event: str, source: str, *, together: bool = False):
        """Every htmx request this event makes: on the element with id `source` itself
        (no from:), or on the elements listening `from:#source`; "load" on every element
        that says it. A browser sends a page's load requests at once (together)."""
        elements = [
            element
            for element in self.htmx_elements
            for wanted, heard_from in triggers(element["hx-trigger"])
            if wanted == event
            and (heard_from == source or (not heard_from and element.get("id", "") == source))
            and (event != "load" or not source)
        ]
        why = WHY.get(source, "form opened" if event == "load" else event)
        if together and len(elements) > 1:
            gevent.joinall([gevent.spawn(self.htmx, element, why) for element in elements])
        else:
            for element in elements:
                self.htmx(element, why)

    def poll_forever(self):
        """htmx's `every 10s`: each poll of the page shown, on time, whatever the person
        is doing meanwhile."""
        while True:
            now = time.monotonic()
            for poll in list(self.polls):
                if poll["due"] <= now:
                    poll["due"] = now + poll["every"]
                    self.htmx(poll["element"])
            upcoming = [poll["due"] for poll in self.polls]
            gevent.sleep(max(0.05, min(upcoming, default=now + 1) - time.monotonic()))

    def post(self, path: str, data: list[tuple[str, str]], name: str, expect: str):
        """POST a form as a browser does (Origin and Referer of the page); a redirect to
        `expect` is right, anything else a failure. The redirect's target, or None."""
        with self.client.post(
            path,
            data=urlencode(data),
            name=name,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": self.origin(),
                "Referer": self.origin() + path,
            },
            catch_response=True,
        ) as response:
            location = response.headers.get("Location", "")
            if response.status_code == 302 and location.startswith(expect):
                return location
            if response.status_code == 200:
                # What the form says stops it: the alert above it and the fields' errors.
                errors = re.findall(
                    r'<div class="(?:invalid-feedback|alert alert-danger)[^"]*"[^>]*>(.*?)</div>',
                    response.text,
                    flags=re.DOTALL,
                )
                said = " | ".join(" ".join(re.sub(r"<[^>]+>", " ", e).split()) for e in errors)
                keep_page(response.text)
                response.failure(f"form refused: {said[:300]}")
            else:
                response.failure(f"{response.status_code} {location}")
            return None

    def field(self, name: str) -> dict:
        return next(f for f in self.fields if f["name"] == name)

    def set(self, name: str, value: str) -> None:
        for field in self.fields:
            if field["name"] == name:
                if field["type"] in ("radio", "checkbox"):
                    field["checked"] = field["value"] == value
                else:
                    field["value"] = value

    def form_data(self, marker: str) -> list[tuple[str, str]]:
        """The fields of the page's form marked so, as the browser sends them: with what
        the person typed and the out-of-band answers put in since the page was shown."""
        return [
            (f["name"], f["value"])
            for f in next((form["fields"] for form in self.forms if marker in form["attrs"]), [])
            if f["type"] not in ("checkbox", "radio") or f["checked"]
        ]

    def log_in(self) -> bool:
        html = self.page("/accounts/login/", "login form")
        if html is None:
            return False
        token = self.field("csrfmiddlewaretoken")["value"]
        started = time.perf_counter()
        location = self.post(
            "/accounts/login/",
            [
                ("csrfmiddlewaretoken", token),
                ("username", self.username),
                ("password", DATA["password"]),
            ],
            "log in (POST)",
            "/",
        )
        RAMP["logins"].append((time.perf_counter() - started) * 1000)
        if location is None:
            return False
        RAMP["logged_in"] += 1
        environment = self.environment
        if MEASURING["since"] is None and RAMP["logged_in"] >= environment.runner.target_user_count:
            # Everyone is in: measure the steady state from now on, for MEASURE seconds.
            environment.runner.stats.reset_all()
            MEASURING["since"], MEASURING["cpu"] = time.monotonic(), cpu_seconds()
            if MEASURE:
                gevent.spawn_later(MEASURE, stop_measuring, environment)
        return True


class Receptionist(Person):
    """Takes calls: the call form, the lookup panel as the number is typed, the save; now
    and then looks a caller up by name or opens the call log between calls."""

    weight = 9
    accounts_key = "receptionists"
    numbering = itertools.count()

    def on_start(self):
        super().on_start()
        self.form_html = None

    def open_form(self, name: str = "call form"):
        # A form "sent twice" logged one call: it never happens here (one POST each).
        self.form_html = self.page("/calls/new/", name, refuse="That form was sent twice")

    @task
    def take_a_call(self):
        if self.form_html is None:
            self.open_form()
            if self.form_html is None:
                think(5, 10)
                return
        # Waiting for the phone to ring; now and then something else between calls.
        roll = random.random()
        if roll < 0.15 and DATA["callers"]:
            think(2, 6)
            known = random.choice(DATA["callers"])
            self.page("/callers/?" + urlencode({"q": known["name"]}), "callers, search a name")
            think(3, 8)
            self.open_form()
        elif roll < 0.30:
            think(2, 6)
            self.page("/calls/", "call log")
            think(3, 8)
            self.open_form()
        else:
            think(5, 20)
        if self.form_html is None:
            return
        self.log_call()

    def log_call(self):
        known = random.random() < 0.75 and DATA["callers"]
        if known:
            caller = random.choice(DATA["callers"])
            digits = caller["phone"][-10:]
            business, name = caller["business"], caller["name"]
        else:
            area = random.choice(["212", "312", "415", "512", "617"])
            digits = f"{area}555{random.randint(0, 9999):04d}"
            business = random.choice(DATA["businesses"])
            name = f"{random.choice(FIRST)} {random.choice(LAST)}"
        typed = random.choice(
            [
                f"({digits[:3]}) {digits[3:6]}-{digits[6:]}",
                f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
                f"{digits[:3]} {digits[3:6]} {digits[6:]}",
            ]
        )
        think(2, 4)  # the greeting; the number is read off the phone or asked for
        if any(f["name"] == "business" for f in self.fields):
            self.set("business", str(business))
            self.fire("change", "id_business")
        # Typing the number: a pause halfway (htmx waits 250 ms for one), then the rest.
        self.set("phone", typed[: len(typed) // 2 + 1])
        self.fire("input", "id_phone")
        think(0.5, 1.5)
        self.set("phone", typed)
        self.fire("input", "id_phone")
        if not known or not self.field("caller")["value"] or random.random() < 0.3:
            # A new caller says who they are; a known one is confirmed by name.
            think(2, 4)
            self.set("caller_name", name)
            self.fire("input", "id_caller_name")
        think(5, 15)  # listening
        for key, choices in (("nature", NATURES), ("urgency", URGENCIES)):
            value = weighted(choices)
            if not self.field_checked(key, value):
                self.set(key, value)
                self.fire("change", f"fieldset_{key}")
        self.set("mood", weighted(MOODS))
        outcome = weighted(OUTCOMES)
        self.set("outcome", outcome)
        self.set("summary", random.choice(SUMMARIES))
        self.set("wants", "A call back about it" if outcome == "callback_scheduled" else "")
        if outcome == "message_taken":
            self.set("message", "Please call them back about their account.")
        if outcome == "callback_scheduled":
            self.set("callback", "on")
            self.fire("change", "id_callback")
        think(10, 30)  # the rest of the talk, typed as it goes
        data = self.form_data("data-call-form")
        location = self.post("/calls/new/", data, "log a call (POST)", "/calls/new/")
        if location is None:
            self.form_html = None
            return
        # Following the redirect: the fresh form for the next call.
        self.open_form("call form (after the save)")

    def field_checked(self, name: str, value: str) -> bool:
        return any(f["name"] == name and f["value"] == value and f["checked"] for f in self.fields)


class Manager(Person):
    """Watches the escalation queue and the callback queue (both poll, as do the badges),
    and opens a callback now and then."""

    weight = 1
    accounts_key = "managers"
    numbering = itertools.count()

    @task
    def watch_the_queues(self):
        self.page("/escalations/", "escalation queue")
        think(30, 90)
        self.page("/callbacks/", "callback queue")
        think(30, 90)
        if DATA["callbacks"] and random.random() < 0.5:
            self.page(f"/callbacks/{random.choice(DATA['callbacks'])}/", "callback page")
            think(10, 30)


def cpu_seconds() -> dict:
    """CPU seconds used so far by gunicorn's processes and the database's PostgreSQL
    backends (by process), by this locust, and by the whole machine (busy, and in all)."""
    server = {}
    with contextlib.suppress(psutil.Error):
        master = psutil.Process(SERVER_PID) if SERVER_PID else None
        for process in [master, *master.children(recursive=True)] if master else []:
            with contextlib.suppress(psutil.Error):
                server[("gunicorn", process.pid)] = sum(process.cpu_times()[:2])
    for process in psutil.process_iter(["cmdline"]):
        title = " ".join(process.info["cmdline"] or [])
        if DATABASE and title.startswith("postgres:") and f" {DATABASE} " in title:
            with contextlib.suppress(psutil.Error):
                server[("postgres", process.pid)] = sum(process.cpu_times()[:2])
    machine = psutil.cpu_times()
    # Linux counts guest time in user time as well.
    total = sum(machine) - getattr(machine, "guest", 0) - getattr(machine, "guest_nice", 0)
    return {
        "server": server,
        "locust": sum(psutil.Process().cpu_times()[:2]),
        "busy": total - machine.idle - getattr(machine, "iowait", 0),
        "all": total,
    }


def stop_measuring(environment):
    MEASURING["until"] = (time.monotonic(), cpu_seconds(), environment.stats.total.num_requests)
    environment.runner.quit()


def print_cpu(environment) -> None:
    """Where the measured window's CPU went, and the server's CPU per request."""
    if MEASURING["cpu"] is None:
        return
    ended, cpu, requests = MEASURING["until"] or (
        time.monotonic(),
        cpu_seconds(),
        environment.stats.total.num_requests,
    )
    before, seconds = MEASURING["cpu"], ended - MEASURING["since"]
    used = {"gunicorn": 0.0, "postgres": 0.0}
    for (kind, pid), total in cpu["server"].items():
        used[kind] += total - before["server"].get((kind, pid), 0.0)
    server = used["gunicorn"] + used["postgres"]
    cores = psutil.cpu_count()
    busy = (cpu["busy"] - before["busy"]) / max(cpu["all"] - before["all"], 1e-9)
    print(
        f"CPU in the measured {seconds:.0f} s: gunicorn {used['gunicorn']:.1f} s, PostgreSQL "
        f"{used['postgres']:.1f} s (together {server / seconds:.2f} of the {cores} cores), "
        f"locust {cpu['locust'] - before['locust']:.1f} s; the machine was {busy:.0%} busy "
        f"(other people's work included).",
        flush=True,
    )
    if requests and server:
        print(
            f"Server CPU per request: {1000 * server / requests:.1f} ms, i.e. at most "
            f"{requests / server:.0f} requests per second per core of gunicorn + PostgreSQL.",
            flush=True,
        )


@events.request.add_listener
def on_request(name, exception=None, **kwargs):
    if MEASURING["since"] is not None:
        return
    RAMP["requests"] += 1
    if exception is not None:
        RAMP["failures"][f"{name}: {exception}"] += 1


@events.quitting.add_listener
def on_quitting(environment, **kwargs):
    logins = sorted(RAMP["logins"])
    failures = sum(RAMP["failures"].values())
    print(
        f"\nRamp-up (not in the table): {RAMP['requests']:,} requests, {failures:,} failures; "
        f"{len(logins)} logins"
        + (
            f", p50 {logins[len(logins) // 2]:.0f} ms, p95 {logins[int(len(logins) * 0.95)]:.0f} ms"
            if logins
            else ""
        ),
        flush=True,
    )
    for failure, count in RAMP["failures"].most_common(10):
        print(f"  {count:,} x {failure}", flush=True)
    if MEASURING["since"] is None:
        print("Not every user logged in: the table includes the ramp-up.", flush=True)
    print_cpu(environment)
    if failures:
        environment.process_exit_code = 1
