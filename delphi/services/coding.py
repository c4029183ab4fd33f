"""Coding panelists' words into statements.

The coding queue holds every non-empty open-ended answer of a study's item-generation rounds and
every suggestion made in any round. A researcher selects one or more entries (or a fragment of
one) and either creates a new statement from them or links them to an existing statement of the
same study; or marks them not usable, with a reason. Each decision is an ``AnswerCode`` row that
names who made it; rows are withdrawn (with a reason), never deleted, so a statement's sources
stay traceable and two researchers coding the same round see each other's work.
"""

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from competencies.models import Domain, Provenance, Statement
from delphi.models import AnswerCode, ItemChange, PromptAnswer, Round, RoundItem, Study, Suggestion
from delphi.services.audit import audit_record

KEY_RE = re.compile(r"^([as])(\d{1,12})$")


def _norm(text: str) -> str:
    return " ".join((text or "").split()).casefold()


def _parse_keys(keys) -> tuple[list[int], list[int]]:
    answers, suggestions = [], []
    for key in keys:
        m = KEY_RE.match(str(key).strip())
        if not m:
            raise ValidationError(f"“{key}” is not an answer of this study.")
        (answers if m[1] == "a" else suggestions).append(int(m[2]))
    if not answers and not suggestions:
        raise ValidationError("Select at least one answer or suggestion first.")
    return answers, suggestions


def _sources(study: Study, keys) -> list[tuple[str, object]]:
    """The chosen answers and suggestions, all of this study, in the order they were given."""
    answer_ids, suggestion_ids = _parse_keys(keys)
    answers = {
        a.pk: a
        for a in PromptAnswer.objects.filter(
            pk__in=answer_ids, response__round__study=study
        ).select_related("response__round", "response__panelist", "prompt")
    }
    suggestions = {
        s.pk: s
        for s in Suggestion.objects.filter(
            pk__in=suggestion_ids, round__study=study
        ).select_related("round", "response__panelist")
    }
    missing = len(set(answer_ids) - set(answers)) + len(set(suggestion_ids) - set(suggestions))
    if missing:
        raise ValidationError(
            f"{missing} of the selected entries are not answers of this study; nothing was saved."
        )
    out, seen = [], set()
    for key in keys:
        key = str(key).strip()
        if key in seen:
            continue
        seen.add(key)
        kind, pk = key[0], int(key[1:])
        obj = answers[pk] if kind == "a" else suggestions[pk]
        if not (obj.text or "").strip():
            raise ValidationError("An empty answer cannot be coded.")
        out.append((key, obj))
    return out


def _fragments(sources, fragments: dict | None) -> dict[str, str]:
    """Each fragment must be words of its own answer, so a code never quotes what was not said."""
    clean = {}
    for key, obj in sources:
        frag = " ".join(((fragments or {}).get(key) or "").split())
        if not frag:
            clean[key] = ""
            continue
        if _norm(frag) not in _norm(obj.text):
            who = obj.response.panelist.public_id
            raise ValidationError(
                {
                    "fragment": f"The fragment “{frag[:60]}” is not part of the answer by {who}: "
                    "copy the words from the answer itself."
                }
            )
        clean[key] = frag
    return clean


def _round_of(obj) -> Round:
    return obj.response.round if isinstance(obj, PromptAnswer) else obj.round


def _unusable_keys(sources) -> list[str]:
    answers = [o.pk for k, o in sources if k[0] == "a"]
    suggestions = [o.pk for k, o in sources if k[0] == "s"]
    active = AnswerCode.objects.filter(withdrawn_at__isnull=True, statement__isnull=True)
    marked = {
        f"a{pk}" for pk in active.filter(answer_id__in=answers).values_list("answer_id", flat=True)
    }
    marked |= {
        f"s{pk}"
        for pk in active.filter(suggestion_id__in=suggestions).values_list(
            "suggestion_id", flat=True
        )
    }
    return [k for k, _ in sources if k in marked]


def _who(sources, keys) -> str:
    names = [o.response.panelist.public_id for k, o in sources if k in keys]
    return ", ".join(names[:5]) + ("…" if len(names) > 5 else "")


def _next_draft_rating_round(study: Study, after: int) -> Round | None:
    return (
        study.rounds.filter(status=Round.Status.DRAFT, kind=Round.Kind.RATING, number__gt=after)
        .order_by("number")
        .first()
    )


def derivation_phrase(counts: dict[int, int]) -> str:
    """{round number: n answers} -> "derived from 7 answers in round 1 and 2 in round 3"."""
    parts = [
        f"{n} answer{'s' if n != 1 else ''} in round {r}" if i == 0 else f"{n} in round {r}"
        for i, (r, n) in enumerate(sorted(counts.items()))
    ]
    if not parts:
        return ""
    return "derived from " + (
        " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else parts[0]
    )


