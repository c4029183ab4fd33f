"""The tidy-data ZIP: typed CSVs with a Frictionless codebook, reproducible by `analyze`."""

import io
import json
import zipfile

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from delphi.models import ItemDecision, Rating
from delphi.reports.data import report_data
from delphi.reports.sensitivity import item_verdicts, measures_for
from delphi.reports.tidy import neutralise, tidy_files, tidy_zip
from tests import factories as f
from tests.delphi.reports.conftest import FORMULA_COMMENT, SPACED_FORMULA

PANDAS_TYPES = {"integer": "Int64", "number": "float64", "boolean": "boolean", "string": "string"}


def read_typed(files: dict, name: str) -> pd.DataFrame:
    """Read one CSV of the ZIP with exactly the types its datapackage.json declares."""
    package = json.loads(files["datapackage.json"])
    resource = next(r for r in package["resources"] if r["path"] == name)
    fields = resource["schema"]["fields"]
    dtypes = {f["name"]: PANDAS_TYPES[f["type"]] for f in fields if f["type"] != "datetime"}
    dates = [f["name"] for f in fields if f["type"] == "datetime"]
    frame = pd.read_csv(
        io.BytesIO(files[name]), dtype=dtypes, keep_default_na=False,
        na_values={c: [""] for c, t in dtypes.items() if t != "string"}, parse_dates=dates,
    )  # fmt: skip
    assert list(frame.columns) == [f["name"] for f in fields]
    for c in dates if len(frame) else ():
        assert str(frame[c].dtype).startswith("datetime64"), c
    return frame


@pytest.fixture
def files(report_world):
    return tidy_files(report_data(study=report_world.study))


def test_every_file_reads_with_its_declared_types(report_world, files):
    package = json.loads(files["datapackage.json"])
    names = {r["path"] for r in package["resources"]}
    expected = {
        "ratings.csv", "panelists.csv", "items.csv", "stability.csv", "concordance.csv",
        "decisions.csv", "ledger.csv", "flow.csv", "comments.csv",
    }  # fmt: skip
    assert expected <= names
    for name in names:
        read_typed(files, name)
    ratings = read_typed(files, "ratings.csv")
    assert len(ratings) == Rating.objects.filter(response__round__study=report_world.study).count()
    assert ratings["rating"].dtype == "Int64" and ratings["unable"].dtype == "boolean"
    assert ratings["unable"].sum() == ratings["rating"].isna().sum() > 0
    assert set(ratings["round"]) == {1, 2}
    items = read_typed(files, "items.csv")
    assert {"domain", "statement_code", "median", "pct_high"} <= set(items.columns)
    assert set(items["domain"]) == {"CD", "RS"}
    assert read_typed(files, "stability.csv")["round"].eq(2).all()
    decisions = read_typed(files, "decisions.csv")
    assert len(decisions) == ItemDecision.objects.filter(round__study=report_world.study).count()


def test_no_name_or_email_anywhere(report_world, files):
    panelists = read_typed(files, "panelists.csv")
    assert not {"name", "email", "organisation"} & set(panelists.columns)
    assert set(panelists["public_id"]) == {p.public_id for p in report_world.panelists}
    blob = b"".join(files.values())
    for p in report_world.panelists:
        assert p.contact.email.encode() not in blob


def test_frictionless_validates_the_package(report_world, tmp_path):
    from frictionless import validate

    with zipfile.ZipFile(io.BytesIO(tidy_zip(report_data(study=report_world.study)))) as zf:
        zf.extractall(tmp_path)
    report = validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]


