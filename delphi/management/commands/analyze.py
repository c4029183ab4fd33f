"""python manage.py analyze RATINGS.csv --out DIR: consensus statistics for data gathered elsewhere.

`--kind ranking` reads panelist,round,item,rank instead and writes ranking_items.csv and
ranking_concordance.csv. The same statistics code as the worker (delphi.consensus.stats); no
database is touched.
"""

from django.core.management.base import BaseCommand, CommandError

from delphi.consensus.definitions import DEFAULT_THRESHOLD, SCOPES, describe_definition
from delphi.consensus.definitions import validate_definition as validate
from delphi.consensus.rankings_csv import (
    analyze_ranking_rounds,
    parse_rankings,
    write_ranking_results,
)
from delphi.consensus.ratings_csv import analyze_rounds, parse_ratings, write_results
from delphi.consensus.stats import Scale


def parse_definition(text: str, scope: str) -> dict:
    """'comet' | 'ram' | 'iqr' | 'percent' | 'percent:75' -> a definition dict."""
    name, _, threshold = text.strip().lower().partition(":")
    definition = {"preset": name, "scope": scope}
    if name == "percent":
        try:
            t = float(threshold) if threshold else DEFAULT_THRESHOLD
        except ValueError:
            raise CommandError(f"--definition {text}: {threshold!r} is not a percentage.")
        definition["threshold"] = int(t) if t == int(t) else t
    elif threshold:
        raise CommandError(f"--definition {text}: only 'percent' takes a threshold.")
    return definition


class Command(BaseCommand):
    help = (
        "Compute Delphi consensus statistics from RATINGS.csv (columns panelist,round,item,rating "
        "and optionally group) and write items.csv, stability.csv, concordance.csv and "
        "decisions.csv to DIR. With --kind ranking: columns panelist,round,item,rank (optionally "
        "group); writes ranking_items.csv and ranking_concordance.csv."
    )

    def add_arguments(self, parser):
        parser.add_argument("ratings", help="RATINGS.csv")
        parser.add_argument("--out", required=True, help="output directory")
        parser.add_argument(
            "--kind",
            default="rating",
            choices=["rating", "ranking"],
            help="rating (default) or ranking",
        )
        parser.add_argument(
            "--top-k",
            type=int,
            default=None,
            metavar="K",
            help="ranking: each panelist ranks only their top K items (default: all)",
        )
        parser.add_argument(
            "--allow-ties", action="store_true", help="ranking: accept two items with one rank"
        )
        parser.add_argument(
            "--consensus-w",
            type=float,
            default=0.7,
            metavar="W",
            help="ranking: consensus when the panel's Kendall's W >= W (default 0.7, Schmidt 1997)",
        )
        parser.add_argument("--scale", default="1-9", help="rating scale MIN-MAX (default 1-9)")
        parser.add_argument(
            "--bands",
            default=None,
            help="one to five bands from the bottom up, e.g. 1-3,4-6,7-9 (default: the "
            "scale's conventional bands; pct_low is the first, pct_high the last)",
        )
        parser.add_argument(
            "--definition",
            default="comet",
            help="comet | ram | iqr | percent | percent:T (default comet)",
        )
        parser.add_argument("--scope", default="all", choices=sorted(SCOPES))
        parser.add_argument(
            "--quantile-type",
            type=int,
            default=7,
            choices=range(1, 10),
            metavar="1..9",
            help="Hyndman-Fan quantile type (default 7: R, Excel PERCENTILE.INC, numpy)",
        )

    def handle(self, *args, **options):
        if options["kind"] == "ranking":
            return self.handle_ranking(options)
        try:
            scale = Scale.parse(options["scale"])
        except ValueError as exc:
            raise CommandError(f"--scale: {exc}")
        if options.get("bands"):
            try:
                scale = Scale.parse(options["scale"], _bands(options["bands"]))
            except ValueError as exc:
                raise CommandError(f"--bands: {exc}")
        definition = parse_definition(options["definition"], options["scope"])
        problems = validate(definition, scale)
        if problems:
            raise CommandError("--definition: " + " ".join(problems))
        frame, errors = parse_ratings(options["ratings"], scale=scale)
        if errors:
            raise CommandError(
                f"{options['ratings']} was refused; nothing was written.\n  " + "\n  ".join(errors)
            )
        try:
            results = analyze_rounds(
                frame, scale=scale, definition=definition, quantile_type=options["quantile_type"]
            )
        except ValueError as exc:
            raise CommandError(f"{options['ratings']} was refused; nothing was written. {exc}")
        paths = write_results(results, options["out"])
        self.stdout.write(describe_definition(definition, scale))
        for rnd, result in results:
            counts = result.decisions["verdict"].value_counts()
            self.stdout.write(
                f"Round {rnd}: {len(result.decisions)} items, "
                f"{result.items.loc[result.items['group_key'] == 'all', 'n'].sum()} ratings; "
                f"in {counts.get('in', 0)}, out {counts.get('out', 0)}, "
                f"no consensus {counts.get('none', 0)}"
            )
        self.stdout.write(self.style.SUCCESS("Wrote " + ", ".join(str(p) for p in paths)))

    def handle_ranking(self, options):
        top_k = options["top_k"]
        if top_k is not None and top_k < 1:
            raise CommandError("--top-k: K must be a whole number from 1.")
        threshold = options["consensus_w"]
        if not 0 < threshold <= 1:
            raise CommandError("--consensus-w: W must be above 0 and at most 1.")
        frame, errors = parse_rankings(
            options["ratings"], top_k=top_k, allow_ties=options["allow_ties"]
        )
        if errors:
            raise CommandError(
                f"{options['ratings']} was refused; nothing was written.\n  " + "\n  ".join(errors)
            )
        results = analyze_ranking_rounds(frame, threshold=threshold)
        paths = write_ranking_results(results, options["out"])
        for rnd, result in results:
            c = result.consensus
            w = "undefined" if c["kendall_w"] != c["kendall_w"] else f"{c['kendall_w']:.3f}"
            self.stdout.write(
                f"Round {rnd}: {len(result.item_order)} items, "
                f"{int(result.concordance.iloc[0]['n_panelists'])} panelists; Kendall's W {w}"
                + (f" ({c['agreement']})" if c["agreement"] else "")
                + f"; consensus ({c['rule']}) {'reached' if c['reached'] else 'not reached'}"
            )
        self.stdout.write(self.style.SUCCESS("Wrote " + ", ".join(str(p) for p in paths)))


def _bands(text: str) -> list[tuple[int, int]]:
    """'1-3,4-6,7-9' -> [(1, 3), (4, 6), (7, 9)]; a single value is a one-point band."""
    bands = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        lo, sep, hi = part.partition("-")
        try:
            bands.append((int(lo), int(hi if sep else lo)))
        except ValueError:
            raise ValueError(f"{part!r} is not a band; write bands like 1-3,4-6,7-9.")
    return bands
