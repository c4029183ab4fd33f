import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist

from competencies.models import Domain, Scenario, Statement
from delphi import models as m
from delphi.services.audit import audit_record, audit_seal
from delphi.services.audited import move_reason_required, panelist_group_move, panelist_has_rated
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

    def audited_fields(self, form, obj) -> list[str]:
        return [n for n in form.changed_data if n in {f.name for f in obj._meta.fields}]

    def save_model(self, request, obj, form, change):
        names = self.audited_fields(form, obj)
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

    def save_formset(self, request, form, formset, change):
        """Inline rows (a round's items, a study's members): one audit row per row added,
        changed or deleted, with the old and new values of the fields that changed."""
        model = formset.model
        names = [f.name for f in model._meta.fields]
        # The forms' instances already hold the posted values; the old ones come from the
        # database, read before the formset saves.
        before_pk = {id(f.instance): f.instance.pk for f in formset.initial_forms}
        old_rows = {
            row.pk: {n: _value(row, n) for n in names}
            for row in model._default_manager.filter(pk__in=[pk for pk in before_pk.values() if pk])
        }
        super().save_formset(request, form, formset, change)
        study = _study_of(form.instance)
        if study is None:
            return
        rows = []
        for obj in formset.new_objects:
            rows.append(("admin.add", obj, None, {n: _value(obj, n) for n in names}, {}))
        for obj, changed in formset.changed_objects:
            fields = [n for n in changed if n in names]
            if fields:
                old = old_rows.get(obj.pk, {})
                rows.append(("admin.change", obj, {n: old.get(n) for n in fields},
                             {n: _value(obj, n) for n in fields}, {}))  # fmt: skip
        for obj in formset.deleted_objects:
            pk = before_pk.get(id(obj))
            rows.append(("admin.delete", obj, old_rows.get(pk), None, {"object_id": str(pk)}))
        for verb, obj, old, new, extra in rows:
            audit_record(
                study=study,
                verb=verb,
                actor=request.user,
                source=m.AuditEvent.Source.ADMIN,
                obj=obj,
                old=old,
                new=new,
                seal=False,
                inline=model._meta.model_name,
                **(extra | _object_names(obj)),
            )
        if rows:
            audit_seal(study_id=study.pk)


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


@admin.register(m.LinkFailure)
class LinkFailureAdmin(admin.ModelAdmin):
    """Panelist links that did not work and the throttle limits reached (read-only; delete
    old rows here when they are no longer needed)."""

    list_display = ["at", "kind", "client", "token_prefix", "panelist", "user_agent"]
    list_filter = ["kind"]
    search_fields = ["client", "token_prefix", "panelist__public_id"]
    list_select_related = ["panelist"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
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


for _model in (Statement, Scenario, Domain, StakeholderGroup):
    _audited(_model)


class PanelistAdminForm(forms.ModelForm):
    move_reason = forms.CharField(
        label="Reason for a group move",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=(
            "Needed when the panelist has already rated: the move is recorded and the analysed "
            "rounds they answered are marked “inputs changed since analysis” until re-run."
        ),
    )

    # No Meta: the admin builds the form's Meta (model, fields) from this base.

    def clean(self):
        cleaned = super().clean()
        moving = self.instance.pk and "group" in self.changed_data
        reason = (cleaned.get("move_reason") or "").strip()
        if moving and not reason and panelist_has_rated(self.instance):
            self.add_error("move_reason", move_reason_required(self.instance))
        return cleaned


_PanelistBase = type(admin.site._registry[Panelist])
admin.site.unregister(Panelist)


@admin.register(Panelist)
class AuditedPanelistAdmin(AuditedAdmin, _PanelistBase):
    """A group move goes through the same service as the researcher's (panelist_group_move):
    a reason when the panelist has rated, one audit row, analysed rounds marked."""

    form = PanelistAdminForm

    def audited_fields(self, form, obj):
        return [n for n in super().audited_fields(form, obj) if n != "group"]

    def save_model(self, request, obj, form, change):
        if not (change and "group" in form.changed_data):
            return super().save_model(request, obj, form, change)
        target = obj.group
        # The plain save keeps the old group; the move is the service's (same transaction:
        # the admin's change view is atomic).
        obj.group_id = Panelist.objects.values_list("group_id", flat=True).get(pk=obj.pk)
        super().save_model(request, obj, form, change)
        panelist_group_move(
            study=_study_of(obj),
            panelist=obj,
            group=target,
            by=request.user,
            reason=form.cleaned_data.get("move_reason", ""),
            source=m.AuditEvent.Source.ADMIN,
        )
