from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.render import actions


def test_action_ids_are_the_routing_contract() -> None:
    assert actions.ALL == (
        "news_share",
        "news_page",
        "review_publish",
        "review_reject",
        "review_unpublish",
        "review_page",
        "follow_unfollow",
        "review_publish_at",
        "review_cancel_schedule",
    )


def test_values_are_compact_json() -> None:
    assert actions.share_value(42) == '{"a":42}'
    assert actions.page_value("ai heat>=80", 10) == '{"q":"ai heat>=80","o":10}'
    assert actions.review_value(42, "abc123") == '{"a":42,"f":"abc123"}'
    assert actions.review_page_value(20) == '{"o":20}'


def test_page_value_keeps_unicode_unescaped_to_save_room() -> None:
    assert actions.page_value("人工知能", 0) == '{"q":"人工知能","o":0}'


def test_page_value_cuts_a_huge_query_at_a_space() -> None:
    query = "topic " * 1000
    value = actions.page_value(query, 123456)
    assert len(value) <= 2000
    decoded = json.loads(value)
    assert decoded["o"] == 123456
    assert query.startswith(decoded["q"])
    assert not decoded["q"].endswith("topi")


@given(st.text(), st.integers(0, 2**63))
def test_page_value_always_fits_and_round_trips(query: str, offset: int) -> None:
    value = actions.page_value(query, offset)
    assert len(value.encode("utf-16-le", "surrogatepass")) // 2 <= 2000
    decoded = actions.parse_value(value)
    assert decoded["o"] == offset
    assert query.startswith(decoded["q"])


def test_parse_value_refuses_garbage() -> None:
    assert actions.parse_value("not json") == {}
    assert actions.parse_value("[1]") == {}
    assert actions.parse_value('{"a":1}') == {"a": 1}
