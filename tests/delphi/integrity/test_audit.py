"""Every change that can move a result leaves one audit row (who, when, object, old, new); rows
are append-only and hash-chained, and ``audit_verify`` finds the first broken link."""

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from delphi.models import AuditEvent, AuditRowImmutable, Rating, Round, Study
from delphi.services import audit as audit_svc
from delphi.services.rounds import round_open
from tests import factories as f
from tests.delphi.panelist.conftest import open_round, sign_in


def autosave(client, rnd, **payload):
    return client.post(
        f"/p/r/{rnd.uuid}/autosave/", json.dumps(payload), content_type="application/json"
    )


def events(study, verb):
    return list(AuditEvent.objects.filter(study=study, verb=verb).order_by("id"))


def first_item(rnd):
    from delphi.panelist.selectors import round_items

    return round_items(round=rnd)[0]


# --- ratings -------------------------------------------------------------------------------


def test_every_autosave_that_changes_something_is_one_row_with_old_and_new(
    panelist_client, panelist, study, rnd
):
    item = first_item(rnd)
    uid = str(item.uuid)
    autosave(panelist_client, rnd, item=uid, value="3", seq=1)
    autosave(panelist_client, rnd, item=uid, value="7", seq=2)
    autosave(panelist_client, rnd, item=uid, value="7", seq=3)  # the same value: no change
    autosave(panelist_client, rnd, item=uid, value="1", seq=2)  # overtaken: nothing written
    autosave(panelist_client, rnd, item=uid, comment="Only at night", seq=4)
    rows = events(study, "rating.autosave")
    assert [(r.old, r.new) for r in rows] == [
        (None, {"value": 3, "unable": False}),
        ({"value": 3, "unable": False}, {"value": 7, "unable": False}),
        ({"comment": ""}, {"comment": "Only at night"}),
    ]
    first = rows[0]
    assert first.source == "panelist" and first.actor_label == panelist.public_id
    assert (first.object_type, first.object_id) == ("rating", uid)
    assert first.object_label == item.statement.code
    assert first.detail == {"round": rnd.number, "seq": 1}
    assert first.panelist_id == panelist.pk and first.actor_id is None


def test_a_page_post_writes_a_row_per_changed_rating(panelist_client, study, rnd):
    from delphi.panelist.selectors import round_items

    items = round_items(round=rnd)
    autosave(panelist_client, rnd, item=str(items[0].uuid), value="5", seq=1)
    response = panelist_client.post(
        f"/p/r/{rnd.uuid}/page/1/", {"v0": "5", "v1": "unable", "c1": "No idea", "action": "save"}
    )
    assert response.status_code == 302
    rows = events(study, "rating.page_save")
    assert len(rows) == 1  # item 0 did not change
    assert rows[0].object_id == str(items[1].uuid)
    assert rows[0].old is None
    assert rows[0].new == {"value": None, "unable": True, "comment": "No idea", "change_reason": ""}


# --- protocol, statements, panelists, round items -------------------------------------------


def test_protocol_edits_before_the_lock_record_old_and_new_values(researcher_client, study):
    from delphi.forms import ProtocolForm

    data = ProtocolForm.initial_for(study) | {"planned_rounds": 4, "drafts_policy": "submitted"}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    response = researcher_client.post(reverse("study_protocol", args=[study.uuid]), data)
    assert response.status_code == 302
    row = events(study, "study_update")[-1]
    assert row.old == {"planned_rounds": 3, "drafts_policy": "complete"}
    assert row.new == {"planned_rounds": 4, "drafts_policy": "submitted"}
    assert row.actor_label == "rita-researcher" and row.source == "researcher"
    assert row.detail["protocol_locked"] is False


def test_consent_text_changes_are_recorded_with_both_texts(researcher, study):
    from delphi.services.studies import study_update

    study_update(study=study, by=researcher, data={"consent_text": "New words."})
    row = events(study, "study_update")[-1]
    assert row.new["consent_text"] == "New words." and row.new["consent_version"] == 2
    assert row.old["consent_version"] == 1


