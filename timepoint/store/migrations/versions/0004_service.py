"""Schema version 4: the REST API's keys, queued work, run ownership and webhooks.

Revision ID: 0004
Revises: 0003
"""

from timepoint.store.migrations.steps import schema_step

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema_step(4)
