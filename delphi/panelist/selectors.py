"""Reads for the panelist pages. Each page's queries are flat in the number of items."""

from dataclasses import dataclass, field

from django.db.models import Exists, F, OuterRef, Subquery
from django.http import Http404
from django.utils import timezone

from delphi.models import PromptAnswer, Rating, Response, Round, RoundItem, RoundPrompt, Study
from panels.models import Invitation, Panelist


def text_in(obj, name: str, lang: str) -> str:
    """The Spanish wording when the panelist reads Spanish and one exists, else the original."""
    if lang == "es":
        translated = getattr(obj, f"{name}_es", "")
        if translated:
            return translated
    return getattr(obj, name)


def round_is_writable(rnd: Round, *, now=None) -> bool:
    if rnd.status != Round.Status.OPEN:
        return False
    return rnd.closes_at is None or (now or timezone.now()) < rnd.closes_at


def panelist_rounds(*, panelist: Panelist):
    """Rounds the panelist can see: open ones, and closed ones (read-only), newest first."""
    return Round.objects.filter(study_id=panelist.study.pk).exclude(status=Round.Status.DRAFT)


def panelist_current_round(*, panelist: Panelist) -> Round | None:
    rounds = list(panelist_rounds(panelist=panelist).order_by("-number")[:5])
    for rnd in rounds:
        if rnd.status == Round.Status.OPEN:
            return rnd
    return rounds[0] if rounds else None


def panelist_round(*, panelist: Panelist, round_uuid) -> Round:
    """A round of the panelist's own study, or 404: a round of another study does not exist."""
    rnd = panelist_rounds(panelist=panelist).filter(uuid=round_uuid).first()
    if rnd is None:
        raise Http404
    return rnd


def panelist_response(*, panelist: Panelist, round: Round) -> Response | None:
    return Response.objects.filter(round=round, panelist=panelist).first()


@dataclass
class ItemView:
    item: RoundItem
    text: str
    plain_text: str
    scenario_title: str = ""
    vignette: str = ""
    rating: Rating | None = None
    feedback: object = None
    # Values re-shown after a refused form post, so nothing typed is lost.
    posted: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    plain: bool = False

    @property
    def shown(self) -> str:
        """The wording on screen: the plain-language one when asked for and there is one."""
        return self.plain_text if self.plain and self.plain_text else self.text

    @property
    def value_token(self) -> str:
        if "value" in self.posted:
            return self.posted["value"]
        if self.rating is None:
            return ""
        if self.rating.unable:
            return "unable"
        return "" if self.rating.value is None else str(self.rating.value)

    @property
    def comment(self) -> str:
        if "comment" in self.posted:
            return self.posted["comment"]
        return self.rating.comment if self.rating else ""

    @property
    def change_reason(self) -> str:
        if "change_reason" in self.posted:
            return self.posted["change_reason"]
        return self.rating.change_reason if self.rating else ""

    @property
    def answered(self) -> bool:
        return self.rating is not None and (self.rating.unable or self.rating.value is not None)


@dataclass
class Page:
    number: int
    title: str
    description: str
    items: list[ItemView]


def round_items(*, round: Round) -> list[RoundItem]:
    # Domain order, then scenario, then the researcher's order: one domain a page, and a
    # scenario's items together under its vignette.
    return list(
        RoundItem.objects.filter(round=round)
        .select_related("statement__domain", "scenario")
        .order_by(
            "statement__domain__order",
            "statement__domain__code",
            # NULLs sort first on SQLite and last on PostgreSQL unless told.
            F("scenario__order").asc(nulls_first=True),
            F("scenario__code").asc(nulls_first=True),
            "order",
            "id",
        )
    )


def ratings_by_item(*, response: Response | None) -> dict[int, Rating]:
    if response is None:
        return {}
    return {r.item_id: r for r in Rating.objects.filter(response=response)}


def rating_pages(*, items: list[RoundItem], ratings: dict[int, Rating], lang: str) -> list[Page]:
    pages: list[Page] = []
    for item in items:
        domain = item.statement.domain
        if not pages or pages[-1].items[0].item.statement.domain_id != domain.pk:
            pages.append(
                Page(
                    number=len(pages) + 1,
                    title=text_in(domain, "name", lang),
                    description=domain.description,
                    items=[],
                )
            )
        view = ItemView(
            item=item,
            text=text_in(item.statement, "text", lang),
            plain_text=text_in(item.statement, "plain_text", lang),
            rating=ratings.get(item.pk),
        )
        if item.scenario_id:
            view.scenario_title = text_in(item.scenario, "title", lang)
            view.vignette = text_in(item.scenario, "vignette", lang)
        pages[-1].items.append(view)
    return pages


