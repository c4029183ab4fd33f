"""Studies, rounds, questionnaires, responses, consensus results and the audit trail."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from competencies.models import Domain, Framework, Scenario, Statement
from panels.models import Invitation, Panel, Panelist, StakeholderGroup


def default_anchors() -> dict:
    # The GRADE 1-9 scale: labels for the three bands, keyed by the band's first value.
    return {
        "1": "Not important",
        "4": "Important but not critical",
        "7": "Critical",
    }


def default_bands() -> list:
    return [[1, 3], [4, 6], [7, 9]]


def default_definition() -> dict:
    return {"preset": "comet", "scope": "all"}


def default_reminder_plan() -> list:
    # A reminder 3 days after the round opens and 1 day before its deadline.
    return [{"anchor": "open", "days": 3}, {"anchor": "deadline", "days": 1}]


class Study(models.Model):
    class DraftsPolicy(models.TextChoices):
        COMPLETE = "complete", _("Count complete drafts (every item answered) as submitted")
        RATED = "rated", _("Count every rated item, submitted or not")
        SUBMITTED = "submitted", _("Count only submitted responses")

    class StoppingRule(models.TextChoices):
        FIXED = "fixed", _("Stop after the planned number of rounds")
        CONSENSUS = "consensus", _("Stop when every item has reached a verdict (or planned rounds)")
        STABILITY = "stability", _("Stop when every carried item is stable (or planned rounds)")

    class StabilityTest(models.TextChoices):
        PCT_CHANGE = (
            "pct_change",
            _("The distribution changed by less than 15 % (Scheibe, Skutsch & Schofer 1975)"),
        )
        WILCOXON = (
            "wilcoxon",
            _("No significant change in panelists' own ratings (Wilcoxon signed-rank, p ≥ 0.05)"),
        )
        BOTH = "both", _("Both: under 15 % change and no significant individual change")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=250)
    short_title = models.CharField(max_length=80, blank=True)
    aims = models.TextField(blank=True)
    # Spanish wording for Spanish-speaking panelists; empty falls back to the English.
    title_es = models.CharField("title (Spanish)", max_length=250, blank=True)
    short_title_es = models.CharField("short title (Spanish)", max_length=80, blank=True)
    aims_es = models.TextField("aims (Spanish)", blank=True)
    # A line for panelists on whom to contact and how (shown with the contact e-mail).
    contact_note = models.CharField(max_length=300, blank=True)
    contact_note_es = models.CharField("contact note (Spanish)", max_length=300, blank=True)
    consent_text = models.TextField(blank=True)
    consent_text_es = models.TextField("consent text (Spanish)", blank=True)
    consent_version = models.PositiveIntegerField(default=1)
    contact_email = models.EmailField(blank=True)
    panel = models.OneToOneField(Panel, on_delete=models.PROTECT, related_name="study")
    framework = models.OneToOneField(Framework, on_delete=models.PROTECT, related_name="study")

    # The protocol. Frozen when round 1 opens; later changes are Deviations.
    scale_min = models.PositiveSmallIntegerField(default=1)
    scale_max = models.PositiveSmallIntegerField(default=9)
    # English band labels, keyed by the band's first value ({"1": "Not important", ...}).
    scale_anchors = models.JSONField(default=default_anchors, blank=True)
    # Every other label, keyed by scale value (points) or band's first value (bands):
    # {"bands_es": {"1": ...}, "points": {"1": ...}, "points_es": {"1": ...}}. All optional;
    # Spanish falls back to the catalogue's translation of the English, then to the English.
    scale_labels = models.JSONField(default=dict, blank=True)
    # One to five [first, last] value ranges covering the scale, bottom band first.
    bands = models.JSONField(default=default_bands)
    consensus_definition = models.JSONField(default=default_definition)
    quantile_method = models.PositiveSmallIntegerField(
        default=7, help_text="Hyndman-Fan quantile type (7 = R, Excel PERCENTILE.INC, numpy)."
    )
    planned_rounds = models.PositiveSmallIntegerField(default=3)
    stopping_rule = models.CharField(
        max_length=12, choices=StoppingRule.choices, default=StoppingRule.CONSENSUS
    )
    stopping_rule_detail = models.TextField(blank=True)
    # What "stable" means for the stability stopping rule (both tests are stored per item).
    stability_test = models.CharField(
        max_length=12, choices=StabilityTest.choices, default=StabilityTest.PCT_CHANGE
    )
    min_group_size = models.PositiveSmallIntegerField(
        default=3, help_text="Smallest stakeholder group whose feedback is shown on its own."
    )
    # Quorum: below it a round closes only with a written reason (a deviation).
    quorum_pct = models.PositiveSmallIntegerField(
        default=50, help_text="Minimum response rate overall, in percent of eligible panelists."
    )
    quorum_min_per_group = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Minimum responses per stakeholder group (empty = the smallest group size).",
    )
    # What the analysis does with answers that were never submitted when the round closed.
    drafts_policy = models.CharField(
        max_length=10, choices=DraftsPolicy.choices, default=DraftsPolicy.COMPLETE
    )
    # Ranking rounds: how many items each panelist ranks (null = all), whether two items may
    # share a rank, and the Kendall's W at which the panel's ranking counts as consensus.
    ranking_top_k = models.PositiveSmallIntegerField(null=True, blank=True)
    ranking_allow_ties = models.BooleanField(default=False)
    ranking_consensus_w = models.FloatField(default=0.7)
    protocol_locked_at = models.DateTimeField(null=True, blank=True)
    # Finishing freezes the study: no more rounds, reminders or protocol changes.
    finished_at = models.DateTimeField(null=True, blank=True)

    # Reporting (ACCORD items the data cannot answer); free text the report includes as written.
    ethics_approval = models.TextField(blank=True)
    funding = models.TextField(blank=True)
    conflicts_of_interest = models.TextField(blank=True)
    steering_group = models.TextField(blank=True)
    pilot_testing = models.TextField(blank=True)
    registration = models.TextField(blank=True)

    ends_at = models.DateTimeField(null=True, blank=True)
    is_demo = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    LOCKED_FIELDS = (
        "scale_min",
        "scale_max",
        "scale_anchors",
        "scale_labels",
        "bands",
        "consensus_definition",
        "quantile_method",
        "planned_rounds",
        "stopping_rule",
        "stopping_rule_detail",
        "stability_test",
        "min_group_size",
        "quorum_pct",
        "quorum_min_per_group",
        "drafts_policy",
        "ranking_top_k",
        "ranking_allow_ties",
        "ranking_consensus_w",
    )

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scale_max__gt=F("scale_min")), name="study_scale_ordered"
            ),
            models.CheckConstraint(condition=Q(planned_rounds__gte=1), name="study_rounds_ge_1"),
            models.CheckConstraint(
                condition=Q(ranking_consensus_w__gt=0, ranking_consensus_w__lte=1),
                name="study_ranking_w_0_1",
            ),
            models.CheckConstraint(
                condition=Q(quantile_method__gte=1, quantile_method__lte=9),
                name="study_quantile_type_1_9",
            ),
            models.CheckConstraint(
                condition=Q(quorum_pct__lte=100), name="study_quorum_pct_le_100"
            ),
        ]

    def __str__(self):
        return self.title

    def in_language(self, name: str, lang: str | None) -> str:
        """A panelist-facing text field in ``lang``: ``<name>_es`` for Spanish when given,
        else the English ``<name>``."""
        if lang and lang.startswith("es"):
            spanish = getattr(self, f"{name}_es", "")
            if spanish:
                return spanish
        return getattr(self, name)

    def display_title(self, lang: str | None = None) -> str:
        return self.in_language("title", lang)

    def display_short_title(self, lang: str | None = None) -> str:
        """The short title in ``lang``, else the full title in ``lang``."""
        return self.in_language("short_title", lang) or self.display_title(lang)

    @property
    def is_locked(self) -> bool:
        return self.protocol_locked_at is not None

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None


class Membership(models.Model):
    class Role(models.TextChoices):
        RESEARCHER = "researcher", _("Researcher")
        ANALYST = "analyst", _("Analyst")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=12, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "user"], name="membership_unique"),
        ]

    def __str__(self):
        return f"{self.user} – {self.role} of {self.study_id}"


class Round(models.Model):
    class Kind(models.TextChoices):
        GENERATION = "generation", _("Item generation (open-ended)")
        RATING = "rating", _("Rating")
        RANKING = "ranking", _("Ranking")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        ANALYSED = "analysed", _("Analysed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="rounds")
    number = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.RATING)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    title = models.CharField(max_length=200, blank=True)
    instructions = models.TextField(blank=True)
    instructions_es = models.TextField("instructions (Spanish)", blank=True)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True, help_text="Deadline")
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    analysed_at = models.DateTimeField(null=True, blank=True)
    # Closed although the quorum was not met (the reason is a Deviation); results say so.
    below_quorum = models.BooleanField(default=False)
    # The quorum figures at the moment the round closed (round_quorum(...).as_dict()).
    quorum_at_close = models.JSONField(null=True, blank=True)
    # The protocol as it stood when the round opened: scale, bands, definition, quantiles.
    rule_snapshot = models.JSONField(null=True, blank=True)
    # Set when something the analysis read changed after it ran (a panelist who rated moved
    # to another group); cleared by the next consensus run.
    inputs_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Reminder slots: [{"anchor": "open"|"deadline", "days": n}], sent by the sweep.
    reminder_plan = models.JSONField(default=default_reminder_plan, blank=True)
    # Set when the sweep kept the round open past its deadline because it was below quorum.
    quorum_extended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["study", "number"]
        constraints = [
            models.UniqueConstraint(fields=["study", "number"], name="round_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="round_number_ge_1"),
            models.CheckConstraint(
                condition=Q(closes_at__isnull=True)
                | Q(opens_at__isnull=True)
                | Q(closes_at__gt=F("opens_at")),
                name="round_closes_after_opens",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(opened_at__isnull=False),
                name="round_open_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["closed", "analysed"]) | Q(closed_at__isnull=False),
                name="round_closed_has_time",
            ),
        ]

    def __str__(self):
        return f"Round {self.number} of {self.study}"


class RoundItem(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="items")
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="round_items")
    scenario = models.ForeignKey(
        Scenario, null=True, blank=True, on_delete=models.PROTECT, related_name="round_items"
    )
    order = models.PositiveIntegerField(default=0)
    carried_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="carried_to"
    )

    class Meta:
        ordering = ["round", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "statement"],
                condition=Q(scenario__isnull=True),
                name="round_item_unique",
            ),
            models.UniqueConstraint(
                fields=["round", "statement", "scenario"],
                condition=Q(scenario__isnull=False),
                name="round_item_scenario_unique",
            ),
        ]

    def __str__(self):
        return f"{self.round_id}/{self.statement_id}"

    @property
    def key(self) -> str:
        """Stable across rounds: pairs an item with its earlier self for stability."""
        return self.statement.code + (f"@{self.scenario.code}" if self.scenario_id else "")


class RoundPrompt(models.Model):
    """An open-ended question in an item-generation round."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="prompts")
    scenario = models.ForeignKey(
        Scenario, null=True, blank=True, on_delete=models.PROTECT, related_name="prompts"
    )
    text = models.TextField()
    text_es = models.TextField("text (Spanish)", blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["round", "order", "id"]

    def __str__(self):
        return self.text[:60]


class Response(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("In progress")
        SUBMITTED = "submitted", _("Submitted")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="responses")
    panelist = models.ForeignKey(Panelist, on_delete=models.CASCADE, related_name="responses")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    last_page = models.PositiveSmallIntegerField(default=0)
    # The page's counter of the last ranking saved: an older save arriving late is ignored.
    ranking_seq = models.BigIntegerField(default=0)
    # Excluded from analysis (a withdrawn panelist who asked for their answers to be dropped).
    excluded = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "panelist"], name="response_unique"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False),
                name="response_submitted_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.panelist_id} in round {self.round_id} ({self.status})"


