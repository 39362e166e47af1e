"""Users, sites and role memberships.

A person's authority is a Membership: one role at one site, or study-wide (site empty) for the
roles that are not tied to a site (statistician, DSMB member, data manager, admin). Blinding is
a property of the role, decided here once and consulted by every output.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who logs in. `printed_name` is what a signature manifests (21 CFR 11.50)."""

    printed_name = models.CharField(max_length=200, blank=True)

    def display_name(self) -> str:
        return self.printed_name or self.get_full_name() or self.username


class Site(models.Model):
    """A study centre of one study; `code` prefixes its pseudonymous study IDs (01-007).

    The same hospital taking part in two studies is two rows (one per study), so that a role
    at site 01 of study A grants nothing at site 01 of study B.
    """

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="sites")
    code = models.CharField(max_length=8)
    name = models.CharField(max_length=200)
    city = models.CharField(max_length=100, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["study_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="uniq_site_code_per_study"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Site coordinator")
    INVESTIGATOR = "investigator", _("Investigator")
    MONITOR = "monitor", _("Monitor")
    DATA_MANAGER = "data_manager", _("Data manager")
    PHARMACIST = "pharmacist", _("Pharmacist (unblinded)")
    STATISTICIAN = "statistician", _("Statistician (blinded)")
    UNBLINDED_STATISTICIAN = "unblinded_statistician", _("Statistician (unblinded)")
    DSMB = "dsmb", _("DSMB member")
    SAFETY_PHYSICIAN = "safety_physician", _("Safety physician (unblinded)")
    ADMIN = "admin", _("Administrator")


#: Roles that may see treatment allocation. Everyone else is blinded on every output.
#: The safety physician (the sponsor's medical monitor) reviews every serious adverse event and
#: may unblind one to assess and report a SUSAR (ICH E2A); she enters no data.
UNBLINDED_ROLES = frozenset({Role.PHARMACIST, Role.UNBLINDED_STATISTICIAN, Role.SAFETY_PHYSICIAN})
#: Roles whose membership is tied to one site; the others are study-wide.
SITE_ROLES = frozenset({Role.COORDINATOR, Role.INVESTIGATOR, Role.PHARMACIST})
#: Roles that enter clinical data.
DATA_ENTRY_ROLES = frozenset({Role.COORDINATOR, Role.INVESTIGATOR})


class Membership(models.Model):
    """One role in one study, at one of its sites or study-wide (site empty).

    A role in one study grants nothing in another; ``site.study`` is always ``study``
    (checked by ``clean`` and by the actions that create memberships).
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=32, choices=Role.choices)
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="memberships"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "study", "role", "site"], name="uniq_membership"
            ),
            models.UniqueConstraint(
                fields=["user", "study", "role"],
                condition=models.Q(site=None),
                name="uniq_studywide_membership",
            ),
        ]

    def __str__(self) -> str:
        where = self.site.code if self.site_id else "all sites"
        return f"{self.user} {self.role} @ {self.study_id} {where}"

    def save(self, *args, **kwargs):
        if not self.study_id and self.site_id:
            self.study_id = self.site.study_id  # a site role is in the site's study
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.site_id and self.site.study_id != self.study_id:
            raise ValidationError(
                {"site": f"site {self.site.code} is not a site of {self.study_id}"}
            )

    @property
    def is_blinded(self) -> bool:
        return self.role not in UNBLINDED_ROLES


#: Who may approve a request for an unblinded role: people who are unblinded study-wide already
#: (approving reveals nothing new to them), never an administrator alone. See
#: docs/security/accounts.md for why an administrator cannot be the second person.
UNBLINDED_GRANTOR_ROLES = frozenset({Role.UNBLINDED_STATISTICIAN})
#: Who manages people, blinded roles and sites.
ACCOUNT_MANAGER_ROLES = frozenset({Role.ADMIN})


class RoleRequest(models.Model):
    """A request for an unblinded role: asked by one person, decided by another (two-person rule).

    The membership exists only once a grantor (UNBLINDED_GRANTOR_ROLES) who is neither the
    requester nor the grantee approves it with a reason, re-entering the password.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="role_requests")
    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=32, choices=Role.choices)
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField()
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
