"""Loading a study archive into this instance (``study_archive_import``).

Everything is checked before anything is kept: the ZIP itself, the manifest (format and
version), every file against its SHA-256, every value against its column, every reference
against the file it names, the database's own constraints, and finally the audit chain, which
must verify exactly as it did where the archive was made. One transaction: a refusal stores
nothing.

Rows get new database ids. UUIDs (and panelists' public ids, unique on the whole site) are
kept unless this instance already has them: then the row gets a new one and the result says
so. Audit rows are stored verbatim (their hashes cover no database id), so
``manage.py audit_verify`` reports the imported chain intact; the import itself is the next
row of that chain.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from competencies.models import Framework
from delphi.archive.tables import (
    FORMAT,
    MANIFEST,
    OWNERS,
    STUDY_FILE,
    SUPPORTED_VERSIONS,
    TABLES,
    BadValue,
    columns,
    decode,
    is_user,
)
from delphi.models import (
    AuditEvent,
    ConsensusRun,
    ItemDecision,
    ItemResult,
    Membership,
    PromptAnswer,
    Ranking,
    RankingItemResult,
    Rating,
    Study,
)
from delphi.services.audit import ChainReport, audit_record, audit_verify
from panels.models import Panel, Panelist, new_public_id

# An archive unpacking to more than this is refused before anything is read (a ZIP bomb).
MAX_UNPACKED_BYTES = 2 * 1024**3


class ArchiveError(Exception):
    """The archive is refused; the message says why, and nothing was stored."""


@dataclass
class ImportResult:
    study: Study
    rows: dict[str, int]
    notes: list[str] = field(default_factory=list)
    chain: ChainReport | None = None
    manifest: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# The container: ZIP, manifest, hashes


def _open(data: bytes) -> tuple[dict, dict[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ArchiveError(
            f"This is not a ZIP file, or it is damaged or truncated ({exc}). Export the "
            "study again and copy the whole file."
        ) from None
    with archive:
        infos = {info.filename: info for info in archive.infolist()}
        if MANIFEST not in infos:
            raise ArchiveError(f"The ZIP holds no {MANIFEST}: it is not a study archive.")
        if sum(info.file_size for info in infos.values()) > MAX_UNPACKED_BYTES:
            raise ArchiveError("The archive unpacks to more than 2 GiB; refused.")
        try:
            manifest = json.loads(archive.read(MANIFEST))
        except (ValueError, zipfile.BadZipFile, zlib.error, OSError) as exc:
            raise ArchiveError(f"{MANIFEST} cannot be read ({exc}).") from None
        _check_manifest(manifest)
        listed = {entry["name"]: entry for entry in manifest["files"]}
        extra = sorted(set(infos) - set(listed) - {MANIFEST})
        if extra:
            raise ArchiveError(
                f"The archive holds file(s) its manifest does not list: {', '.join(extra)}."
            )
        files = {}
        for name, entry in listed.items():
            if name not in infos:
                raise ArchiveError(f"{name} is listed in the manifest but missing from the ZIP.")
            try:
                content = archive.read(name)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
                raise ArchiveError(f"{name} cannot be unpacked: the ZIP is damaged ({exc}).")
            if hashlib.sha256(content).hexdigest() != entry["sha256"]:
                raise ArchiveError(
                    f"{name} does not match its SHA-256 in the manifest: it was changed or "
                    "damaged after the export. Nothing was imported."
                )
            files[name] = content
    return manifest, files


def _check_manifest(manifest) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"{MANIFEST} does not describe a {FORMAT}.")
    version = manifest.get("format_version")
    if version not in SUPPORTED_VERSIONS:
        raise ArchiveError(
            f"Unknown archive format version {version!r}: this software reads version(s) "
            f"{', '.join(map(str, SUPPORTED_VERSIONS))}. Import it with the software version "
            f"that wrote it ({manifest.get('software_version', 'unknown')}) or a newer one."
        )
    entries = manifest.get("files")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("name"), str) and isinstance(e.get("sha256"), str)
        for e in entries
    ):
        raise ArchiveError(f"{MANIFEST}: 'files' must list each file's name and sha256.")
    names = [e["name"] for e in entries]
    known = {STUDY_FILE} | {t.name for t in TABLES}
    unknown = sorted(set(names) - known)
    if unknown or len(names) != len(set(names)):
        raise ArchiveError(f"{MANIFEST} lists unknown or repeated files: {', '.join(unknown)}.")
    required = {STUDY_FILE} | {t.name for t in TABLES if not t.contacts}
    if manifest.get("with_contacts"):
        required |= {t.name for t in TABLES if t.contacts}
    missing = sorted(required - set(names))
    if missing:
        raise ArchiveError(f"{MANIFEST} does not list required file(s): {', '.join(missing)}.")


# ---------------------------------------------------------------------------------------------
# Rows


class _Loader:
    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.objects: dict[type, dict[int, object]] = {}
        self.notes: list[str] = []
        self.rows: dict[str, int] = {}
        self.owners: dict[type, object] = {}

    def owner_objects(self) -> None:
        try:
            data = json.loads(self.files[STUDY_FILE])
        except ValueError as exc:
            raise ArchiveError(f"{STUDY_FILE} is not valid JSON ({exc}).") from None
        if not isinstance(data, dict) or set(data) != {"study", "panel", "framework"}:
            raise ArchiveError(f"{STUDY_FILE} must hold the objects study, panel and framework.")
        for key, model in (("panel", Panel), ("framework", Framework), ("study", Study)):
            values = data[key]
            expected = {name for name, f in columns(model) if not f.primary_key}
            if not isinstance(values, dict) or set(values) != expected:
                got = set(values) if isinstance(values, dict) else set()
                raise ArchiveError(
                    f"{STUDY_FILE}: {key} has unexpected keys {sorted(got - expected)} or lacks "
                    f"{sorted(expected - got)}."
                )
            obj = model()
            for name, f in columns(model):
                if f.primary_key or is_user(f):
                    continue
                try:
                    setattr(obj, f.attname, decode(f, values[name]))
                except BadValue as exc:
                    raise ArchiveError(f"{STUDY_FILE}: {key}.{name}: {exc}.") from None
            if model is Study:
                obj.panel_id, obj.framework_id = self.owners[Panel].pk, self.owners[Framework].pk
            self._fresh_uuids(f"{STUDY_FILE} ({key})", model, [obj])
            self._insert(STUDY_FILE, model, [obj])
            self.owners[model] = obj

    def table(self, table) -> None:
        model = table.model
        text = self.files[table.name].decode("utf-8", errors="strict")
        reader = csv.reader(io.StringIO(text, newline=""))
        cols = columns(model)
        header = next(reader, None)
        expected = [name for name, _ in cols]
        if header != expected:
            raise ArchiveError(
                f"{table.name}: the header is {header}, expected {expected} (format version "
                "mismatch or an edited file)."
            )
        owner_fields = [
            f for f in model._meta.concrete_fields if f.is_relation and f.related_model in OWNERS
        ]
        objs: dict[int, object] = {}
        pending = []  # (obj, field, local id): references within the file, set after insert
        for line, row in enumerate(reader, start=2):
            if len(row) != len(cols):
                raise ArchiveError(
                    f"{table.name} line {line}: {len(row)} cells, expected {len(cols)}."
                )
            obj = model()
            for f in owner_fields:
                setattr(obj, f.attname, self.owners[f.related_model].pk)
            local = None
            for (name, f), value in zip(cols, row, strict=True):
                where = f"{table.name} line {line}, column {name}"
                if f.primary_key:
                    local = _local_id(value, where)
                    if local in objs:
                        raise ArchiveError(f"{where}: id {local} appears twice.")
                elif is_user(f):
                    continue  # accounts are not part of a study: the username is a record
                elif f.is_relation:
                    if value == "":
                        if not f.null:
                            raise ArchiveError(f"{where}: a reference is required.")
                        continue
                    ref = _local_id(value, where)
                    if f.related_model is model:
                        pending.append((obj, f, ref, where))
                        continue
                    target = self.objects.get(f.related_model, {}).get(ref)
                    if target is None:
                        raise ArchiveError(
                            f"{where}: broken reference, there is no row {ref} in "
                            f"{_file_of(f.related_model)}."
                        )
                    setattr(obj, f.attname, target.pk)
                else:
                    try:
                        setattr(obj, f.attname, decode(f, value))
                    except BadValue as exc:
                        raise ArchiveError(f"{where}: {exc}.") from None
            objs[local] = obj
        if model is ConsensusRun:
            self._stop_unfinished_runs(objs.values())
        self._fresh_uuids(table.name, model, list(objs.values()))
        if model is Panelist:
            self._fresh_public_ids(list(objs.values()))
        self._insert(table.name, model, list(objs.values()))
        for obj, f, ref, where in pending:
            if ref not in objs:
                raise ArchiveError(
                    f"{where}: broken reference, there is no row {ref} in {table.name}."
                )
            setattr(obj, f.attname, objs[ref].pk)
        if pending:
            names = sorted({f.name for _, f, _, _ in pending})
            model._base_manager.bulk_update([p[0] for p in pending], names, batch_size=500)
        self.objects[model] = objs
        self.rows[table.name] = len(objs)

    def _fresh_uuids(self, name: str, model, objs: list) -> None:
        if not objs or not any(f.name == "uuid" for f in model._meta.concrete_fields):
            return
        wanted = [o.uuid for o in objs]
        taken = set()
        for start in range(0, len(wanted), 500):
            taken.update(
                model._base_manager.filter(uuid__in=wanted[start : start + 500]).values_list(
                    "uuid", flat=True
                )
            )
        if not taken:
            return
        for obj in objs:
            if obj.uuid in taken:
                old, obj.uuid = obj.uuid, uuid.uuid4()
                if model is Study:
                    self.notes.append(
                        f"This instance already has a study with UUID {old}: the imported "
                        f"study's UUID is {obj.uuid}."
                    )
        if model is not Study:
            self.notes.append(
                f"{name}: {len(taken)} UUID(s) already in use here were replaced by new ones "
                "(the audit trail keeps naming the archived UUIDs)."
            )

    def _fresh_public_ids(self, objs: list) -> None:
        wanted = [o.public_id for o in objs]
        taken = set()
        for start in range(0, len(wanted), 500):
            taken.update(
                Panelist.objects.filter(public_id__in=wanted[start : start + 500]).values_list(
                    "public_id", flat=True
                )
            )
        if not taken:
            return
        used = set(wanted) | taken
        renamed = []
        for obj in objs:
            if obj.public_id in taken:
                new = new_public_id()
                while new in used:
                    new = new_public_id()
                used.add(new)
                renamed.append(f"{obj.public_id} -> {new}")
                obj.public_id = new
        self.notes.append(
            f"panelists.csv: {len(renamed)} panelist public id(s) already in use here were "
            f"replaced ({', '.join(renamed[:10])}{', ...' if len(renamed) > 10 else ''}); "
            "consensus fingerprints of the imported rounds differ from the archived ones for "
            "that reason (the results do not)."
        )

    def _stop_unfinished_runs(self, runs) -> None:
        stopped = 0
        for run in runs:
            if run.status in (ConsensusRun.Status.QUEUED, ConsensusRun.Status.RUNNING):
                run.status = ConsensusRun.Status.FAILED
                run.error = "Queued or running when the study was exported; run it again."
                run.stage = "Failed"
                stopped += 1
        if stopped:
            self.notes.append(
                f"consensus_runs.csv: {stopped} run(s) queued or running at export were "
                "stored as failed (no worker here holds them)."
            )

    def _insert(self, name: str, model, objs: list) -> None:
        try:
            with transaction.atomic():
                _insert_raw(model, objs)
        except IntegrityError as exc:
            raise ArchiveError(
                f"{name}: the rows break a database rule ({str(exc).splitlines()[0]}): the "
                "archive is not consistent."
            ) from None


def _file_of(model) -> str:
    return next(t.name for t in TABLES if t.model is model)


def _local_id(value: str, where: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ArchiveError(f"{where}: {value!r} is not a row id (a whole number from 1).")
    return number


def _insert_raw(model, objs: list) -> None:
    """Insert rows as they are (``raw``, as ``loaddata`` does): the archived timestamps stay,
    ``auto_now`` and defaults do not overwrite them, and no signal fires. Sets each pk."""
    if not objs:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    batch = max(1, min(500, connection.ops.bulk_batch_size(fields, objs)))
    for start in range(0, len(objs), batch):
        chunk = objs[start : start + batch]
        if connection.features.can_return_rows_from_bulk_insert:
            returned = model._base_manager._insert(
                chunk, fields=fields, returning_fields=[model._meta.pk], raw=True
            )
            for obj, row in zip(chunk, returned, strict=True):
                obj.pk = row[0]
                obj._state.adding, obj._state.db = False, connection.alias
        else:
            for obj in chunk:
                obj.save_base(raw=True, force_insert=True)


def _check_rounds_agree(study: Study) -> None:
    """References the database cannot check: an answer's item (or prompt) and its response
    belong to the same round, and a result's item to the result's round."""
    checks = (
        ("ratings.csv", Rating.objects.filter(response__round__study=study), "item__round"),
        ("rankings.csv", Ranking.objects.filter(response__round__study=study), "item__round"),
        (
            "prompt_answers.csv",
            PromptAnswer.objects.filter(response__round__study=study),
            "prompt__round",
        ),
    )
    for name, qs, path in checks:
        bad = qs.exclude(**{path: F("response__round")}).count()
        if bad:
            raise ArchiveError(
                f"{name}: {bad} row(s) answer an item of another round than their response's: "
                "the archive is not consistent."
            )
    for name, model in (
        ("item_results.csv", ItemResult),
        ("item_decisions.csv", ItemDecision),
        ("ranking_item_results.csv", RankingItemResult),
    ):
        bad = model.objects.filter(round__study=study).exclude(round=F("item__round")).count()
        if bad:
            raise ArchiveError(
                f"{name}: {bad} row(s) hold an item of another round: the archive is not "
                "consistent."
            )


# ---------------------------------------------------------------------------------------------
# The service


def study_archive_import(*, data: bytes, researcher=None) -> ImportResult:
    """Load an archive made by ``study_archive_export`` as a new study; raise ``ArchiveError``
    (nothing stored) when it is damaged, tampered with, of an unknown version or inconsistent.

    ``researcher`` (a user), when given, becomes the imported study's researcher; accounts are
    not part of an archive, so otherwise only superusers see the study until members are added.
    """
    manifest, files = _open(data)
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        loader = _Loader(files)
        loader.owner_objects()
        for table in TABLES:
            if table.name in files:
                loader.table(table)
        study = loader.owners[Study]
        _check_rounds_agree(study)
        chain = audit_verify(study=study)
        archived = loader.rows.get("audit_events.csv", 0)
        if not chain.intact:
            raise ArchiveError(
                f"audit_events.csv: the audit chain does not verify ({chain.problem}); the "
                "audit trail was changed after the export. Nothing was imported."
            )
        if researcher is not None:
            Membership.objects.create(study=study, user=researcher, role=Membership.Role.RESEARCHER)
        audit_record(
            study=study,
            verb="study_import",
            source=AuditEvent.Source.IMPORT,
            obj=study,
            new={"archived_audit_rows": archived, "archive_sha256": digest},
            exported_at=manifest.get("exported_at"),
            software_version=manifest.get("software_version"),
            with_contacts=bool(manifest.get("with_contacts")),
            notes=loader.notes,
            researcher=researcher.get_username() if researcher is not None else "",
            imported_at=timezone.now().isoformat(),
        )
        chain = audit_verify(study=study)
    return ImportResult(
        study=study, rows=loader.rows, notes=loader.notes, chain=chain, manifest=manifest
    )
