"""What `trialdesk audit verify` compares for outreach (registered in OutreachConfig.ready)."""

from __future__ import annotations

from trialdesk.audit.reconcile import Reconciler, exempt, merge, register
from trialdesk.outreach.models import Lead


def _leads():
    for pk, status in Lead.objects.values_list("pk", "status").iterator(chunk_size=2000):
        yield pk, {"status": status}


def register_all() -> None:
    register("outreach.lead", Reconciler(_leads, merge("status"), ("create", "status")))
    exempt(
        "outreach.ratecounter",
        "a rate-limit counter under a keyed hash: expires within its window and holds no data "
        "of anyone; auditing it would trace every visitor",
    )
    exempt(
        "outreach.subscription",
        "a visitor's own sign-up for notices (e-mail encrypted), not trial data; she alone "
        "changes it through her signed links, and auditing it would trace every visitor",
    )
    exempt(
        "outreach.noticesent",
        "the once-only marker of a notice e-mailed to a subscriber (idempotence of "
        "`trialdesk notices send`), derived from the subscriptions and the protocols",
    )
