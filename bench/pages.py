"""Server time and query count of every researcher, report and panelist page, at the design's
scale and on the demo, beside a bare view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/pages.py \
        [--db delphi_bench_pages] [--keep | --reuse] [--repeats 10] [--only NAME ...]

PostgreSQL only. In a scratch database (``--db``; created and dropped again unless ``--keep``;
``--reuse`` measures a kept one without rebuilding) it builds bench/consensus.py's study
(2,000 panelists in 5 groups x 300 items x 4 rounds, each round analysed, as bench/report.py
does) and the demo study (``manage.py load_demo``), and gives the bench study what its builder
leaves out and the pages show: the demo researcher as a member, an e-mail per panelist and an
open fifth round of the 300 items (carried from round 4) with an invitation for everyone and
1,200 responses part-way. Then, in this process, with the production middleware and DEBUG off
(``bench/autosave_site.py``, whose urlconf adds the bare view ``/bench/ok/``), a signed-in
``django.test.Client`` requests each page of each study: once to warm up, then counting its
queries and timed, ``--repeats`` times (once when the warm-up took over 2 s). A panelist's
client does the same for the questionnaire page (the bench study's page 1 holds all 300
items: one domain) and the review page.

Printed per page: p50 / p95 milliseconds and the query count for the demo and for the bench
study, flagged when a page takes 300 ms or more (the target, issue 11) or when its query
count differs between the two studies (it should not grow with the study).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import consensus as base  # noqa: E402

TARGET_MS = 300
SLOW_MS = 2000
OPEN_RESPONSES = 1200


def settings_env(static_root: str) -> dict:
    """The autosave bench's production-like settings, in this process."""
    return {
        "DJANGO_SETTINGS_MODULE": "bench.autosave_site",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "x" * 40,
        "SECURE_SSL_REDIRECT": "false",
        "BENCH_STATIC_ROOT": static_root,
        "LOG_LEVEL": "WARNING",
    }


# --- what the bench study's builder leaves out ----------------------------------------------------