class Rating(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="ratings")
    item = models.ForeignKey(RoundItem, on_delete=models.CASCADE, related_name="ratings")
    value = models.PositiveSmallIntegerField(null=True, blank=True)
    unable = models.BooleanField(default=False)
    comment = models.TextField(blank=True)
    # Why the panelist moved across a band boundary since the previous round (optional).
    change_reason = models.TextField(blank=True)
    # The page's per-item action counter: an autosave overwrites the row only when its
    # sequence is newer, so a slow request of an earlier tap never undoes a later one.
    seq = models.BigIntegerField(default=0, db_default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "item"], name="rating_unique"),
            models.CheckConstraint(
                condition=~Q(unable=True, value__isnull=False), name="rating_value_or_unable"
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__lte=100), name="rating_value_sane"
            ),
        ]

    def __str__(self):
        return f"{self.response_id}/{self.item_id}={self.value}"


class Ranking(models.Model):
    """One item's place in a panelist's ranking (1 = most important). Unranked = no row."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="rankings")
    item = models.ForeignKey(RoundItem, on_delete=models.CASCADE, related_name="rankings")
    rank = models.PositiveSmallIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "item"], name="ranking_unique"),
            models.CheckConstraint(condition=Q(rank__gte=1), name="ranking_rank_ge_1"),
        ]

    def __str__(self):
        return f"{self.response_id}/{self.item_id}#{self.rank}"


class PromptAnswer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="prompt_answers")
    prompt = models.ForeignKey(RoundPrompt, on_delete=models.CASCADE, related_name="answers")
    text = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "prompt"], name="prompt_answer_unique"),
        ]


class Suggestion(models.Model):
    """A statement a panelist proposes; the researcher merges, adopts or declines it."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        ADOPTED = "adopted", _("Adopted as a new statement")
        MERGED = "merged", _("Merged into an existing statement")
        DECLINED = "declined", _("Declined")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="suggestions")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="suggestions")
    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.SET_NULL)
    scenario = models.ForeignKey(Scenario, null=True, blank=True, on_delete=models.SET_NULL)
    text = models.TextField()
    rationale = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    statement = models.ForeignKey(
        Statement, null=True, blank=True, on_delete=models.SET_NULL, related_name="suggestions"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="suggestion_text_not_empty"),
        ]


