"""Every study-scoped researcher URL: outsiders get 404, analysts read but get 403 on writes."""

import re

import pytest
from django.urls import reverse

from delphi import urls_researcher
from tests.delphi.researcher_world import build_world, url_kwargs

# Pages an analyst may read. Every other study-scoped URL is a write (an edit page or an action).
READ_PAGES = {
    "study_detail",
    "study_protocol",
    "study_members",
    "panel_detail",
    "framework_detail",
    "round_detail",
    "round_items",
    "round_prompts",
    "round_suggestions",
    "study_participation",
    "study_final",
    "coding_queue",
    "coding_export",
    "statement_sources",
    "audit_log",
    "audit_log_csv",
    "study_archive",  # without contact details; ?contacts=1 is researchers only
}

POST_ONLY = {
    "round_open",
    "study_member_remove",
    "coding_withdraw",
    "round_start_rating",
}

STUDY_URLS = [p.name for p in urls_researcher.urlpatterns if "<uuid:study>" in str(p.pattern)]


def _url(name, world):
    pattern = next(p for p in urls_researcher.urlpatterns if p.name == name)
    params = re.findall(r"<(?:\w+:)?(\w+)>", str(pattern.pattern))
    kwargs = url_kwargs(world)
    if name.startswith("domain_"):
        kwargs["code"] = world.domain.code
    return reverse(name, kwargs={k: kwargs[k] for k in params})


def test_every_study_url_is_classified():
    # A new URL must be added to READ_PAGES or be a write; this keeps the walk honest.
    assert len(STUDY_URLS) >= 25
    assert set(STUDY_URLS) >= READ_PAGES


@pytest.mark.parametrize("name", STUDY_URLS)
def test_outsider_gets_404_on_every_study_url(name, study, outsider_client):
    world = build_world(study)
    url = _url(name, world)
    assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(url, {"x": "1"}).status_code == 404


@pytest.mark.parametrize("name", STUDY_URLS)
def test_analyst_is_refused_every_write(name, study, analyst_client):
    world = build_world(study)
    url = _url(name, world)
    assert analyst_client.post(url, {"reason": "try"}).status_code == 403
    # Edit pages and POST-only actions alike: access is checked before the method.
    expected_get = 200 if name in READ_PAGES else 403
    assert analyst_client.get(url).status_code == expected_get


@pytest.mark.parametrize("name", STUDY_URLS)
def test_researcher_can_get_every_page(name, study, researcher_client):
    world = build_world(study)
    url = _url(name, world)
    expected = 405 if name in POST_ONLY else 200
    assert researcher_client.get(url).status_code == expected


def test_anonymous_is_sent_to_sign_in(client, study):
    response = client.get(reverse("study_detail", kwargs={"study": study.uuid}))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_unknown_study_is_404(researcher_client):
    import uuid

    url = reverse("study_detail", kwargs={"study": uuid.uuid4()})
    assert researcher_client.get(url).status_code == 404
