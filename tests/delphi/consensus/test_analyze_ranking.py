"""manage.py analyze RANKINGS.csv --kind ranking --out DIR."""

import csv

import pytest
from django.core.management import CommandError, call_command
from scipy import stats

from delphi.consensus.rankings_csv import parse_rankings

HEADER = "panelist,round,item,rank,group\n"
# Round 1: four panelists rank A B C; round 2: they agree more.
GOOD = HEADER + "".join(
    f"{p},{r},{item},{rank},{g}\n"
    for r, table in (
        (1, {"p1": "123", "p2": "132", "p3": "213", "p4": "321"}),
        (2, {"p1": "123", "p2": "123", "p3": "213", "p4": "123"}),
    )
    for p, ranks in table.items()
    for item, rank in zip("ABC", ranks, strict=True)
    for g in ["clin" if p in ("p1", "p2") else "peer"]
)


def write(tmp_path, text, name="rankings.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(tmp_path, text, *args, out_name="out"):
    out = tmp_path / out_name
    call_command(
        "analyze", str(write(tmp_path, text)), "--kind", "ranking", "--out", str(out), *args
    )
    return out


def read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_writes_both_files_with_the_documented_headers(tmp_path, capsys):
    out = run(tmp_path, GOOD)
    items_header, items = read(out / "ranking_items.csv")
    conc_header, conc = read(out / "ranking_concordance.csv")
    assert items_header == ["round", "item", "group", "n", "mean_rank", "median_rank", "sd_rank"]
    assert conc_header == [
        "round",
        "group",
        "n_panelists",
        "n_items",
        "kendall_w",
        "chi2",
        "df",
        "p",
    ]
    by = {(r["round"], r["item"], r["group"]): r for r in items}
    # Round 1, item A, everyone: ranks 1, 1, 2, 3.
    a = by[("1", "A", "all")]
    assert (a["n"], a["mean_rank"], a["median_rank"]) == ("4", "1.75", "1.5")
    assert float(a["sd_rank"]) == pytest.approx(0.9574271078)
    assert by[("2", "A", "clin")]["mean_rank"] == "1"
    assert len(items) == 2 * 3 * 3  # rounds x items x (all, clin, peer)
    cb = {(r["round"], r["group"]): r for r in conc}
    # Round 2, everyone, against scipy's Friedman test (chi2 = m (n - 1) W).
    fried = stats.friedmanchisquare([1, 1, 2, 1], [2, 2, 1, 2], [3, 3, 3, 3])
    r2 = cb[("2", "all")]
    assert float(r2["chi2"]) == pytest.approx(fried.statistic)
    assert float(r2["p"]) == pytest.approx(fried.pvalue)
    assert float(r2["kendall_w"]) == pytest.approx(fried.statistic / (4 * 2))
    assert (r2["n_panelists"], r2["n_items"], r2["df"]) == ("4", "3", "2")
    printed = capsys.readouterr().out
    assert "Round 2: 3 items, 4 panelists; Kendall's W 0.812 (strong agreement)" in printed
    assert "consensus (kendall_w >= 0.7) reached" in printed


def refused(tmp_path, text, *args):
    with pytest.raises(CommandError) as exc:
        run(tmp_path, text, *args, out_name="refused")
    assert not (tmp_path / "refused").exists()
    return str(exc.value)


def test_duplicate_rank_refused_unless_ties_allowed(tmp_path):
    text = HEADER + "p1,1,A,1,x\np1,1,B,1,x\np1,1,C,3,x\np2,1,A,1,x\np2,1,B,2,x\np2,1,C,3,x\n"
    msg = refused(tmp_path, text)
    assert "line 3, column rank: panelist 'p1' gives rank 1 to both 'A' (line 2) and 'B'" in msg
    assert "nothing was written" in msg
    out = run(tmp_path, text, "--allow-ties")
    _, items = read(out / "ranking_items.csv")
    a = next(r for r in items if r["item"] == "A" and r["group"] == "all")
    assert a["mean_rank"] == "1.25"  # p1's tie is 1.5 (mid-rank), p2 gives 1


def test_rank_outside_the_round_refused(tmp_path):
    text = HEADER + "p1,1,A,1,x\np1,1,B,4,x\np1,1,C,2,x\n"
    msg = refused(tmp_path, text)
    assert "line 3, column rank: 4 is outside 1..3 (the round's 3 items)" in msg


def test_missing_rank_in_a_complete_ranking_refused(tmp_path):
    text = HEADER + "p1,1,A,1,x\np1,1,B,2,x\np1,1,C,3,x\np2,1,A,2,x\np2,1,B,1,x\n"
    msg = refused(tmp_path, text)
    assert "line 5, column rank: panelist 'p2' has no rank for 'C' in round 1" in msg
    assert "--top-k" in msg


def test_not_a_rank_and_bad_header(tmp_path):
    msg = refused(tmp_path, HEADER + "p1,1,A,first,x\n")
    assert "line 2, column rank: 'first' is not a rank" in msg
    msg = refused(tmp_path, "panelist,round,item,rating\np1,1,A,1\n")
    assert "line 1: the header lacks the column(s) rank" in msg


def test_top_k(tmp_path):
    text = "panelist,round,item,rank\n" + (
        "p1,1,A,1\np1,1,B,2\np1,1,C,\np1,1,D,\np2,1,B,1\np2,1,A,2\np2,1,C,\np2,1,D,\n"
    )
    refused_msg = refused(tmp_path, text)
    assert "has no rank for 'C', 'D'" in refused_msg
    out = run(tmp_path, text, "--top-k", "2")
    _, items = read(out / "ranking_items.csv")
    by = {r["item"]: r for r in items}
    assert by["C"]["mean_rank"] == "3.5"  # left out: the mean of places 3 and 4
    msg = refused(tmp_path, text.replace("p2,1,A,2", "p2,1,A,3"), "--top-k", "2")
    assert "line 7, column rank: 3 is outside 1..2 (the top 2)" in msg
    msg = refused(tmp_path, text.replace("p2,1,A,2", "p2,1,A,"), "--top-k", "2")
    assert "panelist 'p2' ranks 1 item(s) in round 1; a top-2 ranking places exactly 2" in msg


def test_same_item_twice_and_group_switch(tmp_path):
    msg = refused(tmp_path, HEADER + "p1,1,A,1,x\np1,1,A,2,x\n")
    assert "line 3: panelist 'p1' ranked item 'A' in round 1 twice (also on line 2)" in msg
    msg = refused(tmp_path, HEADER + "p1,1,A,1,x\np1,1,B,2,y\n")
    assert "line 3, column group: panelist 'p1' is in group 'y' here but in 'x' on line 2" in msg


def test_reader_is_the_one_the_worker_uses():
    frame, errors = parse_rankings(GOOD.encode())
    assert errors == []
    assert set(frame.columns) == {"round", "panelist", "group", "item", "rank"}
    assert len(frame) == 24
