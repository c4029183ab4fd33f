"""Researcher forms. Forms check shape; services check business rules."""

import re

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from delphi.consensus.definitions import PRESETS as STATS_PRESETS
from delphi.models import Membership, Round, Study
from delphi.services.protocol import (
    BAND_LABEL_MAX,
    MAX_BANDS,
    MAX_POINTS,
    MEASURES,
    OPS,
    POINT_LABEL_MAX,
    SCOPES,
)
from lib import csvtable
from panels.forms import PanelistForm

SCOPE_LABELS = {
    "all": "The whole panel",
    "every_group": "Every stakeholder group separately",
    "balanced": "The panel with each group weighted equally",
}
MAX_UPLOAD_BYTES = csvtable.MAX_CSV_BYTES
CRITERION = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")


def _preset_choices():
    choices = [(name, info["label"]) for name, info in STATS_PRESETS.items()]
    if "custom" not in STATS_PRESETS:
        choices.append(("custom", "Custom criteria (below)"))
    return choices


def parse_criteria(text: str) -> list[dict]:
    """'pct_high >= 70' per line -> [{"measure": "pct_high", "op": ">=", "value": 70}]."""
    criteria = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        m = CRITERION.match(line)
        if not m:
            raise forms.ValidationError(
                f"Line {n} (“{line.strip()}”): write one criterion per line as "
                "measure, comparison, value, e.g. pct_high >= 70"
            )
        measure, op, raw = m.groups()
        if measure not in MEASURES:
            raise forms.ValidationError(
                f"Line {n}: “{measure}” is not a measure; use one of {', '.join(MEASURES)}"
            )
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        else:
            try:
                value = float(raw)
            except ValueError:
                raise forms.ValidationError(f"Line {n}: “{raw}” is not a number, true or false")
            value = int(value) if value.is_integer() else value
        criteria.append({"measure": measure, "op": op, "value": value})
    return criteria


def _too_long(where: str, limit: int) -> str:
    return (
        f"The label of {where} is too long: keep it to {limit} characters (it has %(show_value)d)."
    )


def format_criteria(criteria) -> str:
    return "\n".join(
        f"{c.get('measure')} {c.get('op')} {str(c.get('value')).lower()}" for c in criteria or []
    )


def parse_bands(text: str) -> list[list[int]]:
    """'1-3, 4-6, 7-9' -> [[1, 3], [4, 6], [7, 9]]; the shape only (the protocol service checks
    the count, gaps, overlaps and the scale's ends, naming the band)."""
    bands = []
    for n, part in enumerate((p for p in re.split(r"[,;]", text or "") if p.strip()), start=1):
        m = re.fullmatch(r"\s*(\d+)\s*(?:[-–]\s*(\d+))?\s*", part)
        if not m:
            raise forms.ValidationError(
                f"Band {n} (“{part.strip()}”) is not a range; write the bands like 1-3, 4-6, 7-9"
            )
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        bands.append([lo, hi])
    if not bands:
        raise forms.ValidationError("Give at least one band, e.g. 1-3, 4-6, 7-9")
    return bands


def format_bands(bands) -> str:
    return ", ".join(f"{lo}-{hi}" if lo != hi else f"{lo}" for lo, hi in bands)


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class StudyForm(forms.Form):
    title = forms.CharField(max_length=250)
    short_title = forms.CharField(max_length=80, required=False)
    aims = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    title_es = forms.CharField(
        label="Title (Spanish)",
        max_length=250,
        required=False,
        help_text="Spanish-speaking panelists see the English wording where this is empty.",
    )
    short_title_es = forms.CharField(label="Short title (Spanish)", max_length=80, required=False)
    aims_es = forms.CharField(
        label="Aims (Spanish)", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    contact_email = forms.EmailField(
        required=False, help_text="Shown to panelists as the address for questions."
    )
    contact_note = forms.CharField(
        max_length=300,
        required=False,
        help_text="One line for panelists beside the address, e.g. who answers and when.",
    )
    contact_note_es = forms.CharField(
        label="Contact note (Spanish)", max_length=300, required=False
    )
    ends_at = forms.DateTimeField(
        required=False,
        widget=DateTimeLocalInput(),
        help_text="Panelist links stop working after this date.",
    )
    consent_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False)
    consent_text_es = forms.CharField(
        label="Consent text (Spanish)", widget=forms.Textarea(attrs={"rows": 5}), required=False
    )

    @classmethod
    def initial_for(cls, study: Study) -> dict:
        return {name: getattr(study, name) for name in cls.base_fields}


