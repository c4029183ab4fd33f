"""Print a ready personal link for a demo panelist who has not consented yet (`make run`)."""

from django.core.management.base import BaseCommand

from delphi.demo.newcomers import demo_newcomer
from delphi.demo.services import demo_study_get
from delphi.services.invitations import invitation_issue_link


class Command(BaseCommand):
    help = (
        "Print a new personal link for a demo panelist who has not consented yet, so the "
        "consent and profile pages can be seen. Revokes that panelist's older links."
    )

    def handle(self, *args, **options):
        study = demo_study_get()
        panelist = demo_newcomer(study) if study is not None else None
        if panelist is None:
            self.stdout.write(
                "  (no demo panelist is waiting to consent: `manage.py load_demo --reset` "
                "rebuilds the demo; `manage.py panelist_link P-XXXXXXXX` makes a link for "
                "anyone)"
            )
            return
        link = invitation_issue_link(panelist=panelist)
        self.stdout.write(
            f"  Panelist {panelist.public_id} (has not consented yet; opens the consent page):\n"
            f"    {link}"
        )
