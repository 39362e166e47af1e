"""Every write to eCRF data: saving a form (values, derived values, auto-queries, alerts),
the form life cycle (verify, sign, lock, unlock), queries and alerts, the batch data-quality run.

Each `do_*` runs in one durable transaction and writes its audit events in it. Role checks are
repeated here (views check first): signing, verifying and locking are operational checks of
21 CFR 11.10(f)/(g), and must hold whatever calls them.

One module per seam (common, values, checks, queries, lifecycle, signatures, quality).
This package re-exports their public names, so ``from trialdesk.crfs.actions import do_...``
keeps working; new code may import from the module itself.
"""

from trialdesk.crfs.actions.checks import (
    do_acknowledge_alert,
    notify_investigators,
    sync_auto_queries,
)
from trialdesk.crfs.actions.common import (
    CONTROL_KEYS,
    ENTRY_ROLES,
    MAX_REPEAT,
    QUERY_ROLES,
    CrfError,
    S,
    SaveOutcome,
    StaleRevision,
    _system_values,
    clean_text,
    forms_at_visit,
    repeat_problem,
    reserved_fields,
    unexpected_fields,
)
from trialdesk.crfs.actions.lifecycle import (
    do_lock_form,
    do_unlock_form,
    do_verify_form,
)
from trialdesk.crfs.actions.quality import (
    QualityRunResult,
    do_run_data_quality,
)
from trialdesk.crfs.actions.queries import (
    do_answer_query,
    do_close_query,
    do_open_query,
    do_reopen_query,
)
from trialdesk.crfs.actions.signatures import (
    SIGNATURE_MEANING,
    SigningCheck,
    content_hash,
    do_sign_form,
    signing_check,
    void_signatures,
)
from trialdesk.crfs.actions.values import (
    check_stored_form,
    dependents,
    do_save_form,
    refresh_dependents,
)

__all__ = [
    "CONTROL_KEYS",
    "CrfError",
    "ENTRY_ROLES",
    "MAX_REPEAT",
    "QUERY_ROLES",
    "QualityRunResult",
    "S",
    "SIGNATURE_MEANING",
    "SigningCheck",
    "SaveOutcome",
    "StaleRevision",
    "_system_values",
    "check_stored_form",
    "clean_text",
    "content_hash",
    "dependents",
    "do_acknowledge_alert",
    "do_answer_query",
    "do_close_query",
    "do_lock_form",
    "do_open_query",
    "do_reopen_query",
    "do_run_data_quality",
    "do_save_form",
    "do_sign_form",
    "do_unlock_form",
    "do_verify_form",
    "forms_at_visit",
    "notify_investigators",
    "refresh_dependents",
    "repeat_problem",
    "reserved_fields",
    "signing_check",
    "sync_auto_queries",
    "unexpected_fields",
    "void_signatures",
]
