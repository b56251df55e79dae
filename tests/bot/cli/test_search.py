"""`newsbot search` (a table, or JSON lines) and `newsbot audit`."""

import json

from bot.app import create_app
from bot.cli import main
from bot.render import actions
from tests.builders import VOTER_FILE, article_id, click, indexed, make_settings, news

CAMERAS_TITLE = "Harbor City Lets AI Cameras Time Its Traffic Lights, and Commutes Got Shorter"


def test_search_json_lines(env, capsys):
    main(["index"])
    capsys.readouterr()
    assert main(["search", "computer", "vision", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "url": "https://www.harborcityherald.com/story/ai-traffic-cameras-pilot-results-4821907",
            "title": CAMERAS_TITLE,
            "topics": ["Computer Vision", "AI", "Transportation"],
            "heat": 82,
            "quality": 71,
            "published": True,
            "publishedDateTime": "2026-11-26T08:15:00Z",
            "provider": {"name": "Harbor City Herald", "domain": "harborcityherald.com"},
        }
    ]


def test_search_table_and_topics(env, capsys):
    main(["index"])
    capsys.readouterr()
    assert main(["search", "privacy"]) == 0
    assert "Voter Roll" in capsys.readouterr().out
    assert main(["search", "--topics", "--json"]) == 0
    topics = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"topic": "AI", "count": 1} in topics and len(topics) == 13


def test_bad_filter_is_one_sentence(env, capsys):
    main(["index"])
    assert main(["search", "ai", "since:soon"]) == 2
    assert capsys.readouterr().err.strip() == (
        "newsbot: `since:soon` is not a date: use since:7d, since:12h or since:2026-11-01"
    )


def test_audit_lists_decisions(env, slack, database_url, capsys):
    with indexed(database_url, env) as db:
        app = create_app(make_settings(slack, database_url, env), db, process_before_response=True)
        queue = news(app, slack, "review")
        click(app, slack, queue, actions.REVIEW_REJECT, article_id(db, VOTER_FILE))
    assert main(["audit", "--since", "1d"]) == 0
    out = capsys.readouterr().out
    assert "rita (U0REVIEW)" in out and "reject" in out and "State Auditor" in out
    assert main(["audit", "--since", "2026-01-01"]) == 0
    assert "State Auditor" in capsys.readouterr().out
