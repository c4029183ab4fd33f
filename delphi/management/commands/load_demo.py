"""Placeholder: builds only the demo accounts until the full demo study lands."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Load the demo crisis-responder study."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true")

    def handle(self, *args, **options):
        User = get_user_model()
        if not User.objects.filter(username="researcher").exists():
            User.objects.create_user("researcher", password="delphi-demo")
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", password="delphi-admin")
