"""daily appointment rollup kept by triggers, and the conversation's region as a column

The dashboard and /reports count appointments per local day (America/Lima, UTC-5),
region and service, and take wait medians over every first booking of the period. At
national scale (about 75,000 appointments a month) grouping the appointments on every
page view costs more than a page may. Two tables hold the counts per day instead, kept
by triggers on `appointment` (insert, update, delete; PostgreSQL and SQLite) and filled
here from the existing rows:

- appointment_daily: booked (by the local day of created_at), attended and no_shows (by
  the local day of start_utc), cancelled (by the local day of cancelled_at);
- appointment_wait_daily: first bookings per local day of created_at and whole minutes of
  wait (start minus booking, whole seconds, never below 0): a histogram from which a
  median is exact to the minute.

`conversation.region` is the region code of the conversation's memory, computed by the
database (stored on PostgreSQL, virtual on SQLite), in the period index of
conversations so that counting conversations per region reads no JSON.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 12:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATCHED = "tenant_id, service_id, status, created_at, start_utc, cancelled_at, rescheduled_from_id"
KEY = "day, tenant_id, service_id"
COUNTS = ("booked", "attended", "no_shows", "cancelled")


def _day(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"(({column}) AT TIME ZONE 'America/Lima')::date"
    return f"date({column}, '-300 minutes')"


def _wait(dialect: str, row: str) -> str:
    if dialect == "postgresql":
        seconds = (
            f"(extract(epoch FROM date_trunc('second', {row}.start_utc))"
            f" - extract(epoch FROM date_trunc('second', {row}.created_at)))"
        )
        return f"greatest(0, floor({seconds} / 60))::integer"
    seconds = (
        f"(CAST(strftime('%s', {row}.start_utc) AS INTEGER)"
        f" - CAST(strftime('%s', {row}.created_at) AS INTEGER))"
    )
    return f"max(0, {seconds} / 60)"


def _parts(dialect: str, row: str, sign: str) -> list[tuple[str, list[str], str]]:
    """(day, counts, condition) of each count a row adds (`sign` 1) or removes (-1)."""
    attended = f"CASE WHEN {row}.status = 'attended' THEN {sign} ELSE 0 END"
    no_show = f"CASE WHEN {row}.status = 'no_show' THEN {sign} ELSE 0 END"
    return [
        (_day(dialect, f"{row}.created_at"), [sign, "0", "0", "0"], "true"),
        (
            _day(dialect, f"{row}.start_utc"),
            ["0", attended, no_show, "0"],
            f"{row}.status IN ('attended', 'no_show')",
        ),
        (
            _day(dialect, f"{row}.cancelled_at"),
            ["0", "0", "0", sign],
            f"{row}.status = 'cancelled' AND {row}.cancelled_at IS NOT NULL",
        ),
    ]


def _apply(dialect: str, row: str, sign: str) -> list[str]:
    """The statements that add (or remove) one appointment row to the rollup."""
    added = ", ".join(f"{c} = appointment_daily.{c} + excluded.{c}" for c in COUNTS)
    found = [
        f"INSERT INTO appointment_daily ({KEY}, {', '.join(COUNTS)}) "
        f"SELECT {day}, {row}.tenant_id, {row}.service_id, {', '.join(counts)} WHERE {condition} "
        f"ON CONFLICT ({KEY}) DO UPDATE SET {added}"
        for day, counts, condition in _parts(dialect, row, sign)
    ]
    found.append(
        f"INSERT INTO appointment_wait_daily ({KEY}, wait_minutes, bookings) "
        f"SELECT {_day(dialect, f'{row}.created_at')}, {row}.tenant_id, {row}.service_id, "
        f"{_wait(dialect, row)}, {sign} WHERE {row}.rescheduled_from_id IS NULL "
        f"ON CONFLICT ({KEY}, wait_minutes) DO UPDATE "
        "SET bookings = appointment_wait_daily.bookings + excluded.bookings"
    )
    return found


def _backfill(dialect: str) -> list[str]:
    """Fill both tables from the appointments already there, in the order of their days.

    In order, a period's rows lie together on disk, as the triggers' later ones will.
    """
    branches = " UNION ALL ".join(
        f"SELECT {day} AS day, a.tenant_id, a.service_id, "
        f"{', '.join(f'{n} AS {c}' for n, c in zip(counts, COUNTS, strict=True))} "
        f"FROM appointment a WHERE {condition}"
        for day, counts, condition in _parts(dialect, "a", "1")
    )
    sums = ", ".join(f"sum({c})" for c in COUNTS)
    return [
        f"INSERT INTO appointment_daily ({KEY}, {', '.join(COUNTS)}) "
        f"SELECT {KEY}, {sums} FROM ({branches}) AS x "
        f"GROUP BY {KEY} ORDER BY {KEY}",
        f"INSERT INTO appointment_wait_daily ({KEY}, wait_minutes, bookings) "
        f"SELECT {_day(dialect, 'a.created_at')}, a.tenant_id, a.service_id, "
        f"{_wait(dialect, 'a')}, count(*) FROM appointment a "
        "WHERE a.rescheduled_from_id IS NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
    ]


def _postgres_triggers() -> list[str]:
    body = ";\n    ".join(_apply("postgresql", "r", "s"))
    return [
        "CREATE FUNCTION appointment_rollup_apply(r appointment, s integer) RETURNS void "
        f"LANGUAGE plpgsql AS $$\nBEGIN\n    {body};\nEND\n$$",
        """CREATE FUNCTION appointment_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM appointment_rollup_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM appointment_rollup_apply(NEW, 1);
    END IF;
    RETURN NULL;
