"""Researcher pages. Every study-scoped URL carries the study's UUID (never a sequential id)."""

from django.urls import path

from delphi.views import audit, coding, framework, imports, lifecycle, panel, rounds, studies
from delphi.views.archive import study_archive

s = "studies/<uuid:study>/"
r = s + "rounds/<uuid:round>/"

urlpatterns = [
    path("", studies.dashboard, name="dashboard"),
    path("studies/new/", studies.study_create_view, name="study_create"),
    path(s, studies.study_detail, name="study_detail"),
    path(s + "edit/", studies.study_edit, name="study_edit"),
    path(s + "protocol/", studies.study_protocol, name="study_protocol"),
    path(s + "members/", studies.study_members, name="study_members"),
    path(s + "members/remove/", studies.study_member_remove_view, name="study_member_remove"),
    path(s + "participation/", lifecycle.study_participation, name="study_participation"),
    path(s + "final/", lifecycle.study_final, name="study_final"),
    path(s + "audit/", audit.audit_log, name="audit_log"),
    path(s + "audit.csv", audit.audit_log_csv, name="audit_log_csv"),
    path(s + "archive.zip", study_archive, name="study_archive"),
    # Panel
    path(s + "panel/", panel.panel_detail, name="panel_detail"),
    path(s + "panel/groups/new/", panel.group_create_view, name="group_create"),
    path(s + "panel/groups/<slug:code>/", panel.group_edit, name="group_edit"),
    path(s + "panel/panelists/new/", panel.panelist_create_view, name="panelist_create"),
    path(s + "panel/panelists/<uuid:panelist>/", panel.panelist_edit, name="panelist_edit"),
    path(s + "panel/import/", panel.panel_import, name="panel_import"),
    # Framework
    path(s + "framework/", framework.framework_detail, name="framework_detail"),
    path(s + "framework/domains/new/", framework.domain_create_view, name="domain_create"),
    path(s + "framework/domains/<str:code>/", framework.domain_edit, name="domain_edit"),
    path(
        s + "framework/statements/new/",
        framework.statement_create_view,
        name="statement_create",
    ),
    path(
        s + "framework/statements/<uuid:statement>/",
        framework.statement_edit,
        name="statement_edit",
    ),
    path(
        s + "framework/statements/<uuid:statement>/sources/",
        coding.statement_sources,
        name="statement_sources",
    ),
    path(s + "framework/scenarios/new/", framework.scenario_create_view, name="scenario_create"),
    path(s + "framework/scenarios/<uuid:scenario>/", framework.scenario_edit, name="scenario_edit"),
    path(s + "framework/import/", framework.framework_import, name="framework_import"),
    # Rounds
    path(s + "rounds/new/", rounds.round_create_view, name="round_create"),
    path(r, rounds.round_detail, name="round_detail"),
    path(r + "edit/", rounds.round_edit, name="round_edit"),
    path(r + "items/", rounds.round_items, name="round_items"),
    path(r + "items/<uuid:item>/change/", rounds.item_change, name="item_change"),
    path(r + "questions/", rounds.round_prompts, name="round_prompts"),
    path(r + "open/", rounds.round_open_view, name="round_open"),
    path(r + "close/", lifecycle.round_close_confirm, name="round_close"),
    path(r + "next/", lifecycle.round_next_confirm, name="round_next"),
    path(r + "import/", imports.round_import, name="round_import"),
    path(r + "suggestions/", rounds.round_suggestions, name="round_suggestions"),
    path(
        r + "suggestions/<uuid:suggestion>/",
        rounds.suggestion_decide,
        name="suggestion_decide",
    ),
    # Coding open-ended answers and suggestions into statements
    path(s + "coding/", coding.coding_queue, name="coding_queue"),
    path(s + "coding/withdraw/", coding.coding_withdraw_view, name="coding_withdraw"),
    path(s + "coding/answers.csv", coding.coding_export, name="coding_export"),
    path(r + "start-rating/", coding.round_start_rating_view, name="round_start_rating"),
]
