"""manage.py analyze RATINGS.csv --out DIR, and the RATINGS.csv reader behind it."""

import csv
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from scipy import stats

from delphi.consensus.ratings_csv import (
    CONCORDANCE_HEADER,
    DECISIONS_HEADER,
    ITEMS_HEADER,
    STABILITY_HEADER,
    parse_ratings,
)
from delphi.consensus.stats import Scale

DATA = Path(__file__).parent / "data"
RATINGS = DATA / "ratings_two_rounds.csv"
NINE = Scale.parse("1-9")


def run(tmp_path, *args, source=RATINGS, **options):
    out = tmp_path / "out"
    call_command("analyze", str(source), "--out", str(out), *args, **options)
    return out


def read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def first_line(path):
    return path.read_text(encoding="utf-8").splitlines()[0]


def test_headers_are_exactly_as_documented(tmp_path):
    out = run(tmp_path)
    assert first_line(out / "items.csv") == (
        "round,item,group,n,n_unable,median,q1,q3,iqr,mean,sd,pct_low,pct_mid,pct_high,p30,p70,"
        "ipr,iprcp,ai,ipras,dai,disagreement_ipras,disagreement_classic,ram_class,rwg,ad_median,"
        "verdict"
    )
    assert first_line(out / "stability.csv") == (
        "round,item,group,n_paired,wilcoxon_stat,wilcoxon_p,pct_change,stable"
    )
    assert first_line(out / "concordance.csv") == (
        "round,group,n_panelists,n_items,kendall_w,chi2,df,p,alpha_ordinal,alpha_interval"
    )
    assert first_line(out / "decisions.csv") == (
        "round,item,verdict,carried_forward,verdict_comet,verdict_ram,verdict_iqr,verdict_percent"
    )
    assert read(out / "items.csv")[0] == ITEMS_HEADER
    assert read(out / "stability.csv")[0] == STABILITY_HEADER
    assert read(out / "concordance.csv")[0] == CONCORDANCE_HEADER
    assert read(out / "decisions.csv")[0] == DECISIONS_HEADER


def test_values_by_hand(tmp_path):
    out = run(tmp_path)
    _, items = read(out / "items.csv")
    by = {(r["round"], r["item"], r["group"]): r for r in items}
    # Round 1, C01, everyone: 6 7 8 8 9 9.
    c01 = by[("1", "C01", "all")]
    assert (c01["n"], c01["n_unable"], c01["median"], c01["pct_high"]) == (
        "6",
        "0",
        "8",
        "83.33333333",
    )
    assert c01["mean"] == "7.833333333" and c01["pct_low"] == "0"
    assert c01["disagreement_ipras"] == "false" and c01["disagreement_classic"] == ""
    assert c01["ram_class"] == "appropriate" and c01["verdict"] == "in"
    # Round 1, C02: "NA" is unable to rate; C03: a blank rating is unable to rate.
    assert by[("1", "C02", "all")]["n_unable"] == "1" and by[("1", "C02", "all")]["n"] == "5"
    c03 = by[("1", "C03", "all")]
    assert (c03["n"], c03["n_unable"], c03["pct_low"], c03["verdict"]) == ("5", "1", "80", "out")
    # Family C03: p5 left it blank, so two ratings.
    assert by[("1", "C03", "family")]["n"] == "2"
    bal = by[("1", "C01", "balanced")]
    assert bal["median"] == "" and bal["pct_high"] == "83.33333333"
    groups = [r["group"] for r in items if r["round"] == "1" and r["item"] == "C01"]
    assert groups == ["clinician", "family", "all", "balanced"]
    _, decisions = read(out / "decisions.csv")
    d = {(r["round"], r["item"]): r for r in decisions}
    assert d[("1", "C01")]["verdict"] == "in" and d[("1", "C01")]["carried_forward"] == "false"
    assert d[("1", "C02")]["verdict"] == "none" and d[("1", "C02")]["carried_forward"] == "true"
    assert d[("1", "C03")]["verdict"] == "out"


