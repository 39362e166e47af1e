"""A database made by the single-study release migrates into the several-studies shape.

``legacy_demo.sqlite3.gz`` was made by that release (commit 392660b): ``trialdesk init`` then
``trialdesk demo load --participants 5`` and a generated randomization list; its audit and
identity keys are the two files beside it (a demo database's, safe to publish). The migration
runs in a separate process, as an operator would run it, on a copy.
"""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
STUDY = "NCT07183384"


def _trialdesk(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trialdesk.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    work = tmp_path_factory.mktemp("legacy")
    db = work / "legacy.sqlite3"
    with gzip.open(HERE / "legacy_demo.sqlite3.gz", "rb") as src, db.open("wb") as out:
        shutil.copyfileobj(src, out)
    before = sqlite3.connect(db)
    counts = {
        "events": before.execute("select count(*) from audit_auditevent").fetchone()[0],
        "participants": before.execute("select count(*) from participants_participant").fetchone()[
            0
        ],
        "labels": sorted(
            r[0] for r in before.execute("select study_id from participants_participant")
        ),
    }
    before.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIALDESK_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=f"sqlite:///{db}",
        TRIALDESK_DATA_DIR=str(work),
        TRIALDESK_SECRET_KEY="legacy-migration-test",
        TRIALDESK_AUDIT_KEY=(HERE / "legacy_audit_key").read_text().strip(),
        TRIALDESK_PII_KEY=(HERE / "legacy_pii_key").read_text().strip(),
    )
    result = _trialdesk(env, "migrate")
    assert result.returncode == 0, result.stderr[-2000:]
    return {"db": db, "env": env, "before": counts, "migrate": result}


def test_the_migrated_trail_verifies_with_its_clinical_data(migrated):
    result = _trialdesk(migrated["env"], "audit", "verify")
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "audit trail intact" in result.stdout
    assert f"{migrated['before']['events']} events" in result.stdout
    assert "clinical data matches the audit trail" in result.stdout


def test_every_row_belongs_to_the_one_study(migrated):
    con = sqlite3.connect(migrated["db"])
    one = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    assert one("select code from studies_study") == [(STUDY,)]
    assert one("select distinct study_id from studies_protocolversion") == [(STUDY,)]
    assert one("select distinct study_id from accounts_site") == [(STUDY,)]
    assert one("select distinct study_id from accounts_membership") == [(STUDY,)]
    assert one("select distinct study_id from participants_participant") == [(STUDY,)]
    assert one("select distinct study_id from randomization_randomizationlist") == [(STUDY,)]
    labels = sorted(r[0] for r in one("select subject_id from participants_participant"))
    assert labels == migrated["before"]["labels"] and len(labels) == 5
    # The events written before studies were scoped belong to that study (head, MACed).
    head = one("select single_study, single_study_until_seq from audit_auditchainhead")
    assert head == [(STUDY, migrated["before"]["events"])]
    con.close()


def test_the_migrated_study_works_under_its_url_and_the_cli_names_it(migrated):
    env = migrated["env"]
    script = (
        "import django, os;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE','trialdesk.site.settings');"
        "django.setup();"
        "from django.test import Client;"
        "from trialdesk.accounts.models import User;"
        "from trialdesk.audit.actions import events_of_study;"
        "c=Client(); c.force_login(User.objects.get(username='dm'));"
        f"r=c.get('/staff/{STUDY}/participants/'); print('LIST', r.status_code);"
        "print('HAS', r.content.decode().count('01-00'));"
        f"print('EVENTS', events_of_study('{STUDY}').count());"
        "r=c.get('/participants/'); print('OLD', r.status_code, r['Location']);"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    out = result.stdout
    assert "LIST 200" in out, result.stderr[-2000:]
    assert int(out.split("HAS ")[1].split()[0]) >= 5
    events = int(out.split("EVENTS ")[1].split()[0])
    assert events >= migrated["before"]["events"]
    assert f"OLD 302 /staff/{STUDY}/participants/" in out  # an old bookmark still lands
