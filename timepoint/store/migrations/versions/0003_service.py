"""Schema version 3: the REST API's keys, queued work, run ownership and webhooks.

Revision ID: 0003
Revises: 0002
"""

from timepoint.store.migrations.steps import schema_step

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema_step(3)
