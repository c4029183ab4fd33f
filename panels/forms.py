"""Forms for stakeholder groups, panelists and the panelist CSV import."""

from django import forms

from panels.models import Language, StakeholderGroup


class GroupForm(forms.ModelForm):
    class Meta:
        model = StakeholderGroup
        fields = ["code", "name", "name_es", "target_size", "order"]
        help_texts = {
            "code": "Short, lower-case, no spaces (e.g. law); used in CSV files and results.",
            "target_size": "How many panelists you aim to recruit in this group.",
        }

    def __init__(self, *args, panel, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.panel = panel
        self.fields["order"].required = False


class PanelistForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    email = forms.EmailField(label="E-mail")
    group = forms.ModelChoiceField(queryset=None, label="Stakeholder group")
    organisation = forms.CharField(max_length=200, required=False)
    language = forms.ChoiceField(choices=Language.choices, initial=Language.EN)

    def __init__(self, *args, panel, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = panel.groups.all()
