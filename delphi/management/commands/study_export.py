"""Write a whole study to a ZIP archive (docs/archive.md).

manage.py study_export STUDY_UUID --out study.zip [--with-contacts]
"""

import hashlib
import uuid

from django.core.management.base import BaseCommand, CommandError

from delphi.archive.export import study_archive_export
from delphi.models import Study


class Command(BaseCommand):
    help = "Write a study (protocol, panel, framework, rounds, answers, results, audit) as a ZIP."

    def add_arguments(self, parser):
        parser.add_argument("study", help="The study's UUID.")
        parser.add_argument("--out", required=True, help="The ZIP file to write.")
        parser.add_argument(
            "--with-contacts",
            action="store_true",
            help="Include panelists' names, e-mail addresses and organisations (contacts.csv).",
        )

    def handle(self, *args, study, out, with_contacts=False, **options):
        try:
            found = Study.objects.filter(uuid=uuid.UUID(study)).first()
        except ValueError:
            found = None
        if found is None:
            raise CommandError(f"No study with UUID {study!r}.")
        data = study_archive_export(study=found, with_contacts=with_contacts)
        with open(out, "wb") as handle:
            handle.write(data)
        self.stdout.write(
            f"Wrote {out}: {found.title} ({found.uuid}), {len(data):,} bytes"
            f"{', with contacts' if with_contacts else ', without contacts'}. "
            f"SHA-256 {hashlib.sha256(data).hexdigest()} (keep it to check the file later)."
        )
