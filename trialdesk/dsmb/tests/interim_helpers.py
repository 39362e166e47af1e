"""Day-7 miR-126-3p values for the interim tests, through the eCRF's own derivation."""

from __future__ import annotations

from django.utils import timezone

from trialdesk.accounts.access import role_at
from trialdesk.crfs.actions import check_stored_form, do_save_form
from trialdesk.crfs.models import ItemValue
from trialdesk.studies.registry import get_protocol
from trialdesk.testing.participants import visit_of
from trialdesk.visits.actions import do_record_visit_date

CEL39 = 20.0
DCT0 = 8.0


def enter_d7_mirna(personas, p, log2fc: float) -> float:
    """Save the D7 miRNA form (raw Ct values, as the lab enters them); the system calibrator
    ΔCt (``entry: system``, the pre-dose ΔCt) is stored as the system would, then the stored
    form is re-checked so ``log2_fold_change = -(ΔCt - calibrator ΔCt)`` derives. Returns the
    stored (derived) log2 fold change."""
    user = personas["coord_a"]
    d7 = visit_of(p, "D7")
    if d7.actual_date is None:
        do_record_visit_date(d7, timezone.localdate(), user)
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    ct126 = round(CEL39 + DCT0 - log2fc, 2)
    raw = {
        "sample_id": f"{p.subject_id}-D7",
        "drawn_at": now,
        "tube_type": "EDTA",
        "ct_mir126": f"{ct126:.2f}",
        "ct_cel39": f"{CEL39:.2f}",
        "ct_mir23a": "25.00",
        "ct_mir451a": "21.00",
        "calibrator": "SUBJECT_BASELINE",
    }
    out = do_save_form(d7, "mirna", user, raw=raw, reason="test")
    fi = out.form
    ItemValue.objects.update_or_create(
        form=fi,
        item="calibrator_dct",
        defaults={
            "participant": p,
            "value": DCT0,
            "num_value": DCT0,
            "entered_value": f"{DCT0}",
            "status": ItemValue.Status.ENTERED,
        },
    )
    check_stored_form(
        get_protocol(p), fi, user, role_at(user, p.site), "calibrator ΔCt filled (test)"
    )
    return ItemValue.objects.get(form=fi, item="log2_fold_change").num_value
