"""Settings: one list drives parsing, `--help` and the README table."""

import re
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.settings import SETTINGS, ConfigError, Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_table_matches_the_settings():
    rows = re.findall(r"^\| `([A-Z_]+)` \| (.+?) \| (.+?) \|$", README, re.MULTILINE)
    documented = {name: (default, meaning) for name, default, meaning in rows}
    assert list(documented) == [s.env for s in SETTINGS]
    for setting in SETTINGS:
        default, meaning = documented[setting.env]
        assert default == (f"`{setting.default}`" if setting.default else "—"), setting.env
        assert meaning == setting.help, setting.env


def test_help_lists_every_variable():
    epilog = build_parser().epilog
    assert all(s.env in epilog for s in SETTINGS)


def test_defaults():
    settings = Settings.from_env({})
    assert (settings.digest_size, settings.digest_min_heat, settings.port) == (8, 50, 3000)
    assert settings.reviewers == () and not settings.socket_mode
    assert settings.api_url == "https://slack.com/api/"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NEWSBOT_TIMEZONE": "Mars/Olympus"}, "NEWSBOT_TIMEZONE='Mars/Olympus': expected an IANA"),
        ({"NEWSBOT_DIGEST_TIME": "25:00"}, "NEWSBOT_DIGEST_TIME='25:00': expected a time of day"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL='slack.com/api': expected an http(s)"),
        ({"NEWSBOT_DIGEST_SIZE": "21"}, "NEWSBOT_DIGEST_SIZE='21': expected a number from 1 to 20"),
        ({"NEWSBOT_DIGEST_CHANNEL": "#news"}, "expected a channel ID"),
        ({"NEWSBOT_REVIEWERS": "U1AB,jane"}, "'jane' is not a user ID"),
        ({"NEWSBOT_REINDEX_MINUTES": "often"}, "NEWSBOT_REINDEX_MINUTES='often'"),
        ({"NEWSBOT_GIT_COMMIT": "sometimes"}, "NEWSBOT_GIT_COMMIT='sometimes'"),
        ({"NEWSBOT_DATABASE_URL": "nope"}, "NEWSBOT_DATABASE_URL='nope'"),
        ({"PORT": "0"}, "PORT='0'"),
    ],
)
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_secrets_never_appear_in_errors_or_repr():
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxp-user-token-secret"})
    assert "xoxp-user-token-secret" not in str(err.value)
    settings = Settings.from_env(
        {"SLACK_BOT_TOKEN": "xoxb-1-secret", "SLACK_SIGNING_SECRET": "shh-signing-secret"}
    )
    assert "secret" not in repr(settings)
    assert "xoxb" not in repr(settings)


def test_missing_slack_variables_depend_on_the_mode():
    assert Settings.from_env({}).missing_for_slack() == ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]
    socket = Settings.from_env({"SLACK_APP_TOKEN": "xapp-1", "SLACK_BOT_TOKEN": "xoxb-1"})
    assert socket.socket_mode and socket.missing_for_slack() == []
