"""What happens to answers never submitted when a round closes: the study's drafts policy.

Whatever the policy, nothing stored is deleted, and the run says how many responses of each
kind it included.
"""

import csv
import io

import pytest
from django.urls import reverse

from delphi.consensus import selectors, services
from delphi.models import Rating, Response, Study
from delphi.services.rounds import round_close, round_open
from tests import factories as f


@pytest.fixture
def world(study):
    """An open round of 4 items and 4 panelists: one submitted, one complete draft, one
    partial draft (2 of 4 items, plus a comment-only row), one who never started."""
    groups = list(study.panel.groups.all())
    statements = [f.make_statement(study) for _ in range(4)]
    rnd = f.make_round(study, statements=statements)
    round_open(round=rnd, by=None)
    items = list(rnd.items.order_by("order"))
    people = [f.make_panelist(study, group=groups[i % len(groups)]) for i in range(4)]
    f.rate(people[0], rnd, {items[0]: 8, items[1]: 9, items[2]: 7, items[3]: None})
    f.rate(people[1], rnd, {items[0]: 9, items[1]: 8, items[2]: 9, items[3]: 8}, submitted=False)
    partial = f.rate(people[2], rnd, {items[0]: 2, items[1]: 3}, submitted=False)
    Rating.objects.create(response=partial, item=items[2], comment="Only a thought")
    return rnd, items, people


@pytest.fixture
def close_now(monkeypatch, django_capture_on_commit_callbacks):
    """Close a round and run its consensus in-process (even with REDIS_URL set, as in CI)."""
    from delphi.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)

    def close(rnd):
        with django_capture_on_commit_callbacks(execute=True):
            round_close(round=rnd, by=None)
        rnd.refresh_from_db()
        return selectors.round_latest_run(round=rnd)

    return close


def _set_policy(study, policy):
    Study.objects.filter(pk=study.pk).update(drafts_policy=policy)


@pytest.mark.parametrize(
    "policy, expected_panelists, expected_rows, counts",
    [
        ("complete", {0, 1}, 8, {"submitted": 1, "complete_drafts": 1, "partial_drafts": 0}),
        ("rated", {0, 1, 2}, 10, {"submitted": 1, "complete_drafts": 1, "partial_drafts": 1}),
        ("submitted", {0}, 4, {"submitted": 1, "complete_drafts": 0, "partial_drafts": 0}),
    ],
)
def test_the_policy_chooses_which_answers_count_and_says_how_many(
    study, world, policy, expected_panelists, expected_rows, counts
):
    rnd, items, people = world
    _set_policy(study, policy)
    rnd.refresh_from_db()  # the snapshot taken at opening holds the default policy
    frame = selectors.round_ratings_frame(round=rnd, policy=policy)
    assert set(frame["panelist"]) == {people[i].public_id for i in expected_panelists}
    # The comment-only row of the partial draft is not an "unable to rate".
    assert len(frame) == expected_rows
    got = selectors.round_response_counts(round=rnd, policy=policy)
    assert {k: got[k] for k in counts} == counts


def test_the_run_applies_the_policy_locked_when_the_round_opened(study, world, close_now):
    rnd, items, people = world
    stored = Rating.objects.count()
    run = close_now(rnd)
    assert run.status == "done", run.error
    assert run.included["policy"] == "complete"
    assert run.included["submitted"] == 1
    assert run.included["complete_drafts"] == 1
    assert run.included["left_out_partial_drafts"] == 1
    all_n = {r.item_id: r.n for r in rnd.results.filter(group_key="all")}
    assert all_n[items[0].pk] == 2
    # Nothing stored is deleted, and the drafts stay drafts.
    assert Rating.objects.count() == stored
    assert Response.objects.filter(round=rnd, status="draft").count() == 2


def test_changing_the_policy_changes_the_fingerprint_and_results(study, world, close_now):
    rnd, items, people = world
    first = close_now(rnd)
    snap = dict(rnd.rule_snapshot or {}) | {"drafts_policy": "rated"}
    type(rnd).objects.filter(pk=rnd.pk).update(rule_snapshot=snap)
    rnd.refresh_from_db()
    second = services.consensus_compute_now(round=rnd)
    assert second.status == "done", second.error
    assert second.fingerprint != first.fingerprint
    assert second.included["partial_drafts"] == 1
    assert rnd.results.get(group_key="all", item=items[0]).n == 3


def test_a_round_with_only_left_out_drafts_fails_with_the_counts(study, world, close_now):
    rnd, items, people = world
    Response.objects.filter(round=rnd, status="submitted").update(status="draft")
    Rating.objects.filter(response__round=rnd, response__panelist=people[1]).delete()
    snap = dict(rnd.rule_snapshot or {}) | {"drafts_policy": "submitted"}
    type(rnd).objects.filter(pk=rnd.pk).update(rule_snapshot=snap)
    rnd.refresh_from_db()
    run = close_now(rnd)
    assert run.status == "failed"
    assert "Count only submitted responses" in run.error
    assert "0 submitted" in run.error


def test_protocol_form_shows_the_policy_and_results_show_the_counts(
    researcher_client, study, world, close_now
):
    rnd, items, people = world
    page = researcher_client.get(reverse("study_protocol", args=[study.uuid]))
    assert "Answers not submitted when the round closes" in page.content.decode()
    close_now(rnd)
    page = researcher_client.get(reverse("round_results", args=[study.uuid, rnd.uuid]))
    text = page.content.decode()
    assert "Count complete drafts (every item answered) as submitted" in text
    assert "1 submitted" in text and "1 complete draft" in text
    assert "Left out (kept, not analysed): 1 partial draft." in text


def test_the_results_csv_names_the_policy_and_the_counts(
    researcher_client, study, world, close_now
):
    rnd, items, people = world
    close_now(rnd)
    response = researcher_client.get(reverse("round_results_csv", args=[study.uuid, rnd.uuid]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows and {r["drafts_policy"] for r in rows} == {"complete"}
    assert {r["responses_submitted"] for r in rows} == {"1"}
    assert {r["complete_drafts_included"] for r in rows} == {"1"}
    assert {r["partial_drafts_included"] for r in rows} == {"0"}
