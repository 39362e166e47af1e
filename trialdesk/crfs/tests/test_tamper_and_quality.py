"""Tampering with clinical rows is detected by `trialdesk audit verify`; the batch run re-checks."""

from __future__ import annotations

from click.testing import CliRunner
from django.db import connection

from trialdesk.commands.audit import audit
from trialdesk.crfs.actions import do_run_data_quality
from trialdesk.crfs.models import FormInstance, ItemValue, Query
from trialdesk.crfs.tests.test_entry import url, vitals
from trialdesk.testing.participants import visit_of, with_revision


def _enter(login, participant):
    visit = visit_of(participant, "D7")
    assert login("coord_a").post(url(visit), with_revision(url(visit), vitals())).status_code == 302
    return FormInstance.objects.get(visit=visit)


def _sql(statement, params):
    with connection.cursor() as cur:
        cur.execute(statement, params)


def test_verify_passes_on_untouched_data(login, participant_a):
    _enter(login, participant_a)
    result = CliRunner().invoke(audit, ["verify"])
    assert result.exit_code == 0, result.output
    assert "clinical data matches the audit trail" in result.output


def test_edited_clinical_row_is_named(login, participant_a):
    fi = _enter(login, participant_a)
    row = ItemValue.objects.get(form=fi, item="sbp")
    _sql("UPDATE crfs_itemvalue SET value = %s WHERE id = %s", ["118", row.pk])
    result = CliRunner().invoke(audit, ["verify"])
    assert result.exit_code == 1
    assert f"crfs.itemvalue:{row.pk}" in result.output
    assert "audited 122, found 118" in result.output
    assert "event #" in result.output


def test_deleted_clinical_row_is_named(login, participant_a):
    fi = _enter(login, participant_a)
    row = ItemValue.objects.get(form=fi, item="hr")
    _sql("DELETE FROM crfs_itemvalue WHERE id = %s", [row.pk])
    result = CliRunner().invoke(audit, ["verify"])
    assert result.exit_code == 1
    assert f"crfs.itemvalue:{row.pk}" in result.output
    assert "deleted outside the application" in result.output


def test_status_changed_behind_the_application_is_named(login, participant_a):
    fi = _enter(login, participant_a)
    _sql("UPDATE crfs_forminstance SET status = 'locked' WHERE id = %s", [fi.pk])
    result = CliRunner().invoke(audit, ["verify"])
    assert result.exit_code == 1
    assert f"crfs.forminstance:{fi.pk}" in result.output


def test_data_quality_run_recomputes_stale_derived_values_and_queries(login, participant_a):
    fi = _enter(login, participant_a)
    ItemValue.objects.filter(form=fi, item="map").update(value=1.0)  # as if computed by old code
    summary = do_run_data_quality(None)
    assert summary.forms_checked >= 1 and summary.derived_fixed == 1
    assert ItemValue.objects.get(form=fi, item="map").value == 92.7
    assert "1 derived value recomputed" in summary.summary()
    # Nothing fires on clean data, and a second run changes nothing.
    assert not Query.objects.exists()
    again = do_run_data_quality(None)
    assert (again.queries_opened, again.derived_fixed) == (0, 0)
    result = CliRunner().invoke(audit, ["verify"])
    assert result.exit_code == 0, result.output


def test_data_quality_run_queries_values_that_break_limits(login, participant_a):
    fi = _enter(login, participant_a)
    # A value stored before a protocol amendment tightened the limits: simulate by raw update
    # together with a matching audit event written through the application path.
    from django.db import transaction

    from trialdesk.audit.actions import record

    row = ItemValue.objects.get(form=fi, item="hr")
    with transaction.atomic():
        old = row.snapshot()
        row.value, row.num_value, row.entered_value = 140, 140.0, "140"
        row.save()
        record("change", obj=row, old=old, new=row.snapshot(), reason="legacy import")
    summary = do_run_data_quality(None)
    assert summary.queries_opened == 1
    q = Query.objects.get()
    assert q.item == "hr" and "outside the expected range" in q.text


def test_data_quality_page_is_for_data_managers(login, participant_a):
    from trialdesk.testing.urls import reverse

    assert login("coord_a").post(reverse("crfs:data-quality")).status_code == 403
    response = login("dm").post(reverse("crfs:data-quality"), follow=True)
    assert response.status_code == 200
    assert "forms checked" in response.content.decode()


def test_data_quality_from_the_command_line(login, participant_a):
    import io

    from django.core.management import call_command

    _enter(login, participant_a)
    out = io.StringIO()
    call_command("data_quality", "--user", "dm", stdout=out)
    assert "checked:" in out.getvalue()


def test_reinstated_signature_and_reopened_query_are_named(login, participant_a):
    from trialdesk.crfs.models import Signature
    from trialdesk.testing.personas import PASSWORD
    from trialdesk.testing.urls import reverse

    visit = visit_of(participant_a, "D7")
    login("coord_a").post(
        url(visit), with_revision(url(visit), {**vitals(hr="140"), "complete": "1"})
    )
    fi = FormInstance.objects.get(visit=visit)
    # The protocol blocks signing while a query is open (signing.open_queries: block).
    step = reverse("crfs:query-step", args=[Query.objects.get().pk])
    login("coord_a").post(step, {"step": "answer", "text": "Confirmed from the source."})
    login("monitor").post(step, {"step": "close", "text": "Resolved"})
    login("inv_a").post(reverse("crfs:sign", args=[fi.pk]), {"password": PASSWORD})
    login("coord_a").post(
        url(visit), with_revision(url(visit), {**vitals(hr="120"), "reason": "re-measured"})
    )  # voids it
    sig = Signature.objects.get()
    assert CliRunner().invoke(audit, ["verify"]).exit_code == 0
    _sql("UPDATE crfs_signature SET voided_at = NULL WHERE id = %s", [sig.pk])
    q = Query.objects.get()  # closed before signing
    _sql("UPDATE crfs_query SET status = 'open' WHERE id = %s", [q.pk])
    result = CliRunner().invoke(audit, ["verify"])
    assert result.exit_code == 1
    assert (
        f"crfs.signature:{sig.pk}" in result.output
        and "valid: audited False, found True" in result.output
    )
    assert f"crfs.query:{q.pk}" in result.output