def test_analyze_on_ratings_csv_reproduces_items_csv(report_world, files, tmp_path):
    (tmp_path / "ratings.csv").write_bytes(files["ratings.csv"])
    study = report_world.study
    call_command(
        "analyze", str(tmp_path / "ratings.csv"), "--out", str(tmp_path / "out"),
        "--scale", f"{study.scale_min}-{study.scale_max}",
        "--definition", study.consensus_definition["preset"],
        "--scope", study.consensus_definition["scope"],
        "--quantile-type", str(study.quantile_method), stdout=io.StringIO(),
    )  # fmt: skip
    ours = read_typed(files, "items.csv")
    theirs = pd.read_csv(tmp_path / "out" / "items.csv", keep_default_na=False, na_values=[""])
    key = ["round", "item", "group"]
    ours = ours.sort_values(key).reset_index(drop=True)
    theirs = theirs.sort_values(key).reset_index(drop=True)
    assert len(ours) == len(theirs) > 0
    for column in theirs.columns:
        a, b = ours[column], theirs[column]
        if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
            pd.testing.assert_series_equal(
                a.astype(float), b.astype(float), check_names=False, rtol=1e-9
            )
        else:
            assert (
                a.astype(str).str.lower().replace("<na>", "").tolist()
                == b.astype(str).str.lower().replace("nan", "").tolist()
            ), column
    decisions = read_typed(files, "decisions.csv").sort_values(["round", "item"])
    analyzed = pd.read_csv(tmp_path / "out" / "decisions.csv").sort_values(["round", "item"])
    assert decisions["verdict"].tolist() == analyzed["verdict"].tolist()


def test_formula_looking_text_is_neutralised(report_world, files):
    comments = read_typed(files, "comments.csv")
    texts = set(comments["text"])
    assert "'" + FORMULA_COMMENT in texts
    assert "'" + SPACED_FORMULA in texts
    assert FORMULA_COMMENT not in texts
    assert "Depends on the setting." in texts
    assert neutralise("-1") == "'-1" and neutralise("\tx") == "'\tx" and neutralise("a=b") == "a=b"
    raw = files["ratings.csv"].decode()
    assert "\n=" not in raw and ",=" not in raw


def test_comments_and_change_reasons_can_be_left_out(report_world):
    files = tidy_files(report_data(study=report_world.study, include_comments=False))
    assert len(read_typed(files, "comments.csv")) == 0
    ratings = read_typed(files, "ratings.csv")
    assert ratings["comment"].fillna("").eq("").all()
    assert ratings["change_reason"].fillna("").eq("").all()


def test_comments_hold_change_reasons_and_suggestions_their_fate(report_world, files):
    comments = read_typed(files, "comments.csv")
    assert set(comments["kind"]) == {"comment", "change_reason"}
    assert (comments.loc[comments["kind"] == "change_reason", "round"] == 2).all()
    suggestions = read_typed(files, "suggestions.csv")
    assert suggestions["text"].tolist() == ["Knows the local crisis lines."]
    assert suggestions["status"].tolist() == ["new"]


def test_a_reworded_item_stays_one_ledger_line_with_its_history(report_world, files):
    ledger = read_typed(files, "ledger.csv")
    old = report_world.reworded.revision_of.code
    line = ledger[ledger["codes"].str.contains(old)]
    assert len(line) == 1
    line = line.iloc[0]
    assert line["codes"] == f"{old} > {report_world.reworded.code}"
    assert line["statement_code"] == report_world.reworded.code
    assert "Panelists found it too long." in line["history"]
    assert pd.notna(line["r1_median"]) and pd.notna(line["r2_median"])
    dropped = ledger[ledger["statement_code"] == report_world.dropped.code].iloc[0]
    assert dropped["fate"] == "dropped"
    assert dropped["fate_reason"] == "Overlaps with another item."
    assert set(ledger["fate"]) >= {"consensus in", "consensus out", "dropped"}
    assert len(ledger) == 6


