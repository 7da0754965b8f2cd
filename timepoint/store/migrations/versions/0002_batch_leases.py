"""Schema version 2: lease columns on batches and batch_jobs, new table batch_attempts.

Revision ID: 0002
Revises: 0001
"""

from timepoint.store.migrations.steps import schema_step

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema_step(2)
