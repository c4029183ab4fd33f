from django.contrib import admin

from delphi import models as m


class MembershipInline(admin.TabularInline):
    model = m.Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(m.Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["title", "is_demo", "protocol_locked_at", "created_at"]
    inlines = [MembershipInline]


class RoundItemInline(admin.TabularInline):
    model = m.RoundItem
    extra = 0
    raw_id_fields = ["statement", "scenario", "carried_from"]


@admin.register(m.Round)
class RoundAdmin(admin.ModelAdmin):
    list_display = ["study", "number", "kind", "status", "opens_at", "closes_at"]
    list_filter = ["status", "kind"]
    inlines = [RoundItemInline]


@admin.register(m.Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["round", "panelist", "status", "submitted_at"]
    list_filter = ["status"]
    raw_id_fields = ["panelist", "round"]


@admin.register(m.Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ["response", "item", "value", "unable"]
    raw_id_fields = ["response", "item"]


for model in (
    m.Membership,
    m.RoundItem,
    m.RoundPrompt,
    m.PromptAnswer,
    m.Suggestion,
    m.ItemChange,
    m.Deviation,
    m.AuditEvent,
    m.ConsensusRun,
    m.ItemResult,
    m.ItemDecision,
    m.GroupConcordance,
):
    admin.site.register(model)
