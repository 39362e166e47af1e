"""Day-7 miR-126-3p values for the interim tests, through the eCRF's own derivation."""

from __future__ import annotations

from django.utils import timezone

from trialdesk.crfs.actions import do_save_form
from trialdesk.crfs.models import ItemValue
from trialdesk.testing.participants import visit_of
from trialdesk.visits.actions import do_record_visit_date

CEL39 = 20.0
DCT0 = 8.0


def _mirna(p, visit, ct126: float) -> dict:
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    return {
        "sample_id": f"{p.subject_id}-{visit}",
        "drawn_at": now,
        "tube_type": "EDTA",
        "ct_mir126": f"{ct126:.2f}",
        "ct_cel39": f"{CEL39:.2f}",
        "ct_mir23a": "25.00",
        "ct_mir451a": "21.00",
        "calibrator": "SUBJECT_BASELINE",
    }


def enter_d7_mirna(personas, p, log2fc: float) -> float:
    """The pre-dose (D0) and day-7 miRNA forms with raw Ct values, as the lab enters them; the
    day-7 calibrator ΔCt is the D0 ΔCt (``copy_of: D0.dct``), so ``log2_fold_change =
    -(ΔCt - calibrator ΔCt)`` derives. Returns the stored (derived) log2 fold change."""
    user = personas["coord_a"]
    for code in ("D0", "D7"):
        visit = visit_of(p, code)
        if visit.actual_date is None:
            do_record_visit_date(visit, timezone.localdate(), user)
    do_save_form(visit_of(p, "D0"), "mirna", user, raw=_mirna(p, "D0", CEL39 + DCT0))
    ct126 = round(CEL39 + DCT0 - log2fc, 2)
    out = do_save_form(visit_of(p, "D7"), "mirna", user, raw=_mirna(p, "D7", ct126))
    return ItemValue.objects.get(form=out.form, item="log2_fold_change").num_value
