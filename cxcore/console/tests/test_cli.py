"""The operators' command: creating an administrator, seeding synthetic data."""

import pytest
from django.contrib.auth.models import User

from cxcore.cli import build_parser, main
from cxcore.console.roles import roles_sync
from cxcore.customers.models import Customer
from cxcore.interactions.models import Interaction

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def roles():
    roles_sync()


def test_it_creates_an_administrator_from_a_password_file(tmp_path, capsys):
    password = tmp_path / "password"
    password.write_text("a long and unusual passphrase 42\n")
    code = main(["createadmin", "--username", "root-cx", "--password-file", str(password)])
    assert code == 0
    user = User.objects.get(username="root-cx")
    assert user.check_password("a long and unusual passphrase 42")
    assert list(user.groups.values_list("name", flat=True)) == ["admin"]
    assert "Administrator 'root-cx' created." in capsys.readouterr().out


def test_it_refuses_a_weak_password_and_an_existing_name(tmp_path, capsys):
    weak = tmp_path / "weak"
    weak.write_text("password")
    assert main(["createadmin", "--username", "root-cx", "--password-file", str(weak)]) == 2
    assert "Password refused" in capsys.readouterr().err
    assert not User.objects.filter(username="root-cx").exists()
    User.objects.create_user("taken")
    assert main(["createadmin", "--username", "taken", "--password-file", str(weak)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_it_seeds_synthetic_data_of_the_size_asked_and_says_so(capsys):
    assert main(["seed", "--customers", "30", "--interactions", "300", "--seed", "7"]) == 0
    assert Interaction.objects.count() == 300
    assert 25 <= Customer.objects.live().count() <= 30
    assert "300 interactions" in capsys.readouterr().out


def test_it_lists_every_operator_command():
    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"demo", "serve", "worker", "import", "createadmin", "seed"} <= set(commands)
