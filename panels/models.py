"""Panels: stakeholder groups, panelists, their contact details and invitation links.

A leaf app: it knows nothing of studies or rounds. Contact details live in `Contact`,
apart from the pseudonymous `Panelist` that answers are linked to.
"""

import secrets
import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def new_public_id() -> str:
    # Pseudonymous, short enough to read aloud, unguessable enough not to be enumerated.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "P-" + "".join(secrets.choice(alphabet) for _ in range(8))


class Panel(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class StakeholderGroup(models.Model):
    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="groups")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    name_es = models.CharField("name (Spanish)", max_length=200, blank=True)
    target_size = models.PositiveIntegerField(default=0)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["panel", "code"], name="group_code_unique"),
            models.UniqueConstraint(fields=["panel", "name"], name="group_name_unique"),
            # "all" and "balanced" name the aggregates in consensus results.
            models.CheckConstraint(
                condition=~Q(code__in=["all", "balanced"]), name="group_code_not_reserved"
            ),
        ]

    def __str__(self):
        return self.name


class Language(models.TextChoices):
    EN = "en", "English"
    ES = "es", "Español"


class Panelist(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Setting(models.TextChoices):
        URBAN = "urban", _("Urban")
        SUBURBAN = "suburban", _("Suburban")
        RURAL = "rural", _("Rural")
        TRIBAL = "tribal", _("Tribal")
        MIXED = "mixed", _("Several / mixed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="panelists")
    group = models.ForeignKey(
        StakeholderGroup, on_delete=models.PROTECT, related_name="panelists", null=True, blank=True
    )
    public_id = models.CharField(max_length=12, unique=True, default=new_public_id)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    language = models.CharField(max_length=5, choices=Language.choices, default=Language.EN)
    # Background, confirmed by the panelist.
    years_experience = models.PositiveSmallIntegerField(null=True, blank=True)
    setting = models.CharField(max_length=10, choices=Setting.choices, blank=True)
    lived_experience = models.BooleanField(null=True, blank=True)
    background_note = models.CharField(max_length=300, blank=True)
    profile_confirmed_at = models.DateTimeField(null=True, blank=True)
    # Consent: when, and to which version of the consent text.
    consented_at = models.DateTimeField(null=True, blank=True)
    consent_version = models.PositiveIntegerField(null=True, blank=True)
    # Withdrawal: no more e-mail; keep_answers records the panelist's choice.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    keep_answers = models.BooleanField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    is_simulated = models.BooleanField(default=False, help_text="Demo data, not a real person.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["public_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="active", withdrawn_at__isnull=True)
                | Q(status="withdrawn", withdrawn_at__isnull=False),
                name="panelist_withdrawn_has_time",
            ),
            models.CheckConstraint(
                condition=Q(consented_at__isnull=True) | Q(consent_version__isnull=False),
                name="panelist_consent_has_version",
            ),
        ]

    def __str__(self):
        return self.public_id


class Contact(models.Model):
    """Who a panelist is. Kept apart from answers; exports never join it."""

    panelist = models.OneToOneField(Panelist, on_delete=models.CASCADE, related_name="contact")
    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField()
    organisation = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["panel", "email"], name="contact_email_unique"),
        ]

    def __str__(self):
        return self.email


class Invitation(models.Model):
    """A personal link. Only the SHA-256 of its token is stored."""

    class Status(models.TextChoices):
        CREATED = "created", _("Created")
        SENT = "sent", _("Sent")
        OPENED = "opened", _("Opened")
        REVOKED = "revoked", _("Revoked")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    panelist = models.ForeignKey(Panelist, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREATED)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    send_count = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="revoked", revoked_at__isnull=False)
                | (~Q(status="revoked") & Q(revoked_at__isnull=True)),
                name="invitation_revoked_has_time",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="invitation_expires_after_created",
            ),
        ]

    def __str__(self):
        return f"Invitation for {self.panelist_id} ({self.status})"
