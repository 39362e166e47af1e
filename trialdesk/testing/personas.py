"""Named personas for tests: who is who, at which site, with which role.

site A = 01, site B = 02. Every persona's password is PASSWORD.
"""

from __future__ import annotations

from dataclasses import dataclass

PASSWORD = "Correct-Horse-Battery-9"


@dataclass(frozen=True)
class Persona:
    username: str
    role: str
    site: str | None  # site code, None = study-wide
    printed_name: str


PERSONAS: dict[str, Persona] = {
    p.username: p
    for p in [
        Persona("coord_a", "coordinator", "01", "Siti Coordinator"),
        Persona("coord_b", "coordinator", "02", "Budi Coordinator"),
        Persona("inv_a", "investigator", "01", "Dr. Ayu Investigator"),
        Persona("inv_b", "investigator", "02", "Dr. Dewi Investigator"),
        Persona("monitor", "monitor", None, "Maya Monitor"),
        Persona("dm", "data_manager", None, "Dani Data-Manager"),
        Persona("pharm_a", "pharmacist", "01", "Putri Pharmacist"),
        Persona("stat", "statistician", None, "Sari Statistician"),
        Persona("ustat", "unblinded_statistician", None, "Umar Unblinded-Statistician"),
        Persona("dsmb", "dsmb", None, "Dian DSMB"),
        Persona("safety", "safety_physician", None, "Dr. Rina Safety-Physician"),
        Persona("admin", "admin", None, "Ade Admin"),
    ]
}

SITES = {"01": "RS Dr. Hasan Sadikin Bandung", "02": "Second study centre"}


def create_personas(study: str | None = None, personas=None, site_names=None) -> dict[str, object]:
    """Create sites and users (idempotent) in `study` (the only study when None) through the
    audited actions, as the operator's "system" actor (how a deployment's first accounts are
    made); returns username -> User."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from trialdesk.accounts.actions import do_create_user, do_grant_membership, do_save_site
    from trialdesk.accounts.models import Membership, Site
    from trialdesk.studies.registry import resolve_study

    User = get_user_model()
    why = "named persona (tests and the demo)"
    study = resolve_study(study)
    wanted_sites = SITES if site_names is None else site_names
    sites = {}
    for code, name in wanted_sites.items():
        if not Site.objects.filter(study_id=study, code=code).exists():
            do_save_site(study=study, code=code, name=name, acting_user=None, reason=why)
        sites[code] = Site.objects.get(study_id=study, code=code)
    # One hash for all personas: Argon2 is deliberately slow, tests need not pay it 11 times.
    hashed = make_password(PASSWORD)
    users = {}
    for persona in (PERSONAS if personas is None else personas).values():
        user = User.objects.filter(username=persona.username).first() or do_create_user(
            username=persona.username,
            email=f"{persona.username}@example.org",
            printed_name=persona.printed_name,
            acting_user=None,
            reason=why,
            password_hash=hashed,
        )
        site = sites[persona.site] if persona.site else None
        held = Membership.objects.filter(user=user, study_id=study, role=persona.role, site=site)
        if not held.exists():
            do_grant_membership(
                user, role=persona.role, site=site, acting_user=None, reason=why, study=study
            )
        users[persona.username] = user
    return users
