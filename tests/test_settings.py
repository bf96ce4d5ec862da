"""Settings: defaults from CONTRACT.md, development secrets generated once, production strict."""

from __future__ import annotations

import logging
import stat

import pytest

from runtime.settings import SettingsError, load_settings


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
