"""A panelist's answers: ratings (autosaved one at a time or a page at a time), prompt answers,
suggestions, submission, consent, profile and withdrawal.

Every write is scoped by the Response, which the caller resolves from the panelist's session.
Ratings are upserts on the (response, item) unique constraint, so two tabs or a double click
leave one row; submission is a compare-and-set on Response.status.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from delphi.models import (
    AuditEvent,
    PromptAnswer,
    Ranking,
    Rating,
    Response,
    Round,
    RoundItem,
    RoundPrompt,
    Study,
    Suggestion,
)
from delphi.panelist.selectors import AutosaveTarget, round_is_writable
from delphi.services.audit import audit_record
from panels.models import Invitation, Language, Panelist

UNABLE = "unable"
MAX_COMMENT = 4000
MAX_SUGGESTION = 1000


class RoundClosed(ValidationError):
    pass


def answer_parse(token, *, study: Study) -> tuple[int | None, bool]:
    """'7' -> (7, False); 'unable' -> (None, True); '' -> (None, False). Anything else, or a
    value off the study's scale, raises ValidationError."""
    token = "" if token is None else str(token).strip()
    if token == "":
        return None, False
    if token == UNABLE:
        return None, True
    if not (token.isascii() and token.isdigit()) or not (
        study.scale_min <= int(token) <= study.scale_max
    ):
        raise ValidationError(
            _("Choose a number from %(min)s to %(max)s, or “unable to rate”.")
            % {"min": study.scale_min, "max": study.scale_max}
        )
    return int(token), False


def _text(value, *, limit: int, what: str) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        # PostgreSQL cannot store it (SQLite can): refused the same way on both.
        raise ValidationError(
            _(
                "The %(what)s contains a null character, which cannot be saved. "
                "Remove it and try again."
            )
            % {"what": what}
        )
    if len(value) > limit:
        raise ValidationError(
            _("The %(what)s is too long (%(n)s characters; at most %(limit)s).")
            % {"what": what, "n": len(value), "limit": limit}
        )
    return value


def check_can_answer(*, panelist: Panelist, round: Round) -> None:
    if panelist.status != Panelist.Status.ACTIVE:
        raise ValidationError(_("You have withdrawn from this study, so answers are not saved."))
    if not round_is_writable(round):
        raise RoundClosed(_("This round has closed: your answers can no longer be changed."))


def response_for(*, panelist: Panelist, round: Round) -> Response:
    """The panelist's response to the round, created on the first answer."""
    try:
        return Response.objects.get_or_create(round=round, panelist=panelist)[0]
    except IntegrityError:
        # Two first answers at once: the other request created it.
        return Response.objects.get(round=round, panelist=panelist)


MAX_SEQ = 2**53  # what a page's script can count to exactly (a JavaScript number)