def _statement_form(statement, **changes):
    from competencies.models import Statement

    fields = [f.name for f in Statement._meta.fields if f.name not in ("id", "uuid", "framework")]
    data = {}
    for name in fields:
        value = getattr(statement, name, None)
        if hasattr(value, "pk"):
            value = value.pk
        data[name] = "" if value is None else value
    data.pop("created_at", None)
    data.pop("updated_at", None)
    data["is_active"] = "on" if statement.is_active else ""
    return data | changes


def test_a_statement_edit_is_recorded_and_once_asked_its_wording_is_locked(
    researcher_client, study
):
    statement = f.make_statement(study, code="S1", text="Calms the person.")
    url = reverse("statement_edit", args=[study.uuid, statement.uuid])
    response = researcher_client.post(url, _statement_form(statement, text="Calms the caller."))
    assert response.status_code == 302, response.content.decode()[:2000]
    row = events(study, "statement_update")[-1]
    assert (row.old, row.new) == ({"text": "Calms the person."}, {"text": "Calms the caller."})
    statement.refresh_from_db()
    rnd = f.make_round(study, statements=[statement])
    round_open(round=rnd, by=None)
    response = researcher_client.post(url, _statement_form(statement, text="Something else."))
    assert response.status_code == 200
    assert "cannot change in place" in response.content.decode()
    assert "Create a revision" in response.content.decode()
    statement.refresh_from_db()
    assert statement.text == "Calms the caller."


def test_moving_a_panelist_who_rated_needs_a_reason_and_marks_analysed_rounds(
    researcher_client, study
):
    law, clinical = study.panel.groups.get(code="law"), study.panel.groups.get(code="clinical")
    moved = f.make_panelist(study, group=law, email="moved@example.org")
    rnd = f.make_round(study, statements=[f.make_statement(study)])
    f.rate(moved, rnd, {rnd.items.get(): 8})
    Round.objects.filter(pk=rnd.pk).update(
        status=Round.Status.ANALYSED,
        opened_at=timezone.now(),
        closed_at=timezone.now(),
        analysed_at=timezone.now(),
    )
    url = reverse("panelist_edit", args=[study.uuid, moved.uuid])
    form = {"email": "moved@example.org", "name": "", "group": clinical.pk, "organisation": "",
            "language": "en"}  # fmt: skip
    response = researcher_client.post(url, form)
    assert response.status_code == 200
    assert "has already rated" in response.content.decode()
    moved.refresh_from_db()
    assert moved.group == law
    response = researcher_client.post(url, form | {"reason": "Registered in the wrong group."})
    assert response.status_code == 302
    row = events(study, "panelist_update")[-1]
    assert (row.old, row.new) == ({"group": "law"}, {"group": "clinical"})
    assert row.detail["reason"] == "Registered in the wrong group."
    assert row.detail["rounds_marked"] == [rnd.number]
    rnd.refresh_from_db()
    assert rnd.inputs_changed_at is not None
    page = researcher_client.get(reverse("round_results", args=[study.uuid, rnd.uuid]))
    assert "Inputs changed since analysis" in page.content.decode()


def test_round_items_changes_record_the_item_lists(researcher, study):
    from delphi.services.rounds import round_set_items

    a, b = f.make_statement(study, code="A1"), f.make_statement(study, code="B1")
    rnd = f.make_round(study, statements=[a])
    round_set_items(round=rnd, statement_ids=[b.pk, a.pk], by=researcher)
    row = events(study, "round_set_items")[-1]
    assert (row.old, row.new) == ({"items": ["A1"]}, {"items": ["B1", "A1"]})


def test_a_consensus_run_records_its_fingerprint_and_engine_version(study):
    from delphi.consensus import services

    rnd = f.make_round(study, statements=[f.make_statement(study)])
    for group in study.panel.groups.all():
        f.rate(f.make_panelist(study, group=group), rnd, {rnd.items.get(): 7})
    Round.objects.filter(pk=rnd.pk).update(
        status=Round.Status.CLOSED, opened_at=timezone.now(), closed_at=timezone.now()
    )
    rnd.refresh_from_db()
    run = services.consensus_compute_now(round=rnd)
    row = events(study, "consensus_run_done")[-1]
    assert row.new == {"fingerprint": run.fingerprint, "engine_version": services.ENGINE_VERSION}
    assert row.source == "system" and row.detail["included"]["submitted"] == 3


