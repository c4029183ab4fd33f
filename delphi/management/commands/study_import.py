"""Load a study archive made by ``study_export`` into this instance (docs/archive.md).

    manage.py study_import study.zip [--researcher USERNAME]

One transaction: a damaged, tampered, unknown-version or inconsistent archive is refused with
the reason, and nothing is stored.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from delphi.archive.load import ArchiveError, study_archive_import


class Command(BaseCommand):
    help = "Load a study archive (ZIP) as a new study: new database ids, the same UUIDs."

    def add_arguments(self, parser):
        parser.add_argument("archive", help="The ZIP written by study_export.")
        parser.add_argument(
            "--researcher",
            metavar="USERNAME",
            help="Make this account the imported study's researcher.",
        )

    def handle(self, *args, archive, researcher=None, **options):
        user = None
        if researcher:
            user = get_user_model().objects.filter(username=researcher).first()
            if user is None:
                raise CommandError(f"No account named {researcher!r}; nothing was imported.")
        try:
            with open(archive, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {archive}: {exc}") from None
        try:
            result = study_archive_import(data=data, researcher=user)
        except ArchiveError as exc:
            raise CommandError(f"Refused {archive}: {exc}") from None
        study = result.study
        total = sum(result.rows.values())
        self.stdout.write(f"Imported {study.title} ({study.uuid}): {total:,} rows.")
        for note in result.notes:
            self.stdout.write(f"  {note}")
        self.stdout.write(f"  Audit trail: {result.chain}")
        if user is None:
            self.stdout.write(
                "  No member yet: add one with --researcher next time, or on the Members tab "
                "as a superuser."
            )
