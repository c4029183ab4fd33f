"""The audit trail: who changed what in a study, when, and the old and new values.

Every change that can move a result goes through ``audit_record`` (or, for the autosave hot
path, the same row written by the upsert's own SQL statement: ``delphi.services.responses``).
Rows are append-only (see ``AuditEvent``) and chained per study: ``audit_seal`` gives each row
not yet chained its place (``chain_seq``), the previous row's hash and its own SHA-256, and
``audit_verify`` walks a study's chain and names the first row that does not hold.

Sealing is separate from writing so that a panelist's tap never waits for a study-wide lock:
rows are sealed by the next researcher action on the study (``audit_record`` seals after it
writes), when the audit page or an archive is produced, by ``manage.py audit_verify``, and by
the periodic ``audit_seal_due`` sweep. Until sealed, a row is protected by the append-only
guards only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from delphi.models import AuditEvent, AuditPurge, Study

GENESIS = "0" * 64
SEAL_BATCH = 5000
# The columns the hash covers, in this order. No database ids: an archive imported into
# another database verifies with the same hashes.
HASHED = (
    "chain_seq", "prev_hash", "at", "verb", "source", "actor_label", "object_type", "object_id",
    "object_label", "old", "new", "detail",
)  # fmt: skip


def _user_label(actor) -> str:
    return actor.get_username() if actor is not None else ""


def audit_record(
    *,
    study: Study,
    verb: str,
    actor=None,
    panelist=None,
    source: str | None = None,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
    old=None,
    new=None,
    seal: bool = True,
    **detail,
) -> AuditEvent:
    """Write one audit row. ``obj`` (a model instance) fills ``object_type/id/label``;
    ``old``/``new`` are JSON-able values (a dict of the fields that changed, as a rule).

    ``source`` defaults to researcher for a signed-in actor, panelist when only a panelist is
    given, system otherwise; ``import`` and ``admin`` are passed by those callers.
    """
    # AnonymousUser is not a row; system actions (beat closing a round) have no actor.
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if source is None:
        if actor is not None:
            source = AuditEvent.Source.RESEARCHER
        elif panelist is not None:
            source = AuditEvent.Source.PANELIST
        else:
            source = AuditEvent.Source.SYSTEM
    label = _user_label(actor) or (panelist.public_id if panelist is not None else "")
    if not label and source in (AuditEvent.Source.SYSTEM, AuditEvent.Source.IMPORT):
        label = source
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or object_key(obj)
        object_label = object_label or str(obj)[:200]
    event = AuditEvent.objects.create(
        study=study,
        actor=actor,
        panelist=panelist,
        verb=verb,
        detail=_jsonable(detail),
        source=source,
        actor_label=label[:150],
        object_type=object_type[:40],
        object_id=str(object_id)[:80],
        object_label=str(object_label)[:200],
        old=_jsonable(old),
        new=_jsonable(new),
    )
    if seal:
        audit_seal(study_id=study.pk)
    return event


def object_key(obj) -> str:
    """How a row names its object: the UUID, else the code, else the id."""
    return str(getattr(obj, "uuid", None) or getattr(obj, "code", "") or obj.pk)


def _jsonable(value):
    """Round-trip through JSON now, so the row hashed later equals the row stored."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))


# ---------------------------------------------------------------------------------------------
# The chain


def _at_text(value) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _load_json(value):
    # Raw SQL returns JSON columns as text on SQLite and as Python values on PostgreSQL.
    if isinstance(value, str):
        return json.loads(value)
    return value


def row_hash(row: dict) -> str:
    """SHA-256 over a row's content and its predecessor's hash (canonical JSON)."""
    payload = {name: row[name] for name in HASHED}
    payload["at"] = _at_text(payload["at"])
    for name in ("old", "new", "detail"):
        payload[name] = _load_json(payload[name])
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _rows(sql: str, params) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


_COLUMNS = "id, " + ", ".join(HASHED) + ", hash"


def _table() -> str:
    return connection.ops.quote_name(AuditEvent._meta.db_table)


