from django.urls import path

from delphi.views import results

prefix = "studies/<uuid:study>/rounds/<uuid:round>/"

urlpatterns = [
    path(f"{prefix}results/", results.round_results, name="round_results"),
    path(f"{prefix}results.csv", results.round_results_csv, name="round_results_csv"),
    path(f"{prefix}results/run/", results.consensus_run_again, name="consensus_run_again"),
    path(f"{prefix}results/next-round/", results.round_start_next, name="round_start_next"),
    path(
        f"{prefix}runs/<uuid:run>/status.json",
        results.consensus_run_status,
        name="consensus_run_status",
    ),
]
