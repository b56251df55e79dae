"""Reviewers publish, reject and unpublish from Slack; the article file follows, once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import select

from bot.app import create_app
from bot.cli import main
from bot.render import actions
from storage.db import open_database
from storage.models import Article, ReviewDecision
from storage.sync import sync
from tests.bot.conftest import REVIEWER, make_settings
from tests.slack_requests import block_action, slash_command

VOTER = "https://www.lakeviewledger.com/politics/5530871/voter-roll-privacy-audit"
VOTER_FILE = "2026/11/voter-roll-privacy-audit.md"


def queue(app, slack):
    slack.reset()
    app.dispatch(slash_command("review", response_url=slack.response_url()).bolt_request())
    (reply,) = slack.calls_to("response_url")
    slack.reset()
    return reply.args


def button(payload, action_id, article_id):
    for block in payload["blocks"]:
        if block["type"] == "actions" and block.get("block_id") == f"card-actions:{article_id}":
            for element in block["elements"]:
                if element["action_id"] == action_id:
                    return element
    raise AssertionError(f"no {action_id} button for article {article_id}")


def voter_id(db) -> int:
    with db.Session() as session:
        return session.scalar(select(Article.id).where(Article.web_url == VOTER))


def click(app, slack, payload, action_id, article_id, *, user_id=REVIEWER, user_name="rita"):
    element = button(payload, action_id, article_id)
    request = block_action(
        action_id,
        element["value"],
        user_id=user_id,
        user_name=user_name,
        message_blocks=payload["blocks"],
        message_text=payload.get("text", ""),
        response_url=slack.response_url(),
    )
    assert app.dispatch(request.bolt_request()).status == 200
    return [c.args for c in slack.calls_to("response_url")]


def decisions(db) -> list[ReviewDecision]:
    with db.Session() as session:
        return list(session.scalars(select(ReviewDecision)))


def test_publish_flips_the_file_and_the_card(app, slack, settings, bot_db):
    path = settings.articles_dir / VOTER_FILE
    before = path.read_bytes()
    payload = queue(app, slack)
    replies = click(app, slack, payload, actions.REVIEW_PUBLISH, voter_id(bot_db))
    after = path.read_bytes()
    assert after == before.replace(b"published: false", b"published: true")
    with bot_db.Session() as session:
        assert session.scalar(select(Article.published).where(Article.web_url == VOTER))
    (decision,) = decisions(bot_db)
    assert (decision.action, decision.reviewer_id, decision.reviewer_name) == (
        "publish",
        REVIEWER,
        "rita",
    )
    assert (decision.old_value, decision.new_value) == ("false", "true")
    (updated,) = replies
    assert updated["replace_original"] is True
    card = json.dumps(updated["blocks"])
    assert f"Published by <@{REVIEWER}" in card
    assert f"card-actions:{voter_id(bot_db)}" not in card  # the buttons are gone
    assert "Ransomware" in card  # the rest of the queue is still there
    # The indexer sees its own write as the new version, not a conflict.
    report = sync(bot_db.WriteSession, settings.articles_dir)
    assert (report.updated, report.failed) == (0, 0)


def test_a_non_reviewer_is_refused_and_nothing_changes(app, slack, settings, bot_db):
    path = settings.articles_dir / VOTER_FILE
    before = path.read_bytes()
    payload = queue(app, slack)
    (refusal,) = click(
        app, slack, payload, actions.REVIEW_PUBLISH, voter_id(bot_db), user_id="U111"
    )
    assert refusal["response_type"] == "ephemeral" and refusal["replace_original"] is False
    assert "Only reviewers can publish" in refusal["text"]
    assert path.read_bytes() == before
    assert decisions(bot_db) == []


def test_a_user_group_member_may_publish(slack, articles_dir, sqlite_url, bot_db):
    settings = make_settings(slack, sqlite_url, articles_dir, NEWSBOT_REVIEWERS="S0DESK")
    slack.set_usergroup("S0DESK", ["U0GROUPIE"])
    app = create_app(settings, bot_db, process_before_response=True)
    payload = queue(app, slack)
    click(app, slack, payload, actions.REVIEW_PUBLISH, voter_id(bot_db), user_id="U0GROUPIE")
    assert [d.reviewer_id for d in decisions(bot_db)] == ["U0GROUPIE"]
    assert len(slack.calls_to("usergroups.users.list")) == 1


def test_when_slack_cannot_list_the_group_nobody_new_gets_in(
    slack, articles_dir, sqlite_url, bot_db
):
    settings = make_settings(slack, sqlite_url, articles_dir, NEWSBOT_REVIEWERS="S0DESK")
    slack.fail_next("usergroups.users.list", "ratelimited")
    app = create_app(settings, bot_db, process_before_response=True)
    payload = queue(app, slack)
    (refusal,) = click(app, slack, payload, actions.REVIEW_PUBLISH, voter_id(bot_db), user_id="U0X")
    assert "Only reviewers" in refusal["text"] and decisions(bot_db) == []


def test_a_stale_card_refuses_and_shows_the_fresh_one(app, slack, settings, bot_db):
    payload = queue(app, slack)
    path = settings.articles_dir / VOTER_FILE
    edited = path.read_bytes().replace(b"quality: 48", b"quality: 49")
    path.write_bytes(edited)  # an editor's change the card has not seen
    replies = click(app, slack, payload, actions.REVIEW_PUBLISH, voter_id(bot_db))
    assert path.read_bytes() == edited
    assert decisions(bot_db) == []
    assert any("changed since the card was posted" in r["text"] for r in replies)


def test_a_second_click_or_a_retry_publishes_once(app, slack, settings, bot_db):
    payload = queue(app, slack)
    click(app, slack, payload, actions.REVIEW_PUBLISH, voter_id(bot_db))
    slack.reset()
    replies = click(app, slack, payload, actions.REVIEW_PUBLISH, voter_id(bot_db), user_id=REVIEWER)
    assert any("Already published by" in r["text"] for r in replies)
    assert len(decisions(bot_db)) == 1


def test_reject_takes_it_out_of_the_queue_without_touching_the_file(app, slack, settings, bot_db):
    path = settings.articles_dir / VOTER_FILE
    before = path.read_bytes()
    payload = queue(app, slack)
    (updated,) = click(app, slack, payload, actions.REVIEW_REJECT, voter_id(bot_db))
    assert f"Rejected by <@{REVIEWER}" in json.dumps(updated["blocks"])
    assert path.read_bytes() == before
    assert "Voter Roll" not in json.dumps(queue(app, slack)["blocks"])


def test_unpublish_reverts_the_file(app, slack, settings, bot_db):
    path = settings.articles_dir / VOTER_FILE
    before = path.read_bytes()
    click(app, slack, queue(app, slack), actions.REVIEW_PUBLISH, voter_id(bot_db))
    slack.reset()
    search = slash_command("privacy", user_id=REVIEWER, response_url=slack.response_url())
    app.dispatch(search.bolt_request())
    (results,) = slack.calls_to("response_url")
    slack.reset()
    replies = click(app, slack, results.args, actions.REVIEW_UNPUBLISH, voter_id(bot_db))
    assert path.read_bytes() == before
    assert [d.action for d in decisions(bot_db)] == ["publish", "unpublish"]
    assert "Unpublished by" in json.dumps(replies[0]["blocks"])


def test_shared_cards_are_updated_too(app, slack, bot_db):
    app.dispatch(slash_command("privacy", response_url=slack.response_url()).bolt_request())
    (results,) = slack.calls_to("response_url")
    slack.reset()
    click(app, slack, results.args, actions.NEWS_SHARE, voter_id(bot_db), user_id="U111")
    (share,) = slack.calls_to("chat.postMessage")
    slack.reset()
    shared = {"blocks": share.args["blocks"], "text": share.args["text"]}
    click(app, slack, shared, actions.REVIEW_PUBLISH, voter_id(bot_db))
    (update,) = slack.calls_to("chat.update")
    assert update.args["ts"] == share.response["ts"]
    assert "Published by" in json.dumps(update.args["blocks"])
    assert "shared" in json.dumps(update.args["blocks"])  # who shared it is kept
    # chat.update already changed the clicked message: no second edit through response_url.
    assert [c for c in slack.calls_to("response_url") if c.args.get("replace_original")] == []


def test_twenty_concurrent_clicks_publish_once(slack, articles_dir, database_url):
    settings = make_settings(slack, database_url, articles_dir)
    db = open_database(database_url)
    sync(db.WriteSession, articles_dir)
    app = create_app(settings, db, process_before_response=True)
    payload = queue(app, slack)
    article_id = voter_id(db)
    element = button(payload, actions.REVIEW_PUBLISH, article_id)
    requests = [
        block_action(
            actions.REVIEW_PUBLISH,
            element["value"],
            user_id=REVIEWER,
            message_blocks=payload["blocks"],
            response_url=slack.response_url(),
        )
        for _ in range(20)
    ]
    barrier = threading.Barrier(20)
    statuses = []

    def go(request):
        barrier.wait()
        statuses.append(app.dispatch(request.bolt_request()).status)

    threads = [threading.Thread(target=go, args=(r,)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 20
    assert len(decisions(db)) == 1
    texts = [c.args.get("text", "") for c in slack.calls_to("response_url")]
    assert sum("Already published" in t for t in texts) == 19
    db.dispose()


def test_two_processes_on_postgresql_publish_once(articles_dir, postgres_url, tmp_path):
    db = open_database(postgres_url)
    sync(db.WriteSession, articles_dir)
    article_id = voter_id(db)
    with db.Session() as session:
        fingerprint = session.scalar(select(Article.content_hash).where(Article.id == article_id))
    script = tmp_path / "click.py"
    script.write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "from storage.db import open_database\n"
        "from storage.decisions import decide\n"
        "db = open_database(sys.argv[1])\n"
        "o = decide(db.WriteSession, article_id=int(sys.argv[2]), action='publish',\n"
        "           fingerprint=sys.argv[3], reviewer_id='U' + sys.argv[4],\n"
        "           reviewer_name='p', root=Path(sys.argv[5]))\n"
        "print(o.status)\n"
    )
    repo = Path(__file__).resolve().parents[3]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                postgres_url,
                str(article_id),
                fingerprint,
                str(n),
                str(articles_dir),
            ],
            cwd=repo,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    results = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert results == ["already", "done"]
    assert len(decisions(db)) == 1
    db.dispose()


def test_git_commit_records_the_decision(slack, articles_dir, sqlite_url):
    git = ["git", "-C", str(articles_dir)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "-c", "user.name=pipe", "-c", "user.email=p@x", "add", "."], check=True)
    subprocess.run(
        [*git, "-c", "user.name=pipe", "-c", "user.email=p@x", "commit", "-qm", "import"],
        check=True,
    )
    settings = make_settings(
        slack,
        sqlite_url,
        articles_dir,
        NEWSBOT_GIT_COMMIT="true",
        NEWSBOT_GIT_AUTHOR="Newsbot <newsbot@desk.example>",
    )
    db = open_database(sqlite_url)
    sync(db.WriteSession, articles_dir)
    app = create_app(settings, db, process_before_response=True)
    click(app, slack, queue(app, slack), actions.REVIEW_PUBLISH, voter_id(db))
    log = subprocess.run(
        [*git, "log", "-1", "--format=%an <%ae>%n%B", "--name-only"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert log.startswith("Newsbot <newsbot@desk.example>\nPublish: State Auditor Finds Voter Roll")
    assert f"Approved-by: rita <{REVIEWER}>" in log
    assert VOTER_FILE in log
    db.dispose()


def test_audit_lists_decisions(app, slack, settings, bot_db, monkeypatch, capsys):
    click(app, slack, queue(app, slack), actions.REVIEW_REJECT, voter_id(bot_db))
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", settings.database_url)
    assert main(["audit", "--since", "1d"]) == 0
    out = capsys.readouterr().out
    assert "rita (U0REVIEW)" in out and "reject" in out and "State Auditor" in out


def test_published_files_keep_secured_byte_for_byte(app, slack, settings, bot_db):
    path = settings.articles_dir / VOTER_FILE
    secured = next(line for line in path.read_bytes().splitlines() if line.startswith(b"secured:"))
    click(app, slack, queue(app, slack), actions.REVIEW_PUBLISH, voter_id(bot_db))
    assert secured in path.read_bytes().splitlines()
    assert secured.split(b'"')[1].decode() not in json.dumps([c.args for c in slack.calls])


def test_publishing_from_app_home_republishes_the_tab(app, slack, settings, bot_db):
    from tests.slack_requests import app_home_opened

    write_fresh_draft(settings.articles_dir)
    sync(bot_db.WriteSession, settings.articles_dir)
    app.dispatch(app_home_opened(REVIEWER).bolt_request())
    (home,) = slack.calls_to("views.publish")
    view = home.args["view"]
    element = next(
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == actions.REVIEW_PUBLISH
    )
    slack.reset()
    request = block_action(
        actions.REVIEW_PUBLISH,
        element["value"],
        user_id=REVIEWER,
        container_type="view",
        view=view,
    )
    assert app.dispatch(request.bolt_request()).status == 200
    (again,) = slack.calls_to("views.publish")
    assert "Published by" in json.dumps(again.args["view"])
    assert b"published: true" in (settings.articles_dir / "fresh.md").read_bytes()


def write_fresh_draft(folder: Path) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    (folder / "fresh.md").write_text(
        f'---\ntitle: "Fresh draft"\nwebUrl: "https://news.example/fresh"\nheat: 99\n'
        f"publishedDateTime: {now}\npublished: false\n---\n"
    )