class AnswerCode(models.Model):
    """One coding decision on a panelist's words: an open-ended answer (or a fragment of it) or a
    suggestion either supports a statement, or is marked not usable with a reason.

    An answer may support several statements; a link is never deleted, only withdrawn (with
    who and why), so a statement's sources stay traceable (CREDES: how items were generated).
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="answer_codes")
    # The round the words were written in (the generation round, or the rating round of a
    # suggestion).
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="answer_codes")
    answer = models.ForeignKey(
        PromptAnswer, null=True, blank=True, on_delete=models.CASCADE, related_name="codes"
    )
    suggestion = models.ForeignKey(
        Suggestion, null=True, blank=True, on_delete=models.CASCADE, related_name="codes"
    )
    fragment = models.TextField(blank=True, help_text="The part of the answer used, if not all.")
    statement = models.ForeignKey(
        Statement, null=True, blank=True, on_delete=models.PROTECT, related_name="answer_codes"
    )
    unusable_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdraw_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["study", "round"], name="answer_code_study_round")]
        constraints = [
            models.CheckConstraint(
                condition=Q(answer__isnull=False, suggestion__isnull=True)
                | Q(answer__isnull=True, suggestion__isnull=False),
                name="answer_code_one_source",
            ),
            # Either a link to a statement, or "not usable" with its reason.
            models.CheckConstraint(
                condition=Q(statement__isnull=False, unusable_reason="")
                | (Q(statement__isnull=True) & ~Q(unusable_reason="")),
                name="answer_code_statement_or_reason",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True) | ~Q(withdraw_reason=""),
                name="answer_code_withdrawn_has_reason",
            ),
            models.UniqueConstraint(
                fields=["answer", "statement", "fragment"],
                condition=Q(withdrawn_at__isnull=True, answer__isnull=False),
                name="answer_code_answer_unique",
            ),
            models.UniqueConstraint(
                fields=["suggestion", "statement", "fragment"],
                condition=Q(withdrawn_at__isnull=True, suggestion__isnull=False),
                name="answer_code_suggestion_unique",
            ),
            models.UniqueConstraint(
                fields=["answer"],
                condition=Q(
                    withdrawn_at__isnull=True, answer__isnull=False, statement__isnull=True
                ),
                name="answer_code_answer_unusable_once",
            ),
            models.UniqueConstraint(
                fields=["suggestion"],
                condition=Q(
                    withdrawn_at__isnull=True, suggestion__isnull=False, statement__isnull=True
                ),
                name="answer_code_suggestion_unusable_once",
            ),
        ]

    def __str__(self):
        target = self.statement_id or "not usable"
        return f"{self.answer_id or self.suggestion_id} -> {target}"


class ItemChange(models.Model):
    """The lineage of an item between rounds: every reword, drop, merge or addition, and why."""

    class Action(models.TextChoices):
        ADDED = "added", _("Added")
        REWORDED = "reworded", _("Reworded")
        DROPPED = "dropped", _("Dropped")
        MERGED = "merged", _("Merged")
        CARRIED = "carried", _("Carried forward")
        RETIRED = "retired", _("Consensus reached, retired")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="item_changes")
    round = models.ForeignKey(Round, null=True, blank=True, on_delete=models.CASCADE)
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="changes")
    previous = models.ForeignKey(
        Statement, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    reason = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]


class Deviation(models.Model):
    """A change to a locked protocol: who, when, what changed and why."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="deviations")
    field = models.CharField(max_length=40)
    old_value = models.JSONField(null=True)
    new_value = models.JSONField(null=True)
    reason = models.TextField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="deviation_has_reason"),
        ]


