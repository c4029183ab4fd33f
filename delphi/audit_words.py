"""An audit row as a sentence for people: "Round 2 opened by rita".

Every verb that ``audit_record`` (and the autosave's own SQL) writes has a sentence here; a
verb missing from the table still reads as words ("Something new happened"), never a code.
The study overview's recent activity and the audit log both use ``event_sentence``.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

# verb -> sentence with {placeholders} from the row's detail (and {object}, the row's object
# label). When a placeholder is missing, the text after " (" / " for " etc. is not guessed:
# the second form, without placeholders, is used.
SENTENCES: dict[str, tuple[str, str]] = {
    "study_create": ("Study created", "Study created"),
    "study_update": ("Study details edited", "Study details edited"),
    "study_reporting_update": ("Reporting details edited", "Reporting details edited"),
    "study_finish": ("Study finished", "Study finished"),
    "study_archive_download": ("Study archive downloaded", "Study archive downloaded"),
    "study_import": ("Study imported from an archive", "Study imported from an archive"),
    "member_add": ("{username} added to the team as {role}", "Team member added"),
    "member_remove": ("{username} removed from the team", "Team member removed"),
    "panel_import": ("{panelists} panelists imported", "Panelists imported"),
    "panelist_update": ("Panelist {object} edited", "Panelist edited"),
    "framework_import": ("{statements} statements imported", "Framework imported"),
    "statement_update": ("Statement {object} edited", "Statement edited"),
    "scenario_update": ("Scenario {object} edited", "Scenario edited"),
    "round_create": ("Round {round} created", "Round created"),
    "round_update": ("Round {round} settings changed", "Round settings changed"),
    "round_set_items": ("Round {round} items chosen", "Round items chosen"),
    "round_open": ("Round {round} opened", "Round opened"),
    "round_close": ("Round {round} closed", "Round closed"),
    "round_create_next": ("Round {round} drafted from round {from_round}", "Next round drafted"),
    "round.deadline_change": ("Round {round} deadline changed", "Round deadline changed"),
    "round.deadline_extended": ("Round {round} deadline extended", "Round deadline extended"),
    "round.reminder_plan": ("Round {round} reminder plan changed", "Reminder plan changed"),
    "reminders.queue": ("Round {round} reminders queued", "Reminders queued"),
    "reminders.send_now": ("Round {round} reminders sent now", "Reminders sent now"),
    "invitations.send": ("Round {round} invitations sent to {count}", "Invitations sent"),
    "invitation.resend": ("Round {round} invitation re-sent", "Invitation re-sent"),
    "invitation.revoke": ("Invitation revoked", "Invitation revoked"),
    "invitation.issue_by_hand": ("Link issued by hand", "Link issued by hand"),
    "panelist.consent": ("Consent given", "Consent given"),
    "panelist.profile_update": ("Profile of {object} changed", "Profile changed"),
    "panelist.withdraw": ("Panelist withdrew", "Panelist withdrew"),
    "panelist.unsubscribe": ("Unsubscribed from e-mail", "Unsubscribed from e-mail"),
    "rating.autosave": ("Round {round} rating saved", "Rating saved"),
    "rating.page_save": ("Round {round} ratings saved", "Ratings saved"),
    "rating.import": ("Round {round} ratings imported", "Ratings imported"),
    "ratings_import": ("Round {round} ratings imported from a file", "Ratings imported"),
    "response.submit": ("Round {round} answers submitted", "Answers submitted"),
    "consensus_run_start": ("Round {round} consensus run started", "Consensus run started"),
    "consensus_run_done": ("Round {round} consensus run finished", "Consensus run finished"),
    "suggestion_adopt": ("Suggestion adopted as {code}", "Suggestion adopted"),
    "suggestion_merge": ("Suggestion merged into {code}", "Suggestion merged"),
    "suggestion_decline": ("Suggestion declined", "Suggestion declined"),
    "item_reword": ("Item {old} reworded as {new}", "Item reworded"),
    "item_drop": ("Item {code} dropped", "Item dropped"),
    "coding_link": ("{sources} answer(s) coded as support for {code}", "Answers coded"),
    "coding_new_statement": ("New statement {code} from {sources} answer(s)", "Answers coded"),
    "coding_unusable": ("{sources} answer(s) marked not usable", "Answers marked not usable"),
    "coding_withdraw": ("Coding withdrawn ({code})", "Coding withdrawn"),
    "report_export_request": ("Report export requested", "Report export requested"),
    "admin.add": ("{object} added in the site admin", "Added in the site admin"),
    "admin.change": ("{object} changed in the site admin", "Changed in the site admin"),
    "admin.delete": ("{object} deleted in the site admin", "Deleted in the site admin"),
}
# communication.<kind>: one sentence per kind of message (Communication.Kind).
COMMUNICATIONS = {
    "invitation": "invitations",
    "resend": "re-sent links",
    "reminder": "reminders",
    "custom": "messages",
    "deadline": "deadline notices",
    "thankyou": "thank-you messages",
}
BY_SOURCE = {"system": "the system", "import": "an import", "admin": "the site administrator"}


class _Strict(dict):
    def __missing__(self, key):
        raise KeyError(key)


def humanise(verb: str) -> str:
    """The fallback for a verb with no sentence: "round.deadline_change" -> "Round deadline
    change"."""
    text = verb.replace(".", " ").replace("_", " ").strip()
    return (text[:1].upper() + text[1:]) if text else _("Change recorded")


def what(verb: str, detail: dict | None, object_label: str = "") -> str:
    detail = detail or {}
    values = _Strict({k: v for k, v in detail.items() if v not in (None, "")})
    if object_label:
        values["object"] = object_label
    if verb.startswith("communication."):
        kind = verb.split(".", 1)[1]
        noun = COMMUNICATIONS.get(kind, kind.replace("_", " ") + " messages")
        text = f"{detail.get('count') or 'Some'} {noun} queued"
        return text + (f" for round {detail['round']}" if detail.get("round") else "")
    if verb not in SENTENCES:
        return humanise(verb)
    full, short = SENTENCES[verb]
    try:
        return _(full).format_map(values)
    except (KeyError, IndexError, ValueError):
        return _(short)


def who(*, source: str, actor_label: str) -> str:
    if source in BY_SOURCE:
        return _(BY_SOURCE[source])
    if source == "panelist":
        return _("panelist {id}").format(id=actor_label) if actor_label else _("a panelist")
    return actor_label or _("a researcher")


def event_sentence(event) -> str:
    """``AuditEvent`` -> "Round 2 opened by rita"."""
    return _("{what} by {who}").format(
        what=what(event.verb, event.detail, event.object_label),
        who=who(source=event.source, actor_label=event.actor_label),
    )