def _link(study, by, sources, fragments, statement, *, at) -> list[AnswerCode]:
    rows = [
        AnswerCode(
            study=study,
            round=_round_of(obj),
            answer=obj if key[0] == "a" else None,
            suggestion=obj if key[0] == "s" else None,
            fragment=fragments[key],
            statement=statement,
            created_by=by,
        )
        for key, obj in sources
    ]
    try:
        with transaction.atomic():
            AnswerCode.objects.bulk_create(rows)
    except IntegrityError:
        raise ValidationError(
            f"One of the selected entries already supports {statement.code} "
            "(with the same fragment); nothing was saved."
        )
    return rows


def _decide_suggestions(sources, status, by, reason, statement=None, *, at) -> None:
    # Suggestions keep their own status for the suggestions page; only undecided ones move.
    ids = [o.pk for k, o in sources if k[0] == "s"]
    if ids:
        Suggestion.objects.filter(pk__in=ids, status=Suggestion.Status.NEW).update(
            status=status, statement=statement, decided_by=by, decided_at=at, decision_reason=reason
        )


def _refuse_unusable(sources) -> None:
    if marked := _unusable_keys(sources):
        raise ValidationError(
            f"{len(marked)} of the selected entries are marked not usable "
            f"({_who(sources, set(marked))}); withdraw that mark before coding them."
        )


def _next_code(study: Study, domain: Domain) -> str:
    taken = set(
        Statement.objects.filter(framework_id=study.framework_id).values_list("code", flat=True)
    )
    n = 1
    while f"{domain.code}-P{n}" in taken:
        n += 1
    return f"{domain.code}-P{n}"


def coding_create_statement(
    *,
    study: Study,
    by,
    keys,
    domain: Domain,
    text: str,
    code: str = "",
    plain_text: str = "",
    text_es: str = "",
    plain_text_es: str = "",
    fragments: dict | None = None,
) -> Statement:
    """A new statement (provenance: panelist open-ended answer) supported by the chosen entries."""
    sources = _sources(study, keys)
    frags = _fragments(sources, fragments)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the new statement's wording."})
    if domain is None or domain.framework_id != study.framework_id:
        raise ValidationError({"domain": "Choose a domain of this study's framework."})
    _refuse_unusable(sources)
    code = (code or "").strip() or _next_code(study, domain)
    rounds = sorted({_round_of(o).number for _, o in sources})
    now = timezone.now()
    try:
        with transaction.atomic():
            order = (
                Statement.objects.filter(domain=domain).aggregate(n=Max("order"))["n"] or 0
            ) + 1
            statement = Statement.objects.create(
                framework_id=study.framework_id,
                domain=domain,
                code=code,
                text=text,
                plain_text=(plain_text or "").strip(),
                text_es=(text_es or "").strip(),
                plain_text_es=(plain_text_es or "").strip(),
                provenance=Provenance.PANELIST_ANSWER,
                source_note="Coded from panelists' answers in round "
                + ", ".join(str(r) for r in rounds),
                order=order,
            )
            _link(study, by, sources, frags, statement, at=now)
            _decide_suggestions(
                sources, Suggestion.Status.ADOPTED, by, f"Coded into {code}.", statement, at=now
            )
            draft = _next_draft_rating_round(study, max(rounds))
            if draft is not None:
                position = (draft.items.aggregate(n=Max("order"))["n"] or 0) + 1
                RoundItem.objects.create(round=draft, statement=statement, order=position)
                ItemChange.objects.create(
                    study=study,
                    round=draft,
                    statement=statement,
                    action=ItemChange.Action.ADDED,
                    reason=_sentence(
                        derivation_phrase(
                            {r: sum(_round_of(o).number == r for _, o in sources) for r in rounds}
                        )
                    ),
                    by=by,
                )
            audit_record(
                study=study,
                verb="coding_new_statement",
                actor=by,
                code=code,
                sources=len(sources),
            )
    except IntegrityError:
        raise ValidationError({"code": f"A statement with code {code} already exists."})
    return statement


def coding_link(
    *, study: Study, by, keys, statement: Statement, fragments: dict | None = None
) -> list[AnswerCode]:
    """Link the chosen entries to an existing statement of the same study."""
    if statement is None:
        raise ValidationError({"statement": "Choose the statement these answers support."})
    if statement.framework_id != study.framework_id:
        raise ValidationError(
            {
                "statement": "That statement belongs to another study; answers can only support "
                "statements of their own study."
            }
        )
    sources = _sources(study, keys)
    frags = _fragments(sources, fragments)
    _refuse_unusable(sources)
    now = timezone.now()
    with transaction.atomic():
        rows = _link(study, by, sources, frags, statement, at=now)
        _decide_suggestions(
            sources,
            Suggestion.Status.MERGED,
            by,
            f"Coded as support for {statement.code}.",
            statement,
            at=now,
        )
        audit_record(
            study=study, verb="coding_link", actor=by, code=statement.code, sources=len(sources)
        )
    return rows