class ProtocolForm(forms.Form):
    scale_min = forms.IntegerField(min_value=0, max_value=100, label="Scale from")
    scale_max = forms.IntegerField(min_value=1, max_value=100, label="Scale to")
    bands = forms.CharField(
        label="Bands",
        help_text="One to five ranges from the bottom of the scale up, covering every point "
        "without gaps or overlaps, e.g. 1-3, 4-6, 7-9. The first is the bottom band and the "
        "last the top band: the consensus definitions compare those two.",
    )
    preset = forms.ChoiceField(label="Consensus definition", choices=())
    threshold = forms.IntegerField(
        min_value=51,
        max_value=100,
        required=False,
        label="Threshold (%)",
        help_text="For percentage agreement: the share of ratings in the top band (51-100).",
    )
    scope = forms.ChoiceField(
        label="Consensus must hold in", choices=[(s, SCOPE_LABELS[s]) for s in SCOPES]
    )
    criteria_in = forms.CharField(
        label="Custom: consensus in when",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "font-monospace"}),
        help_text="One criterion per line, all must hold, e.g. pct_high >= 70. Measures: "
        + ", ".join(MEASURES)
        + "; comparisons "
        + " ".join(OPS)
        + ".",
    )
    criteria_out = forms.CharField(
        label="Custom: consensus out when",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "font-monospace"}),
    )
    planned_rounds = forms.IntegerField(min_value=1, max_value=10)
    stopping_rule = forms.ChoiceField(choices=Study.StoppingRule.choices)
    stability_test = forms.ChoiceField(
        label="An item is stable when",
        choices=Study.StabilityTest.choices,
        help_text="Used by the stability stopping rule; both tests are computed and reported.",
    )
    stopping_rule_detail = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Stopping rule, details"
    )
    min_group_size = forms.IntegerField(
        min_value=1,
        max_value=50,
        label="Smallest group shown on its own",
        help_text="Per-group feedback is hidden for smaller groups, so nobody can be singled out.",
    )
    quorum_pct = forms.IntegerField(
        label="Quorum: minimum response rate (%)",
        help_text="Closing a round below it needs a written reason and is recorded as a "
        "deviation; its results are flagged “below quorum”.",
    )
    quorum_min_per_group = forms.IntegerField(
        required=False,
        label="Quorum: minimum responses per stakeholder group",
        help_text="Leave empty to use the smallest group shown on its own.",
    )
    drafts_policy = forms.ChoiceField(
        choices=Study.DraftsPolicy.choices,
        label="Answers not submitted when the round closes",
        help_text="Nothing is deleted whatever you choose; the results say how many responses "
        "of each kind the analysis included.",
    )
    quantile_method = forms.TypedChoiceField(
        coerce=int,
        label="Quantile method (Hyndman-Fan type)",
        choices=[
            (i, f"Type {i}" + (" (R default, Excel PERCENTILE.INC)" if i == 7 else ""))
            for i in range(1, 10)
        ],
    )
    ranking_top_k = forms.IntegerField(
        min_value=1,
        max_value=500,
        required=False,
        label="Ranking: each panelist ranks their top",
        help_text="Leave empty to have every item ranked.",
    )
    ranking_consensus_w = forms.FloatField(
        min_value=0.05,
        max_value=1,
        label="Ranking consensus: Kendall's W at least",
        help_text="0.7 = strong agreement (Schmidt 1997).",
    )
    ranking_allow_ties = forms.BooleanField(
        required=False, label="Ranking: two items may share a rank"
    )
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Reason for the change",
        help_text="The protocol is locked: every changed field is recorded as a deviation "
        "with this reason, and shown on the study page.",
    )

    # Service errors on these protocol fields belong next to these form fields.
    ERROR_FIELDS = {"consensus_definition": "preset", "scale_anchors": "bands"}

    def __init__(self, *args, locked=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preset"].choices = _preset_choices()
        if not locked:
            del self.fields["reason"]
        # One row of label fields per band and per point, by position (band 1 is the bottom
        # band, point 1 the lowest value), so labels follow a scale that is moved or resized.
        for i in range(1, MAX_BANDS + 1):
            for suffix, language in (("", "English"), ("_es", "Spanish")):
                self.fields[f"band_label{suffix}_{i}"] = forms.CharField(
                    label=f"Band {i}, {language}",
                    max_length=BAND_LABEL_MAX,
                    required=False,
                    error_messages={"max_length": _too_long(f"band {i}", BAND_LABEL_MAX)},
                )
        for i in range(1, MAX_POINTS + 1):
            for suffix, language in (("", "English"), ("_es", "Spanish")):
                self.fields[f"point_label{suffix}_{i}"] = forms.CharField(
                    label=f"Point {i}, {language}",
                    max_length=POINT_LABEL_MAX,
                    required=False,
                    error_messages={"max_length": _too_long(f"point {i}", POINT_LABEL_MAX)},
                )
        self.shown_scale = self._shown_scale()
        lo, hi, bands = self.shown_scale
        for i, (a, b) in enumerate(bands, start=1):
            for suffix, language in (("", "English"), ("_es", "Spanish")):
                self.fields[
                    f"band_label{suffix}_{i}"
                ].label = f"Band {i} ({format_bands([(a, b)])}), {language}"
        for i, value in enumerate(range(lo, hi + 1), start=1):
            for suffix, language in (("", "English"), ("_es", "Spanish")):
                self.fields[f"point_label{suffix}_{i}"].label = f"{value}, {language}"

    def _shown_scale(self) -> tuple[int, int, list]:
        """The scale whose label rows the page shows: the one typed when it makes sense (so a
        researcher who resized the scale gets rows for its new points), else the saved one."""
        initial = self.initial
        lo, hi = initial.get("scale_min", 1), initial.get("scale_max", 9)
        try:
            bands = parse_bands(initial.get("bands", "1-3, 4-6, 7-9"))
        except forms.ValidationError:
            bands = [[lo, hi]]
        if self.is_bound:
            try:
                typed_lo, typed_hi = int(self.data["scale_min"]), int(self.data["scale_max"])
                typed_bands = parse_bands(self.data.get("bands", ""))
            except (KeyError, TypeError, ValueError, forms.ValidationError):
                pass
            else:
                if 1 <= typed_hi - typed_lo < MAX_POINTS:
                    lo, hi = typed_lo, typed_hi
                if len(typed_bands) <= MAX_BANDS:
                    bands = typed_bands
        return lo, hi, bands[:MAX_BANDS]

    def band_rows(self) -> list[tuple]:
        """(band, English field, Spanish field) for each band of the shown scale."""
        return [
            (format_bands([b]), self[f"band_label_{i}"], self[f"band_label_es_{i}"])
            for i, b in enumerate(self.shown_scale[2], start=1)
        ]

    def point_rows(self) -> list[tuple]:
        lo, hi, _ = self.shown_scale
        return [
            (value, self[f"point_label_{i}"], self[f"point_label_es_{i}"])
            for i, value in enumerate(range(lo, hi + 1), start=1)
        ]

    def points_open(self) -> bool:
        """Whether the point labels start unfolded: some are set, or one has an error."""
        return any(en.value() or es.value() or en.errors or es.errors
                   for _, en, es in self.point_rows())  # fmt: skip

    @classmethod
    def initial_for(cls, study: Study) -> dict:
        d = study.consensus_definition or {}
        anchors = study.scale_anchors or {}
        labels = study.scale_labels or {}
        band_labels = {}
        for i, band in enumerate(study.bands[:MAX_BANDS], start=1):
            start = str(band[0])
            band_labels[f"band_label_{i}"] = anchors.get(start, "")
            band_labels[f"band_label_es_{i}"] = (labels.get("bands_es") or {}).get(start, "")
        values = range(study.scale_min, study.scale_max + 1)
        for i, value in enumerate(list(values)[:MAX_POINTS], start=1):
            band_labels[f"point_label_{i}"] = (labels.get("points") or {}).get(str(value), "")
            band_labels[f"point_label_es_{i}"] = (labels.get("points_es") or {}).get(str(value), "")
        return {
            "scale_min": study.scale_min,
            "scale_max": study.scale_max,
            "bands": format_bands(study.bands),
            **band_labels,
            "preset": d.get("preset", "comet"),
            "threshold": d.get("threshold"),
            "scope": d.get("scope", "all"),
            "criteria_in": format_criteria(d.get("in")),
            "criteria_out": format_criteria(d.get("out")),
            "planned_rounds": study.planned_rounds,
            "stopping_rule": study.stopping_rule,
            "stability_test": study.stability_test,
            "stopping_rule_detail": study.stopping_rule_detail,
            "min_group_size": study.min_group_size,
            "quorum_pct": study.quorum_pct,
            "quorum_min_per_group": study.quorum_min_per_group,
            "quantile_method": study.quantile_method,
            "drafts_policy": study.drafts_policy,
            "ranking_top_k": study.ranking_top_k,
            "ranking_consensus_w": study.ranking_consensus_w,
            "ranking_allow_ties": study.ranking_allow_ties,
        }

    def clean_bands(self):
        return parse_bands(self.cleaned_data["bands"])

    def clean_quorum_pct(self):
        value = self.cleaned_data["quorum_pct"]
        if not 0 <= value <= 100:
            raise forms.ValidationError(
                f"A response rate of {value} % is impossible: give a percentage from 0 to 100."
            )
        return value

    def clean_quorum_min_per_group(self):
        value = self.cleaned_data["quorum_min_per_group"]
        if value is not None and value < 0:
            raise forms.ValidationError("The minimum per group cannot be negative.")
        return value

    def clean_criteria_in(self):
        return parse_criteria(self.cleaned_data["criteria_in"])

    def clean_criteria_out(self):
        return parse_criteria(self.cleaned_data["criteria_out"])

    def clean(self):
        data = super().clean()
        preset = data.get("preset")
        if preset == "percent" and data.get("threshold") is None:
            self.add_error("threshold", "Percentage agreement needs a threshold, e.g. 75.")
        if preset == "custom" and not data.get("criteria_in") and "criteria_in" not in self.errors:
            self.add_error("criteria_in", "A custom definition needs at least one criterion.")
        return data

    def protocol(self) -> dict:
        """The Study fields this form sets, as study_update takes them."""
        c = self.cleaned_data
        bands = c["bands"]
        anchors, bands_es, points, points_es = {}, {}, {}, {}
        # Only the rows of this scale count: a label left in a row beyond it is dropped.
        for i, band in enumerate(bands[:MAX_BANDS], start=1):
            if text := c.get(f"band_label_{i}"):
                anchors[str(band[0])] = text
            if text := c.get(f"band_label_es_{i}"):
                bands_es[str(band[0])] = text
        values = list(range(c["scale_min"], c["scale_max"] + 1))
        for i, value in enumerate(values[:MAX_POINTS], start=1):
            if text := c.get(f"point_label_{i}"):
                points[str(value)] = text
            if text := c.get(f"point_label_es_{i}"):
                points_es[str(value)] = text
        labels = {
            name: mapping
            for name, mapping in (
                ("bands_es", bands_es), ("points", points), ("points_es", points_es)
            )
            if mapping
        }  # fmt: skip
        definition = {"preset": c["preset"], "scope": c["scope"]}
        if c["preset"] == "percent":
            definition["threshold"] = c["threshold"]
        if c["preset"] == "custom":
            definition["in"] = c["criteria_in"]
            definition["out"] = c["criteria_out"]
        return {
            "scale_min": c["scale_min"],
            "scale_max": c["scale_max"],
            "bands": bands,
            "scale_anchors": anchors,
            "scale_labels": labels,
            "consensus_definition": definition,
            "planned_rounds": c["planned_rounds"],
            "stopping_rule": c["stopping_rule"],
            "stability_test": c["stability_test"],
            "stopping_rule_detail": c["stopping_rule_detail"],
            "min_group_size": c["min_group_size"],
            "quorum_pct": c["quorum_pct"],
            "quorum_min_per_group": c["quorum_min_per_group"],
            "quantile_method": c["quantile_method"],
            "drafts_policy": c["drafts_policy"],
            "ranking_top_k": c.get("ranking_top_k"),
            "ranking_consensus_w": c.get("ranking_consensus_w") or 0.7,
            "ranking_allow_ties": bool(c.get("ranking_allow_ties")),
        }


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices)


