from django.urls import path

from delphi.views import reports

s = "studies/<uuid:study>/report/"

urlpatterns = [
    path(s, reports.study_report, name="study_report"),
    path(s + "fields/", reports.study_report_fields, name="study_report_fields"),
    path(s + "comments.csv", reports.study_report_comments_csv, name="study_report_comments_csv"),
    path(s + "figures/<slug:name>.png", reports.study_report_figure, name="study_report_figure"),
    path(s + "downloads/", reports.study_report_downloads, name="study_report_downloads"),
    path(s + "downloads/<slug:kind>/", reports.study_report_generate, name="study_report_generate"),
    path(
        s + "exports/<uuid:export>/status.json",
        reports.study_report_export_status,
        name="study_report_export_status",
    ),
    path(s + "exports/<uuid:export>/", reports.study_report_download, name="study_report_download"),
    path(s + "<slug:part>/", reports.study_report, name="study_report_part"),
]
