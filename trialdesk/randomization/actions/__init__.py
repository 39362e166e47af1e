"""Every randomization write: list generation / import / re-verification, allocation,
emergency unblinding (with the protocol's approval step where it has one), preparation and
dosing.

Allocation: one durable transaction that locks the active list's row (so allocations are
serialised), refuses a second allocation for the same participant, and takes the first unused
slot of the participant's stratum in list order; the unique constraints on
Allocation.participant / Allocation.slot are the backstop. Audit events name the
randomization number and kit code (both random, drawn apart from the arms), never the arm,
the stratum's slot sequence or the list's hash: monitors and data managers read the trail.

Seeds (docs/security/randomization.md): a live list's seed is drawn by the system (128 bits,
``secrets``) and dropped; a typed seed is accepted only in the reproducible-test mode
(``settings.RANDOMIZATION_TEST_SEEDS``) and before anyone is randomized, and a list made from
one allocates nobody once that mode is off.

One module per seam (common, lists, allocation, unblinding, pharmacy).
This package re-exports their public names, so
``from trialdesk.randomization.actions import do_...`` keeps working; new code may import from
the module itself.
"""

from trialdesk.randomization.actions.allocation import (
    do_randomize_participant,
)
from trialdesk.randomization.actions.common import (
    LIST_OWNERS,
    RANDOMIZERS,
    AlreadyRandomized,
    RandomizationError,
)
from trialdesk.randomization.actions.lists import (
    IMPORT_COLUMNS,
    ListCheck,
    do_generate_list,
    do_import_list,
    do_verify_list,
    parse_import,
    spec_of,
    test_seed_problem,
)
from trialdesk.randomization.actions.pharmacy import (
    do_record_dosing,
    do_record_preparation,
)
from trialdesk.randomization.actions.unblinding import (
    UNBLINDERS,
    S,
    can_decide_unblinding,
    do_decide_unblinding,
    do_emergency_unblind,
)

__all__ = [
    "AlreadyRandomized",
    "IMPORT_COLUMNS",
    "LIST_OWNERS",
    "ListCheck",
    "RANDOMIZERS",
    "RandomizationError",
    "S",
    "UNBLINDERS",
    "can_decide_unblinding",
    "do_decide_unblinding",
    "do_emergency_unblind",
    "do_generate_list",
    "do_import_list",
    "do_randomize_participant",
    "do_record_dosing",
    "do_record_preparation",
    "do_verify_list",
    "parse_import",
    "spec_of",
    "test_seed_problem",
]