def test_stability_only_after_the_first_round(tmp_path):
    out = run(tmp_path)
    _, rows = read(out / "stability.csv")
    assert {r["round"] for r in rows} == {"2"}
    s = {(r["item"], r["group"]): r for r in rows}
    # C01: differences 0 +1 0 0 +1 0 -> two non-zero, tied.
    ref = stats.wilcoxon(
        [0, 1, 0, 0, 1, 0], zero_method="wilcox", correction=False, method="approx"
    )
    assert s[("C01", "all")]["n_paired"] == "6"
    assert float(s[("C01", "all")]["wilcoxon_p"]) == pytest.approx(ref.pvalue, rel=1e-9)
    # C03: p5 was unable in round 1 and round 2: 5 pairs.
    assert s[("C03", "all")]["n_paired"] == "5"
    assert s[("C01", "all")]["stable"] in ("true", "false")


def test_concordance_per_group_and_round(tmp_path):
    out = run(tmp_path)
    _, rows = read(out / "concordance.csv")
    assert [(r["round"], r["group"]) for r in rows] == [
        ("1", "clinician"), ("1", "family"), ("1", "all"),
        ("2", "clinician"), ("2", "family"), ("2", "all"),
    ]  # fmt: skip
    r2_all = rows[-1]
    assert r2_all["n_panelists"] == "5" and r2_all["n_items"] == "3" and r2_all["df"] == "2"
    assert 0 <= float(r2_all["kendall_w"]) <= 1 and r2_all["alpha_ordinal"] != ""


def test_without_group_column_everyone_is_one_group(tmp_path):
    src = tmp_path / "nogroup.csv"
    src.write_text("panelist,round,item,rating\na,1,X,7\nb,1,X,8\nc,1,X,9\n")
    out = run(tmp_path, source=src)
    _, items = read(out / "items.csv")
    assert [r["group"] for r in items] == ["all", "balanced"]
    _, conc = read(out / "concordance.csv")
    assert [r["group"] for r in conc] == ["all"]


def test_definition_scale_and_scope_options(tmp_path):
    out = run(tmp_path, "--definition", "percent:80", "--scope", "every_group")
    _, decisions = read(out / "decisions.csv")
    d = {(r["round"], r["item"]): r for r in decisions}
    # Round 1 C01: clinicians 3/3 high, family 2/3 = 66.7 % < 80 %.
    assert d[("1", "C01")]["verdict"] == "none" and d[("1", "C01")]["verdict_percent"] == "none"
    assert d[("1", "C01")]["verdict_comet"] == "none"  # family 66.7 % < 70 %
    src = tmp_path / "five.csv"
    src.write_text("panelist,round,item,rating\na,1,X,5\nb,1,X,4\nc,1,X,4\nd,1,X,1\n")
    out = run(tmp_path, "--scale", "1-5", source=src)
    _, items = read(out / "items.csv")
    assert items[0]["pct_high"] == "75" and items[0]["ipr"] == "" and items[0]["ram_class"] == ""
    with pytest.raises(CommandError, match="needs a 1-9 scale"):
        run(tmp_path, "--scale", "1-5", "--definition", "ram", source=src)
    with pytest.raises(CommandError, match="above 50"):
        run(tmp_path, "--definition", "percent:40")
    with pytest.raises(CommandError, match="Unknown preset 'delphi'"):
        run(tmp_path, "--definition", "delphi")
    with pytest.raises(CommandError, match="not a scale"):
        run(tmp_path, "--scale", "nine")


H = "panelist,round,item,rating\n"
HG = "panelist,round,item,rating,group\n"
MALFORMED = [
    ("panelist,round,rating\na,1,7\n", ["line 1", "lacks the column(s) item"]),
    (H + "a,1,X,7\nb,1,X,10\n", ["line 3", "column rating", "10 is outside the scale 1-9"]),
    (H + "a,1,X,seven\n", ["line 2", "column rating", "'seven' is not a number"]),
    (H + "a,1,X,7.5\n", ["line 2", "column rating", "outside the scale"]),
    (H + "a,1,X,7\nb,1,X,8\na,1,X,9\n", ["line 4", "rated item 'X' in round 1 twice", "line 2"]),
    (H + "a,one,X,7\n", ["line 2", "column round", "'one'"]),
    (H + ",1,X,7\n", ["line 2", "column panelist", "empty"]),
    (H + "a,1,X\n", ["line 2", "3 fields", "header has 4"]),
    (HG + "a,1,X,7,fam\na,1,Y,7,clin\n", ["line 3", "column group", "'fam' on line 2"]),
    (HG + "a,1,X,7,all\n", ["line 2", "reserved"]),
    (H, ["no ratings"]),
    ("", ["empty"]),
]


