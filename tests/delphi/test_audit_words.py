"""Audit rows read as sentences: every verb the code records has one, and the pages use them."""

import re
from pathlib import Path
from types import SimpleNamespace

from django.urls import reverse

from delphi.audit_words import SENTENCES, event_sentence, humanise, what
from delphi.services.audit import audit_record
from delphi.templatetags.researcher_format import p_value, when

ROOT = Path(__file__).resolve().parents[2]


def _recorded_verbs() -> set[str]:
    verbs = set()
    for app in ("delphi", "panels", "competencies", "lib"):
        for path in (ROOT / app).rglob("*.py"):
            text = path.read_text()
            verbs |= set(re.findall(r"verb\s*=\s*\"([a-z_.]+)\"", text))
            verbs |= set(re.findall(r"'((?:rating|response)\.[a-z_]+)'", text))
    return verbs


def test_every_recorded_verb_has_a_sentence():
    verbs = _recorded_verbs()
    assert {"round_open", "consensus_run_start", "rating.autosave"} <= verbs
    assert sorted(verbs - set(SENTENCES)) == []


def _event(verb, source="researcher", actor_label="rita", object_label="", **detail):
    return SimpleNamespace(
        verb=verb, source=source, actor_label=actor_label, object_label=object_label, detail=detail
    )


def test_sentences_name_the_round_and_who():
    assert event_sentence(_event("round_open", round=2)) == "Round 2 opened by rita"
    closed = _event("round_close", source="system", actor_label="system", round=1)
    assert event_sentence(closed) == "Round 1 closed by the system"
    submitted = _event("response.submit", source="panelist", actor_label="P-7", round=3)
    assert event_sentence(submitted) == "Round 3 answers submitted by panelist P-7"
    # A detail left out falls back to the short form, never to a half-filled sentence.
    assert event_sentence(_event("round_open")) == "Round opened by rita"
    assert what("communication.reminder", {"round": 2, "count": 40}) == (
        "40 reminders queued for round 2"
    )
    assert what("admin.change", {}, "Round 1") == "Round 1 changed in the site admin"


def test_an_unknown_verb_reads_as_words():
    assert humanise("round.quorum_warning") == "Round quorum warning"
    assert what("something_new", {}) == "Something new"


def test_p_values_and_dates_have_one_format():
    import datetime as dt

    assert p_value(0.00001) == "< 0.001"
    assert p_value(0.0004) == "< 0.001"
    assert p_value(0.001) == "0.001"
    assert p_value(0.04567) == "0.046"
    assert p_value(None) == "–"
    assert when(dt.datetime(2026, 11, 17, 14, 5)) == "17 Nov 2026, 14:05"


def test_study_overview_and_audit_log_show_activity_in_words(study, researcher, researcher_client):
    audit_record(study=study, verb="round_open", actor=researcher, round=2)
    overview = researcher_client.get(reverse("study_detail", kwargs={"study": study.uuid}))
    html = overview.content.decode()
    assert f"Round 2 opened by {researcher.username}" in html
    assert "<code>round_open</code>" not in html
    log = researcher_client.get(reverse("audit_log", kwargs={"study": study.uuid}))
    assert f"Round 2 opened by {researcher.username}" in log.content.decode()
