"""Settings precedence: defaults < config file < environment < explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsloom.errors import ConfigError
from newsloom.settings import Settings, load_settings


def test_defaults_when_nothing_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.max_body_bytes == 10 * 1024 * 1024
    assert settings.allow_private is False


def test_precedence(tmp_path: Path) -> None:
    config = tmp_path / "newsloom.toml"
    config.write_text('store = "sqlite:///from-file.db"\nhost_delay = 3\ntimeout = 5\n')
    env = {"NEWSLOOM_STORE": "sqlite:///from-env.db", "NEWSLOOM_HOST_DELAY": "0.5"}
    settings = load_settings(config, environ=env, host_delay=0.0)
    assert settings.store == "sqlite:///from-env.db"
    assert settings.host_delay == 0.0  # explicit override beats the environment
    assert settings.timeout == 5.0  # file beats the default


def test_booleans_from_environment() -> None:
    assert load_settings(environ={"NEWSLOOM_ALLOW_PRIVATE": "yes"}).allow_private is True
    assert load_settings(environ={"NEWSLOOM_RESPECT_ROBOTS": "0"}).respect_robots is False


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("timeout = 'soon'", "timeout"),
        ("colour = 'blue'", "unknown setting"),
        ("store = ", "newsloom.toml"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "newsloom.toml"
    config.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings(config, environ={})


def test_missing_named_config_and_bad_environment() -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings("/nonexistent/newsloom.toml", environ={})
    with pytest.raises(ConfigError, match="max_body_bytes"):
        load_settings(environ={"NEWSLOOM_MAX_BODY_BYTES": "ten"})
