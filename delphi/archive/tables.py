"""What a study archive holds: one file per table, in an order where every reference points
to a file already read, and how each value is written as text.

Rows are numbered 1..n per file (column ``id``) in the order of their database ids; a
reference column holds the ``id`` of a row in the file it names. Database ids themselves are
never written, so two instances holding the same study write the same archive. References to
the study, its panel and its framework are implied (one study per archive) and left out;
references to user accounts are written as the username (``<field>_username``) for the
record only, since accounts are not part of a study.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.utils.dateparse import parse_datetime

from competencies.models import Domain, Framework, Scenario, Statement
from delphi.models import (
    AnswerCode,
    AuditEvent,
    ConsensusRun,
    Deviation,
    GroupConcordance,
    ItemChange,
    ItemDecision,
    ItemResult,
    PromptAnswer,
    Ranking,
    RankingConcordance,
    RankingItemResult,
    Rating,
    Response,
    Round,
    RoundItem,
    RoundPrompt,
    Study,
    Suggestion,
)
from panels.models import Contact, Panel, Panelist, StakeholderGroup

FORMAT = "delphi-study-archive"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)
# The columns of format version 1 (``layout_digest``); tests/delphi/integrity/test_archive.py.
LAYOUT_V1 = "a8148f221aad38e2c98c3a4a66764b1a7a1bc76126738ca35e43e007599204df"
MANIFEST = "manifest.json"
STUDY_FILE = "study.json"
# Models every archive holds exactly one of, written as the three objects of study.json.
OWNERS = (Study, Panel, Framework)


@dataclass(frozen=True)
class Table:
    name: str
    model: type[models.Model]
    # The owner field that selects this table's rows: study, panel or framework (a path).
    scope: str
    contacts: bool = False

    def rows(self, study: Study):
        owner = {"study": study.pk, "panel": study.panel_id, "framework": study.framework_id}
        path, _, kind = self.scope.rpartition(":")
        return self.model._base_manager.filter(**{path: owner[kind]}).order_by("pk")


# Read in this order: a file only refers to files above it (and to itself: a statement's
# revision_of, an item's carried_from).
TABLES = (
    Table("groups.csv", StakeholderGroup, "panel_id:panel"),
    Table("panelists.csv", Panelist, "panel_id:panel"),
    Table("contacts.csv", Contact, "panel_id:panel", contacts=True),
    Table("domains.csv", Domain, "framework_id:framework"),
    Table("statements.csv", Statement, "framework_id:framework"),
    Table("scenarios.csv", Scenario, "framework_id:framework"),
    Table("rounds.csv", Round, "study_id:study"),
    Table("round_items.csv", RoundItem, "round__study_id:study"),
    Table("round_prompts.csv", RoundPrompt, "round__study_id:study"),
    Table("responses.csv", Response, "round__study_id:study"),
    Table("ratings.csv", Rating, "response__round__study_id:study"),
    Table("rankings.csv", Ranking, "response__round__study_id:study"),
    Table("prompt_answers.csv", PromptAnswer, "response__round__study_id:study"),
    Table("suggestions.csv", Suggestion, "round__study_id:study"),
    Table("answer_codes.csv", AnswerCode, "study_id:study"),
    Table("item_changes.csv", ItemChange, "study_id:study"),
    Table("deviations.csv", Deviation, "study_id:study"),
    Table("consensus_runs.csv", ConsensusRun, "round__study_id:study"),
    Table("item_results.csv", ItemResult, "round__study_id:study"),
    Table("item_decisions.csv", ItemDecision, "round__study_id:study"),
    Table("group_concordance.csv", GroupConcordance, "round__study_id:study"),
    Table("ranking_item_results.csv", RankingItemResult, "round__study_id:study"),
    Table("ranking_concordance.csv", RankingConcordance, "round__study_id:study"),
    Table("audit_events.csv", AuditEvent, "study_id:study"),
)
FILE_OF = {t.model: t.name for t in TABLES}


def is_user(field) -> bool:
    return field.is_relation and field.related_model._meta.label == settings.AUTH_USER_MODEL


def columns(model) -> list[tuple[str, models.Field]]:
    """(column name, field) of a model as archived: ``id`` first, owners left out."""
    out = []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            out.append(("id", field))
        elif field.is_relation and field.related_model in OWNERS:
            continue
        elif is_user(field):
            out.append((f"{field.name}_username", field))
        else:
            out.append((field.name, field))
    return out


# ---------------------------------------------------------------------------------------------
# Values as text


POSITIVE = (
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.PositiveBigIntegerField,
)


class BadValue(ValueError):
    pass


def encode(field, value):
    """A value as JSON-able data (study.json), or as CSV text via ``cell``."""
    if value is None:
        return None
    if isinstance(field, models.JSONField):
        return value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def cell(field, value) -> str:
    value = encode(field, value)
    if value is None:
        return ""
    if isinstance(field, models.JSONField):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    return str(value)


def decode(field, value):
    """The Python value of a field from study.json data or CSV text; raises ``BadValue``."""
    text_like = isinstance(field, (models.CharField, models.TextField))
    if value is None or (value == "" and not text_like):
        if not field.null:
            if isinstance(field, models.JSONField):
                raise BadValue("a JSON value is required")
            raise BadValue("a value is required")
        return None
    try:
        if isinstance(field, models.JSONField):
            return json.loads(value) if isinstance(value, str) else value
        if isinstance(field, models.BooleanField):
            if isinstance(value, bool):
                return value
            if value in ("true", "false"):
                return value == "true"
            raise BadValue(f"{value!r} is not true or false")
        if isinstance(field, models.DateTimeField):
            parsed = parse_datetime(value) if isinstance(value, str) else None
            if parsed is None or parsed.tzinfo is None:
                raise BadValue(f"{value!r} is not a date and time with its UTC offset")
            return parsed
        if isinstance(field, models.UUIDField):
            return uuid.UUID(str(value))
        if isinstance(field, models.FloatField):
            return float(value)
        if isinstance(field, models.IntegerField):
            number = int(value)
            if isinstance(field, POSITIVE) and number < 0:
                raise BadValue(f"{value!r} is negative")
            return number
        text = str(value)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        if isinstance(exc, BadValue):
            raise
        raise BadValue(f"{str(value)[:40]!r} is not a valid {type(field).__name__}") from None
    if "\x00" in text:
        raise BadValue("a NUL byte")
    if getattr(field, "max_length", None) and len(text) > field.max_length:
        raise BadValue(f"longer than {field.max_length} characters")
    return text


def layout_digest() -> str:
    """SHA-256 of every file's columns. A test pins it for the current format version: a model
    change that alters the archived columns must bump ``FORMAT_VERSION`` (and keep the old
    layout readable) rather than silently write archives older software refuses."""
    layout = {t.name: [name for name, _ in columns(t.model)] for t in TABLES}
    layout[STUDY_FILE] = {m.__name__: [n for n, f in columns(m)] for m in OWNERS}
    return hashlib.sha256(json.dumps(layout, sort_keys=True).encode()).hexdigest()
