"""Researcher page: import RATINGS.csv (ratings collected elsewhere) into a rating round."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse

from delphi.access import get_study_for_user
from delphi.models import Round
from delphi.services.ratings_import import (
    MAX_BYTES,
    OnlineAnswersWouldChange,
    RatingsImportRefused,
    import_refusal,
    ratings_import,
    size_message,
)

SESSION_KEY = "ratings_import:{}"


class RatingsImportForm(forms.Form):
    file = forms.FileField(
        label="RATINGS.csv",
        help_text="Columns panelist,round,item,rating and optionally group; up to "
        f"{MAX_BYTES // 1024 // 1024} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    overwrite_online = forms.BooleanField(
        required=False,
        label="Overwrite answers panelists gave online",
        help_text="Without this, a file that would change a rating a panelist gave on the "
        "questionnaire, or submit their draft, is refused with the list of those panelists.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # Checked before reading, so an oversized upload is refused without parsing it.
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(size_message(upload.name, upload.size))
        return upload


def _results_url(study, rnd):
    try:
        return reverse("round_results", kwargs={"study": study.uuid, "round": rnd.uuid})
    except NoReverseMatch:
        return None


@login_required
def round_import(request, study, round):
    study = get_study_for_user(request, study, write=True)
    rnd = get_object_or_404(Round, study=study, uuid=round)
    refusal = import_refusal(rnd)
    key = SESSION_KEY.format(rnd.uuid)
    summary, problems, filename, online = None, None, None, None
    if request.method == "POST":
        form = RatingsImportForm(request.POST, request.FILES)
        if refusal is None and form.is_valid():
            upload = form.cleaned_data["file"]
            filename = upload.name
            try:
                summary = ratings_import(
                    round=rnd,
                    source=upload.read(),
                    filename=upload.name,
                    by=request.user,
                    overwrite_online=form.cleaned_data["overwrite_online"],
                )
            except RatingsImportRefused as exc:
                problems = exc.problems
            except OnlineAnswersWouldChange as exc:
                online = exc.affected
            else:
                # Post/redirect/get: the summary survives one redirect in the session.
                request.session[key] = summary
                return redirect("round_import", study=study.uuid, round=rnd.uuid)
        rnd.refresh_from_db()
        refusal = import_refusal(rnd)
    else:
        form = RatingsImportForm()
        summary = request.session.pop(key, None)
    items = [
        i.statement.code + (f"@{i.scenario.code}" if i.scenario_id else "")
        for i in rnd.items.select_related("statement", "scenario")
    ]
    return render(
        request,
        "delphi/round_import.html",
        {
            "study": study,
            "round": rnd,
            "form": form,
            "refusal": refusal,
            "summary": summary,
            "problems": problems,
            "online": online,
            "filename": filename,
            "item_codes": items,
            "groups": list(study.panel.groups.all()),
            "results_url": _results_url(study, rnd),
        },
        status=409 if refusal and request.method == "POST" else 200,
    )
