from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from trialdesk.accounts.models import Membership, Site, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class TrialdeskUserAdmin(UserAdmin):
    inlines = [MembershipInline]
    fieldsets = UserAdmin.fieldsets + (("Signature", {"fields": ("printed_name",)}),)


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "city", "active")
