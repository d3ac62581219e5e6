"""My Data: consent events are append-only in the database itself (triggers refuse an UPDATE or
a DELETE of a ``mydata_consent_events`` row on PostgreSQL and SQLite), not only through the ORM.

The one change allowed is the account-deletion cascade (``actor_id`` set to NULL, nothing else
changed).  A DELETE is always refused, so a consent, and an account, with consent history
cannot be deleted: the history a receipt was signed over outlives them.  ``TRUNCATE`` (the test
suite's reset on PostgreSQL) fires no row trigger.

Revision ID: 0025_consent_events_append_only
Revises: 0024_academy_job_labs
Create Date: 2026-12-05 23:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025_consent_events_append_only"
down_revision: str | None = "0024_academy_job_labs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "mydata_consent_events"
MESSAGE = "consent events are append-only: record a new event instead"
UNCHANGED = ("id", "consent_id", "kind", "at", "text_en", "text_ko", "epoch")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        same = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in UNCHANGED)
        op.execute(
            f"""
            CREATE FUNCTION mydata_consent_events_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL AND {same} THEN
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            f"CREATE TRIGGER mydata_consent_events_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION mydata_consent_events_append_only()"
        )
        return
    same = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in UNCHANGED)
    op.execute(
        f"CREATE TRIGGER mydata_consent_events_no_update BEFORE UPDATE ON {TABLE} "
        f"WHEN NOT (NEW.actor_id IS NULL AND {same}) "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    )
    op.execute(
        f"CREATE TRIGGER mydata_consent_events_no_delete BEFORE DELETE ON {TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER mydata_consent_events_append_only ON {TABLE}")
        op.execute("DROP FUNCTION mydata_consent_events_append_only()")
        return
    op.execute("DROP TRIGGER mydata_consent_events_no_update")
    op.execute("DROP TRIGGER mydata_consent_events_no_delete")
