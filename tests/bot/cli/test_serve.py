"""`newsbot quickstart` (what `make run` does): without Slack credentials it indexes, shows
the hottest articles and names the variables each way of connecting needs.

`newsbot serve` itself runs in tests/bot/test_http.py and the hostile tests."""

import shutil

import pytest

from bot.cli import main

HTTP_INSTEAD = (
    "; for HTTP mode instead, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
    "(Basic Information > App Credentials > Signing Secret)."
)


@pytest.mark.parametrize(
    ("given", "asked"),
    [
        (
            {},
            "SLACK_BOT_TOKEN and SLACK_APP_TOKEN are not set: copy them from your app's page at "
            "api.slack.com/apps (SLACK_BOT_TOKEN from OAuth & Permissions > Bot User OAuth Token; "
            "SLACK_APP_TOKEN from Basic Information > App-Level Tokens, with connections:write) "
            "into the environment or .env" + HTTP_INSTEAD,
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-not-shown"},
            "SLACK_APP_TOKEN is not set: copy it from your app's page at api.slack.com/apps "
            "(SLACK_APP_TOKEN from Basic Information > App-Level Tokens, with connections:write) "
            "into the environment or .env" + HTTP_INSTEAD,
        ),
        (
            {"SLACK_SIGNING_SECRET": "secret-not-shown"},  # HTTP mode chosen: its pair alone
            "SLACK_BOT_TOKEN is not set: copy it from your app's page at api.slack.com/apps "
            "(SLACK_BOT_TOKEN from OAuth & Permissions > Bot User OAuth Token) "
            "into the environment or .env.",
        ),
        (
            {"SLACK_APP_TOKEN": "xapp-not-shown"},  # Socket Mode chosen
            "SLACK_BOT_TOKEN is not set: copy it from your app's page at api.slack.com/apps "
            "(SLACK_BOT_TOKEN from OAuth & Permissions > Bot User OAuth Token) "
            "into the environment or .env.",
        ),
    ],
    ids=["nothing", "bot token", "signing secret", "app token"],
)
def test_without_credentials_it_indexes_and_names_what_is_missing(
    env, monkeypatch, capsys, given, asked
):
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    assert main(["quickstart"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"indexed {env}:"
    assert "5 added, 0 updated, 0 unchanged, 0 missing, 0 failed" in lines
    hottest = lines[lines.index("hottest articles:") + 1 :][:5]
    assert [line.split()[0] for line in hottest] == ["82", "71", "57", "35", "12"]
    assert hottest[0].endswith(
        "Harbor City Lets AI Cameras Time Its Traffic Lights, and Commutes Got Shorter"
    )
    assert lines[-1] == f"Not starting the Slack app: {asked}"
    assert "not-shown" not in out


def test_without_an_articles_folder_it_uses_the_bundled_examples(env, monkeypatch, capsys):
    shutil.copytree(env, env.parent / "examples" / "articles")
    monkeypatch.setenv("NEWSBOT_ARTICLES_DIR", str(env.parent / "not-there"))
    assert main(["quickstart"]) == 0
    out = capsys.readouterr().out
    assert f"{env.parent / 'not-there'} does not exist: using the bundled examples/articles" in out
    assert "5 added" in out
