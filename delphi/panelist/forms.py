"""Forms for the panelist pages. They check shape; the services check the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from competencies.models import Domain
from delphi.services.responses import group_locked_message
from panels.models import Language, Panelist, StakeholderGroup

# The default anchors are stored in English on the study; these marks put them in the catalogue
# so the scale reads in the panelist's language.
ANCHORS = (
    gettext_noop("Not important"),
    gettext_noop("Important but not critical"),
    gettext_noop("Critical"),
)


class ConsentForm(forms.Form):
    agree = forms.BooleanField(
        label=_("I have read the information above and I agree to take part."),
        error_messages={"required": _("Tick the box to agree, or close this page to decline.")},
    )


class ProfileForm(forms.Form):
    group = forms.ModelChoiceField(
        label=_("Which group do you belong to in this study?"),
        queryset=StakeholderGroup.objects.none(),
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the group that describes you best.")},
    )
    years_experience = forms.IntegerField(
        label=_("Years of experience in this work (optional)"),
        required=False,
        min_value=0,
        max_value=70,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    setting = forms.ChoiceField(
        label=_("Where do you mostly work? (optional)"),
        required=False,
        choices=[("", _("Prefer not to say"))] + list(Panelist.Setting.choices),
    )
    lived_experience = forms.TypedChoiceField(
        label=_(
            "Do you have lived experience of a mental-health or substance-use crisis, yourself "
            "or in your family? (optional)"
        ),
        required=False,
        choices=[("", _("Prefer not to say")), ("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda v: {"yes": True, "no": False}.get(v),
        empty_value=None,
        widget=forms.RadioSelect,
    )
    language = forms.ChoiceField(
        label=_("Language for this study"), choices=Language.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args, panelist, group_locked=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.panelist = panelist
        # Once the panelist has rated, the group is shown read-only (the template) and only the
        # researchers can change it; a posted group that differs is refused in clean().
        self.group_locked = group_locked
        if group_locked:
            del self.fields["group"]
        else:
            groups = StakeholderGroup.objects.filter(panel_id=panelist.panel_id)
            self.fields["group"].queryset = groups
            if self.data.get("language", panelist.language) == "es" or panelist.language == "es":
                self.fields["group"].label_from_instance = lambda g: g.name_es or g.name
        if not self.is_bound:
            self.initial = {
                "group": panelist.group_id,
                "years_experience": panelist.years_experience,
                "setting": panelist.setting,
                "lived_experience": {True: "yes", False: "no"}.get(panelist.lived_experience, ""),
                "language": panelist.language,
            }

    def clean(self):
        cleaned = super().clean()
        if self.group_locked:
            posted = self.data.get("group")
            if posted not in (None, "") and posted != str(self.panelist.group_id or ""):
                # A forged or stale form: refused as a whole, so nothing else is saved either.
                raise forms.ValidationError(group_locked_message(), code="group_locked")
        return cleaned


class SuggestionForm(forms.Form):
    text = forms.CharField(
        label=_("The statement you propose"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write the statement you would like to add.")},
    )
    rationale = forms.CharField(
        label=_("Why it matters (optional)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    domain = forms.ModelChoiceField(
        label=_("Domain (optional)"),
        queryset=Domain.objects.none(),
        required=False,
        empty_label=_("Not sure"),
    )

    def __init__(self, *args, study, lang="en", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domain"].queryset = Domain.objects.filter(framework_id=study.framework_id)
        if lang == "es":
            self.fields["domain"].label_from_instance = lambda d: d.name_es or d.name
        else:
            self.fields["domain"].label_from_instance = lambda d: d.name


class WithdrawForm(forms.Form):
    keep_answers = forms.TypedChoiceField(
        label=_("What should happen to the answers you have given so far?"),
        choices=[
            ("yes", _("The researchers may keep and use them")),
            ("no", _("Do not use them: leave them out of the analysis")),
        ],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what should happen to your answers.")},
    )
    confirm = forms.BooleanField(
        label=_("Yes, I want to withdraw from this study."),
        error_messages={"required": _("Tick the box to confirm that you want to withdraw.")},
    )