END
$$""",
        "CREATE TRIGGER appointment_rollup AFTER INSERT OR DELETE OR UPDATE OF "
        f"{WATCHED} ON appointment FOR EACH ROW EXECUTE FUNCTION appointment_rollup()",
    ]


def _sqlite_triggers() -> list[str]:
    def trigger(name: str, event: str, rows: list[tuple[str, str]]) -> str:
        body = "".join(f"    {s};\n" for row, sign in rows for s in _apply("sqlite", row, sign))
        return f"CREATE TRIGGER {name} AFTER {event} ON appointment BEGIN\n{body}END"

    return [
        trigger("appointment_rollup_insert", "INSERT", [("NEW", "1")]),
        trigger("appointment_rollup_delete", "DELETE", [("OLD", "-1")]),
        trigger(
            "appointment_rollup_update", f"UPDATE OF {WATCHED}", [("OLD", "-1"), ("NEW", "1")]
        ),
    ]


def _region(dialect: str) -> str:
    if dialect == "postgresql":
        return "(memory ->> 'region')"
    return "json_extract(memory, '$.region')"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    count = {"nullable": False, "server_default": "0"}
    op.create_table(
        "appointment_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), **count) for name in COUNTS),
        sa.PrimaryKeyConstraint("day", "tenant_id", "service_id", name="pk_appointment_daily"),
    )
    op.create_table(
        "appointment_wait_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("wait_minutes", sa.Integer(), nullable=False),
        sa.Column("bookings", sa.Integer(), **count),
        sa.PrimaryKeyConstraint(
            "day", "tenant_id", "service_id", "wait_minutes", name="pk_appointment_wait_daily"
        ),
    )
    # The medians read the rare rows of several bookings apart (core.daily._percentiles).
    op.create_index(
        "ix_appointment_wait_daily_several",
        "appointment_wait_daily",
        ["day"],
        postgresql_where=sa.text("bookings > 1"),
        sqlite_where=sa.text("bookings > 1"),
    )
    for sql in _backfill(dialect):
        op.execute(sql)
    for sql in _postgres_triggers() if dialect == "postgresql" else _sqlite_triggers():
        op.execute(sql)

    op.add_column(
        "conversation",
        sa.Column(
            "region",
            sa.String(20),
            sa.Computed(sa.text(_region(dialect)), persisted=dialect == "postgresql" or None),
            nullable=True,
        ),
    )
    op.drop_index("ix_conversation_created", table_name="conversation")
    op.create_index(
        "ix_conversation_created",
        "conversation",
        ["created_at", "region"],
        postgresql_include=["channel"],
    )

def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index("ix_conversation_created", table_name="conversation")
    op.drop_column("conversation", "region")
    op.create_index("ix_conversation_created", "conversation", ["created_at"])
    if dialect == "postgresql":
        op.execute("DROP TRIGGER appointment_rollup ON appointment")
        op.execute("DROP FUNCTION appointment_rollup()")
        op.execute("DROP FUNCTION appointment_rollup_apply(appointment, integer)")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER appointment_rollup_{name}")
    op.drop_table("appointment_wait_daily")
    op.drop_table("appointment_daily")