def audit_seal(*, study_id: int) -> int:
    """Chain the study's rows that are not chained yet, oldest first. Returns how many.

    Sealers of one study take turns (an advisory lock on PostgreSQL; SQLite serialises
    writers anyway), so two never hand out the same place. A row committed after a seal began
    is simply sealed by the next one: its place is when it was sealed, not its id.
    """
    sealed = 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7207, study_id])
        table = _table()
        last = _rows(
            f"SELECT chain_seq, hash FROM {table} WHERE study_id = %s "  # noqa: S608
            "AND chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1",
            [study_id],
        )
        seq, prev = (last[0]["chain_seq"], last[0]["hash"]) if last else (0, GENESIS)
        while True:
            pending = _rows(
                f"SELECT {_COLUMNS} FROM {table} WHERE study_id = %s "  # noqa: S608
                f"AND chain_seq IS NULL ORDER BY id LIMIT {SEAL_BATCH}",
                [study_id],
            )
            if not pending:
                break
            updates = []
            for row in pending:
                seq += 1
                row["chain_seq"], row["prev_hash"] = seq, prev
                prev = row_hash(row)
                updates.append((seq, row["prev_hash"], prev, row["id"]))
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET chain_seq = %s, prev_hash = %s, hash = %s "  # noqa: S608
                    "WHERE id = %s AND chain_seq IS NULL",
                    updates,
                )
            sealed += len(updates)
            if len(pending) < SEAL_BATCH:
                break
    return sealed


def audit_seal_due() -> int:
    """Seal every study's pending rows (the periodic sweep)."""
    study_ids = (
        AuditEvent.objects.filter(chain_seq__isnull=True)
        .order_by()
        .values_list("study_id", flat=True)
        .distinct()
    )
    return sum(audit_seal(study_id=sid) for sid in list(study_ids))


@dataclass
class ChainReport:
    study: Study
    rows: int
    unsealed: int
    broken_at: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None

    def __str__(self) -> str:
        name = f"{self.study.title} ({self.study.uuid})"
        if self.intact:
            tail = f"; {self.unsealed} not yet chained" if self.unsealed else ""
            return f"{name}: {self.rows} rows, chain intact{tail}"
        return f"{name}: chain BROKEN at row {self.broken_at}: {self.problem}"


def audit_verify(*, study: Study) -> ChainReport:
    """Recompute the study's chain; the first row whose hash, link or place does not hold."""
    table = _table()
    rows = _rows(
        f"SELECT {_COLUMNS} FROM {table} WHERE study_id = %s "  # noqa: S608
        "AND chain_seq IS NOT NULL ORDER BY chain_seq",
        [study.pk],
    )
    unsealed = AuditEvent.objects.filter(study=study, chain_seq__isnull=True).count()
    report = ChainReport(study=study, rows=len(rows), unsealed=unsealed)
    prev = GENESIS
    for expected, row in enumerate(rows, start=1):
        where = f"{row['verb']} at {_at_text(row['at'])}"
        if row["chain_seq"] != expected:
            report.broken_at, report.problem = (
                expected,
                f"row {expected} is missing (the next row is {row['chain_seq']}, {where}): "
                "a row was deleted",
            )
            return report
        if row["prev_hash"] != prev:
            report.broken_at, report.problem = (
                expected,
                f"its link to row {expected - 1} does not match ({where}): a row before it "
                "was changed or replaced",
            )
            return report
        digest = row_hash(row)
        if digest != row["hash"]:
            report.broken_at, report.problem = (
                expected,
                f"its content does not match its hash ({where}): the row was edited",
            )
            return report
        prev = digest
    return report


# ---------------------------------------------------------------------------------------------
# Deleting a whole study on purpose


def study_purge(*, study: Study) -> None:
    """Delete a study and everything in it, audit trail included (the demo rebuilding itself).

    The only path that removes audit rows: ``AuditEvent.study`` is PROTECT, so any other
    deletion of a study that has audit rows is refused (``ProtectedError``), and the admin
    offers no study deletion at all. On PostgreSQL the trigger lets the rows go while the
    study's id is in ``AuditPurge``, inside this one transaction.
    """
    with transaction.atomic():
        AuditPurge.objects.get_or_create(study_id=study.pk)
        study_id = study.pk
        # AuditEvent.study is PROTECT, so the rows go first, by plain SQL: the ORM's paths
        # refuse (AuditRowImmutable), and PostgreSQL's trigger lets them go for this study only.
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {_table()} WHERE study_id = %s", [study_id])  # noqa: S608
        study.delete()
        AuditPurge.objects.filter(study_id=study_id).delete()
