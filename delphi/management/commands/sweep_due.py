"""Run one database sweep by hand: due reminders, messages to resume, rounds past deadline."""

from django.core.management.base import BaseCommand

from delphi.services.sweeps import sweep_due


class Command(BaseCommand):
    help = (
        "Send due reminders and close rounds past their deadline, once (what Celery beat and "
        "the embedded server run every SWEEP_SECONDS). Prints what it did."
    )

    def handle(self, *args, **options):
        result = sweep_due()
        self.stdout.write(result.summary())
        for rnd in result.closed:
            self.stdout.write(f"  closed round {rnd.number} of “{rnd.study}”")
        for rnd in result.extended:
            self.stdout.write(
                f"  kept round {rnd.number} of “{rnd.study}” open until "
                f"{rnd.closes_at:%Y-%m-%d %H:%M} (below quorum)"
            )
