"""python manage.py report STUDY --out DIR [--only zip|xlsx|pdf]; report --list.

Writes the same files as the web download (delphi.reports.files), from persisted results.
"""

import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from delphi.models import Study
from delphi.reports.data import report_data
from delphi.reports.files import FILES, render_file


class Command(BaseCommand):
    help = (
        "Write a study's report (data.zip, workbook.xlsx, report.pdf) to DIR, "
        "or list the studies with --list."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", nargs="?", help="the study's UUID")
        parser.add_argument("--out", help="output directory (created if missing)")
        parser.add_argument("--only", choices=sorted(FILES), help="write one file only")
        parser.add_argument("--list", action="store_true", help="print uuid<TAB>title per study")
        parser.add_argument("--language", default="en", choices=["en", "es"])
        parser.add_argument(
            "--no-comments", action="store_true", help="leave panelists' free text out"
        )

    def handle(self, *args, **options):
        if options["list"]:
            for study_uuid, title in Study.objects.order_by("created_at").values_list(
                "uuid", "title"
            ):
                self.stdout.write(f"{study_uuid}\t{title}")
            return
        if not options["study"]:
            raise CommandError("Name the study by its UUID (see `manage.py report --list`).")
        if not options["out"]:
            raise CommandError("--out DIR is required.")
        try:
            study_uuid = uuid.UUID(options["study"])
        except ValueError:
            raise CommandError(
                f"{options['study']!r} is not a UUID; see `manage.py report --list`."
            )
        study = Study.objects.filter(uuid=study_uuid).first()
        if study is None:
            raise CommandError(f"No study {study_uuid}; see `manage.py report --list`.")
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        data = report_data(
            study=study,
            include_comments=not options["no_comments"],
            language=options["language"],
        )
        kinds = [options["only"]] if options["only"] else list(FILES)
        for kind in kinds:
            name = FILES[kind][0]
            content = render_file(kind, data)
            tmp = out / f".{name}.part"
            tmp.write_bytes(content)
            tmp.replace(out / name)
            self.stdout.write(f"Wrote {out / name} ({len(content):,} bytes)")
        if not data.analysed:
            self.stdout.write("Note: no round of this study has been analysed yet.")
        self.stdout.write(data.stamp)
