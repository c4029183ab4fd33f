"""Locust users for bench/load.py (which starts locust with this file; not run on its own).

BENCH_LOAD_DATA names a JSON file written by bench/load.py: the round, its item UUIDs, the
number of questionnaire pages, one signed-in session per panelist and the response ids the
floor writes to. BENCH_THINK is the pause after each request, "MIN,MAX" seconds.
"""

import itertools
import json
import os
import random

from locust import HttpUser, between, task

with open(os.environ["BENCH_LOAD_DATA"]) as fh:
    DATA = json.load(fh)
THINK = between(*(float(s) for s in os.environ.get("BENCH_THINK", "0.5,2").split(",")))
_next_session = itertools.count()


class Panelist(HttpUser):
    """One panelist each: reads a page, rates its statements one autosave at a time, turns the
    page, and starts again from page 1 after the last."""

    wait_time = THINK
    network_timeout = 30.0
    connection_timeout = 30.0

    def on_start(self):
        session = DATA["sessions"][next(_next_session) % len(DATA["sessions"])]
        self.headers = {
            "Cookie": session["cookie"],
            "X-CSRFToken": session["csrf"],
            "Content-Type": "application/json",
        }
        self.page = random.randrange(DATA["pages"])  # users spread over the pages from the start
        self.todo = []

    @task
    def step(self):
        rnd = DATA["round"]
        if not self.todo:
            self.page = (self.page + 1) % DATA["pages"]
            per_page = len(DATA["items"]) // DATA["pages"]
            self.todo = DATA["items"][self.page * per_page : (self.page + 1) * per_page]
            self.client.get(
                f"/p/r/{rnd}/page/{self.page + 1}/",
                headers={"Cookie": self.headers["Cookie"]},
                name="page",
            )
            return
        body = json.dumps({"item": self.todo.pop(0), "value": str(random.randint(1, 9))})
        self.client.post(f"/p/r/{rnd}/autosave/", body, headers=self.headers, name="autosave")


class Floor(HttpUser):
    """The floor under the same load: one indexed SELECT + one upsert, no session, no checks."""

    wait_time = THINK
    network_timeout = 30.0
    connection_timeout = 30.0

    @task
    def floor(self):
        body = json.dumps(
            {
                "item": random.choice(DATA["items"]),
                "response": random.choice(DATA["responses"]),
                "value": str(random.randint(1, 9)),
            }
        )
        self.client.post(
            "/bench/floor/", body, headers={"Content-Type": "application/json"}, name="floor"
        )
