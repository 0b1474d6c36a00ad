import GRDB

/// The journal's tables (DESIGN.md section 5). A migration is never edited
/// once released: a change is a new migration appended here.
enum JournalSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // One row per run: the job as it was submitted, so a resumed run
            // runs exactly what was started.
            try db.execute(sql: """
                CREATE TABLE runs (
                    id TEXT PRIMARY KEY NOT NULL,
                    job_name TEXT NOT NULL,
                    job_file TEXT NOT NULL,
                    job_text TEXT NOT NULL,
                    job_sha256 TEXT NOT NULL,
                    vars TEXT NOT NULL,
                    status TEXT NOT NULL,
                    detail TEXT,
                    created_at REAL NOT NULL,
                    started_at REAL,
                    finished_at REAL,
                    closed_at REAL
                );
                CREATE INDEX runs_open ON runs(closed_at) WHERE closed_at IS NULL;
                CREATE INDEX runs_created ON runs(created_at);
                """)
            // The latest state of each step: what `atomd show` prints.
            try db.execute(sql: """
                CREATE TABLE steps (
                    run_id TEXT NOT NULL REFERENCES runs(id),
                    step_id TEXT NOT NULL,
                    path TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending',
                    attempts INTEGER NOT NULL DEFAULT 0,
                    key_attempt INTEGER,
                    idempotency_key TEXT,
                    effect TEXT,
                    input TEXT,
                    outputs TEXT,
                    error TEXT,
                    compensation TEXT,
                    process_group INTEGER,
                    started_at REAL,
                    finished_at REAL,
                    PRIMARY KEY (run_id, step_id)
                );
                """)
            // Append-only history: recovery rebuilds a run from it.
            try db.execute(sql: """
                CREATE TABLE events (
                    run_id TEXT NOT NULL REFERENCES runs(id),
                    sequence INTEGER NOT NULL,
                    time REAL NOT NULL,
                    kind TEXT NOT NULL,
                    status TEXT,
                    step_id TEXT,
                    step_path TEXT,
                    attempt INTEGER,
                    detail TEXT,
                    data TEXT,
                    idempotency_key TEXT,
                    effect TEXT,
                    PRIMARY KEY (run_id, sequence)
                );
                """)
            // Named locks held across runs, and armed operator rollbacks; the
            // agent's run queue and control API fill them.
            try db.execute(sql: """
                CREATE TABLE locks (
                    name TEXT PRIMARY KEY NOT NULL,
                    run_id TEXT NOT NULL,
                    step_id TEXT,
                    acquired_at REAL NOT NULL
                );
                CREATE TABLE reservations (
                    run_id TEXT PRIMARY KEY NOT NULL REFERENCES runs(id),
                    target_step TEXT NOT NULL,
                    mode TEXT NOT NULL,
                    created_at REAL NOT NULL
                );
                """)
        }
        // The agent's spool: which file in processing/ a run came from, kept
        // until the file is filed in done/ or failed/. After a restart it says
        // whether a claimed file ran (resume it or file it) or not (start it).
        migrator.registerMigration("v2-spool") { db in
            try db.execute(sql: """
                ALTER TABLE runs ADD COLUMN spool_file TEXT;
                CREATE UNIQUE INDEX runs_spool_file ON runs(spool_file) WHERE spool_file IS NOT NULL;
                """)
        }
        // Each attempt's context (the retry items of its enclosing groups,
        // the check's answer before it ran): its revert, its check and
        // recovery see exactly what the attempt saw.
        migrator.registerMigration("v3-attempt-context") { db in
            try db.execute(sql: "ALTER TABLE events ADD COLUMN context TEXT")
        }
        // A step's state before and after (its `state:` probe, or what its
        // plugin atom reported), for `atomd show`.
        migrator.registerMigration("v4-step-state") { db in
            try db.execute(sql: "ALTER TABLE steps ADD COLUMN state TEXT")
        }
        // `atomd submit`: the token a submitter follows its run by (`--wait`),
        // and the on_failure it asked for instead of the job's.
        migrator.registerMigration("v5-submission") { db in
            try db.execute(sql: """
                ALTER TABLE runs ADD COLUMN submission TEXT;
                ALTER TABLE runs ADD COLUMN on_failure TEXT;
                CREATE INDEX runs_submission ON runs(submission) WHERE submission IS NOT NULL;
                """)
        }
        // `atomd rehearse`: the failure a rehearsal run injected ("after
        // STEP" / "instead STEP"); NULL for every real run.
        migrator.registerMigration("v6-rehearsal") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN rehearsal TEXT")
        }
        // Who submitted the run (a uid): a submitter steers its own runs,
        // and what restarts work is admitted under its limits. NULL for
        // runs journaled before: they count as root's.
        migrator.registerMigration("v7-submitter") { db in
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN submitter INTEGER")
        }
        return migrator
    }
}
