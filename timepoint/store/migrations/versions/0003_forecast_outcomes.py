"""Schema version 3: forecasts keep their smoothed probability, interval level and per-run
outcomes; questions their opening date.

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
