"""Compute a round's consensus statistics now, in this process (no worker needed)."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from delphi.consensus.services import consensus_compute_now
from delphi.models import ConsensusRun, Round


class Command(BaseCommand):
    help = "Compute a closed round's consensus statistics now: manage.py consensus --round <uuid>"

    def add_arguments(self, parser):
        parser.add_argument("--round", required=True, help="The round's UUID (see its page URL).")

    def handle(self, *args, **options):
        try:
            rnd = Round.objects.select_related("study").get(uuid=options["round"])
        except (Round.DoesNotExist, ValidationError, ValueError):
            raise CommandError(f"No round with UUID {options['round']!r}.")
        run = consensus_compute_now(round=rnd)
        if run.status != ConsensusRun.Status.DONE:
            raise CommandError(f"Round {rnd.number} of {rnd.study}: the run failed: {run.error}")
        self.stdout.write(
            f"Round {rnd.number} of {rnd.study}: {run.stage}. "
            f"Timings: {json.dumps(run.timings, sort_keys=True)}"
        )
