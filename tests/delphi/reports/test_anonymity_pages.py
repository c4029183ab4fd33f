"""Analysts' pages never show panelists' names or e-mail addresses (issue 9, section 4)."""

from django.urls import reverse

from panels.models import Contact
from tests import factories as f


def test_the_panel_page_shows_contacts_to_researchers_only(
    study, researcher_client, client, analyst
):
    p = f.make_panelist(study, email="maria.lopez@example.org")
    Contact.objects.filter(panelist=p).update(name="María López", organisation="County EMS")
    url = reverse("panel_detail", kwargs={"study": study.uuid})
    page = researcher_client.get(url).content.decode()
    assert "maria.lopez@example.org" in page and "María López" in page
    client.force_login(analyst)
    page = client.get(url).content.decode()
    assert p.public_id in page
    for secret in ("maria.lopez@example.org", "María López", "County EMS", "Name and e-mail"):
        assert secret not in page


def test_the_invitations_page_hides_e_mail_from_analysts(study, client, analyst):
    p = f.make_panelist(study, email="joe.bloggs@example.org")
    rnd = f.make_round(study, statements=[f.make_statement(study)])
    client.force_login(analyst)
    url = reverse("round_invitations", kwargs={"study": study.uuid, "round": rnd.uuid})
    page = client.get(url).content.decode()
    assert p.public_id in page
    assert "joe.bloggs@example.org" not in page
