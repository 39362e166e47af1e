"""64 simultaneous randomization requests through the real HTTP endpoint of a real server
process, on a SQLite file and (when DATABASE_URL points at one) on PostgreSQL.

Checks: 64 × 201, 64 distinct slots (65 with the duplicate-request participant), within each stratum the used slots are exactly 1..k in
allocation order (none skipped or duplicated); a repeated request for the same participant is
refused with 409 and the allocation is unchanged; 8 simultaneous requests for one more
participant give one 201 and seven 409.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict

import pytest

from trialdesk.testing.personas import PASSWORD
from trialdesk.testing.scratch_db import free_port, postgres_env, run_script, sqlite_env

SCRIPT = "trialdesk.randomization.tests.concurrency_server"


class Session:
    def __init__(self, base: str, username: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.open(f"{base}/accounts/login/").read()
        body = urllib.parse.urlencode(
            {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf}
        ).encode()
        req = urllib.request.Request(
            f"{base}/accounts/login/", data=body, headers={"Referer": f"{base}/accounts/login/"}
        )
        self.opener.open(req).read()
        assert any(c.name == "sessionid" for c in self.jar), f"login failed for {username}"

    @property
    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def post(self, path: str) -> tuple[int, dict]:
        req = urllib.request.Request(
            f"{self.base}{path}",
            data=b"",
            method="POST",
            headers={"X-CSRFToken": self.csrf, "Referer": f"{self.base}/"},
        )
        try:
            with self.opener.open(req, timeout=120) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


def _concurrency(env: dict) -> None:
    people = json.loads(run_script(SCRIPT, env, "setup"))
    people, twin = people[:64], people[64]
    port = free_port()
    log = open(os.path.join(env["TRIALDESK_DATA_DIR"], "server.log"), "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", SCRIPT, "serve", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("server did not start: see server.log")
        sessions = {"01": Session(base, "coord_a"), "02": Session(base, "coord_b")}
        barrier = threading.Barrier(len(people))
        results: dict[str, tuple[int, dict]] = {}

        def hit(person):
            barrier.wait()
            url = f"/api/v1/NCT07183384/randomization/participants/{person['subject_id']}/randomize"
            results[person["subject_id"]] = sessions[person["site"]].post(url)

        threads = [threading.Thread(target=hit, args=(p,)) for p in people]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        codes = sorted({code for code, _ in results.values()})
        assert codes == [201], {k: v for k, v in results.items() if v[0] != 201}
        again = sessions[people[0]["site"]].post(
            f"/api/v1/NCT07183384/randomization/participants/{people[0]['subject_id']}/randomize"
        )
        assert again[0] == 409 and "already randomized" in again[1]["detail"]
        # eight simultaneous requests for one participant (a double click, two tabs ...)
        clicks: list[int] = []
        twin_barrier = threading.Barrier(8)

        def click():
            twin_barrier.wait()
            url = f"/api/v1/NCT07183384/randomization/participants/{twin['subject_id']}/randomize"
            clicks.append(sessions[twin["site"]].post(url)[0])

        twins = [threading.Thread(target=click) for _ in range(8)]
        for t in twins:
            t.start()
        for t in twins:
            t.join()
        assert sorted(clicks) == [201] + [409] * 7
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    state = json.loads(run_script(SCRIPT, env, "dump"))
    allocations, slots = state["allocations"], {s["pk"]: s for s in state["slots"]}
    assert len(allocations) == 65
    assert len({a["slot_id"] for a in allocations}) == 65
    assert len({a["participant__subject_id"] for a in allocations}) == 65
    first = next(a for a in allocations if a["participant__subject_id"] == people[0]["subject_id"])
    assert again[1]["detail"].count(first["randomization_number"]) == 1
    by_stratum = defaultdict(list)
    for a in allocations:  # in commit (pk) order
        by_stratum[a["stratum"]].append(slots[a["slot_id"]]["sequence"])
    for stratum, seqs in by_stratum.items():
        assert seqs == list(range(1, len(seqs) + 1)), (stratum, seqs)
        used = sorted(
            s["sequence"] for s in slots.values() if s["stratum"] == stratum and s["used"]
        )
        assert used == seqs
    print(
        f"64 concurrent randomizations in {elapsed:.2f} s; strata {dict((k, len(v)) for k, v in by_stratum.items())}"
    )


@pytest.mark.slow
def test_64_simultaneous_requests_sqlite(tmp_path):
    _concurrency(sqlite_env(tmp_path, "conc"))


@pytest.mark.slow
@pytest.mark.postgres
def test_64_simultaneous_requests_postgres(tmp_path):
    with postgres_env(tmp_path, "td_conc") as env:
        _concurrency(env)
