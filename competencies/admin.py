from django.contrib import admin

from competencies.models import Domain, Framework, Scenario, Statement


@admin.register(Framework)
class FrameworkAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "framework", "order"]
    list_filter = ["framework"]
    search_fields = ["code", "name"]


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = ["code", "text", "domain", "provenance", "is_active"]
    list_filter = ["framework", "provenance", "is_active"]
    search_fields = ["code", "text"]
    raw_id_fields = ["revision_of"]
    list_select_related = ["domain"]


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "risk_level", "framework"]
    list_filter = ["framework", "risk_level"]
