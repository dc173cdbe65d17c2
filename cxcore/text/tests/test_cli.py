"""`cxcore text analyse` reads a CSV file and writes it back with each text's reading;
`cxcore text train` hands its options to the trainer."""

from __future__ import annotations

import csv
import io
from unittest import mock

import pytest

from cxcore.cli import build_parser, main
from cxcore.text import queries
from cxcore.text.tests.test_services import NEGATIVE_FR, POSITIVE_EN

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_caches():
    queries.caches_clear()
    yield
    queries.caches_clear()


def read(path) -> list[list[str]]:
    text = path.read_text(encoding="utf-8")
    delimiter = ";" if ";" in text.splitlines()[0] else ","
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def test_it_writes_the_file_with_each_texts_reading(tmp_path, capsys):
    source = tmp_path / "reviews.csv"
    source.write_text(
        f'id;avis\n1;"{NEGATIVE_FR}"\n2;{POSITIVE_EN}\n3;=cmd|calc\n', encoding="utf-8-sig"
    )
    assert main(["text", "analyse", str(source), "--column", "avis"]) == 0
    rows = read(tmp_path / "reviews-analysed.csv")
    assert rows[0] == ["id", "avis", "language", "sentiment", "score", "topics"]
    assert rows[1][2:4] == ["fr", "negative"]
    assert rows[2][2:4] == ["en", "positive"]
    assert rows[3][1] == "'=cmd|calc"  # formula-safe
    assert "3 texts analysed" in capsys.readouterr().out


def test_it_names_the_missing_column_and_leaves_no_output(tmp_path, capsys):
    source = tmp_path / "reviews.csv"
    source.write_text(f"id,comment\n1,{POSITIVE_EN}\n", encoding="utf-8")
    output = tmp_path / "out.csv"
    assert main(["text", "analyse", str(source), "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert "no column text" in error
    assert "id, comment" in error
    assert not output.exists()
    assert list(tmp_path.iterdir()) == [source]


def test_it_names_the_bad_row(tmp_path, capsys):
    source = tmp_path / "reviews.csv"
    source.write_text("id,text\n1,fine\n2,one,too many\n", encoding="utf-8")
    assert main(["text", "analyse", str(source)]) == 2
    assert "Line 3 has 3 cells; the header has 2." in capsys.readouterr().err
    assert not (tmp_path / "reviews-analysed.csv").exists()


def test_it_refuses_a_missing_file_and_overwriting_its_input(tmp_path, capsys):
    assert main(["text", "analyse", str(tmp_path / "nowhere.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    source = tmp_path / "reviews.csv"
    source.write_text("text\nfine\n", encoding="utf-8")
    assert main(["text", "analyse", str(source), "--output", str(source)]) == 2
    assert "would overwrite" in capsys.readouterr().err
    assert source.read_text(encoding="utf-8") == "text\nfine\n"


def test_train_hands_its_options_to_the_trainer():
    with mock.patch("cxcore.text.train.main", return_value=0) as trainer:
        assert main(["text", "train"]) == 0
        assert main(["text", "train", "--data", "elsewhere", "--output", "model.json"]) == 0
    first, second = (call.args[0] for call in trainer.call_args_list)
    assert (first.data, first.output) == ("../shared/data/reviews", None)
    assert (second.data, second.output) == ("elsewhere", "model.json")


def test_text_is_an_operator_command():
    commands = build_parser()._subparsers._group_actions[0].choices
    assert "text" in commands