class AuditRowImmutable(Exception):
    """An audit row was about to be changed or deleted through the ORM: rows are append-only."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditRowImmutable("Audit rows are append-only: they cannot be updated.")

    def delete(self):
        raise AuditRowImmutable("Audit rows are append-only: they cannot be deleted.")

    update.queryset_only = True
    delete.queryset_only = True


class AuditEvent(models.Model):
    """One change that can move a result: who, when, the object, the old and new values.

    Append-only: ``save()`` of an existing row, ``delete()`` and queryset ``update()``/``delete()``
    raise ``AuditRowImmutable``; on PostgreSQL a trigger refuses the same in SQL (migration
    0009_audit_trail). Rows are chained per study by ``delphi.services.audit.audit_seal``:
    ``chain_seq`` is the row's place in its study's chain, ``hash`` is SHA-256 over its content
    and ``prev_hash``. The content hashed holds no database ids, so an imported archive verifies.
    """

    class Source(models.TextChoices):
        RESEARCHER = "researcher", _("Researcher")
        PANELIST = "panelist", _("Panelist")
        ADMIN = "admin", _("Site administrator")
        IMPORT = "import", _("Import")
        SYSTEM = "system", _("System")

    # PROTECT: deleting a study never takes its audit trail with it (Django refuses with
    # ProtectedError); the one deliberate way is delphi.services.audit.study_purge.
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    panelist = models.ForeignKey(Panelist, null=True, blank=True, on_delete=models.SET_NULL)
    verb = models.CharField(max_length=60)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    # Who, as text that survives the account or panelist being removed: a username, a
    # panelist's public id, "import", "system".
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.SYSTEM)
    actor_label = models.CharField(max_length=150, blank=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=80, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    old = models.JSONField(null=True, blank=True)
    new = models.JSONField(null=True, blank=True)
    chain_seq = models.PositiveBigIntegerField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["study", "-at"], name="audit_study_at"),
            models.Index(fields=["study", "object_type", "object_id"], name="audit_study_object"),
            models.Index(
                fields=["study", "id"], condition=Q(chain_seq__isnull=True), name="audit_unsealed"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "chain_seq"],
                condition=Q(chain_seq__isnull=False),
                name="audit_chain_seq_unique",
            ),
        ]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditRowImmutable("Audit rows are append-only: they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditRowImmutable("Audit rows are append-only: they cannot be deleted.")


class AuditPurge(models.Model):
    """A study being deleted on purpose (the demo rebuilding itself): while its id is here,
    PostgreSQL's audit trigger lets the cascade remove its audit rows. Used only by
    ``delphi.services.audit.study_purge``, inside one transaction."""

    study_id = models.BigIntegerField(unique=True)


class LinkFailure(models.Model):
    """A panelist link that did not work (unknown, revoked or expired token), or a throttle
    limit being reached: the record behind the link throttle (delphi.services.throttle), listed
    in the admin. Never the raw token: ``token_prefix`` is the first 12 hex digits of the
    token's SHA-256, enough to tell repeats of one link apart, useless to exchange."""

    class Kind(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown link")
        REVOKED = "revoked", _("Revoked link")
        EXPIRED = "expired", _("Expired link")
        CLIENT_LIMIT = "client_limit", _("Client throttled")
        LINK_LIMIT = "link_limit", _("Link throttled")

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    client = models.CharField(max_length=45, blank=True)  # an IPv4 or IPv6 address
    token_prefix = models.CharField(max_length=12, blank=True, db_index=True)
    # Set for a revoked or expired link: whose it was (a public id, no contact details).
    panelist = models.ForeignKey(Panelist, null=True, blank=True, on_delete=models.SET_NULL)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]


class ConsensusRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="consensus_runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    fingerprint = models.CharField(max_length=64, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    # Responses the run analysed, by kind, under the drafts policy it applied:
    # {"policy": "complete", "submitted": 40, "complete_drafts": 3, "partial_drafts": 0, ...}
    included = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-queued_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="consensus_run_progress_le_100"
            ),
        ]


class ItemResult(models.Model):
    """Statistics for one round × item × group ('all', 'balanced' or a stakeholder group code)."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="results")
    item = models.ForeignKey(RoundItem, on_delete=models.CASCADE, related_name="results")
    group_key = models.CharField(max_length=40)
    group = models.ForeignKey(StakeholderGroup, null=True, blank=True, on_delete=models.CASCADE)
    n = models.PositiveIntegerField(default=0)
    n_unable = models.PositiveIntegerField(default=0)
    median = models.FloatField(null=True)
    q1 = models.FloatField(null=True)
    q3 = models.FloatField(null=True)
    iqr = models.FloatField(null=True)
    mean = models.FloatField(null=True)
    sd = models.FloatField(null=True)
    pct_low = models.FloatField(null=True)
    pct_mid = models.FloatField(null=True)
    pct_high = models.FloatField(null=True)
    p30 = models.FloatField(null=True)
    p70 = models.FloatField(null=True)
    ipr = models.FloatField(null=True)
    iprcp = models.FloatField(null=True)
    ai = models.FloatField(null=True)
    ipras = models.FloatField(null=True)
    dai = models.FloatField(null=True)
    disagreement_ipras = models.BooleanField(null=True)
    disagreement_classic = models.BooleanField(null=True)
    ram_class = models.CharField(max_length=15, blank=True)
    rwg = models.FloatField(null=True)
    ad_median = models.FloatField(null=True)
    # Stability against the previous round, paired by panelist.
    n_paired = models.PositiveIntegerField(null=True)
    wilcoxon_stat = models.FloatField(null=True)
    wilcoxon_p = models.FloatField(null=True)
    pct_change = models.FloatField(null=True)
    stable = models.BooleanField(null=True)
    # Counts per scale value, for feedback bar charts: {"1": 0, ..., "9": 4}.
    histogram = models.JSONField(default=dict)
    verdict = models.CharField(max_length=5, blank=True)

    class Meta:
        ordering = ["round", "item", "group_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "item", "group_key"], name="item_result_unique"
            ),
        ]


class ItemDecision(models.Model):
    """An item's verdict under the study's locked definition and scope, and under every preset."""

    class Verdict(models.TextChoices):
        IN = "in", _("Consensus in")
        OUT = "out", _("Consensus out")
        NONE = "none", _("No consensus")

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="decisions")
    item = models.ForeignKey(RoundItem, on_delete=models.CASCADE, related_name="decisions")
    verdict = models.CharField(max_length=5, choices=Verdict.choices)
    carried_forward = models.BooleanField()
    preset_verdicts = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "item"], name="item_decision_unique"),
        ]


class GroupConcordance(models.Model):
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="concordance")
    group_key = models.CharField(max_length=40)
    n_panelists = models.PositiveIntegerField()
    n_items = models.PositiveIntegerField()
    kendall_w = models.FloatField(null=True)
    chi2 = models.FloatField(null=True)
    df = models.PositiveIntegerField(null=True)
    p = models.FloatField(null=True)
    alpha_ordinal = models.FloatField(null=True)
    alpha_interval = models.FloatField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "group_key"], name="concordance_unique"),
        ]


class RankingItemResult(models.Model):
    """A ranking round's statistics for one item x group ('all' or a stakeholder group code)."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="ranking_results")
    item = models.ForeignKey(RoundItem, on_delete=models.CASCADE, related_name="ranking_results")
    group_key = models.CharField(max_length=40)
    group = models.ForeignKey(StakeholderGroup, null=True, blank=True, on_delete=models.CASCADE)
    n = models.PositiveIntegerField(default=0)
    n_ranked = models.PositiveIntegerField(default=0)
    mean_rank = models.FloatField(null=True)
    median_rank = models.FloatField(null=True)
    sd_rank = models.FloatField(null=True)
    # Counts per rank as given: {"1": 4, "2": 1, ..., "unranked": 2}.
    distribution = models.JSONField(default=dict)
    prev_mean_rank = models.FloatField(null=True)
    mean_rank_change = models.FloatField(null=True)

    class Meta:
        ordering = ["round", "item", "group_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "item", "group_key"], name="ranking_item_result_unique"
            ),
        ]


