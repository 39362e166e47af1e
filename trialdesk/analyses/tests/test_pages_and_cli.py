"""The lock page as each role uses it, and `trialdesk analyze` writing its files."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner
from django.utils import timezone
from pypdf import PdfReader

from trialdesk.analyses.models import AnalysisRun, Snapshot
from trialdesk.commands.analyze import analyze
from trialdesk.crfs.actions import do_save_form
from trialdesk.crfs.models import FormInstance, Query
from trialdesk.dsmb.tests.helpers import dosed_participants, setup_list
from trialdesk.studies.locking import open_lock
from trialdesk.testing.participants import visit_of
from trialdesk.testing.personas import PASSWORD
from trialdesk.testing.urls import reverse
from trialdesk.visits.actions import do_record_visit_date

pytestmark = pytest.mark.django_db
STUDY = "NCT07183384"
WHY = "all data entered, cleaned and signed for the final analysis"


@pytest.fixture
def study(personas):
    setup_list(personas)
    groups = dosed_participants(personas, exo=2, other=2)
    people = groups["EXO"] + groups["other"]
    for i, p in enumerate(people):
        d7 = visit_of(p, "D7")
        do_record_visit_date(d7, timezone.localdate(), personas["coord_a"])
        do_save_form(d7, "vitals", personas["coord_a"], raw={"sbp": str(118 + i), "dbp": "78"})
    Query.objects.update(status=Query.Status.CLOSED)
    FormInstance.objects.filter(status=FormInstance.Status.IN_PROGRESS).update(
        status=FormInstance.Status.COMPLETE
    )
    return people


def test_the_data_manager_locks_and_unlocks_from_the_page(study, login):
    dm = login("dm")
    page = dm.get(reverse("analyses:home")).content.decode()
    assert "The database is open" in page and "Sign and lock" in page
    # a wrong password: refused with the reason, nothing locked
    dm.post(reverse("analyses:lock"), {"reason": WHY, "password": "nope"})
    assert open_lock(STUDY) is None
    page = dm.get(reverse("analyses:home")).content.decode()
    assert "password" in page and "the database was not locked" in page
    dm.post(reverse("analyses:lock"), {"reason": WHY, "password": PASSWORD})
    lock = open_lock(STUDY)
    assert lock is not None
    shot = Snapshot.objects.get(pk=lock.snapshot_id)
    page = dm.get(reverse("analyses:home")).content.decode()
    assert "The database is locked" in page and shot.sha256 in page and "Sign and unlock" in page
    assert "Run the analysis plan" not in page  # the data manager runs no analysis
    dm.post(reverse("analyses:unlock"), {"reason": "a value to correct", "password": PASSWORD})
    assert open_lock(STUDY) is None
    assert Snapshot.objects.filter(study_id=STUDY).count() == 2


@pytest.mark.parametrize("who", ["coord_a", "inv_a", "pharm_a", "dsmb", "safety"])
def test_roles_outside_the_final_analysis_are_refused(study, login, who):
    client = login(who)
    assert client.get(reverse("analyses:home")).status_code == 403
    assert (
        client.post(reverse("analyses:lock"), {"reason": WHY, "password": PASSWORD}).status_code
        == 403
    )
    assert open_lock(STUDY) is None


def test_monitor_and_blinded_statistician_see_the_lock_state_but_no_run(study, personas, login):
    from trialdesk.analyses.actions import do_lock_database, do_run_analysis

    lock = do_lock_database(STUDY, personas["dm"], password=PASSWORD, reason=WHY)
    run = do_run_analysis(Snapshot.objects.get(pk=lock.snapshot_id), personas["ustat"])
    for who in ("monitor", "stat", "admin"):
        page = login(who).get(reverse("analyses:home")).content.decode()
        assert "The database is locked" in page
        assert f"Run {run.pk} of snapshot" not in page and "Sign and lock" not in page
    page = login("ustat").get(reverse("analyses:home")).content.decode()
    assert f"Run {run.pk} of snapshot" in page and "Sign and unblind" in page


def test_analyze_writes_reproducible_results_report_and_datasets(study, personas, tmp_path):
    from trialdesk.analyses.actions import do_lock_database

    lock = do_lock_database(STUDY, personas["dm"], password=PASSWORD, reason=WHY)
    shot = Snapshot.objects.get(pk=lock.snapshot_id)
    runner = CliRunner()
    outs = []
    for name in ("a", "b"):
        result = runner.invoke(
            analyze,
            [
                "--study",
                STUDY,
                "--snapshot",
                str(shot.number),
                "--out",
                str(tmp_path / name),
                "--user",
                "ustat",
            ],
        )
        assert result.exit_code == 0, result.output
        assert shot.sha256 in result.output
        outs.append(tmp_path / name)
    a, b = ((d / "results.json").read_bytes() for d in outs)
    assert a == b  # byte-identical
    meta = json.loads(a)["meta"]
    assert meta["snapshot_sha256"] == shot.sha256 and meta["seed"] == int(shot.sha256[:8], 16)
    assert meta["protocol_sha256"] == shot.protocol_sha256 and meta["software"].startswith(
        "trialdesk"
    )
    reader = PdfReader(io.BytesIO((outs[0] / "report.pdf").read_bytes()))
    assert len(reader.pages) >= 2 and "Final analysis" in reader.pages[0].extract_text()
    adsl = pd.read_parquet(outs[0] / "datasets" / "adsl.parquet")
    from trialdesk.randomization.models import Allocation

    # every randomized participant (the fixture randomizes until both arms have two)
    assert len(adsl) == Allocation.objects.count() >= 4 and set(adsl["arm"]) == {"EXO", "PBO"}
    assert pd.read_csv(outs[0] / "datasets" / "values.csv")["item"].str.contains(".").all()
    assert shot.sha256 in (outs[0] / "datasets" / "README.txt").read_text()
    assert AnalysisRun.objects.filter(snapshot=shot).count() == 2
    # a blinded statistician is refused before unblinding; a wrong snapshot is named
    result = runner.invoke(
        analyze,
        ["--study", STUDY, "--snapshot", "1", "--out", str(tmp_path / "c"), "--user", "stat"],
    )
    assert result.exit_code != 0 and "unblinded statistician" in result.output
    result = runner.invoke(
        analyze,
        ["--study", STUDY, "--snapshot", "9", "--out", str(tmp_path / "d"), "--user", "ustat"],
    )
    assert result.exit_code != 0 and "--snapshot: NCT07183384 has no snapshot 9" in result.output
