"""Check the audit chain of one study or of every study: manage.py audit_verify [STUDY]."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from delphi.models import Study
from delphi.services.audit import audit_seal, audit_verify


def find_study(key: str) -> Study:
    """A study by UUID, or by exact short title or title."""
    try:
        return Study.objects.get(uuid=key)
    except (Study.DoesNotExist, ValidationError, ValueError):
        pass
    matches = list(Study.objects.filter(short_title=key)) or list(Study.objects.filter(title=key))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise CommandError(f"{len(matches)} studies are called {key!r}; give the UUID instead.")
    raise CommandError(f"No study with UUID or title {key!r}.")


class Command(BaseCommand):
    help = (
        "Recompute the hash chain of a study's audit rows (or of every study) and report the "
        "first broken link, or 'N rows, chain intact'. Exits with status 1 when a chain is broken."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", nargs="?", help="UUID or title; all studies if omitted")
        parser.add_argument(
            "--no-seal",
            action="store_true",
            help="Do not chain rows written since the last seal before checking.",
        )

    def handle(self, *args, **options):
        studies = [find_study(options["study"])] if options["study"] else list(Study.objects.all())
        broken = 0
        for study in studies:
            if not options["no_seal"]:
                audit_seal(study_id=study.pk)
            report = audit_verify(study=study)
            if report.intact:
                self.stdout.write(str(report))
            else:
                broken += 1
                self.stderr.write(str(report))
        if broken:
            raise CommandError(f"{broken} of {len(studies)} audit chain(s) broken.", returncode=1)