def rating_save(*, target: AutosaveTarget, seq: int | None = None, **fields) -> bool:
    """Save one answer (any of value, comment, change_reason) as a draft: one upsert.

    ``target`` comes from ``autosave_target`` (the panelist's session, checked). ``value`` is a
    token as the page sends it ('7', 'unable', ''); fields not given are left as they are, so
    autosaving a comment never clears a rating. ``seq`` is the page's counter for this item:
    the row is overwritten only when ``seq`` is newer than the one stored, so of two quick
    taps whose requests cross, the later tap stays. Returns False when a newer action was
    already stored (nothing changed).

    Raw SQL for the same reason as the target query: it is the hot path;
    ``INSERT ... ON CONFLICT (response_id, item_id) DO UPDATE ... WHERE`` runs on SQLite and
    PostgreSQL alike, the unique constraint makes two tabs leave one row, and the WHERE makes
    "newer wins" one statement with no read first.
    """
    if not target.panelist_active:
        raise ValidationError(_("You have withdrawn from this study, so answers are not saved."))
    if not target.round_writable:
        raise RoundClosed(_("This round has closed: your answers can no longer be changed."))
    if seq is not None and (
        isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < MAX_SEQ
    ):
        raise ValidationError(_("This answer could not be read; please use Save and continue."))
    values = {"value": None, "unable": False, "comment": "", "change_reason": ""}
    update = []
    if "value" in fields:
        values["value"], values["unable"] = answer_parse(fields["value"], study=target)
        update += ["value", "unable"]
    if "comment" in fields:
        values["comment"] = _text(fields["comment"], limit=MAX_COMMENT, what=_("comment"))
        update.append("comment")
    if "change_reason" in fields:
        values["change_reason"] = _text(
            fields["change_reason"], limit=MAX_COMMENT, what=_("reason")
        )
        update.append("change_reason")
    if not update:
        raise ValidationError(_("Nothing to save."))
    response_id = target.response_id
    if response_id is None:
        response = response_for_ids(panelist_id=target.panelist_id, round_id=target.round_id)
        response_id, target.response_excluded = response.pk, response.excluded
    if target.response_excluded:
        raise ValidationError(_("You have withdrawn from this study, so answers are not saved."))
    now = timezone.now()
    if connection.vendor == "postgresql":
        return _rating_upsert_audited_pg(target, response_id, values, update, seq, now)
    with transaction.atomic():
        old = _rating_fields(response_id, target.item_id)
        applied = _rating_upsert(response_id, target.item_id, values, update, seq, now)
        if applied:
            given = {k: values[k] for k in update}
            new = {k: values[k] for k in RATING_FIELDS} if old is None else old | given
            if new != old:
                _rating_audit_orm(target, update, old, new, seq, now)
    return applied


RATING_FIELDS = ("value", "unable", "comment", "change_reason")
RATING_COLUMNS = ["response_id", "item_id", "value", "unable", "comment", "change_reason", "seq"]


def _rating_upsert_sql(update: list[str], seq: int | None) -> str:
    table = connection.ops.quote_name(Rating._meta.db_table)
    assigned = [*update, "updated_at"]
    newer = ""
    if seq is not None:
        assigned.append("seq")
        newer = f" WHERE {table}.seq < excluded.seq"
    assignments = ", ".join(f"{c} = excluded.{c}" for c in assigned)
    return (
        f"INSERT INTO {table} ({', '.join(RATING_COLUMNS)}, updated_at) "  # noqa: S608 - names
        f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT (response_id, item_id) DO UPDATE SET {assignments}{newer}"
    )


def _rating_params(response_id, item_id, values, seq, now) -> list:
    params = [response_id, item_id] + [values[c] for c in RATING_FIELDS]
    return params + [seq or 0, connection.ops.adapt_datetimefield_value(now)]


def _rating_upsert(response_id, item_id, values, update, seq, now) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            _rating_upsert_sql(update, seq), _rating_params(response_id, item_id, values, seq, now)
        )
        return cursor.rowcount != 0


def _rating_fields(response_id, item_id) -> dict | None:
    row = (
        Rating.objects.filter(response_id=response_id, item_id=item_id)
        .values(*RATING_FIELDS)
        .first()
    )
    return row


def _rating_audit_orm(target, update, old, new, seq, now) -> None:
    AuditEvent.objects.create(
        study_id=target.study_id,
        panelist_id=target.panelist_id,
        verb="rating.autosave",
        detail={"round": target.round_number, "seq": seq},
        source=AuditEvent.Source.PANELIST,
        actor_label=target.public_id,
        object_type="rating",
        object_id=target.item_uuid,
        object_label=target.statement_code,
        old=None if old is None else {k: old[k] for k in update},
        new={k: new[k] for k in update},
        at=now,
    )


