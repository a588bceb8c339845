"""login, logout, whoami and where the token is kept (0600), against a fake API on loopback."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from admin_cli.config import mask_token
from tests.admin_cli.conftest import ME, TOKEN, Cli
from tests.admin_cli.fake_api import FakeApi


def test_login_checks_the_token_and_stores_it_readable_by_the_user_only(
    fake: FakeApi, private_config: Path
) -> None:
    result = Cli()("login", "--url", fake.url + "/", "--token", TOKEN)
    assert result.exit_code == 0, result.output
    path = private_config / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(private_config.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {"url": fake.url, "token": TOKEN}
    [seen] = fake.requests("GET", "/me")
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in result.output
    assert "psv_A1b2…" in result.output
    assert "Ana Arequipa" in result.output


def test_a_token_the_server_refuses_is_not_stored(fake: FakeApi, private_config: Path) -> None:
    fake.on("GET", "/me", (401, {"error": "unauthorized", "message": "unknown or expired token"}))
    result = Cli()("login", "--url", fake.url, "--token", "psv_wrong")
    assert result.exit_code == 3
    assert "unknown or expired token" in result.stderr
    assert not (private_config / "config.json").exists()


def test_login_asks_for_the_token_without_echo(fake: FakeApi, private_config: Path) -> None:
    result = Cli()("login", "--url", fake.url, input=TOKEN + "\n")
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    assert json.loads((private_config / "config.json").read_text())["token"] == TOKEN


def test_login_takes_the_token_from_the_environment(fake: FakeApi, private_config: Path) -> None:
    result = Cli()("login", "--url", fake.url, PSV_ADMIN_TOKEN=TOKEN)
    assert result.exit_code == 0, result.output
    assert json.loads((private_config / "config.json").read_text())["token"] == TOKEN


def test_login_refuses_a_url_without_scheme(private_config: Path) -> None:
    result = Cli()("login", "--url", "psv.example.pe", "--token", TOKEN)
    assert result.exit_code == 2
    assert "http://" in result.stderr
    assert not private_config.exists()


def test_relogin_rewrites_the_file_with_mode_0600(fake: FakeApi, private_config: Path) -> None:
    private_config.mkdir(parents=True)
    old = private_config / "config.json"
    old.write_text('{"url": "http://old", "token": "psv_old"}')
    old.chmod(0o644)
    result = Cli()("login", "--url", fake.url, "--token", TOKEN)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert json.loads(old.read_text())["token"] == TOKEN


def test_whoami_masks_the_token(fake: FakeApi) -> None:
    assert Cli()("login", "--url", fake.url, "--token", TOKEN).exit_code == 0
    result = Cli()("whoami", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["token"] == "psv_A1b2…"
    assert shown["role"] == ME["role"] and shown["tenant"] == "PE-ARE"
    assert shown["url"] == fake.url and shown["from"] == "file"
    assert TOKEN not in result.output
    human = Cli()("whoami")
    assert "psv_A1b2…" in human.stdout and TOKEN not in human.output


def test_environment_overrides_the_file(fake: FakeApi) -> None:
    assert Cli()("login", "--url", "http://127.0.0.1:9", "--token", "psv_zzzz").exit_code != 0
    other = "psv_" + "Env0" + "y" * 39
    result = Cli()("whoami", "--json", PSV_ADMIN_URL=fake.url, PSV_ADMIN_TOKEN=other)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["from"] == "environment"
    assert fake.requests("GET", "/me")[-1].headers["Authorization"] == f"Bearer {other}"


def test_a_config_file_others_can_read_is_refused(fake: FakeApi, private_config: Path) -> None:
    assert Cli()("login", "--url", fake.url, "--token", TOKEN).exit_code == 0
    (private_config / "config.json").chmod(0o644)
    before = len(fake.seen)
    result = Cli()("whoami")
    assert result.exit_code == 3
    assert "other users" in result.stderr
    assert len(fake.seen) == before  # the token was not sent anywhere


def test_logout_removes_the_file(fake: FakeApi, private_config: Path) -> None:
    assert Cli()("login", "--url", fake.url, "--token", TOKEN).exit_code == 0
    result = Cli()("logout")
    assert result.exit_code == 0
    assert not (private_config / "config.json").exists()
    after = Cli()("flows", "list")
    assert after.exit_code == 3
    assert "Not logged in" in after.stderr
    assert "Not logged in" in Cli()("logout").stdout


def test_mask_token_never_shows_more_than_four_characters_after_the_prefix() -> None:
    assert mask_token(TOKEN) == "psv_A1b2…"
    assert mask_token("secretvalue") == "secr…"
    assert mask_token("abc") == "…"
