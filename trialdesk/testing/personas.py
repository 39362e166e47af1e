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
        Persona("admin", "admin", None, "Ade Admin"),
    ]
}

SITES = {"01": "RS Dr. Hasan Sadikin Bandung", "02": "Second study centre"}


def create_personas() -> dict[str, object]:
    """Create sites and users (idempotent); returns username -> User."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from trialdesk.accounts.models import Membership, Site

    User = get_user_model()
    sites = {}
    for code, name in SITES.items():
        sites[code], _ = Site.objects.get_or_create(code=code, defaults={"name": name})
    # One hash for all personas: Argon2 is deliberately slow, tests need not pay it 11 times.
    hashed = make_password(PASSWORD)
    users = {}
    for persona in PERSONAS.values():
        user, _ = User.objects.get_or_create(
            username=persona.username,
            defaults={"password": hashed, "printed_name": persona.printed_name},
        )
        Membership.objects.get_or_create(
            user=user, role=persona.role, site=sites[persona.site] if persona.site else None
        )
        users[persona.username] = user
    return users