@pytest.mark.parametrize("content, fragments", MALFORMED)
def test_malformed_file_refused_with_line_column_reason_and_nothing_written(
    tmp_path, content, fragments
):
    src = tmp_path / "bad.csv"
    src.write_text(content)
    with pytest.raises(CommandError) as exc:
        run(tmp_path, source=src)
    message = str(exc.value)
    assert "nothing was written" in message
    for fragment in fragments:
        assert fragment in message, message
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.csv"]  # no temporary directory left


def test_refused_file_leaves_earlier_results_untouched(tmp_path):
    out = run(tmp_path)
    before = (out / "items.csv").read_bytes()
    src = tmp_path / "bad.csv"
    src.write_text("panelist,round,item,rating\na,1,X,99\n")
    with pytest.raises(CommandError):
        run(tmp_path, source=src)
    assert (out / "items.csv").read_bytes() == before


def test_rerun_replaces_results(tmp_path):
    out = run(tmp_path)
    src = tmp_path / "one.csv"
    src.write_text("panelist,round,item,rating\na,1,X,7\n")
    run(tmp_path, source=src)
    _, items = read(out / "items.csv")
    assert {r["item"] for r in items} == {"X"}
    assert sorted(p.name for p in out.iterdir()) == [
        "concordance.csv", "decisions.csv", "items.csv", "stability.csv",
    ]  # fmt: skip


def test_many_errors_are_all_reported(tmp_path):
    lines = ["panelist,round,item,rating"] + [f"p{i},1,X,{10 + i}" for i in range(60)]
    frame, errors = parse_ratings("\n".join(lines).encode(), scale=NINE)
    assert len(errors) == 51 and errors[-1] == "... and 10 more problem(s)."
    assert errors[0].startswith("line 2, column rating:")


def test_parse_for_web_import_returns_frame(tmp_path):
    frame, errors = parse_ratings(RATINGS, scale=NINE)
    assert errors == []
    assert list(frame.columns) == ["round", "panelist", "group", "item", "value"]
    assert len(frame) == 36 and frame["value"].isna().sum() == 3
    text = "\ufeffPanelist , Round,Item,Rating\nq,2,Z,unable\n".encode()
    frame, errors = parse_ratings(text, scale=NINE)
    assert errors == [] and frame["value"].isna().all() and frame["group"].tolist() == ["all"]


def test_formula_like_text_is_not_executed_by_spreadsheets(tmp_path):
    src = tmp_path / "f.csv"
    src.write_text('panelist,round,item,rating\na,1,"=HYPERLINK(""x"")",7\n')
    out = run(tmp_path, source=src)
    _, items = read(out / "items.csv")
    assert items[0]["item"] == '\'=HYPERLINK("x")'


def test_bands_option_sets_the_bottom_and_top_bands(tmp_path):
    src = tmp_path / "five.csv"
    src.write_text("panelist,round,item,rating\na,1,X,5\nb,1,X,4\nc,1,X,3\nd,1,X,1\n")
    out = run(tmp_path, "--scale", "1-5", "--bands", "1-2,3-5", source=src)
    _, items = read(out / "items.csv")
    assert (items[0]["pct_low"], items[0]["pct_mid"], items[0]["pct_high"]) == ("25", "0", "75")
    with pytest.raises(CommandError, match="--bands: Bands 1 and 2 are out of order or overlap"):
        run(tmp_path, "--scale", "1-5", "--bands", "1-3,3-5", source=src)
    with pytest.raises(CommandError, match="single band"):
        run(tmp_path, "--scale", "1-5", "--bands", "1-5", source=src)