class RankingConcordance(models.Model):
    """Kendall's W of a ranking round for one group, and the consensus rule on the 'all' row."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="ranking_concordance")
    group_key = models.CharField(max_length=40)
    n_panelists = models.PositiveIntegerField()
    n_items = models.PositiveIntegerField()
    kendall_w = models.FloatField(null=True)
    chi2 = models.FloatField(null=True)
    df = models.PositiveIntegerField(null=True)
    p = models.FloatField(null=True)
    prev_kendall_w = models.FloatField(null=True)
    w_change = models.FloatField(null=True)
    # Only on the 'all' row: the rule's threshold and whether W reached it.
    consensus_threshold = models.FloatField(null=True)
    consensus_reached = models.BooleanField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["round", "group_key"], name="ranking_concordance_unique"
            ),
        ]


class ReportExport(models.Model):
    """A generated report file (ZIP, workbook or PDF), cached by a fingerprint of its inputs.

    One row per study x kind x options; regenerating replaces its content. The page polls this
    row (status, progress, stage), never Celery's result backend.
    """

    class Kind(models.TextChoices):
        ZIP = "zip", _("Tidy data (ZIP)")
        XLSX = "xlsx", _("Excel workbook")
        PDF = "pdf", _("PDF report")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="report_exports")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    language = models.CharField(max_length=5, default="en")
    include_comments = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    content = models.BinaryField(null=True, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    stamp = models.CharField(max_length=500, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "kind", "language", "include_comments"],
                name="report_export_unique",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="report_progress_le_100"),
        ]

    def __str__(self):
        return f"{self.kind} report of {self.study_id} ({self.status})"


class CustomMessage(models.Model):
    """The text of a message the researcher wrote (a custom message, a thank-you), once for all
    its recipients; each recipient's delivery is a Communication."""

    class Audience(models.TextChoices):
        NONCOMPLETERS = "noncompleters", _("Panelists who have not submitted")
        GROUP = "group", _("One stakeholder group")
        EVERYONE = "everyone", _("Everyone invited to the round")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="custom_messages")
    round = models.ForeignKey(
        Round, null=True, blank=True, on_delete=models.CASCADE, related_name="custom_messages"
    )
    audience = models.CharField(max_length=15, choices=Audience.choices)
    group = models.ForeignKey(StakeholderGroup, null=True, blank=True, on_delete=models.SET_NULL)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    subject_es = models.CharField("subject (Spanish)", max_length=200, blank=True)
    body_es = models.TextField("body (Spanish)", blank=True)
    with_link = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(subject="") & ~Q(body=""), name="custom_message_not_empty"
            ),
        ]


