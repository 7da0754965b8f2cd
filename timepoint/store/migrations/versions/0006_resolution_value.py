"""Schema version 6: questions keep the number a numeric question resolved to
(``questions.resolution_value``) beside its yes/no ``resolution``.

Revision ID: 0006
Revises: 0005
"""

from timepoint.store.migrations.steps import schema_step

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema_step(6)