def progress(pages: list[Page]) -> tuple[int, int]:
    views = [v for page in pages for v in page.items]
    return sum(1 for v in views if v.answered), len(views)


@dataclass
class PromptView:
    prompt: RoundPrompt
    text: str
    answer: str
    scenario_title: str = ""
    vignette: str = ""


def prompt_pages(*, round: Round, response: Response | None, lang: str) -> list[Page]:
    """Generation rounds: one page per scenario (prompts without a scenario come first)."""
    prompts = list(
        RoundPrompt.objects.filter(round=round)
        .select_related("scenario")
        .order_by(
            F("scenario__order").asc(nulls_first=True),
            F("scenario__code").asc(nulls_first=True),
            "order",
            "id",
        )
    )
    answers = {}
    if response is not None:
        answers = dict(
            PromptAnswer.objects.filter(response=response).values_list("prompt_id", "text")
        )
    pages: list[Page] = []
    for prompt in prompts:
        if not pages or pages[-1].items[0].prompt.scenario_id != prompt.scenario_id:
            title = text_in(prompt.scenario, "title", lang) if prompt.scenario_id else ""
            pages.append(Page(number=len(pages) + 1, title=title, description="", items=[]))
        view = PromptView(
            prompt=prompt, text=text_in(prompt, "text", lang), answer=answers.get(prompt.pk, "")
        )
        if prompt.scenario_id:
            view.scenario_title = text_in(prompt.scenario, "title", lang)
            view.vignette = text_in(prompt.scenario, "vignette", lang)
        pages[-1].items.append(view)
    return pages


def panelist_suggestions(*, response: Response | None):
    if response is None:
        return []
    return list(response.suggestions.order_by("created_at"))


def unanswered(pages: list[Page]) -> list[tuple[Page, ItemView]]:
    return [(page, v) for page in pages for v in page.items if not v.answered]


@dataclass
class AutosaveTarget:
    panelist: Panelist
    study: Study
    round: Round
    item: RoundItem
    response: Response | None


def autosave_target(*, invitation_id, panelist_id, round_uuid, item_uuid) -> AutosaveTarget | None:
    """One indexed query: the item, in a round of the study of the panelist whose live link
    the session holds, with the round's state, the study's scale and the panelist's response.
    None when any of it does not hold (another study's round, an item not in the round, a
    revoked or expired link). Plain values, no model loading: this is the autosave hot path."""
    link = Invitation.objects.filter(
        pk=invitation_id,
        panelist_id=panelist_id,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    panelist = Panelist.objects.filter(pk=panelist_id)
    mine = Response.objects.filter(round_id=OuterRef("round_id"), panelist_id=panelist_id)
    row = (
        RoundItem.objects.filter(
            uuid=item_uuid,
            round__uuid=round_uuid,
            round__study__panel_id=Subquery(panelist.values("panel_id")[:1]),
        )
        .filter(Exists(link))
        .annotate(
            panelist_status=Subquery(panelist.values("status")[:1]),
            panelist_language=Subquery(panelist.values("language")[:1]),
            response_id=Subquery(mine.values("pk")[:1]),
            response_excluded=Subquery(mine.values("excluded")[:1]),
        )
        .order_by()
        .values(
            "pk",
            "round_id",
            "round__status",
            "round__closes_at",
            "round__study_id",
            "round__study__scale_min",
            "round__study__scale_max",
            "panelist_status",
            "panelist_language",
            "response_id",
            "response_excluded",
        )[:1]
    )
    rows = list(row)
    if not rows:
        return None
    r = rows[0]
    study = Study(
        pk=r["round__study_id"],
        scale_min=r["round__study__scale_min"],
        scale_max=r["round__study__scale_max"],
    )
    rnd = Round(
        pk=r["round_id"], study=study, status=r["round__status"], closes_at=r["round__closes_at"]
    )
    target_panelist = Panelist(
        pk=panelist_id, status=r["panelist_status"], language=r["panelist_language"]
    )
    response = None
    if r["response_id"] is not None:
        response = Response(
            pk=r["response_id"], round_id=rnd.pk, panelist_id=panelist_id,
            excluded=r["response_excluded"],
        )  # fmt: skip
    return AutosaveTarget(
        panelist=target_panelist,
        study=study,
        round=rnd,
        item=RoundItem(pk=r["pk"], round_id=rnd.pk),
        response=response,
    )


def session_link_alive(*, invitation_id, panelist_id) -> bool:
    return Invitation.objects.filter(
        pk=invitation_id,
        panelist_id=panelist_id,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exists()
