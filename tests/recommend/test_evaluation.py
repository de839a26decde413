"""`clickstream eval-recs`: next-item quality of the recommenders against a popularity baseline."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner

from recommend.evaluation import Score, evaluate, read_sessions

RSC15 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "rsc15_100k"


def _cut(source: Path, target: Path, sessions: int, *, newest: bool) -> Path:
    """The first (or last) `sessions` session ids of a session-rec file, as a plain TSV."""
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        header, *rows = handle.read().splitlines()
    ids = sorted({int(row.split("\t")[0]) for row in rows})
    keep = set(ids[-sessions:] if newest else ids[:sessions])
    lines = [header, *(row for row in rows if int(row.split("\t")[0]) in keep)]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def small_split(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("rsc15")
    train = _cut(RSC15 / "yoochoose-clicks-100k_train_tr.txt.gz", folder / "train.tsv", 6000, newest=True)
    test = _cut(RSC15 / "yoochoose-clicks-100k_train_valid.txt.gz", folder / "test.tsv", 400, newest=False)
    return train, test


def test_session_knn_beats_popularity_on_a_cut_of_yoochoose(small_split: tuple[Path, Path]) -> None:
    results = {row["recommender"]: row for row in evaluate(*small_split, progress=False)}
    baseline, sknn = results["popularity"], results["also_viewed"]
    assert baseline["predictions"] == sknn["predictions"] > 100
    assert sknn["hr@20"] > 2 * baseline["hr@20"]
    assert sknn["mrr@20"] > 2 * baseline["mrr@20"]
    assert sknn["hr@20"] > 0.4


def test_cli_prints_one_json_line_per_recommender(
    runner: FlaskCliRunner, small_split: tuple[Path, Path]
) -> None:
    train, test = small_split
    result = runner.invoke(
        args=["eval-recs", "--train", str(train), "--test", str(test), "--format", "session-rec"]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert {line["recommender"] for line in lines} >= {"popularity", "also_viewed", "crowd_favorites"}
    for line in lines:
        assert set(line) == {"recommender", "hr@20", "mrr@20", "predictions"}
        assert 0 <= line["mrr@20"] <= line["hr@20"] <= 1


def test_a_file_without_the_session_rec_header_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\t2\t3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="SessionId"):
        read_sessions(bad)


def test_hit_rank_scores_reciprocal_rank_only_within_the_cutoff() -> None:
    score = Score("x")
    score.add([5, 7, 9], 7)
    score.add(list(range(100, 130)), 125)  # rank 26, past the cutoff
    assert score.as_dict() == {"recommender": "x", "hr@20": 0.5, "mrr@20": 0.25, "predictions": 2}
