"""Writes for competency frameworks: domains, statements, scenarios, statement imports."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from competencies.csv_import import Table, parse_statements
from competencies.models import Domain, Framework, Scenario, Statement

DOMAIN_FIELDS = ("code", "name", "name_es", "description", "order")
STATEMENT_FIELDS = (
    "domain",
    "code",
    "text",
    "text_es",
    "plain_text",
    "plain_text_es",
    "provenance",
    "source_note",
    "revision_of",
    "is_active",
    "order",
)
SCENARIO_FIELDS = ("code", "title", "title_es", "vignette", "vignette_es", "risk_level", "order")


def _save(obj, fields: dict, allowed: tuple[str, ...]):
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"cannot set {sorted(unknown)} on {type(obj).__name__}")
    for k, v in fields.items():
        if k == "order" and v is None:
            continue  # left blank on a form: keep the default place at the end
        setattr(obj, k, v.strip() if isinstance(v, str) else v)
    # full_clean also checks the unique constraints, as field errors a form can show.
    obj.full_clean()
    obj.save()
    return obj


def domain_create(*, framework: Framework, **fields) -> Domain:
    if fields.get("order") is None:
        fields["order"] = (framework.domains.aggregate(n=Max("order"))["n"] or 0) + 1
    return _save(Domain(framework=framework), fields, DOMAIN_FIELDS)


def domain_update(*, domain: Domain, **fields) -> Domain:
    return _save(domain, fields, DOMAIN_FIELDS)


def _check_statement(framework_id: int, fields: dict, pk=None) -> None:
    domain = fields.get("domain")
    if domain is not None and domain.framework_id != framework_id:
        raise ValidationError({"domain": "That domain belongs to another framework."})
    rev = fields.get("revision_of")
    if rev is not None and (rev.framework_id != framework_id or rev.pk == pk):
        raise ValidationError({"revision_of": "Choose another statement of this framework."})


def statement_create(*, framework: Framework, **fields) -> Statement:
    _check_statement(framework.pk, fields)
    return _save(Statement(framework=framework), fields, STATEMENT_FIELDS)


def statement_update(*, statement: Statement, **fields) -> Statement:
    _check_statement(statement.framework_id, fields, statement.pk)
    return _save(statement, fields, STATEMENT_FIELDS)


def scenario_create(*, framework: Framework, **fields) -> Scenario:
    if fields.get("order") is None:
        fields["order"] = (framework.scenarios.aggregate(n=Max("order"))["n"] or 0) + 1
    return _save(Scenario(framework=framework), fields, SCENARIO_FIELDS)


def scenario_update(*, scenario: Scenario, **fields) -> Scenario:
    return _save(scenario, fields, SCENARIO_FIELDS)


def statements_import(*, framework: Framework, text: str) -> tuple[Table, list[Statement]]:
    """Import every row or none: a file with any bad row saves nothing."""
    domains = list(framework.domains.all())
    existing = framework.statements.values_list("code", flat=True)
    table = parse_statements(text, domains=domains, existing_codes=existing)
    if not table.ok:
        return table, []
    start = (framework.statements.aggregate(n=Max("order"))["n"] or 0) + 1
    statements = [
        Statement(
            framework=framework,
            domain=row.values["domain_obj"],
            code=row.values["code"],
            text=row.values["text"],
            plain_text=row.values.get("plain_text", ""),
            text_es=row.values.get("text_es", ""),
            plain_text_es=row.values.get("plain_text_es", ""),
            provenance=row.values["provenance"],
            order=start + i,
        )
        for i, row in enumerate(table.rows)
    ]
    try:
        with transaction.atomic():
            Statement.objects.bulk_create(statements)
    except IntegrityError:
        table.problems.append(
            "A code in the file was added to the framework while you were importing. "
            "Nothing was imported; upload the file again to see which."
        )
        return table, []
    return table, statements