class Communication(models.Model):
    """One message to one panelist: the communications log. Claimed by compare-and-set
    (queued -> sending) before it is sent, so a redelivered task never sends it twice."""

    class Kind(models.TextChoices):
        INVITATION = "invitation", _("Invitation")
        RESEND = "resend", _("Re-sent link")
        REMINDER = "reminder", _("Reminder")
        CUSTOM = "custom", _("Custom message")
        DEADLINE = "deadline", _("Deadline change")
        THANKYOU = "thankyou", _("Thank-you")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="communications")
    round = models.ForeignKey(
        Round, null=True, blank=True, on_delete=models.CASCADE, related_name="communications"
    )
    panelist = models.ForeignKey(Panelist, on_delete=models.CASCADE, related_name="communications")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    language = models.CharField(max_length=5, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    message = models.ForeignKey(
        CustomMessage, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The personal link the message carried (invitations, re-sends, reminders).
    invitation = models.ForeignKey(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # While queued: when the sweep should enqueue it again if no worker has taken it (a lost
    # enqueue, a broker that was down, a transient SMTP error waiting out its backoff).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    first_visit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["round", "kind"], name="communication_round_kind"),
            models.Index(fields=["panelist", "status"], name="communication_panelist"),
            models.Index(fields=["status", "queued_at"], name="communication_status_queued"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="communication_sent_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | Q(failed_at__isnull=False),
                name="communication_failed_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.kind} to {self.panelist_id} ({self.status})"


class ReminderSent(models.Model):
    """One reminder slot for one panelist in one round. The unique row is the claim: two sweeps
    racing, or a redelivered task, cannot send the same slot twice."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="reminders_sent")
    panelist = models.ForeignKey(Panelist, on_delete=models.CASCADE, related_name="+")
    slot = models.CharField(max_length=20)
    communication = models.OneToOneField(
        Communication, null=True, blank=True, on_delete=models.SET_NULL, related_name="slot"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["round", "panelist", "slot"], name="reminder_sent_unique"
            ),
        ]
