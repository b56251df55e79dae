"""`/news follow`, `/news follows`, `/news unfollow` and the Unfollow button, as Slack sends
them (signed), answered only to the person who typed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.render import actions
from storage.db import open_database
from storage.follows import MAX_FOLLOWS, MAX_QUERY
from storage.models import Follow
from tests.bot.follow_desk import CHANNEL, Desk, make_desk, text_of, write_article
from tests.builders import make_settings
from tests.slack_api import FakeSlack, mentions_in
from tests.slack_requests import block_action


@pytest.fixture
def desk(slack: FakeSlack, database_url: str, tmp_path: Path) -> Iterator[Desk]:
    folder = tmp_path / "articles"
    folder.mkdir()
    now = datetime.now(UTC)
    for n in range(5):  # AI stories, the newest last
        write_article(
            folder,
            f"ai{n}",
            title=f"AI story {n}",
            topics=("AI",),
            heat=90 - n,
            when=now - timedelta(hours=5 - n),
        )
    write_article(folder, "pump", title="Heat pump subsidy", topics=("Energy",), heat=40)
    db = open_database(database_url)
    yield make_desk(slack, make_settings(slack, database_url, folder), db)
    db.dispose()


def follows_of(desk: Desk) -> list[tuple[str, int, str, str, bool]]:
    with desk.db.Session() as session:
        rows = session.scalars(select(Follow).order_by(Follow.id))
        return [(f.channel, f.number, f.query, f.created_by, f.removed_at is None) for f in rows]


def test_follow_confirms_and_previews_the_three_newest_matches(desk: Desk, slack: FakeSlack):
    answer = desk.follow("ai heat>=80")
    said = text_of(answer)
    assert answer["response_type"] == "ephemeral"
    assert "now follows *ai heat&gt;=80* (follow 1)" in said
    shown = [t for t in (f"AI story {n}" for n in range(5)) if t in said]
    assert shown == ["AI story 2", "AI story 3", "AI story 4"]
    assert said.index("AI story 4") < said.index("AI story 2")  # newest first
    assert "not posted" in said
    assert slack.calls_to("chat.postMessage") == []
    assert follows_of(desk) == [(CHANNEL, 1, "ai heat>=80", "U111", True)]


def test_a_query_that_matches_nothing_yet_is_allowed_and_says_so(desk: Desk):
    said = text_of(desk.follow("quantum   sails"))
    assert "now follows *quantum sails*" in said and "Nothing matches it yet" in said


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ai since:7d", "since: does not go with a follow"),
        ("since:garbage ai", "since: does not go with a follow"),
        ("ai\x00since:7d", "since: does not go with a follow"),
        ("ai SINCE:2026-01-01", "since: does not go with a follow"),
        ("ai heat>=hot", "needs a whole number"),
        ("", "Say what to follow"),
        ("x" * (MAX_QUERY + 1), f"at most {MAX_QUERY} characters"),
    ],
)
def test_queries_that_cannot_be_followed_get_one_sentence(desk: Desk, typed, expected):
    answer = desk.command(f"follow {typed}")
    assert expected in text_of(answer)
    assert follows_of(desk) == []


def test_a_query_of_exactly_the_limit_is_followed(desk: Desk):
    typed = ("word " * 100)[:MAX_QUERY].strip() + "z" * (MAX_QUERY - 499)
    assert len(typed) == MAX_QUERY
    assert "now follows" in text_of(desk.follow(typed))


def test_the_26th_follow_is_refused_with_how_to_unfollow(desk: Desk):
    for n in range(MAX_FOLLOWS):
        assert "now follows" in text_of(desk.follow(f"topic{n}"))
    said = text_of(desk.follow("one more"))
    assert f"has {MAX_FOLLOWS} follows" in said and "/news unfollow N" in said
    assert len(follows_of(desk)) == MAX_FOLLOWS
    desk.command("unfollow 3")
    assert "now follows" in text_of(desk.follow("one more"))
    # Numbers are never reused: the new one is 26, not 3.
    assert follows_of(desk)[-1][:3] == (CHANNEL, MAX_FOLLOWS + 1, "one more")


def test_the_same_query_twice_is_one_follow(desk: Desk):
    desk.follow("AI")
    assert "follows AI already (follow 1)" in text_of(desk.follow("ai"))


def test_a_channel_the_bot_is_not_in_gets_the_invite_sentence(desk: Desk, slack: FakeSlack):
    slack.set_channel(CHANNEL, member=False)
    said = text_of(desk.follow("ai"))
    assert "/invite @newsbot" in said
    slack.set_channel("C0SECRET", member=False, private=True)
    assert "/invite @newsbot" in text_of(desk.follow("ai", channel="C0SECRET"))
    assert follows_of(desk) == []
    slack.set_channel(CHANNEL, member=True)
    assert "now follows" in text_of(desk.follow("ai"))


def test_a_dm_or_an_archived_channel_cannot_follow(desk: Desk, slack: FakeSlack):
    assert "Follows post into channels" in text_of(desk.follow("ai", channel="D0DIRECT"))
    slack.set_channel("C0OLD", archived=True)
    assert "archived" in text_of(desk.follow("ai", channel="C0OLD"))
    assert follows_of(desk) == []


def test_slack_refusing_the_lookup_changes_nothing(desk: Desk, slack: FakeSlack):
    slack.fail_next("conversations.info", "missing_scope")
    assert "missing_scope" in text_of(desk.follow("ai"))
    assert follows_of(desk) == []


def test_follows_lists_query_author_date_cards_and_an_unfollow_button(desk: Desk):
    desk.follow("ai heat>=80")
    desk.follow("<!channel> & friends", user="U0OTHER")
    write_article(desk.folder, "new-ai", title="New AI", topics=("AI",), heat=85)
    desk.index()
    desk.post()
    listed = desk.command("follows")
    said = text_of(listed)
    assert listed["response_type"] == "ephemeral"
    assert "*1.* ai heat&gt;=80" in said and "<@U111>" in said and "1 card posted" in said
    assert "&lt;!channel&gt; &amp; friends" in said and "<@U0OTHER>" in said
    assert "0 cards posted" in said and "<!date^" in said
    assert "<!channel>" not in mentions_in(listed)
    buttons = [
        b["accessory"] for b in listed["blocks"] if b.get("accessory", {}).get("type") == "button"
    ]
    assert [b["action_id"] for b in buttons] == [actions.FOLLOW_UNFOLLOW] * 2


def test_unfollow_by_number_and_by_button(desk: Desk):
    desk.follow("ai")
    desk.follow("energy")
    said = text_of(desk.command("unfollow 1"))
    assert "Removed follow 1 (ai)" in said and "*2.* energy" in said
    assert "no follow 7" in text_of(desk.command("unfollow 7"))
    assert "by its number" in text_of(desk.command("unfollow ai"))
    listed = desk.command("follows")
    desk.click(listed, actions.FOLLOW_UNFOLLOW)
    (replaced,) = desk.slack.calls_to("response_url")[-1:]
    assert replaced.args["replace_original"] is True
    assert "Removed follow 2 (energy)" in text_of(replaced.args)
    assert "follows nothing yet" in text_of(replaced.args)
    assert [alive for *_rest, alive in follows_of(desk)] == [False, False]
    # A second click on the old list (or Slack's retry) removes nothing more.
    desk.click(listed, actions.FOLLOW_UNFOLLOW)
    assert "was removed already" in text_of(desk.slack.calls_to("response_url")[-1].args)


def test_an_unfollow_button_acts_only_in_its_own_channel(desk: Desk, slack: FakeSlack):
    desk.follow("ai")
    listed = desk.command("follows")
    request = block_action(
        actions.FOLLOW_UNFOLLOW,
        message_blocks=listed["blocks"],
        channel_id="C0ELSEWHERE",
        response_url=slack.response_url(),
    )
    desk.app.dispatch(request.bolt_request())
    assert "broken" in text_of(slack.calls_to("response_url")[-1].args)
    assert [alive for *_rest, alive in follows_of(desk)] == [True]


def test_help_lists_the_follow_commands(desk: Desk):
    answer = desk.command("help")
    for usage in ("/news follow QUERY", "/news follows", "/news unfollow N"):
        assert usage in text_of({"blocks": answer["blocks"]})
        assert usage in answer["text"]  # the fallback, for notifications and screen readers
