import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis.data import (
    REQUIRED_COLUMNS,
    load_export,
    prepare_responses,
    read_responses_csv,
)


def test_import_analysis_does_not_import_django():
    code = (
        "import sys, analysis, analysis.report, analysis.pipeline; "
        "print(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_column_is_named(small_responses):
    with pytest.raises(ValueError, match="missing required column.*confidence"):
        prepare_responses(small_responses.drop(columns=["confidence"]))


def test_bad_rating_names_column_and_csv_line(tmp_path, small_responses):
    df = small_responses.copy()
    df["rating"] = df["rating"].astype(object)
    df.loc[6, "rating"] = "7"
    path = tmp_path / "responses.csv"
    df.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"column 'rating'.*CSV line 8 has '7'"):
        prepare_responses(read_responses_csv(path))


def test_non_numeric_rating_and_bad_choice(small_responses):
    df = small_responses.copy()
    df["rating"] = df["rating"].astype(object)
    df.loc[3, "rating"] = "often"
    with pytest.raises(ValueError, match="column 'rating'.*row 3"):
        prepare_responses(df)
    df = small_responses.copy()
    df.loc[5, "choice"] = "middle"
    with pytest.raises(ValueError, match="column 'choice'"):
        prepare_responses(df)


def test_correct_must_agree_with_rating(small_responses):
    df = small_responses.copy()
    i = int(np.flatnonzero(df["rating"].to_numpy() != 3)[0])
    df.loc[i, "correct"] = 1 - df.loc[i, "correct"]
    with pytest.raises(ValueError, match="column 'correct'.*disagrees"):
        prepare_responses(df)


def test_required_columns_are_exactly_the_export_order():
    assert REQUIRED_COLUMNS == tuple(
        "study,condition,params,judge,list,article,item,is_machine,rating,choice,confidence,"
        "correct,position,server_ms,visible_ms,excluded,exclusion_reason".split(",")
    )


def test_attention_rows_may_lack_article_and_keep_their_correct(small_responses):
    df = small_responses.head(3).copy()
    extra = df.iloc[[0]].copy()
    extra[["article", "is_machine", "rating", "correct", "is_attention"]] = ["", np.nan, 5, 0, 1]
    out = prepare_responses(pd.concat([df, extra], ignore_index=True))
    assert out["is_attention"].iloc[-1]
    assert out["correct"].iloc[-1] == 0  # platform's pass/fail, not recomputed


def test_paired_rows_score_choice_against_human_side():
    base = {c: "" for c in REQUIRED_COLUMNS}
    rows = []
    for i, (choice, side) in enumerate([("left", "left"), ("right", "left"), ("right", "right")]):
        rows.append(
            {
                **base,
                "study": "s",
                "condition": "big",
                "judge": "j",
                "article": f"a{i}",
                "item": f"P{i}",
                "choice": choice,
                "confidence": 4,
                "position": i + 1,
                "excluded": 0,
                "protocol": "paired",
                "human_side": side,
            }
        )
    out = prepare_responses(pd.DataFrame(rows))
    assert out["paired"].all()
    assert out["correct"].tolist() == [1.0, 0.0, 1.0]


def test_control_from_name_when_no_is_control_column(small_responses):
    out = prepare_responses(small_responses.drop(columns=["is_control"]))
    assert set(out.loc[out["is_control"], "condition"]) == {"control"}


def test_load_export_folder_and_lone_csv(tmp_path, small_responses):
    small_responses.to_csv(tmp_path / "responses.csv", index=False)
    (tmp_path / "study.json").write_text('{"design_hash": "abc"}')
    export = load_export(tmp_path)
    assert export.study == {"design_hash": "abc"} and export.judges is None
    lone = load_export(tmp_path / "responses.csv")
    assert lone.study is None and len(lone.responses) == len(small_responses)
    with pytest.raises(ValueError, match="no such file or folder"):
        load_export(tmp_path / "nowhere")


def test_bad_flag_and_bad_number_are_named(small_responses):
    df = small_responses.copy()
    df["excluded"] = df["excluded"].astype(object)
    df.loc[4, "excluded"] = "maybe"
    with pytest.raises(ValueError, match="column 'excluded': expected 0/1.*row 4 has 'maybe'"):
        prepare_responses(df)
    df = small_responses.copy()
    df["visible_ms"] = df["visible_ms"].astype(object)
    df.loc[2, "visible_ms"] = "12 s"
    with pytest.raises(ValueError, match="column 'visible_ms': expected a number.*row 2"):
        prepare_responses(df)
    df = small_responses.copy()
    df.loc[0, "article"] = ""
    with pytest.raises(ValueError, match="column 'article': must not be blank"):
        prepare_responses(df)