class MemberRemoveForm(forms.Form):
    username = forms.CharField(max_length=150)

    def clean_username(self):
        name = self.cleaned_data["username"]
        if not get_user_model().objects.filter(username=name).exists():
            raise forms.ValidationError("No such account.")
        return name


class RoundForm(forms.Form):
    kind = forms.ChoiceField(choices=Round.Kind.choices, initial=Round.Kind.RATING)
    title = forms.CharField(max_length=200, required=False)
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    instructions_es = forms.CharField(
        label="Instructions (Spanish)", widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    opens_at = forms.DateTimeField(
        required=False, widget=DateTimeLocalInput(), label="Planned opening"
    )
    closes_at = forms.DateTimeField(required=False, widget=DateTimeLocalInput(), label="Deadline")
    remind_after_open = forms.CharField(
        label="Reminders: days after opening",
        required=False,
        initial="3",
        help_text="Whole days, comma-separated (e.g. “3, 7”). Empty: none.",
    )
    remind_before_deadline = forms.CharField(
        label="Reminders: days before the deadline",
        required=False,
        initial="1",
        help_text="Reminders go only to invited panelists who have not submitted.",
    )
    notify_deadline = forms.BooleanField(
        label="Tell the panelists who have not submitted about the new deadline (e-mail)",
        required=False,
    )

    REMINDER_FIELDS = ("remind_after_open", "remind_before_deadline", "notify_deadline")

    def __init__(self, *args, editing=False, round_open=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["kind"]
        if not round_open:
            del self.fields["notify_deadline"]

    def clean(self):
        from django.utils import timezone

        from delphi.services.reminders import plan_check, plan_from_text

        data = super().clean()
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", "The deadline must come after the opening time.")
        before = self.initial.get("closes_at")
        moved = closes and not (
            before
            and before.replace(second=0, microsecond=0) == closes.replace(second=0, microsecond=0)
        )
        if moved and closes <= timezone.now():
            self.add_error("closes_at", "The deadline is in the past: choose a later date.")
        if "remind_after_open" in self.errors or "remind_before_deadline" in self.errors:
            return data
        try:
            plan = plan_from_text(
                after_open=data.get("remind_after_open", ""),
                before_deadline=data.get("remind_before_deadline", ""),
            )
            plan_check(plan=plan, opens_at=self.initial.get("opened_at") or opens, closes_at=closes)
        except ValidationError as exc:
            apply_errors(self, exc)
        else:
            data["reminder_plan"] = plan
        return data


class PromptForm(forms.Form):
    text = forms.CharField(label="Question", widget=forms.Textarea(attrs={"rows": 2}))
    text_es = forms.CharField(
        label="Question (Spanish)", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    scenario = forms.ModelChoiceField(queryset=None, required=False, empty_label="No scenario")

    def __init__(self, *args, framework, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scenario"].queryset = framework.scenarios.all()


class SuggestionDecisionForm(forms.Form):
    ACTIONS = [
        ("adopt", "Adopt as a new statement"),
        ("merge", "Merge into an existing statement"),
        ("decline", "Decline"),
    ]
    action = forms.ChoiceField(choices=ACTIONS, widget=forms.RadioSelect)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    code = forms.CharField(
        max_length=20, required=False, label="New statement's code", help_text="To adopt."
    )
    domain = forms.ModelChoiceField(queryset=None, required=False, help_text="To adopt.")
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="New statement's wording"
    )
    statement = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Merge into",
        empty_label="Choose a statement",
        help_text="To merge.",
    )

    def __init__(self, *args, framework, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domain"].queryset = framework.domains.all()
        self.fields["statement"].queryset = framework.statements.select_related("domain")

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == "adopt":
            for name in ("code", "domain", "text"):
                if not data.get(name):
                    self.add_error(name, "Needed to adopt the suggestion.")
        if action == "merge" and not data.get("statement"):
            self.add_error("statement", "Choose the statement it merges into.")
        return data


class ItemChangeForm(forms.Form):
    ACTIONS = [("reword", "Reword"), ("drop", "Drop from this round")]
    action = forms.ChoiceField(choices=ACTIONS, widget=forms.RadioSelect)
    code = forms.CharField(max_length=20, required=False, label="Revised statement's code")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    plain_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Plain-language text"
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("action") == "reword":
            for name in ("code", "text"):
                if not data.get(name):
                    self.add_error(name, "Needed to reword the item.")
        return data


class CsvImportForm(forms.Form):
    """Upload a file or paste its contents; after an error the content comes back pasted."""

    file = forms.FileField(required=False, label="CSV file")
    text = forms.CharField(
        required=False,
        label="…or paste the rows",
        widget=forms.Textarea(attrs={"rows": 8, "class": "font-monospace", "spellcheck": "false"}),
    )

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload:
            # Refused before reading when the size alone says so.
            too_big = csvtable.size_problem(upload.size)
            if too_big:
                raise forms.ValidationError(too_big)
            try:
                data["text"], _ = csvtable.decode_csv(upload.read())
            except csvtable.CsvRefused as exc:
                raise forms.ValidationError(str(exc))
        else:
            # Pasted text has the same limit as a file (and comes back in the box to be cut).
            too_big = csvtable.size_problem(len((data.get("text") or "").encode("utf-8")))
            if too_big:
                raise forms.ValidationError(too_big.replace("The file is", "The pasted text is"))
        if not (data.get("text") or "").strip():
            raise forms.ValidationError("Choose a CSV file or paste its rows.")
        return data


def apply_errors(form: forms.Form, exc, aliases: dict | None = None) -> None:
    """Put a service's ValidationError back on the form, on the field it names when it can
    (``aliases`` maps a service's field name to the form field that edits it)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            name = (aliases or {}).get(name, name)
            target = name if name in form.fields else None
            for error in errors:
                form.add_error(target, error)
    else:
        for message in exc.messages:
            form.add_error(None, message)


class CodingForm(forms.Form):
    """What to do with the selected answers. The selection itself comes from the checkboxes."""

    ACTIONS = [
        ("new", "Create a new statement from them"),
        ("link", "Link them to an existing statement"),
        ("unusable", "Mark them not usable"),
    ]
    action = forms.ChoiceField(choices=ACTIONS, widget=forms.RadioSelect, initial="new")
    domain = forms.ModelChoiceField(queryset=None, required=False, empty_label="Choose a domain")
    code = forms.CharField(
        max_length=20,
        required=False,
        label="Code",
        help_text="Leave empty for the next free code, e.g. CD-P1.",
    )
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Statement"
    )
    plain_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Plain-language text"
    )
    text_es = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Statement (Spanish)"
    )
    plain_text_es = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Plain-language text (Spanish)",
    )
    statement = forms.ModelChoiceField(
        queryset=None, required=False, label="Existing statement", empty_label="Choose a statement"
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Why not usable"
    )

    def __init__(self, *args, framework, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domain"].queryset = framework.domains.all()
        self.fields["statement"].queryset = framework.statements.filter(
            is_active=True
        ).select_related("domain")
        self.fields["statement"].label_from_instance = lambda s: f"{s.code}: {s.text[:90]}"

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == "new":
            if not data.get("domain"):
                self.add_error("domain", "Choose the new statement's domain.")
            if not (data.get("text") or "").strip():
                self.add_error("text", "Write the new statement's wording.")
        elif action == "link" and not data.get("statement"):
            self.add_error("statement", "Choose the statement these answers support.")
        elif action == "unusable" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why these answers are not usable; it is kept.")
        return data


class CodeWithdrawForm(forms.Form):
    code_id = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500, label="Why withdraw this code")


class PanelistEditForm(PanelistForm):
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason for a group change",
        help_text="Needed when a panelist who has already rated moves to another stakeholder "
        "group: the move is recorded and the rounds they answered are marked for re-analysis.",
    )


class CustomMessageForm(forms.Form):
    """A message the researcher writes to a round's panelists, in English and Spanish."""

    audience = forms.ChoiceField(
        choices=[
            ("noncompleters", "Panelists who have not submitted"),
            ("group", "One stakeholder group"),
            ("everyone", "Everyone invited to the round"),
        ],
        widget=forms.RadioSelect,
        initial="noncompleters",
    )
    group = forms.ModelChoiceField(queryset=None, required=False, empty_label="Choose a group")
    subject = forms.CharField(max_length=200, required=False)
    body = forms.CharField(
        label="Message", widget=forms.Textarea(attrs={"rows": 6}), required=False
    )
    subject_es = forms.CharField(label="Subject (Spanish)", max_length=200, required=False)
    body_es = forms.CharField(
        label="Message (Spanish)",
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text="Spanish-speaking panelists get this; without it, the English text.",
    )

    def __init__(self, *args, panel, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = panel.groups.all()
