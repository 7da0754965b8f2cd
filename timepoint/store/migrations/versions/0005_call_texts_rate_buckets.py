"""Schema version 5: the prompt and answer of each LLM call (``llm_call_texts``), what each
call was for (``llm_calls.subject``) and the REST API's rate buckets shared by every server
(``rate_buckets``).

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
