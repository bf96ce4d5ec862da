"""Settings: defaults from docs/contract.md, development secrets generated once, production strict."""

from __future__ import annotations

import argparse
import logging
import stat

import msgspec
import pytest

from runtime.settings import ActorsSettings, SettingsError, add_flags, load_settings


def test_contract_defaults(tmp_path):
    s = load_settings({"HB_HOME": str(tmp_path)})
    assert s.db.url == "postgresql://postgres@127.0.0.1:5432/hirebuddha"
    assert s.db.app_url == "postgresql://hirebuddha_app@127.0.0.1:5432/hirebuddha"
    assert s.broker.url == "amqp://guest:guest@127.0.0.1:5672/"
    assert (s.http.host, s.http.port) == ("127.0.0.1", 8000)
    assert s.openai_base_url is None and s.stripe_secret_key is None
    assert s.auth.access_ttl_s == 900 and s.auth.refresh_ttl_s == 30 * 24 * 3600


def test_development_secrets_are_generated_once_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="hirebuddha.settings"):
        first = load_settings({"HB_HOME": str(tmp_path)})
    assert "generated development secrets" in caplog.text
    caplog.clear()
    second = load_settings({"HB_HOME": str(tmp_path)})
    assert caplog.text == ""
    assert first.auth.secret_key == second.auth.secret_key
    assert first.auth.fernet_key == second.auth.fernet_key
    mode = (tmp_path / "secrets").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_production_refuses_to_start_without_secrets(tmp_path):
    with pytest.raises(SettingsError, match="HB_SECRET_KEY and HB_FERNET_KEY are required"):
        load_settings({"HB_ENV": "production", "HB_HOME": str(tmp_path)})
    assert not (tmp_path / "secrets").exists()
    s = load_settings({"HB_ENV": "production", "HB_SECRET_KEY": "k" * 40, "HB_FERNET_KEY": "f" * 44})
    assert s.production and s.http.secure_cookies


def test_malformed_settings_name_the_variable(tmp_path):
    with pytest.raises(SettingsError, match="HB_HTTP_PORT"):
        load_settings({"HB_HOME": str(tmp_path), "HB_HTTP_PORT": "eighty"})
    with pytest.raises(SettingsError, match="HB_ENV"):
        load_settings({"HB_HOME": str(tmp_path), "HB_ENV": "staging"})
    with pytest.raises(SettingsError, match="HB_SECRET_KEY"):
        load_settings({"HB_HOME": str(tmp_path), "HB_SECRET_KEY": "short", "HB_FERNET_KEY": "x"})


def test_process_settings_come_from_the_environment_and_flags_override_them(tmp_path):
    env = {"HB_HOME": str(tmp_path), "HB_ACTORS_CAPACITY": "7", "HB_LEDGER_BATCH_MS": "5"}
    s = load_settings(env)
    assert s.actors.capacity == 7 and s.actors.heartbeat == ActorsSettings().heartbeat
    assert s.ledger.batch_ms == 5 and s.ledger.crash_after_commits is None

    parser = argparse.ArgumentParser()
    add_flags(parser, s.actors)
    args = parser.parse_args(["--heartbeat", "2.5"])
    assert (args.capacity, args.heartbeat) == (7, 2.5)
    assert "HB_ACTORS_BREAKER_COOLDOWN" in parser.format_help()

    with pytest.raises(SettingsError, match="HB_ACTORS_CAPACITY"):
        load_settings({"HB_HOME": str(tmp_path), "HB_ACTORS_CAPACITY": "0"})
    with pytest.raises(SettingsError, match="HB_LEDGER_BATCH_SIZE"):
        load_settings({"HB_HOME": str(tmp_path), "HB_LEDGER_BATCH_SIZE": "many"})


def test_the_actors_flags_default_to_the_settings_struct():
    from actors.worker import parse_args

    assert vars(parse_args([])) == msgspec.structs.asdict(ActorsSettings())
