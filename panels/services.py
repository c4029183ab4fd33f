"""Writes for panels: stakeholder groups, panelists with their contact details, CSV imports."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from panels.csv_import import Table, parse_panelists
from panels.models import Contact, Panel, Panelist, StakeholderGroup

GROUP_FIELDS = ("code", "name", "name_es", "target_size", "order")


def _full_clean(obj, exclude=()) -> None:
    # Model.full_clean checks the unique constraints too, as field errors a form can show.
    obj.full_clean(exclude=list(exclude))


def group_create(*, panel: Panel, **fields) -> StakeholderGroup:
    unknown = set(fields) - set(GROUP_FIELDS)
    if unknown:
        raise TypeError(f"group_create does not set {sorted(unknown)}")
    if fields.get("order") is None:
        fields["order"] = panel.groups.count()
    group = StakeholderGroup(panel=panel, **fields)
    _full_clean(group)
    group.save()
    return group


def group_update(*, group: StakeholderGroup, **fields) -> StakeholderGroup:
    unknown = set(fields) - set(GROUP_FIELDS)
    if unknown:
        raise TypeError(f"group_update does not set {sorted(unknown)}")
    for k, v in fields.items():
        if not (k == "order" and v is None):
            setattr(group, k, v)
    _full_clean(group)
    group.save()
    return group


def panelist_create(
    *,
    panel: Panel,
    email: str,
    name: str = "",
    group: StakeholderGroup | None = None,
    organisation: str = "",
    language: str = "en",
) -> Panelist:
    if group is not None and group.panel_id != panel.pk:
        raise ValidationError({"group": "That group belongs to another panel."})
    email = (email or "").strip()
    if Contact.objects.filter(panel=panel, email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already in this panel."})
    try:
        with transaction.atomic():
            panelist = Panelist(panel=panel, group=group, language=language)
            _full_clean(panelist)
            panelist.save()
            contact = Contact(
                panelist=panelist, panel=panel, email=email, name=name, organisation=organisation
            )
            _full_clean(contact)
            contact.save()
    except IntegrityError:
        raise ValidationError({"email": f"{email} is already in this panel."})
    return panelist


def panelist_update(
    *, panelist: Panelist, email: str, name: str, group, organisation: str, language: str
) -> Panelist:
    if group is not None and group.panel_id != panelist.panel_id:
        raise ValidationError({"group": "That group belongs to another panel."})
    email = (email or "").strip()
    clash = Contact.objects.filter(panel_id=panelist.panel_id, email__iexact=email).exclude(
        panelist=panelist
    )
    if clash.exists():
        raise ValidationError({"email": f"{email} is already in this panel."})
    with transaction.atomic():
        panelist.group = group
        panelist.language = language
        _full_clean(panelist)
        panelist.save(update_fields=["group", "language"])
        contact, _ = Contact.objects.get_or_create(
            panelist=panelist, defaults={"panel_id": panelist.panel_id, "email": email}
        )
        contact.email, contact.name, contact.organisation = email, name, organisation
        _full_clean(contact)
        contact.save()
    return panelist


def panelists_import(*, panel: Panel, text: str) -> tuple[Table, list[Panelist]]:
    """Import every row or none: a file with any bad row saves nothing.

    Returns the checked table (with per-row problems) and the created panelists.
    """
    groups = list(panel.groups.all())
    existing = Contact.objects.filter(panel=panel).values_list("email", flat=True)
    table = parse_panelists(text, groups=groups, existing_emails=existing)
    if not table.ok:
        return table, []
    panelists, contacts = [], []
    for row in table.rows:
        v = row.values
        p = Panelist(panel=panel, group=v["group_obj"], language=v["language"])
        panelists.append(p)
        contacts.append(
            Contact(
                panelist=p,
                panel=panel,
                email=v["email"],
                name=v.get("name", ""),
                organisation=v.get("organisation", ""),
            )
        )
    try:
        with transaction.atomic():
            Panelist.objects.bulk_create(panelists)
            Contact.objects.bulk_create(contacts)
    except IntegrityError:
        # Someone added one of these e-mails between the check and the insert.
        table.problems.append(
            "An e-mail in the file was added to the panel while you were importing. "
            "Nothing was imported; upload the file again to see which."
        )
        return table, []
    return table, panelists
