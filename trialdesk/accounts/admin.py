"""The Django admin shows people, roles and sites read-only.

Every change goes through the audited actions (trialdesk/accounts/actions.py): the staff pages
under /accounts/people/ and `trialdesk users ...`. Nothing here can add, change or delete a row
(nor set a password: the admin's password form needs the change permission), so nothing writes
behind the audit trail.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group

from trialdesk.accounts.models import Membership, RoleRequest, Site, User


class ReadOnly:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(ReadOnly, admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class TrialdeskUserAdmin(ReadOnly, UserAdmin):
    inlines = [MembershipInline]
    fieldsets = UserAdmin.fieldsets + (("Signature", {"fields": ("printed_name",)}),)


@admin.register(Site)
class SiteAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("code", "name", "city", "active")


@admin.register(Membership)
class MembershipAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("user", "role", "site", "active")


@admin.register(RoleRequest)
class RoleRequestAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("user", "role", "site", "status", "requested_by", "decided_by")


# Permission groups are not how trialdesk grants authority (memberships are): not offered.
admin.site.unregister(Group)
