"""Schema version 5: per-key rate-limit buckets shared by every server of a store.

Revision ID: 0005
Revises: 0004
"""

from timepoint.store.migrations.steps import schema_step

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema_step(5)
