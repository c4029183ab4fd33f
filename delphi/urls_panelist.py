"""Panelist pages, mounted at /p/. Links carry a token once; everything after uses the session."""

from django.urls import path

from delphi.views import panelist as views
from delphi.views import ranking

app_name = "panelist"

urlpatterns = [
    path("t/<str:token>/", views.token_exchange, name="token"),
    path("", views.home, name="home"),
    path("language/", views.language, name="language"),
    path("consent/", views.consent, name="consent"),
    path("profile/", views.profile, name="profile"),
    path("withdraw/", views.withdraw, name="withdraw"),
    path("withdrawn/", views.withdrawn, name="withdrawn"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("r/<uuid:round_uuid>/", views.round_resume, name="round"),
    path("r/<uuid:round_uuid>/page/<int:page>/", views.round_page, name="page"),
    path("r/<uuid:round_uuid>/autosave/", views.autosave, name="autosave"),
    path(
        "r/<uuid:round_uuid>/ranking/autosave/", ranking.ranking_autosave, name="ranking_autosave"
    ),
    path("r/<uuid:round_uuid>/review/", views.review, name="review"),
    path("r/<uuid:round_uuid>/done/", views.done, name="done"),
    path("r/<uuid:round_uuid>/suggest/", views.suggest, name="suggest"),
]
