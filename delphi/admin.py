import json

from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist

from competencies.models import Domain, Scenario, Statement
from delphi import models as m
from delphi.services.audit import audit_record
from panels.models import Panelist, StakeholderGroup


def _study_of(obj):
    """The study an object belongs to, through whichever link it has."""
    for path in (
        "study",
        "round.study",
        "response.round.study",
        "item.round.study",
        "framework.study",
        "panel.study",
    ):
        target = obj
        try:
            for name in path.split("."):
                target = getattr(target, name)
        except (AttributeError, m.Study.DoesNotExist, ObjectDoesNotExist):
            continue
        if isinstance(target, m.Study):
            return target
    return obj if isinstance(obj, m.Study) else None


def _value(obj, name):
    value = getattr(obj, name, None)
    if hasattr(value, "pk"):
        return str(value.pk)
    return json.loads(json.dumps(value, default=str))


def _object_names(obj) -> dict:
    # A rating is named as the autosave names it (the item's UUID, the statement's code), so
    # the audit page's object filter finds its whole history.
    if isinstance(obj, m.Rating):
        return {
            "object_type": "rating",
            "object_id": str(obj.item.uuid),
            "object_label": obj.item.statement.code,
        }
    return {}


class AuditedAdmin(admin.ModelAdmin):
    """Every admin change or deletion of a study's data writes an audit row with the old and
    new values of the fields that changed (source "admin")."""

    def save_model(self, request, obj, form, change):
        names = [n for n in form.changed_data if n in {f.name for f in obj._meta.fields}]
        old = {}
        if change and obj.pk:
            before = type(obj).objects.get(pk=obj.pk)
            old = {n: _value(before, n) for n in names}
        super().save_model(request, obj, form, change)
        study = _study_of(obj)
        if study is not None and (names or not change):
            audit_record(
                study=study,
                verb=f"admin.{'change' if change else 'add'}",
                actor=request.user,
                source=m.AuditEvent.Source.ADMIN,
                obj=obj,
                old=old or None,
                new={n: _value(obj, n) for n in names},
                **_object_names(obj),
            )

    def delete_model(self, request, obj):
        study = _study_of(obj)
        label = str(obj)
        snapshot = {f.name: _value(obj, f.name) for f in obj._meta.fields}
        if study is not None and not isinstance(obj, m.Study):
            audit_record(
                study=study,
                verb="admin.delete",
                actor=request.user,
                source=m.AuditEvent.Source.ADMIN,
                obj=obj,
                old=snapshot,
                **({"object_label": label} | _object_names(obj)),
            )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(m.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: audit rows are append-only, for superusers too."""

    list_display = ["at", "study", "source", "actor_label", "verb", "object_label", "chain_seq"]
    list_filter = ["source", "verb"]
    search_fields = ["actor_label", "object_id", "object_label", "verb"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipInline(admin.TabularInline):
    model = m.Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(m.Study)
class StudyAdmin(AuditedAdmin):
    list_display = ["title", "is_demo", "protocol_locked_at", "created_at"]
    inlines = [MembershipInline]

    def has_delete_permission(self, request, obj=None):
        # A study's audit trail outlives it (AuditEvent.study is PROTECT). The one deliberate
        # purge is delphi.services.audit.study_purge (the demo rebuilding itself), not a button.
        return False


class RoundItemInline(admin.TabularInline):
    model = m.RoundItem
    extra = 0
    raw_id_fields = ["statement", "scenario", "carried_from"]


@admin.register(m.Round)
class RoundAdmin(AuditedAdmin):
    list_display = ["study", "number", "kind", "status", "opens_at", "closes_at"]
    list_filter = ["status", "kind"]
    inlines = [RoundItemInline]


@admin.register(m.Response)
class ResponseAdmin(AuditedAdmin):
    list_display = ["round", "panelist", "status", "submitted_at"]
    list_filter = ["status"]
    raw_id_fields = ["panelist", "round"]


@admin.register(m.Rating)
class RatingAdmin(AuditedAdmin):
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
    m.ConsensusRun,
    m.ItemResult,
    m.ItemDecision,
    m.GroupConcordance,
):
    admin.site.register(model, AuditedAdmin)


# The leaf apps' objects belong to a study too: edit them through the admin and the study's
# audit trail says so. (The leaf apps cannot import delphi, so their admins are wrapped here.)
def _audited(model):
    base = type(admin.site._registry[model])
    admin.site.unregister(model)
    admin.site.register(model, type(f"Audited{base.__name__}", (AuditedAdmin, base), {}))


for _model in (Statement, Scenario, Domain, Panelist, StakeholderGroup):
    _audited(_model)