# --- the admin ----------------------------------------------------------------------------


def test_an_admin_edit_of_a_rating_is_recorded_and_audit_rows_are_read_only(client, study):
    admin_user = f.make_user("site-admin", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    panelist = f.make_panelist(study)
    rnd = f.make_round(study, statements=[f.make_statement(study)])
    response = f.rate(panelist, rnd, {rnd.items.get(): 4})
    rating = Rating.objects.get(response=response)
    url = reverse("admin:delphi_rating_change", args=[rating.pk])
    post = {"response": response.pk, "item": rating.item_id, "value": 9, "comment": "",
            "change_reason": "", "seq": 0}  # fmt: skip
    assert client.post(url, post).status_code == 302
    row = events(study, "admin.change")[-1]
    assert (row.old, row.new) == ({"value": 4}, {"value": 9})
    assert row.source == "admin" and row.actor_label == "site-admin"
    assert row.object_id == str(rating.item.uuid)
    # The audit rows themselves: viewable, never changed, added or deleted through the admin.
    assert client.get(reverse("admin:delphi_auditevent_changelist")).status_code == 200
    change = reverse("admin:delphi_auditevent_change", args=[row.pk])
    assert client.post(change, {"verb": "nothing happened"}).status_code == 403
    delete = reverse("admin:delphi_auditevent_delete", args=[row.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=row.pk, verb="admin.change").exists()


def test_the_orm_refuses_to_change_or_delete_audit_rows(study):
    row = audit_svc.audit_record(study=study, verb="test.row", old={"a": 1}, new={"a": 2})
    row.verb = "edited"
    with pytest.raises(AuditRowImmutable):
        row.save()
    with pytest.raises(AuditRowImmutable):
        row.delete()
    with pytest.raises(AuditRowImmutable):
        AuditEvent.objects.filter(pk=row.pk).update(verb="edited")
    with pytest.raises(AuditRowImmutable):
        AuditEvent.objects.filter(pk=row.pk).delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL trigger is PostgreSQL's")
def test_postgresql_refuses_raw_sql_changes_and_deletes(study):
    from django.db import DatabaseError, transaction

    row = audit_svc.audit_record(study=study, verb="test.row")
    for sql in (
        "UPDATE delphi_auditevent SET verb = 'edited' WHERE id = %s",
        "DELETE FROM delphi_auditevent WHERE id = %s",
        "UPDATE delphi_auditevent SET hash = 'x' WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [row.pk])


# --- the chain ----------------------------------------------------------------------------


def _tamper(sql, params):
    """What someone with database access could do: edit rows under the application."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A superuser can switch triggers off; the chain must still tell.
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")


def _chain(study, n=5):
    for i in range(n):
        audit_svc.audit_record(study=study, verb="test.row", new={"i": i}, note=f"row {i}")
    return list(AuditEvent.objects.filter(study=study).order_by("chain_seq"))


def test_an_intact_chain_verifies_and_the_command_says_so(study, capsys):
    rows = _chain(study)
    assert [r.chain_seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[1].prev_hash == rows[0].hash
    call_command("audit_verify", str(study.uuid))
    assert f"{len(rows)} rows, chain intact" in capsys.readouterr().out


def test_verify_names_the_edited_row(study, capsys):
    rows = _chain(study)
    victim = rows[3]
    _tamper("UPDATE delphi_auditevent SET new = %s WHERE id = %s", ['{"i": 99}', victim.pk])
    report = audit_svc.audit_verify(study=study)
    assert report.broken_at == victim.chain_seq
    assert "content does not match its hash" in report.problem
    with pytest.raises(CommandError):
        call_command("audit_verify", str(study.uuid))
    assert f"chain BROKEN at row {victim.chain_seq}" in capsys.readouterr().err


def test_verify_names_a_deleted_row_and_a_rewritten_chain(study):
    rows = _chain(study)
    _tamper("DELETE FROM delphi_auditevent WHERE id = %s", [rows[2].pk])
    report = audit_svc.audit_verify(study=study)
    assert report.broken_at == rows[2].chain_seq and "deleted" in report.problem


def test_verify_catches_a_row_rehashed_after_an_edit(study):
    rows = _chain(study)
    victim = rows[1]
    # Edit and recompute the row's own hash: the next row's link no longer matches.
    edited = {c: getattr(victim, c) for c in audit_svc.HASHED} | {"new": {"i": 42}}
    _tamper(
        "UPDATE delphi_auditevent SET new = %s, hash = %s WHERE id = %s",
        ['{"i": 42}', audit_svc.row_hash(edited), victim.pk],
    )
    report = audit_svc.audit_verify(study=study)
    assert report.broken_at == victim.chain_seq + 1
    assert "link" in report.problem


def test_rows_written_by_the_hot_path_are_sealed_later(panelist_client, study, rnd):
    item = first_item(rnd)
    autosave(panelist_client, rnd, item=str(item.uuid), value="6", seq=1)
    row = AuditEvent.objects.get(verb="rating.autosave")
    assert row.chain_seq is None  # the tap did not wait for the chain
    assert audit_svc.audit_seal_due() >= 1
    row = AuditEvent.objects.get(pk=row.pk)
    assert row.chain_seq is not None and row.hash
    assert audit_svc.audit_verify(study=study).intact


# --- the page and the CSV -----------------------------------------------------------------


def test_the_audit_page_filters_and_downloads(researcher_client, study, panelist_client, rnd):
    item = first_item(rnd)
    autosave(panelist_client, rnd, item=str(item.uuid), value="2", seq=1)
    audit_svc.audit_record(study=study, verb="test.other", new={"x": "=cmd()"})
    url = reverse("audit_log", args=[study.uuid])
    page = researcher_client.get(url).content.decode()
    assert "chain intact" in page and "rating.autosave" in page
    only = researcher_client.get(url, {"kind": "rating"}).content.decode()
    assert "rating.autosave" in only and "test.other" not in only
    by_object = researcher_client.get(url, {"object": item.statement.code}).content.decode()
    assert "rating.autosave" in by_object and "test.other" not in by_object
    panelist_id = Rating.objects.get().response.panelist.public_id
    by_person = researcher_client.get(url, {"person": panelist_id}).content.decode()
    assert "rating.autosave" in by_person and "test.other" not in by_person
    response = researcher_client.get(reverse("audit_log_csv", args=[study.uuid]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["verb"] for r in rows} >= {"rating.autosave", "test.other"}
    assert all(r["hash"] for r in rows)
    other = next(r for r in rows if r["verb"] == "test.other")
    assert other["new"] == '{"x": "=cmd()"}'  # JSON starts with "{": not a formula


def test_the_audit_page_is_paginated(researcher_client, study, django_assert_max_num_queries):
    for i in range(120):
        audit_svc.audit_record(study=study, verb="test.row", seal=False, n=i)
    url = reverse("audit_log", args=[study.uuid])
    with django_assert_max_num_queries(20):
        page = researcher_client.get(url, {"page": 2}).content.decode()
    assert "2 / 3" in page


def test_a_study_purge_is_the_one_way_audit_rows_go(study):
    _chain(study, n=2)
    audit_svc.study_purge(study=study)
    assert not Study.objects.filter(pk=study.pk).exists()
    assert not AuditEvent.objects.filter(study_id=study.pk).exists()


def test_outsiders_do_not_see_the_audit_log(outsider_client, study):
    assert outsider_client.get(reverse("audit_log", args=[study.uuid])).status_code == 404
    assert outsider_client.get(reverse("audit_log_csv", args=[study.uuid])).status_code == 404


def test_a_panelist_session_alone_is_not_a_signed_in_researcher(client, study, panelist):
    open_round(study)
    sign_in(client, panelist)
    assert client.get(reverse("audit_log", args=[study.uuid])).status_code in (302, 404)
