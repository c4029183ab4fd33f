import pytest
from django.db import IntegrityError, transaction

from delphi.models import Rating, Response, Round
from tests import factories as f


def test_one_rating_per_response_and_item(study, panelist):
    statement = f.make_statement(study)
    rnd = f.make_round(study, statements=[statement])
    item = rnd.items.get()
    response = Response.objects.create(round=rnd, panelist=panelist)
    Rating.objects.create(response=response, item=item, value=7)
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(response=response, item=item, value=8)


def test_rating_cannot_be_both_a_value_and_unable(study, panelist):
    rnd = f.make_round(study, statements=[f.make_statement(study)])
    response = Response.objects.create(round=rnd, panelist=panelist)
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(response=response, item=rnd.items.get(), value=5, unable=True)


def test_one_response_per_panelist_and_round(study, panelist):
    rnd = f.make_round(study)
    Response.objects.create(round=rnd, panelist=panelist)
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.create(round=rnd, panelist=panelist)


def test_round_numbers_are_unique_within_a_study(study):
    f.make_round(study, number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        f.make_round(study, number=1)


def test_open_round_needs_an_opening_time(study):
    with pytest.raises(IntegrityError), transaction.atomic():
        Round.objects.create(study=study, number=1, status=Round.Status.OPEN)


def test_scale_must_be_ordered(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        f.make_study(scale_min=9, scale_max=1)
