"""Block Kit limits the renderers keep inside, in Slack text units (see `mrkdwn.slack_len`)."""

from __future__ import annotations

MESSAGE_BLOCKS = 50
HOME_BLOCKS = 100

SECTION_TEXT = 3000
HEADER_TEXT = 150
# Slack allows 3000 per text object; context lines this long are unreadable anyway.
CONTEXT_TEXT = 2000
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
URL = 3000
ALT_TEXT = 2000
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
BLOCK_ID = 255

# Slack truncates a message's top-level `text` at 40,000; notifications show far less.
FALLBACK_TEXT = 3000