def _rating_upsert_audited_pg(target, response_id, values, update, seq, now) -> bool:
    """The upsert and its audit row in ONE statement (data-modifying CTEs): the hot path
    stays one round trip. ``old`` reads the row as it was before the statement (all parts of
    a statement share one snapshot); the audit row is written only when the upsert applied
    and changed something."""
    rating = connection.ops.quote_name(Rating._meta.db_table)
    audit = connection.ops.quote_name(AuditEvent._meta.db_table)
    pairs = lambda alias: ", ".join(f"'{c}', {alias}.{c}" for c in update)  # noqa: E731
    same = " AND ".join(f"old.{c} IS NOT DISTINCT FROM up.{c}" for c in RATING_FIELDS)
    sql = f"""
        WITH old AS (
            SELECT {", ".join(RATING_FIELDS)} FROM {rating}
            WHERE response_id = %s AND item_id = %s
        ), up AS (
            {_rating_upsert_sql(update, seq)}
            RETURNING {", ".join(RATING_FIELDS)}
        ), aud AS (
            INSERT INTO {audit} (study_id, panelist_id, verb, detail, at, source, actor_label,
                                 object_type, object_id, object_label, old, new, prev_hash, hash)
            SELECT %s, %s, 'rating.autosave', jsonb_build_object('round', %s, 'seq', %s), %s,
                   'panelist', %s, 'rating', %s, %s,
                   (SELECT jsonb_build_object({pairs("old")}) FROM old),
                   jsonb_build_object({pairs("up")}), '', ''
            FROM up
            WHERE NOT EXISTS (SELECT 1 FROM old WHERE {same})
        )
        SELECT count(*) FROM up
    """  # noqa: S608 - names from model metadata and a fixed field list; values are parameters
    params = [response_id, target.item_id]
    params += _rating_params(response_id, target.item_id, values, seq, now)
    params += [
        target.study_id,
        target.panelist_id,
        target.round_number,
        seq,
        now,
        target.public_id,
        target.item_uuid,
        target.statement_code,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0] != 0


def response_for_ids(*, panelist_id: int, round_id: int) -> Response:
    try:
        return Response.objects.get_or_create(round_id=round_id, panelist_id=panelist_id)[0]
    except IntegrityError:
        return Response.objects.get(round_id=round_id, panelist_id=panelist_id)


def ratings_save_page(
    *, panelist: Panelist, round: Round, study: Study, answers: dict[RoundItem, dict]
) -> Response:
    """Save a page of answers from an ordinary form post, all or nothing.

    ``answers`` maps each item to the fields given for it (value token, comment, change_reason).
    Every value is checked before anything is written.
    """
    check_can_answer(panelist=panelist, round=round)
    with_value, without_value, errors = [], [], {}
    for item, given in answers.items():
        if item.round_id != round.pk:
            raise ValidationError(_("This statement is not part of this round."))
        row = Rating(item=item)
        try:
            row.comment = _text(given.get("comment"), limit=MAX_COMMENT, what=_("comment"))
            row.change_reason = _text(
                given.get("change_reason"), limit=MAX_COMMENT, what=_("reason")
            )
            if given.get("value") not in (None, ""):
                row.value, row.unable = answer_parse(given["value"], study=study)
                with_value.append(row)
            elif row.comment or row.change_reason or given.get("existing"):
                without_value.append(row)
        except ValidationError as exc:
            errors[str(item.uuid)] = exc.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        response = response_for(panelist=panelist, round=round)
        if response.excluded:
            raise ValidationError(
                _("You have withdrawn from this study, so answers are not saved.")
            )
        for row in with_value + without_value:
            row.response = response
        posted = with_value + without_value
        before = {
            r["item_id"]: r
            for r in Rating.objects.filter(
                response=response, item__in=[r.item for r in posted]
            ).values("item_id", *RATING_FIELDS)
        }
        if with_value:
            Rating.objects.bulk_create(
                with_value,
                update_conflicts=True,
                unique_fields=["response", "item"],
                update_fields=["value", "unable", "comment", "change_reason", "updated_at"],
            )
        if without_value:
            Rating.objects.bulk_create(
                without_value,
                update_conflicts=True,
                unique_fields=["response", "item"],
                update_fields=["comment", "change_reason", "updated_at"],
            )
        if with_value or without_value:
            # The page post is the panelist's latest action on these items: an autosave that
            # was still in flight from before it carries an older sequence and is ignored.
            Rating.objects.filter(
                response=response, item__in=[r.item for r in with_value + without_value]
            ).update(seq=F("seq") + 1)
            _audit_page_post(study, round, panelist, posted, before, with_value)
    return response


