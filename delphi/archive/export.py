"""Writing a study archive (``study_archive_export``)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from importlib import metadata

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from delphi.archive.tables import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    STUDY_FILE,
    TABLES,
    cell,
    columns,
    encode,
    is_user,
)
from delphi.models import Study
from delphi.services.audit import audit_seal

# Entries carry a fixed time: the same study gives the same files, whenever exported.
ENTRY_TIME = (2000, 1, 1, 0, 0, 0)


class ExportError(Exception):
    pass


@dataclass
class ArchiveFile:
    name: str
    data: bytes
    rows: int


def software_version() -> str:
    try:
        return f"delphi-platform {metadata.version('delphi-platform')}"
    except metadata.PackageNotFoundError:  # a checkout run without installing
        return "delphi-platform (not installed)"


def study_archive_export(*, study: Study, with_contacts: bool = False) -> bytes:
    """The study as a ZIP: manifest.json, study.json and one CSV per table (docs/archive.md).

    Panelists' contact details (names, e-mail addresses, organisations) are written only with
    ``with_contacts``. The audit trail is sealed first, so every row carries its chain hash.
    """
    from delphi.consensus.services import ENGINE_VERSION

    audit_seal(study_id=study.pk)
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            # One snapshot for every table: an autosave committed halfway through the export
            # must not leave a rating whose response is not in the archive. (Inside a
            # caller's transaction, the caller's isolation applies.)
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        study = Study.objects.select_related("panel", "framework").get(pk=study.pk)
        files = _files(study, with_contacts=with_contacts)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "software_version": software_version(),
        "consensus_engine_version": ENGINE_VERSION,
        "exported_at": timezone.now().astimezone(dt.UTC).isoformat(timespec="seconds"),
        "study": {"uuid": str(study.uuid), "title": study.title},
        "with_contacts": with_contacts,
        "files": [
            {
                "name": f.name,
                "sha256": hashlib.sha256(f.data).hexdigest(),
                "bytes": len(f.data),
                "rows": f.rows,
            }
            for f in files
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in [(MANIFEST, _json_bytes(manifest))] + [(f.name, f.data) for f in files]:
            archive.writestr(zipfile.ZipInfo(name, ENTRY_TIME), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _json_bytes(value) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _files(study: Study, *, with_contacts: bool) -> list[ArchiveFile]:
    usernames = dict(get_user_model().objects.values_list("pk", "username"))
    ids: dict[type, dict[int, int]] = {}
    out = [ArchiveFile(STUDY_FILE, _json_bytes(_study_json(study, usernames)), 1)]
    for table in TABLES:
        if table.contacts and not with_contacts:
            continue
        qs = table.rows(study)
        # Numbered before writing, so a row may refer to a later row of its own file.
        ids[table.model] = {pk: n for n, pk in enumerate(qs.values_list("pk", flat=True), 1)}
        cols = columns(table.model)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([name for name, _ in cols])
        rows = 0
        for values in qs.values_list(*[f.attname for _, f in cols]).iterator(chunk_size=2000):
            pairs = zip(cols, values, strict=True)
            writer.writerow([_value(table, n, f, v, ids, usernames) for (n, f), v in pairs])
            rows += 1
        out.append(ArchiveFile(table.name, buffer.getvalue().encode(), rows))
    return out


def _value(table, name, field, value, ids, usernames) -> str:
    if field.primary_key:
        return str(ids[table.model][value])
    if is_user(field):
        return usernames.get(value, "") if value is not None else ""
    if field.is_relation:
        if value is None:
            return ""
        local = ids.get(field.related_model, {}).get(value)
        if local is None:
            if field.null:
                return ""  # a link outside the study (a statement revised from elsewhere)
            raise ExportError(
                f"{table.name}: column {name} points outside the study "
                f"({field.related_model._meta.label} {value})."
            )
        return str(local)
    return cell(field, value)


def _owner_json(obj, usernames) -> dict:
    out = {}
    for name, field in columns(type(obj)):
        if field.primary_key:
            continue
        value = getattr(obj, field.attname)
        out[name] = usernames.get(value, "") if is_user(field) and value else encode(field, value)
    return out


def _study_json(study: Study, usernames) -> dict:
    return {
        "study": _owner_json(study, usernames),
        "panel": _owner_json(study.panel, usernames),
        "framework": _owner_json(study.framework, usernames),
    }
