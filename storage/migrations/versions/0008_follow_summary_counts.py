"""Follow summaries that grow: the counted finds a summary message carries

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

Finds that arrive while a channel's summary of the last ten minutes stands
are folded into that message (chat.update), so a bulk import spread over
several index runs posts one summary. Re-rendering it needs to know what it
carries: summarized claims say so in their `message_ts`, and counted finds
(`follow_extras`) now do too. One column added, nothing rebuilt.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("follow_extras", sa.Column("message_ts", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("follow_extras", "message_ts")