def test_sensitivity_reproduces_the_persisted_verdicts(report_world):
    data = report_data(study=report_world.study)
    sens = data.sensitivity
    chosen = sens[sens["is_chosen"]]
    assert len(chosen) == 2  # one per analysed round
    for rnd in (1, 2):
        decisions = data.decisions[data.decisions["round"] == rnd]
        row = chosen[chosen["round"] == rnd].iloc[0]
        assert row["agreement_pct"] == 100.0
        assert row["n_in"] == (decisions["verdict"] == "in").sum()
        for preset in ("comet", "ram", "iqr", "percent"):
            alt = sens[
                (sens["round"] == rnd) & (sens["preset"] == preset) & (sens["scope"] == "all")
            ]
            expected = set(decisions.loc[decisions[f"verdict_{preset}"] == "in", "item"])
            assert set(alt.iloc[0]["items_in"].split()) == expected, preset
    sweep = sens[(sens["kind"] == "sweep") & (sens["round"] == 1)]
    assert sweep["threshold"].tolist() == [60, 65, 70, 75, 80, 85, 90]
    assert sweep["n_in"].is_monotonic_decreasing


def test_balanced_and_every_group_scopes_match_the_engine(report_world):
    """Run the engine under each scope and compare with the verdicts applied to stored rows."""
    from delphi.consensus import selectors
    from delphi.consensus.services import _scale, round_protocol
    from delphi.consensus.stats import compute_round
    from delphi.models import ItemResult

    rnd = report_world.r1
    protocol = round_protocol(round=rnd)
    scale = _scale(protocol)
    keys = selectors.round_item_keys(round=rnd)
    rows = pd.DataFrame(
        list(ItemResult.objects.filter(round=rnd).values(
            "item_id", "group_key", "n", "median", "iqr", "disagreement_ipras", "histogram"
        ))
    )  # fmt: skip
    rows["item"] = rows["item_id"].map(keys)
    rows["hist"] = [[h.get(str(v), 0) for v in range(1, 10)] for h in rows["histogram"]]
    rows["is_group"] = ~rows["group_key"].isin(["all", "balanced"])
    measures = measures_for(rows, scale)
    frame = selectors.round_ratings_frame(round=rnd, keys=keys)
    for scope in ("all", "every_group", "balanced"):
        definition = {"preset": "percent", "scope": scope, "threshold": 60}
        engine = compute_round(frame, None, scale=scale, definition=definition).decisions
        ours = item_verdicts(rows, measures, definition, scale)
        assert (
            ours.sort_index().to_dict()
            == engine.set_index("item")["verdict"].sort_index().to_dict()
        )


def test_a_study_with_no_analysed_round_gives_empty_tables_not_an_error(study):
    statement = f.make_statement(study)
    f.make_round(study, statements=[statement])
    data = report_data(study=study)
    assert not data.analysed
    files = tidy_files(data)
    for name in ("ratings.csv", "items.csv", "decisions.csv", "sensitivity.csv"):
        assert len(read_typed(files, name)) == 0
    # The initial list is there; nothing has a verdict.
    ledger = read_typed(files, "ledger.csv")
    assert ledger["statement_code"].tolist() == [statement.code]
    assert ledger["fate"].tolist() == ["not analysed yet"]


def test_cli_lists_studies_and_writes_the_zip(report_world, tmp_path):
    out = io.StringIO()
    call_command("report", "--list", stdout=out)
    assert f"{report_world.study.uuid}\t{report_world.study.title}" in out.getvalue()
    call_command(
        "report",
        str(report_world.study.uuid),
        "--out",
        str(tmp_path),
        "--only",
        "zip",
        stdout=io.StringIO(),
    )
    with zipfile.ZipFile(tmp_path / "data.zip") as zf:
        assert "ratings.csv" in zf.namelist() and "datapackage.json" in zf.namelist()


def test_cli_refuses_a_bad_study(db):
    with pytest.raises(CommandError, match="not a UUID"):
        call_command("report", "nope", "--out", "/tmp/x")
    with pytest.raises(CommandError, match="No study"):
        call_command("report", "0de70000-c8c2-4a5e-9d11-00000000ffff", "--out", "/tmp/x")
