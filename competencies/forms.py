"""Forms for domains, statements, scenarios and the statement CSV import."""

from django import forms

from competencies.models import Domain, Scenario, Statement


class DomainForm(forms.ModelForm):
    class Meta:
        model = Domain
        fields = ["code", "name", "name_es", "description", "order"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, framework, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.framework = framework
        self.fields["order"].required = False


class StatementForm(forms.ModelForm):
    class Meta:
        model = Statement
        fields = [
            "domain",
            "code",
            "text",
            "plain_text",
            "text_es",
            "plain_text_es",
            "provenance",
            "source_note",
            "revision_of",
            "is_active",
        ]
        widgets = {
            "text": forms.Textarea(attrs={"rows": 3}),
            "plain_text": forms.Textarea(attrs={"rows": 2}),
            "text_es": forms.Textarea(attrs={"rows": 3}),
            "plain_text_es": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {"revision_of": "Revises (earlier statement)", "is_active": "Active"}

    def __init__(self, *args, framework, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.framework = framework
        self.fields["domain"].queryset = framework.domains.all()
        revisable = framework.statements.all()
        if self.instance.pk:
            revisable = revisable.exclude(pk=self.instance.pk)
        self.fields["revision_of"].queryset = revisable


class ScenarioForm(forms.ModelForm):
    class Meta:
        model = Scenario
        fields = ["code", "title", "title_es", "risk_level", "vignette", "vignette_es", "order"]
        widgets = {
            "vignette": forms.Textarea(attrs={"rows": 4}),
            "vignette_es": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, framework, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.framework = framework
        self.fields["order"].required = False