def _audit_page_post(study, round, panelist, posted, before, with_value) -> None:
    """One audit row per rating the page post changed, with the old and new fields."""
    rows, now = [], timezone.now()
    valued = {id(r) for r in with_value}
    for row in posted:
        fields = RATING_FIELDS if id(row) in valued else ("comment", "change_reason")
        old = before.get(row.item.pk)
        new = {f: getattr(row, f) for f in fields}
        old_part = None if old is None else {f: old[f] for f in fields}
        if old_part == new:
            continue
        rows.append(
            AuditEvent(
                study=study,
                panelist=panelist,
                verb="rating.page_save",
                detail={"round": round.number},
                source=AuditEvent.Source.PANELIST,
                actor_label=panelist.public_id,
                object_type="rating",
                object_id=str(row.item.uuid),
                object_label=row.item.statement.code,
                old=old_part,
                new=new,
                at=now,
            )
        )
    AuditEvent.objects.bulk_create(rows)


def response_set_last_page(*, response: Response | None, page: int) -> None:
    if response is not None and response.last_page != page:
        Response.objects.filter(pk=response.pk).update(last_page=page)
        response.last_page = page


def response_submit(*, panelist: Panelist, round: Round) -> bool:
    """Mark the response submitted. Returns True for the request that did it; a second submit
    (double click, second tab) changes nothing. Answers stay editable until the round closes."""
    check_can_answer(panelist=panelist, round=round)
    response = response_for(panelist=panelist, round=round)
    if response.excluded:
        raise ValidationError(_("You have withdrawn from this study, so answers are not saved."))
    changed = Response.objects.filter(pk=response.pk, status=Response.Status.DRAFT).update(
        status=Response.Status.SUBMITTED, submitted_at=timezone.now()
    )
    if changed:
        audit_record(
            study=round.study, verb="response.submit", panelist=panelist, round=round.number
        )
        Invitation.objects.filter(panelist=panelist, accepted_at__isnull=True).exclude(
            status=Invitation.Status.REVOKED
        ).update(accepted_at=timezone.now())
    return bool(changed)


def prompt_answers_save(
    *, panelist: Panelist, round: Round, answers: dict[RoundPrompt, str]
) -> Response:
    check_can_answer(panelist=panelist, round=round)
    rows = []
    for prompt, text in answers.items():
        if prompt.round_id != round.pk:
            raise ValidationError(_("This question is not part of this round."))
        rows.append(
            PromptAnswer(prompt=prompt, text=_text(text, limit=MAX_COMMENT, what=_("answer")))
        )
    with transaction.atomic():
        response = response_for(panelist=panelist, round=round)
        for row in rows:
            row.response = response
        if rows:
            PromptAnswer.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["response", "prompt"],
                update_fields=["text", "updated_at"],
            )
    return response


def suggestion_create(
    *, panelist: Panelist, round: Round, text: str, rationale: str = "", domain=None, scenario=None
) -> Suggestion:
    check_can_answer(panelist=panelist, round=round)
    text = _text(text, limit=MAX_SUGGESTION, what=_("statement"))
    if not text:
        raise ValidationError({"text": _("Write the statement you would like to add.")})
    rationale = _text(rationale, limit=MAX_COMMENT, what=_("reason"))
    study = round.study
    if domain is not None and domain.framework_id != study.framework_id:
        raise ValidationError(_("This domain is not part of this study."))
    if scenario is not None and scenario.framework_id != study.framework_id:
        raise ValidationError(_("This scenario is not part of this study."))
    response = response_for(panelist=panelist, round=round)
    # The same text twice from one panelist in one round (a double click) is one suggestion.
    existing = Suggestion.objects.filter(round=round, response=response, text=text).first()
    if existing:
        return existing
    return Suggestion.objects.create(
        round=round,
        response=response,
        text=text,
        rationale=rationale,
        domain=domain,
        scenario=scenario,
    )


def panelist_consent(*, panelist: Panelist, study: Study) -> None:
    Panelist.objects.filter(pk=panelist.pk).update(
        consented_at=timezone.now(), consent_version=study.consent_version
    )
    audit_record(study=study, verb="panelist.consent", panelist=panelist,
                 version=study.consent_version)  # fmt: skip


