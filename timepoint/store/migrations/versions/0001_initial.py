"""Schema version 1: runs and their child tables, batches, batch_jobs, questions, forecasts.

Revision ID: 0001
Revises:
"""

from timepoint.store.migrations.steps import schema_step

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema_step(1)
