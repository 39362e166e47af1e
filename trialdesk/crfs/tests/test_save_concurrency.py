"""Finding 6: optimistic concurrency of form saves under real simultaneous requests, through a
real threaded server, on a SQLite file and (when DATABASE_URL points at one) on PostgreSQL.

Each round sends N saves of the same form based on the same revision at once (half through
the JSON API, half as page POSTs): exactly one is accepted and every other one is answered 409
naming the newer revision; the stored value is the winner's; nothing is lost or written twice.
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

import pytest

from trialdesk.testing.personas import PASSWORD
from trialdesk.testing.scratch_db import free_port, postgres_env, run_script, sqlite_env

SCRIPT = "trialdesk.crfs.tests.save_concurrency_server"
N, ROUNDS = 8, 4
NOW = time.strftime("%Y-%m-%dT%H:%M", time.localtime(time.time() - 3600))
VITALS = {
    "timepoint": "VISIT", "measured_at": NOW, "sbp": "122", "dbp": "78", "rr": "16",
    "temperature": "36.8", "spo2": "98",
}  # fmt: skip


class Session:
    def __init__(self, base: str, username: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )
        self.opener.open(f"{base}/accounts/login/").read()
        body = {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf}
        self.send("/accounts/login/", urllib.parse.urlencode(body).encode(), form=True)
        assert any(c.name == "sessionid" for c in self.jar), f"login failed for {username}"

    @property
    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def send(self, path: str, data: bytes, *, form: bool) -> tuple[int, str]:
        kind = "application/x-www-form-urlencoded" if form else "application/json"
        req = urllib.request.Request(
            f"{self.base}{path}", data=data, method="POST",
            headers={"X-CSRFToken": self.csrf, "Referer": f"{self.base}/", "Content-Type": kind},
        )  # fmt: skip
        try:
            with self.opener.open(req, timeout=120) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a page save answers 302: count it, do not follow it


def _hr(who: int, revision: int) -> int:
    """Every save of a round differs from what is stored (a save that changes nothing does
    not bump the revision, and so rightly conflicts with no one)."""
    return 60 + who + 10 * revision


def _save(session, who: int, kind: str, ids: dict, revision: int) -> tuple[int, str]:
    hr = str(_hr(who, revision))
    if kind == "api":
        path = f"/api/v1/NCT07183384/crfs/participants/{ids['subject_id']}/visits/D7/forms/vitals"
        body = {"revision": revision, "values": {**VITALS, "hr": hr}}
        return session.send(path, json.dumps(body).encode(), form=False)
    path = f"/staff/NCT07183384/crfs/visit/{ids['visit_pk']}/vitals/1/"
    body = {**VITALS, "hr": hr, "revision": str(revision), "temperature__unit": "degC"}
    return session.send(path, urllib.parse.urlencode(body).encode(), form=True)


def _concurrency(env: dict) -> None:
    ids = json.loads(run_script(SCRIPT, env, "setup"))
    port = free_port()
    log = open(os.path.join(env["TRIALDESK_DATA_DIR"], "server.log"), "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", SCRIPT, "serve", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=log, text=True,
    )  # fmt: skip
    winners: list[int] = []
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
        sessions = [Session(base, "coord_a" if i % 2 else "inv_a") for i in range(N)]
        for revision in range(ROUNDS):
            barrier = threading.Barrier(N)
            results: dict[int, tuple[int, str]] = {}

            def hit(i, revision=revision, barrier=barrier, results=results):
                barrier.wait()
                kind = "api" if i % 2 else "page"
                results[i] = _save(sessions[i], i, kind, ids, revision)

            threads = [threading.Thread(target=hit, args=(i,)) for i in range(N)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            won = [i for i, (code, _) in results.items() if code in (200, 302)]
            lost = [i for i, (code, _) in results.items() if code == 409]
            assert len(won) == 1 and len(lost) == N - 1, (
                {i: (c, b[:300]) for i, (c, b) in results.items()},
                _log_tail(env),
            )
            for i in lost:
                assert f"the form is now at revision {revision + 1}" in results[i][1]
            winners.append(won[0])
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    state = json.loads(run_script(SCRIPT, env, "dump"))
    assert state["revision"] == ROUNDS
    assert state["hr"] == _hr(winners[-1], ROUNDS - 1)
    assert state["hr_version"] == ROUNDS and state["hr_events"] == ROUNDS  # one write per round
    assert state["chain_ok"]


@pytest.mark.slow
def test_simultaneous_saves_with_one_revision_one_wins_sqlite(tmp_path):
    _concurrency(sqlite_env(tmp_path, "save"))


@pytest.mark.slow
@pytest.mark.postgres
def test_simultaneous_saves_with_one_revision_one_wins_postgres(tmp_path):
    with postgres_env(tmp_path, "td_save") as env:
        _concurrency(env)


def _log_tail(env, lines: int = 60) -> str:
    """The server's last lines (a 500's traceback), for the failure message."""
    path = os.path.join(env["TRIALDESK_DATA_DIR"], "server.log")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError:
        return "(no server.log)"
