"""Load the demo crisis-responder study and the demo accounts.

    manage.py load_demo             build the demo study unless it is there already
    manage.py load_demo --if-empty  build it only into a database with no study at all
    manage.py load_demo --reset     remove the demo study and build it anew

The demo accounts (researcher / delphi-demo, analyst / delphi-demo, admin / delphi-admin) are
created when missing. They are for a local demo: never run this against a production database.
"""

from django.core.management.base import BaseCommand, CommandError

from delphi.demo.services import (
    DEMO_ACCOUNTS,
    demo_accounts_ensure,
    demo_load,
    demo_study_get,
    demo_summary,
)
from delphi.models import Study


class Command(BaseCommand):
    help = (
        "Load the demo crisis-responder study (simulated panel; open-ended round 1 coded, rating "
        "round 2 and ranking round 3 analysed, rating round 4 open)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Load only when the database holds no study at all (used by `make run`).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Remove the demo study (and only it) and build it again.",
        )

    def say(self, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(message)

    def handle(self, *args, if_empty=False, reset=False, verbosity=1, **options):
        self.verbosity = verbosity
        if if_empty and reset:
            raise CommandError("Choose --if-empty or --reset, not both.")
        if if_empty and Study.objects.exists():
            demo_accounts_ensure()
            demo = demo_study_get()
            if demo is not None:
                self.say(f"Demo study already loaded: {demo.title} ({demo.uuid}).")
            else:
                self.say("The database already has studies; the demo was not loaded.")
            return
        result = demo_load(reset=reset)
        study = result.study
        if not result.created:
            self.say(
                f"Demo study already loaded, left as it is: {study.title} ({study.uuid}). "
                "Use --reset to rebuild it."
            )
            return
        s = demo_summary(study)
        rounds = ", ".join(
            f"round {n} {kind} {status} ({holds})" for n, kind, status, holds in s["rounds"]
        )
        self.say(
            self.style.SUCCESS(f"Loaded the demo study in {result.seconds:.1f} s: {study.title}")
        )
        self.say(
            f"  {s['groups']} stakeholder groups, {s['domains']} domains, {s['statements']} "
            f"statements, {s['scenarios']} scenarios, {s['panelists']} simulated panelists\n"
            f"  {rounds}\n"
            f"  {s['submitted']} submitted responses, {s['codes']} coding decisions, "
            f"{s['ratings']} ratings, {s['item_results']} item results"
        )
        logins = ", ".join(f"{u} / {p}" for u, p, _ in DEMO_ACCOUNTS)
        self.say(f"  Sign in with {logins}")
