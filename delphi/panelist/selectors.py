"""Reads for the panelist pages. Each page's queries are flat in the number of items."""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F
from django.http import Http404
from django.utils import timezone

from competencies.models import Statement
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
    """What the autosave endpoint needs to know, as plain values."""

    item_id: int
    round_id: int
    round_writable: bool
    study_id: int
    scale_min: int
    scale_max: int
    panelist_id: int
    panelist_active: bool
    language: str
    response_id: int | None
    response_excluded: bool
    # For the audit row the autosave writes in the same statement.
    public_id: str = ""
    item_uuid: str = ""
    statement_code: str = ""
    round_number: int = 0


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def autosave_target(*, invitation_id, panelist_id, round_uuid, item_uuid) -> AutosaveTarget | None:
    """One indexed query: the item, in a round of the study of the panelist whose live link
    the session holds, with the round's state, the study's scale and the panelist's response.
    None when any of it does not hold (another study's round, an item not in the round, a
    revoked or expired link).

    Raw SQL because this is the hot path of the whole site (every tap of every panelist): the
    ORM spent longer compiling this query than the database spent running it. The statement
    is plain SQL that SQLite and PostgreSQL both run; values are parameters.
    """
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    uuid_field = RoundItem._meta.get_field("uuid")
    sql = f"""
        SELECT ri.id, r.id, r.status, (r.closes_at IS NULL OR r.closes_at > %s),
               s.id, s.scale_min, s.scale_max, p.status, p.language, resp.id, resp.excluded,
               p.public_id, st.code, r.number
        FROM {_table(RoundItem)} ri
        JOIN {_table(Statement)} st ON st.id = ri.statement_id
        JOIN {_table(Round)} r ON r.id = ri.round_id
        JOIN {_table(Study)} s ON s.id = r.study_id
        JOIN {_table(Panelist)} p ON p.panel_id = s.panel_id
        JOIN {_table(Invitation)} i ON i.panelist_id = p.id
        LEFT JOIN {_table(Response)} resp ON resp.round_id = r.id AND resp.panelist_id = p.id
        WHERE ri.uuid = %s AND r.uuid = %s AND p.id = %s AND i.id = %s
          AND i.revoked_at IS NULL AND i.expires_at > %s
    """  # noqa: S608 - table names come from model metadata, values are parameters
    params = [
        now,
        uuid_field.get_db_prep_value(item_uuid, connection),
        uuid_field.get_db_prep_value(round_uuid, connection),
        int(panelist_id),
        int(invitation_id),
        now,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    (item_id, round_id, status, before_deadline, study_id, lo, hi, p_status, lang, rid, excl,
     public_id, code, number) = row  # fmt: skip
    return AutosaveTarget(
        item_id=item_id,
        round_id=round_id,
        round_writable=status == Round.Status.OPEN and bool(before_deadline),
        study_id=study_id,
        scale_min=lo,
        scale_max=hi,
        panelist_id=int(panelist_id),
        panelist_active=p_status == Panelist.Status.ACTIVE,
        language=lang,
        response_id=rid,
        response_excluded=bool(excl),
        public_id=public_id,
        item_uuid=str(item_uuid),
        statement_code=code,
        round_number=number,
    )


def session_link_alive(*, invitation_id, panelist_id) -> bool:
    return Invitation.objects.filter(
        pk=invitation_id,
        panelist_id=panelist_id,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exists()
