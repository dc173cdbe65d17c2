"""Django admin for the reference data: touchpoints, teams, partners, sites, employees."""

from django.contrib import admin

from cxcore.interactions.models import Employee, Partner, Site, Team, Touchpoint


@admin.register(Touchpoint)
class TouchpointAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_fr", "kind", "team", "partner", "site", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name_en", "name_fr"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "city"]
    list_filter = ["kind"]
    search_fields = ["code", "name", "city"]


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "team", "site"]
    list_filter = ["team", "site"]
    search_fields = ["code", "name"]