def coding_mark_unusable(*, study: Study, by, keys, reason: str) -> list[AnswerCode]:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why these answers are not usable; it is kept."})
    sources = _sources(study, keys)
    keyset = [k for k, _ in sources]
    linked = AnswerCode.objects.filter(withdrawn_at__isnull=True, statement__isnull=False)
    has_links = {
        f"a{pk}"
        for pk in linked.filter(
            answer_id__in=[int(k[1:]) for k in keyset if k[0] == "a"]
        ).values_list("answer_id", flat=True)
    } | {
        f"s{pk}"
        for pk in linked.filter(
            suggestion_id__in=[int(k[1:]) for k in keyset if k[0] == "s"]
        ).values_list("suggestion_id", flat=True)
    }
    if has_links:
        raise ValidationError(
            f"{len(has_links)} of the selected entries already support a statement "
            f"({_who(sources, has_links)}); withdraw those links before marking them not usable."
        )
    if already := _unusable_keys(sources):
        raise ValidationError(
            f"{len(already)} of the selected entries are already marked not usable "
            f"({_who(sources, set(already))})."
        )
    now = timezone.now()
    rows = [
        AnswerCode(
            study=study,
            round=_round_of(obj),
            answer=obj if key[0] == "a" else None,
            suggestion=obj if key[0] == "s" else None,
            unusable_reason=reason,
            created_by=by,
        )
        for key, obj in sources
    ]
    try:
        with transaction.atomic():
            AnswerCode.objects.bulk_create(rows)
            _decide_suggestions(sources, Suggestion.Status.DECLINED, by, reason, at=now)
            audit_record(study=study, verb="coding_unusable", actor=by, sources=len(sources))
    except IntegrityError:
        raise ValidationError("Another researcher marked one of these at the same moment; reload.")
    return rows


def coding_withdraw(*, study: Study, by, code_id: int, reason: str) -> AnswerCode:
    """Withdraw one link or mark. The row stays, with who withdrew it and why."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the code is withdrawn; it is kept."})
    row = AnswerCode.objects.filter(pk=code_id, study=study).select_related("statement").first()
    if row is None:
        raise ValidationError("That code is not part of this study.")
    with transaction.atomic():
        # Compare-and-set: two researchers withdrawing the same code cannot both succeed.
        n = AnswerCode.objects.filter(pk=row.pk, withdrawn_at__isnull=True).update(
            withdrawn_at=timezone.now(), withdrawn_by=by, withdraw_reason=reason
        )
        if n != 1:
            raise ValidationError("That code was already withdrawn.")
        audit_record(
            study=study,
            verb="coding_withdraw",
            actor=by,
            code=row.statement.code if row.statement_id else "not usable",
        )
    row.refresh_from_db()
    return row


def derivations(statement_ids) -> dict[int, dict[int, int]]:
    """{statement id: {round number: number of distinct answers/suggestions supporting it}}."""
    out: dict[int, dict[int, int]] = {}
    rows = (
        AnswerCode.objects.filter(statement_id__in=list(statement_ids), withdrawn_at__isnull=True)
        .values_list("statement_id", "round__number", "answer_id", "suggestion_id")
        .distinct()
    )
    seen = set()
    for statement_id, number, answer_id, suggestion_id in rows:
        key = (statement_id, number, answer_id, suggestion_id)
        if key in seen:
            continue
        seen.add(key)
        per = out.setdefault(statement_id, {})
        per[number] = per.get(number, 0) + 1
    return out


def round_start_rating(*, round: Round, by) -> Round:
    """Draft the first rating round after a closed generation round, with its coded statements.

    The researcher then sees them pre-selected on the items page and may add or remove others.
    """
    if round.kind != Round.Kind.GENERATION:
        raise ValidationError("Only an item-generation round leads to a first rating round.")
    if round.status not in (Round.Status.CLOSED, Round.Status.ANALYSED):
        raise ValidationError(
            f"Round {round.number} is still {round.get_status_display().lower()}: "
            "close it before starting the rating round."
        )
    study = round.study
    if study.rounds.filter(number__gt=round.number).exists():
        raise ValidationError(
            f"Round {round.number + 1} already exists; choose its items from its own page."
        )
    codes = (
        AnswerCode.objects.filter(
            round=round,
            withdrawn_at__isnull=True,
            statement__isnull=False,
            statement__is_active=True,
        )
        .select_related("statement__domain")
        .order_by("statement__domain__order", "statement__order", "statement__code")
    )
    statements = list(dict.fromkeys(c.statement for c in codes))
    counts = derivations(s.pk for s in statements)
    try:
        with transaction.atomic():
            new = Round.objects.create(
                study=study,
                number=round.number + 1,
                kind=Round.Kind.RATING,
                title=f"Round {round.number + 1}: rate the statements",
            )
            RoundItem.objects.bulk_create(
                RoundItem(round=new, statement=s, order=i) for i, s in enumerate(statements)
            )
            ItemChange.objects.bulk_create(
                ItemChange(
                    study=study,
                    round=new,
                    statement=s,
                    action=ItemChange.Action.ADDED,
                    reason=_sentence(derivation_phrase({round.number: counts[s.pk][round.number]})),
                    by=by if getattr(by, "pk", None) else None,
                )
                for s in statements
            )
            audit_record(
                study=study,
                verb="round_create",
                actor=by,
                round=new.number,
                kind=new.kind,
                from_generation=round.number,
                items=len(statements),
            )
    except IntegrityError:
        raise ValidationError("Another round was created at the same moment; reload the page.")
    return new


def _sentence(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:] + "." if phrase else ""
