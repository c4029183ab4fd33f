"""Competency frameworks: domains, statements and crisis scenarios.

A leaf app: it knows nothing of studies or rounds.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Framework(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class Domain(models.Model):
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="domains")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    name_es = models.CharField("name (Spanish)", max_length=200, blank=True)
    description = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "code"], name="domain_code_unique"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"


class Provenance(models.TextChoices):
    EXPERT_PANEL = "expert_panel", _("Expert-panel theme")
    INTERVIEW = "interview", _("Key-informant interview")
    FOCUS_GROUP = "focus_group", _("Focus group")
    LITERATURE = "literature", _("Literature")
    PANELIST = "panelist", _("Panelist suggestion")
    PANELIST_ANSWER = "panelist_answer", _("Panelist open-ended answer")


class Statement(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="statements")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="statements")
    code = models.CharField(max_length=20)
    text = models.TextField()
    text_es = models.TextField("text (Spanish)", blank=True)
    plain_text = models.TextField("plain-language text", blank=True)
    plain_text_es = models.TextField("plain-language text (Spanish)", blank=True)
    provenance = models.CharField(
        max_length=20, choices=Provenance.choices, default=Provenance.EXPERT_PANEL
    )
    source_note = models.CharField(max_length=300, blank=True)
    revision_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions"
    )
    is_active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain__order", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "code"], name="statement_code_unique"),
            models.CheckConstraint(condition=~Q(text=""), name="statement_text_not_empty"),
            models.CheckConstraint(
                condition=~Q(revision_of=models.F("id")), name="statement_not_own_revision"
            ),
        ]

    def __str__(self):
        return f"{self.code}: {self.text[:60]}"


class RiskLevel(models.TextChoices):
    LOW = "low", _("Lower risk")
    MODERATE = "moderate", _("Moderate risk")
    HIGH = "high", _("High risk")


class Scenario(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="scenarios")
    code = models.CharField(max_length=20)
    title = models.CharField(max_length=200)
    title_es = models.CharField("title (Spanish)", max_length=200, blank=True)
    vignette = models.TextField()
    vignette_es = models.TextField("vignette (Spanish)", blank=True)
    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "code"], name="scenario_code_unique"),
        ]

    def __str__(self):
        return f"{self.code} {self.title}"