PROFILE_FIELDS = ("group", "years_experience", "setting", "lived_experience", "language")


def panelist_group_locked(panelist: Panelist) -> bool:
    """Whether the panelist has rated or ranked anything in their study: from then on their
    stakeholder group moves per-group results, so only the researchers can change it (with a
    reason, audited, marking the analysed rounds: ``panelist_update_audited``)."""
    return (
        Rating.objects.filter(response__panelist=panelist).exists()
        or Ranking.objects.filter(response__panelist=panelist).exists()
    )


def _profile_snapshot(panelist: Panelist) -> dict:
    return {
        "group": panelist.group.code if panelist.group_id else None,
        "years_experience": panelist.years_experience,
        "setting": panelist.setting,
        "lived_experience": panelist.lived_experience,
        "language": panelist.language,
    }


def group_locked_message() -> str:
    return _(
        "You have already given ratings in this study, so your group can no longer be changed "
        "here. To change it, contact the researchers running the study. Nothing was saved."
    )


def panelist_profile_update(*, panelist: Panelist, study: Study, data: dict) -> None:
    """The panelist's own "About you" answers. Every change is one audit row with the old and
    new values (actor: the panelist's public id). The group can change here only before the
    panelist has rated anything; after that a different group is refused and nothing is saved.
    ``data`` without "group" keeps the group as it is."""
    with transaction.atomic():
        current = (
            Panelist.objects.select_related("group")
            .select_for_update(of=("self",))
            .get(pk=panelist.pk)
        )
        group = data.get("group", current.group)
        if group is not None and group.panel_id != current.panel_id:
            raise ValidationError({"group": _("Choose one of this study's stakeholder groups.")})
        moving = (group.pk if group else None) != current.group_id
        if moving and panelist_group_locked(current):
            raise ValidationError(group_locked_message())
        fields = {
            "group": group,
            "years_experience": data.get("years_experience"),
            "setting": data.get("setting") or "",
            "lived_experience": data.get("lived_experience"),
            "language": data.get("language") or current.language,
        }
        before = _profile_snapshot(current)
        now = timezone.now()
        Panelist.objects.filter(pk=panelist.pk).update(**fields, profile_confirmed_at=now)
        for name, value in fields.items():
            setattr(current, name, value)
        after = _profile_snapshot(current)
        changed = [k for k in PROFILE_FIELDS if before[k] != after[k]]
        if changed:
            audit_record(
                study=study,
                verb="panelist.profile_update",
                panelist=panelist,
                obj=panelist,
                object_label=panelist.public_id,
                old={k: before[k] for k in changed},
                new={k: after[k] for k in changed},
            )
    for name, value in fields.items():
        setattr(panelist, name, value)
    panelist.profile_confirmed_at = now


def panelist_set_language(*, panelist: Panelist, language: str) -> None:
    if language not in Language.values:
        raise ValidationError(_("Unknown language."))
    Panelist.objects.filter(pk=panelist.pk).update(language=language)
    panelist.language = language


def panelist_withdraw(*, panelist: Panelist, study: Study, keep_answers: bool) -> bool:
    """Withdraw: no more e-mail; answers kept for analysis only if the panelist allows it.
    Compare-and-set on status, so withdrawing twice changes nothing the second time."""
    now = timezone.now()
    with transaction.atomic():
        changed = Panelist.objects.filter(pk=panelist.pk, status=Panelist.Status.ACTIVE).update(
            status=Panelist.Status.WITHDRAWN, withdrawn_at=now, keep_answers=keep_answers
        )
        if not changed:
            return False
        if not keep_answers:
            Response.objects.filter(panelist=panelist).update(excluded=True)
        audit_record(study=study, verb="panelist.withdraw", panelist=panelist,
                     keep_answers=keep_answers)  # fmt: skip
    panelist.status = Panelist.Status.WITHDRAWN
    panelist.withdrawn_at = now
    panelist.keep_answers = keep_answers
    return True
