"""The framework-free helpers: environment parsing, identity normalisation, safe CSV."""

import pytest

from cxcore.lib.csvsafe import csv_text, safe_cell
from cxcore.lib.env import EnvError, env_bool, env_int, env_list, env_str, parse_database_url
from cxcore.lib.identity import IdentityError, normalise_email, normalise_phone


def test_it_reads_typed_values_and_rejects_bad_ones(monkeypatch):
    monkeypatch.setenv("CX_FLAG", "yes")
    monkeypatch.setenv("CX_NUMBER", "12")
    monkeypatch.setenv("CX_LIST", "a, b,,c")
    assert env_bool("CX_FLAG") is True
    assert env_int("CX_NUMBER", 0, minimum=1) == 12
    assert env_list("CX_LIST") == ["a", "b", "c"]
    monkeypatch.setenv("CX_FLAG", "maybe")
    with pytest.raises(EnvError, match="CX_FLAG='maybe' is not a boolean"):
        env_bool("CX_FLAG")
    monkeypatch.setenv("CX_NUMBER", "0")
    with pytest.raises(EnvError, match="below the minimum"):
        env_int("CX_NUMBER", 5, minimum=1)


def test_it_reads_secrets_from_files(monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("CX_SECRET", "from-env")
    monkeypatch.setenv("CX_SECRET_FILE", str(secret))
    assert env_str("CX_SECRET") == "s3cret"
    monkeypatch.setenv("CX_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(EnvError, match="cannot be read"):
        env_str("CX_SECRET")


def test_it_parses_database_urls(tmp_path):
    sqlite = parse_database_url("sqlite:///var/x.db", base_dir=tmp_path)
    assert sqlite["ENGINE"] == "django.db.backends.sqlite3"
    assert sqlite["NAME"] == str(tmp_path / "var/x.db")
    assert "journal_mode=WAL" in sqlite["OPTIONS"]["init_command"]
    absolute = parse_database_url("sqlite:////srv/cx.db", base_dir=tmp_path)
    assert absolute["NAME"] == "/srv/cx.db"
    pg = parse_database_url("postgres://cx:p%40ss@db:5433/cxcore?conn_max_age=0", base_dir=tmp_path)
    assert (pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]) == (
        "cx",
        "p@ss",
        "db",
        "5433",
        "cxcore",
    )
    assert pg["CONN_MAX_AGE"] == 0
    with pytest.raises(EnvError, match="not supported"):
        parse_database_url("mysql://x/y", base_dir=tmp_path)


def test_it_normalises_emails_and_phones():
    assert normalise_email("  Jean.Dupont@Example.FR ") == "jean.dupont@example.fr"
    assert normalise_phone("06 12 34 56 78") == "+33612345678"
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"
    for bad in ("jean@", "@example.org", "a b@example.org", "x@localhost"):
        with pytest.raises(IdentityError) as caught:
            normalise_email(bad)
        assert caught.value.code == "invalid_email"
    with pytest.raises(IdentityError) as caught:
        normalise_phone("12")
    assert caught.value.code == "invalid_phone"


def test_it_defuses_spreadsheet_formulas_in_cells_and_headers():
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("+33 6 12") == "'+33 6 12"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("\t=1") == "'\t=1"
    assert safe_cell(-3) == "-3"
    assert safe_cell("Dupont") == "Dupont"
    assert csv_text([["=cmd", "ok"]]).splitlines()[0] == "'=cmd,ok"