def bench_extras() -> None:
    """Idempotent: a member, contacts and an open fifth round with invitations and answers."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from delphi.models import Membership, Response, Round, RoundItem, Study
    from panels.models import Contact, Invitation, Panelist
    from panels.tokens import token_unusable_hash

    study = Study.objects.get(title="Bench study")
    researcher = get_user_model().objects.get(username="researcher")
    Membership.objects.get_or_create(
        study=study, user=researcher, defaults={"role": Membership.Role.RESEARCHER}
    )
    panelists = list(Panelist.objects.filter(panel=study.panel).order_by("pk"))
    if not Contact.objects.filter(panel=study.panel).exists():
        Contact.objects.bulk_create(
            Contact(panelist=p, panel=study.panel, email=f"bench{i:05d}@example.org")
            for i, p in enumerate(panelists)
        )
    if Round.objects.filter(study=study, number=5).exists():
        return
    now = timezone.now()
    last = Round.objects.get(study=study, number=4)
    rnd = Round.objects.create(
        study=study,
        number=5,
        status=Round.Status.OPEN,
        opened_at=now - timezone.timedelta(days=3),
        closes_at=now + timezone.timedelta(days=7),
    )
    items = RoundItem.objects.bulk_create(
        RoundItem(round=rnd, statement_id=it.statement_id, order=it.order, carried_from=it)
        for it in last.items.order_by("order")
    )
    Invitation.objects.bulk_create(
        Invitation(
            panelist=p,
            token_hash=token_unusable_hash(),
            status=Invitation.Status.SENT,
            sent_at=now - timezone.timedelta(days=3),
            expires_at=now + timezone.timedelta(days=60),
            send_count=1,
        )
        for p in panelists
    )
    # Half the answering panelists submitted, the rest are drafts with 1-300 items rated.
    rng = np.random.default_rng(base.SEED + 5)
    answering = panelists[:OPEN_RESPONSES]
    responses = Response.objects.bulk_create(
        Response(
            round=rnd,
            panelist=p,
            status=Response.Status.SUBMITTED if i % 2 else Response.Status.DRAFT,
            submitted_at=now if i % 2 else None,
        )
        for i, p in enumerate(answering)
    )
    buffer = io.StringIO()
    for i, r in enumerate(responses):
        rated = len(items) if i % 2 else int(rng.integers(1, len(items) + 1))
        for it, value in zip(items[:rated], rng.integers(1, 10, size=rated), strict=True):
            buffer.write(f"{r.pk}\t{it.pk}\t{value}\tf\t\t\t2026-12-01 00:00:00+00\n")
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY delphi_rating (response_id, item_id, value, unable, comment, change_reason, "
            "updated_at) FROM STDIN"
        ) as copy,
    ):
        copy.write(buffer.getvalue())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def panelist_link(study, round) -> str:
    """A fresh link for a panelist of ``study`` who can answer ``round`` (not submitted)."""
    from django.utils import timezone

    from delphi.models import Response
    from panels.models import Invitation, Panelist
    from panels.tokens import token_mint

    submitted = Response.objects.filter(round=round, status=Response.Status.SUBMITTED)
    panelist = (
        Panelist.objects.filter(panel=study.panel, status=Panelist.Status.ACTIVE)
        .exclude(pk__in=submitted.values("panelist_id"))
        .order_by("pk")
        .first()
    )
    now = timezone.now()
    Panelist.objects.filter(pk=panelist.pk).update(
        consented_at=panelist.consented_at or now,
        consent_version=max(panelist.consent_version or 0, study.consent_version or 0),
        profile_confirmed_at=panelist.profile_confirmed_at or now,
    )
    raw, hashed = token_mint()
    Invitation.objects.create(
        panelist=panelist,
        token_hash=hashed,
        status=Invitation.Status.SENT,
        sent_at=now,
        expires_at=now + timezone.timedelta(days=1),
    )
    return raw


# --- the pages ------------------------------------------------------------------------------------


def researcher_pages(study) -> list[tuple[str, str]]:
    """(name, URL) for every page a researcher reads, for ``study``."""
    from django.urls import reverse

    from delphi.models import Round
    from delphi.reports.figures import FIGURES
    from delphi.reports.parts import PARTS

    s = {"study": study.uuid}
    rounds = list(Round.objects.filter(study=study).order_by("number"))
    analysed = [r for r in rounds if r.status == Round.Status.ANALYSED][-1]
    current = next((r for r in rounds if r.status == Round.Status.OPEN), rounds[-1])
    statement = analysed.items.select_related("statement").order_by("order")[0].statement
    panelist = study.panel.panelists.order_by("pk")[0]
    group = study.panel.groups.order_by("order", "pk")[0]
    domain = statement.domain

    def rd(name, rnd, suffix=""):
        return reverse(name, kwargs={**s, "round": rnd.uuid}) + suffix

    pages = [
        ("dashboard", reverse("dashboard")),
        ("study overview", reverse("study_detail", kwargs=s)),
        ("study edit", reverse("study_edit", kwargs=s)),
        ("protocol", reverse("study_protocol", kwargs=s)),
        ("members", reverse("study_members", kwargs=s)),
        ("participation", reverse("study_participation", kwargs=s)),
        ("final list", reverse("study_final", kwargs=s)),
        ("audit log", reverse("audit_log", kwargs=s)),
        ("audit log CSV", reverse("audit_log_csv", kwargs=s)),
        ("panel", reverse("panel_detail", kwargs=s)),
        ("panel search", reverse("panel_detail", kwargs=s) + "?q=bench01"),
        ("panel import", reverse("panel_import", kwargs=s)),
        ("group edit", reverse("group_edit", kwargs={**s, "code": group.code})),
        ("panelist edit", reverse("panelist_edit", kwargs={**s, "panelist": panelist.uuid})),
        ("framework", reverse("framework_detail", kwargs=s)),
        ("domain edit", reverse("domain_edit", kwargs={**s, "code": domain.code})),
        ("statement edit", reverse("statement_edit", kwargs={**s, "statement": statement.uuid})),
        (
            "statement sources",
            reverse("statement_sources", kwargs={**s, "statement": statement.uuid}),
        ),
        ("coding", reverse("coding_queue", kwargs=s)),
        ("round (analysed)", rd("round_detail", analysed)),
        ("round items", rd("round_items", analysed)),
        ("round questions", rd("round_prompts", analysed)),
        ("suggestions", rd("round_suggestions", analysed)),
        ("results", rd("round_results", analysed)),
        ("results CSV", rd("round_results_csv", analysed)),
        ("round next (confirm)", rd("round_next", analysed)),
        ("round (open)", rd("round_detail", current)),
        ("round close (confirm)", rd("round_close", current)),
        ("invitations", rd("round_invitations", current)),
        ("communications", rd("round_communications", current)),
        ("account security", reverse("account_security")),
    ]
    for part, _title in PARTS:
        pages.append((f"report: {part}", reverse("study_report_part", kwargs={**s, "part": part})))
    pages.append(("report downloads", reverse("study_report_downloads", kwargs=s)))
    pages.append(("report comments CSV", reverse("study_report_comments_csv", kwargs=s)))
    for name in FIGURES:
        pages.append(
            (f"report figure {name}", reverse("study_report_figure", kwargs={**s, "name": name}))
        )
    return pages


def measure(client, url: str, repeats: int) -> dict:
    """One warm-up request, then ``repeats`` timed ones (one when the warm-up took over
    SLOW_MS), each counting its queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get():
        t0 = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(url)
            if hasattr(r, "streaming_content"):
                b"".join(r.streaming_content)
        return r, 1000 * (time.perf_counter() - t0), len(ctx.captured_queries)

    _, warm_ms, _ = get()  # caches, lazily built forms, the first template load
    times = []
    for _ in range(1 if warm_ms > SLOW_MS else repeats):
        r, ms, queries = get()
        times.append(ms)
    times.sort()
    return {
        "status": r.status_code,
        "queries": queries,
        "p50": statistics.median(times),
        "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "n": len(times),
    }


