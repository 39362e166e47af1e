from __future__ import annotations

from trialdesk.accounts.models import Site
from trialdesk.enrolment.testing import ready_to_randomize
from trialdesk.randomization.actions import do_generate_list
from trialdesk.testing.personas import PASSWORD

#: A typed seed, for the reproducible-test mode only (settings.RANDOMIZATION_TEST_SEEDS).
TEST_SEED = 982451653


def setup_list(personas, per_stratum: int = 20):
    """The active list as a live study makes it: the system draws the seed."""
    return do_generate_list(personas["ustat"], slots_per_stratum=per_stratum)


def ready(personas, site_code="01", **kw):
    site = Site.objects.get(code=site_code)
    coord = personas["coord_a" if site_code == "01" else "coord_b"]
    inv = personas["inv_a" if site_code == "01" else "inv_b"]
    return ready_to_randomize(site, coord, inv, PASSWORD, **kw)
