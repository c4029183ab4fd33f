"""Import a full-size RATINGS.csv (2,000 panelists x 300 items = 600,000 ratings) into a round.

Prints the import and re-import times and peak memory. Runs against a throwaway test database
on whatever DATABASE_URL names (SQLite by default), created and dropped by this script:

    .venv/bin/python bench/ratings_import.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/ratings_import.py
"""

import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "delphi.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

GROUPS = ("law", "clinical", "dispatch")


def main() -> None:
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from delphi.services import ratings_import as ri
        from tests import factories as f

        researcher = f.make_user("bench-researcher")
        study = f.make_study(researcher=researcher, groups=GROUPS)
        domain = f.make_domain(study, code="CD")
        codes = [f"S{i:03d}" for i in range(300)]
        rnd = f.make_round(
            study, statements=[f.make_statement(study, domain=domain, code=c) for c in codes]
        )
        rng = random.Random(1)
        lines = ["panelist,round,item,rating,group"]
        for p in range(2000):
            lines += [f"R{p:05d},1,{c},{rng.randint(1, 9)},{GROUPS[p % 3]}" for c in codes]
        data = ("\n".join(lines) + "\n").encode()
        del lines
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = time.perf_counter()
        first = ri.ratings_import(round=rnd, source=data, filename="big.csv", by=researcher)
        t_first = time.perf_counter() - t
        t = time.perf_counter()
        again = ri.ratings_import(round=rnd, source=data, filename="big.csv", by=researcher)
        t_again = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert first["ratings_written"] == 600_000, first
        assert again["ratings_written"] == 0, again
        print(
            f"{connection.vendor}: {len(data) / 1e6:.1f} MB, {first['rows']:,} ratings\n"
            f"  import     {t_first:6.1f} s  ({first['rows'] / t_first:,.0f} ratings/s)\n"
            f"  re-import  {t_again:6.1f} s  (nothing written)\n"
            f"  peak RSS   {peak:6.0f} MB  ({base:.0f} MB before the import)"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
