"""Print a fresh personal link for one panelist (support desk, demo). Revokes their old links."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from delphi.services.invitations import invitation_issue_link
from panels.models import Panelist


class Command(BaseCommand):
    help = "Print a new personal link for a panelist (by public id, e.g. P-ABCD2345)."

    def add_arguments(self, parser):
        parser.add_argument("public_id")

    def handle(self, *args, **options):
        panelist = Panelist.objects.filter(public_id=options["public_id"]).first()
        if panelist is None:
            raise CommandError(f"No panelist {options['public_id']}.")
        try:
            link = invitation_issue_link(panelist=panelist)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        self.stdout.write(link)
