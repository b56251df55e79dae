"""manifest.yaml and the app agree: every command and event it declares is handled."""

from pathlib import Path

import pytest
import yaml

from bot.listeners.commands import COMMANDS
from bot.listeners.commands.news import SUBCOMMANDS
from bot.listeners.events import EVENTS
from tests.slack_requests import app_home_opened, link_shared, slash_command

MANIFEST = yaml.safe_load((Path(__file__).resolve().parents[2] / "manifest.yaml").read_text())


def test_commands_and_events_match_the_listeners():
    declared = [c["command"] for c in MANIFEST["features"]["slash_commands"]]
    assert declared == list(COMMANDS)
    assert sorted(MANIFEST["settings"]["event_subscriptions"]["bot_events"]) == sorted(EVENTS)


def test_the_usage_hint_names_every_subcommand():
    (news,) = MANIFEST["features"]["slash_commands"]
    hint = news["usage_hint"].replace("|", " ").split()
    assert sorted(set(SUBCOMMANDS) - {"?"} - set(hint)) == []
    assert len(news["usage_hint"]) <= 1000 and len(news["description"]) <= 2000


def test_every_url_is_the_single_request_url():
    settings = MANIFEST["settings"]
    urls = [c["url"] for c in MANIFEST["features"]["slash_commands"]]
    urls += [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]
    assert {u.rsplit("/", 2)[-2:] == ["slack", "events"] for u in urls} == {True}
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True


def test_scopes_cover_what_the_app_calls_and_no_more():
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert scopes == {
        "commands",
        "chat:write",
        "links:read",
        "links:write",
        "usergroups:read",
        # /news follow asks conversations.info whether the bot is in the channel.
        "channels:read",
        "groups:read",
        "mpim:read",
        # The weekly report uploads its chart with files_upload_v2.
        "files:write",
    }


@pytest.mark.parametrize(
    "request_for",
    [
        lambda slack: slash_command("help", response_url=slack.response_url()),
        lambda slack: link_shared(["https://unknown.example/x"]),
        lambda slack: app_home_opened("U111"),
    ],
    ids=["/news", "link_shared", "app_home_opened"],
)
def test_declared_requests_are_handled_not_404(app, slack, request_for):
    # Bolt answers 404 to a request no listener matches.
    assert app.dispatch(request_for(slack).bolt_request()).status == 200