def run(repeats: int, only: list[str]) -> int:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment

    from delphi.demo.services import demo_study_get
    from delphi.models import Round, Study

    setup_test_environment()  # lets the test client in (ALLOWED_HOSTS) with DEBUG off
    studies = {"demo": demo_study_get(), "bench": Study.objects.get(title="Bench study")}
    client = Client()
    client.force_login(get_user_model().objects.get(username="researcher"))

    rows: dict[str, dict] = {}
    bare = measure(client, "/bench/ok/", max(repeats, 20))
    for key, study in studies.items():
        pages = researcher_pages(study)
        rnd = Round.objects.filter(study=study, status=Round.Status.OPEN).order_by("number")[0]
        panelist_client = Client()
        r = panelist_client.get(f"/p/t/{panelist_link(study, rnd)}/")
        assert r.status_code == 302, r.status_code
        for name, url in pages:
            if only and not any(o in name for o in only):
                continue
            rows.setdefault(name, {})[key] = measure(client, url, repeats)
            print(f"  {key:5} {name:28} {rows[name][key]['p50']:8.0f} ms", flush=True)
        for name, url in (
            ("panelist: questionnaire p.1", f"/p/r/{rnd.uuid}/page/1/"),
            ("panelist: review", f"/p/r/{rnd.uuid}/review/"),
        ):
            if only and not any(o in name for o in only):
                continue
            rows.setdefault(name, {})[key] = measure(panelist_client, url, repeats)
            print(f"  {key:5} {name:28} {rows[name][key]['p50']:8.0f} ms", flush=True)

    print()
    print(
        f"bare view /bench/ok/ (signed in): p50 {bare['p50']:.1f} ms, p95 {bare['p95']:.1f} ms, "
        f"{bare['queries']} queries"
    )
    print("load average: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    head = f"{'page':30} {'demo p50':>9} {'p95':>7} {'q':>4} {'bench p50':>10} {'p95':>7} {'q':>4}"
    print(head + "  status")
    print("-" * (len(head) + 8))
    missed = 0
    for name, by in rows.items():
        d, b = by.get("demo"), by.get("bench")
        cells = []
        for m in (d, b):
            if m is None:
                cells.append(f"{'-':>9} {'-':>7} {'-':>4}")
            else:
                cells.append(f"{m['p50']:9.0f} {m['p95']:7.0f} {m['queries']:4d}")
        notes = []
        for key, m in (("demo", d), ("bench", b)):
            if m and m["status"] != 200:
                notes.append(f"{key} answered {m['status']}")
            if m and m["p95"] >= TARGET_MS:
                notes.append(f"{key} >= {TARGET_MS} ms")
        if d and b and d["queries"] != b["queries"]:
            notes.append("queries differ")
        missed += bool(notes)
        print(f"{name:30} {cells[0]}  {cells[1]:>22}  {'; '.join(notes) or 'ok'}")
    print(
        f"\n{len(rows) - missed} of {len(rows)} pages within {TARGET_MS} ms (p95) with equal "
        "query counts."
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="delphi_bench_pages", help="scratch database name")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database again")
    parser.add_argument("--only", nargs="*", default=[], help="pages whose name contains one")
    args = parser.parse_args()
    url = base._refuse_unless_postgres()
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("The bench runs on loopback only: DATABASE_URL must point at 127.0.0.1.")
    args.repeats = max(1, min(args.repeats, 50))
    args.keep = args.keep or args.reuse
    bench_url = base._server_url(url, args.db)
    static_root = tempfile.mkdtemp(prefix="delphi-bench-static-")
    os.environ.update(settings_env(static_root))
    if not args.reuse:
        with base._admin_connect(url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{args.db}"')
    try:
        base._setup_django(bench_url)
        from django.core.management import call_command
        from django.db import transaction

        if not args.reuse:
            print(f"building the bench study in {args.db} (a few minutes) ...", flush=True)
            print(f"  built and analysed in {base.build_analysed(bench_url):.1f} s", flush=True)
        call_command("migrate", verbosity=0)
        call_command("load_demo", verbosity=0)
        with transaction.atomic():  # all or nothing: a kept database is never half-prepared
            bench_extras()
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT, env={**os.environ, "DATABASE_URL": bench_url}, check=True,
        )  # fmt: skip
        return run(args.repeats, args.only)
    finally:
        shutil.rmtree(static_root, ignore_errors=True)
        if not args.keep:
            from django.db import connections

            connections.close_all()
            with base._admin_connect(url) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
