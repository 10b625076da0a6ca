"""The relational schema shared by the SQL stores, as numbered migrations.

The DDL is kept portable between SQLite and PostgreSQL: `{id}` stands for the auto-numbered key
(`INTEGER PRIMARY KEY` in SQLite, `BIGSERIAL PRIMARY KEY` in PostgreSQL). Times are stored as
fixed-width ISO-8601 UTC text (see `engine.store.base.to_iso`), so text order is time order and
the same rows read the same in both databases. Never edit a released migration: add one.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE definitions (
                process TEXT NOT NULL, version INTEGER NOT NULL,
                source_hash TEXT NOT NULL, source TEXT NOT NULL,
                PRIMARY KEY (process, version))""",
            """CREATE TABLE instances (
                id TEXT PRIMARY KEY, process TEXT NOT NULL, version INTEGER NOT NULL,
                state TEXT NOT NULL, data TEXT NOT NULL, parent TEXT, task TEXT,
                rev INTEGER NOT NULL, seq INTEGER NOT NULL, head TEXT NOT NULL,
                created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
                last_activity_at TEXT NOT NULL, format_version INTEGER NOT NULL)""",
            "CREATE INDEX instances_state ON instances (process, state, last_activity_at)",
            "CREATE INDEX instances_parent ON instances (parent)",
            """CREATE TABLE events (
                instance TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL,
                actor TEXT NOT NULL, role TEXT, kind TEXT NOT NULL, trigger_name TEXT,
                source TEXT, dest TEXT, data TEXT NOT NULL, detail TEXT NOT NULL,
                prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
                PRIMARY KEY (instance, seq))""",
            """CREATE TABLE timers (
                id {id}, instance TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,
                trigger_name TEXT NOT NULL, due_at TEXT NOT NULL, data TEXT NOT NULL,
                created_at TEXT NOT NULL, fired_at TEXT)""",
            "CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL",
            "CREATE INDEX timers_instance ON timers (instance, state)",
            """CREATE TABLE outbox (
                id {id}, instance TEXT NOT NULL, channel TEXT NOT NULL,
                to_addr TEXT NOT NULL, cc_addr TEXT NOT NULL, subject TEXT NOT NULL,
                body TEXT NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL,
                attempts INTEGER NOT NULL, error TEXT NOT NULL, delivered_at TEXT)""",
            "CREATE INDEX outbox_status ON outbox (status, id)",
            """CREATE TABLE sheet_rows (
                id {id}, sheet TEXT NOT NULL, instance TEXT NOT NULL,
                created_at TEXT NOT NULL, row_values TEXT NOT NULL)""",
            "CREATE INDEX sheet_rows_sheet ON sheet_rows (sheet, id)",
            "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        ),
    ),
    (
        2,
        (
            # the lease of a message a worker is sending (see Transaction.claim_outbox)
            "ALTER TABLE outbox ADD COLUMN lease_until TEXT",
        ),
    ),
    (
        3,
        (
            # a batch's CSV travels with its messages; lease_until doubles as the time a
            # pending message is not retried before (OutboxRecord.next_attempt_at)
            "ALTER TABLE outbox ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]'",
            """CREATE TABLE batch_members (
                process TEXT NOT NULL, state TEXT NOT NULL, instance TEXT NOT NULL,
                period TEXT NOT NULL, joined_at TEXT NOT NULL, batch INTEGER)""",
            "CREATE INDEX batch_members_open ON batch_members (process, state, period) "
            "WHERE batch IS NULL",
            "CREATE INDEX batch_members_instance ON batch_members (instance, state)",
        ),
    ),
    (
        4,
        (
            # claims take timers in (due_at, id) order: with due_at alone, timers due at the
            # same moment were sorted on every claim (quadratic for a batch of 10,000)
            "CREATE INDEX timers_due_order ON timers (due_at, id) WHERE fired_at IS NULL",
            "DROP INDEX timers_due",
        ),
    ),
    (
        5,
        (
            # the store-wide event sequence and the audit key of each event (docs/audit.md):
            # events written before this migration keep lane NULL (the old, unkeyed format)
            "ALTER TABLE events ADD COLUMN lane INTEGER",
            "ALTER TABLE events ADD COLUMN pos INTEGER",
            "ALTER TABLE events ADD COLUMN after_instance TEXT",
            "ALTER TABLE events ADD COLUMN after_seq INTEGER",
            "ALTER TABLE events ADD COLUMN key_id TEXT",
            "CREATE UNIQUE INDEX events_lane ON events (lane, pos)",
            """CREATE TABLE audit_lanes (
                lane INTEGER PRIMARY KEY, pos INTEGER NOT NULL, instance TEXT NOT NULL,
                seq INTEGER NOT NULL, key_id TEXT NOT NULL, key_check TEXT NOT NULL)""",
            "INSERT INTO audit_lanes (lane, pos, instance, seq, key_id, key_check) "
            "VALUES (0, 0, '', 0, '', '')",
        ),
    ),
    (
        6,
        (
            # the person the work is assigned to (claim / assign / release), and `queue --mine`
            "ALTER TABLE instances ADD COLUMN assignee TEXT",
            "CREATE INDEX instances_assignee ON instances (assignee)",
        ),
    ),
    (
        7,
        (
            # external work (docs/jobs.md): jobs a step creates and workers fetch under a lease
            """CREATE TABLE jobs (
                id {id}, type TEXT NOT NULL, instance TEXT NOT NULL,
                trigger_name TEXT NOT NULL, payload TEXT NOT NULL, job_key TEXT NOT NULL,
                result_fields TEXT NOT NULL, state TEXT NOT NULL, retries INTEGER NOT NULL,
                attempt INTEGER NOT NULL, failures INTEGER NOT NULL, worker TEXT NOT NULL,
                due_at TEXT NOT NULL, lease_until TEXT, error TEXT NOT NULL,
                created_at TEXT NOT NULL, completed_at TEXT)""",
            "CREATE INDEX jobs_fetch ON jobs (type, state, id)",
            "CREATE INDEX jobs_instance ON jobs (instance, id)",
        ),
    ),
    (
        8,
        (
            # the cursors of named event subscriptions (engine.runtime.listening)
            "CREATE TABLE listener_cursors (name TEXT PRIMARY KEY, cursor TEXT NOT NULL)",
        ),
    ),
    (
        9,
        (
            # workbench sign-in (engine/web): a person's password as an argon2id hash, and
            # API tokens as SHA-256 digests (the token itself is shown once, never stored)
            """CREATE TABLE passwords (
                person TEXT PRIMARY KEY, hash TEXT NOT NULL, set_at TEXT NOT NULL)""",
            """CREATE TABLE api_tokens (
                digest TEXT PRIMARY KEY, person TEXT NOT NULL, created_at TEXT NOT NULL,
                revoked_at TEXT)""",
            "CREATE INDEX api_tokens_person ON api_tokens (person)",
        ),
    ),
    (
        10,
        (
            # `fulfil list` / Engine.search: keyset pages in created or updated order, filtered
            # by process and state (the most common search) or by process alone
            "CREATE INDEX instances_created ON instances (created_at, id)",
            "CREATE INDEX instances_updated ON instances (updated_at, id)",
            "CREATE INDEX instances_process_created ON instances (process, created_at, id)",
            "CREATE INDEX instances_state_created ON instances (process, state, created_at, id)",
            "CREATE INDEX instances_state_updated ON instances (process, state, updated_at, id)",
        ),
    ),
    (
        11,
        (
            # how far `verify` has checked each instance (docs/audit.md, incremental verify)
            """CREATE TABLE verify_marks (
                instance TEXT PRIMARY KEY, seq INTEGER NOT NULL, head TEXT NOT NULL,
                digest TEXT NOT NULL, key_id TEXT NOT NULL, mac TEXT NOT NULL)""",
        ),
    ),
    (
        12,
        (
            # how each instance's marked events were sealed, and how far `verify` has checked
            # each lane of the store-wide sequence: an unchanged store is checked unread
            "ALTER TABLE verify_marks ADD COLUMN seals TEXT NOT NULL DEFAULT ''",
            """CREATE TABLE verify_lanes (
                lane INTEGER PRIMARY KEY, pos INTEGER NOT NULL, instance TEXT NOT NULL,
                seq INTEGER NOT NULL, event_key TEXT NOT NULL, key_id TEXT NOT NULL,
                mac TEXT NOT NULL)""",
        ),
    ),
)
