import AtomdJournal
import Logging
import PostgresNIO

/// The journal's tables on PostgreSQL, in the schema `atomd` of the
/// database the URL names: the same rows as on SQLite (DESIGN.md section
/// 5), in PostgreSQL's types. This backend's history starts here; a
/// migration is never edited once released: a change is a new one
/// appended to `migrations`.
enum PostgresSchema {
    /// Held (transaction-scoped) while migrating: two agents starting
    /// together apply each migration once, the second after the first.
    static let migrationLock: Int64 = 0x6174_6F6D_6400_0001

    static let migrations: [(name: String, statements: [PostgresQuery])] = [
        ("v1", [
            """
            CREATE TABLE atomd.runs (
                id TEXT PRIMARY KEY,
                job_name TEXT NOT NULL,
                job_file TEXT NOT NULL,
                job_text TEXT NOT NULL,
                job_sha256 TEXT NOT NULL,
                vars TEXT NOT NULL,
                status TEXT NOT NULL,
                detail TEXT,
                created_at DOUBLE PRECISION NOT NULL,
                started_at DOUBLE PRECISION,
                finished_at DOUBLE PRECISION,
                closed_at DOUBLE PRECISION,
                spool_file TEXT,
                submission TEXT,
                on_failure TEXT,
                rehearsal TEXT,
                submitter BIGINT
            )
            """,
            "CREATE INDEX runs_open ON atomd.runs (created_at, id) WHERE closed_at IS NULL",
            "CREATE INDEX runs_created ON atomd.runs (created_at)",
            "CREATE UNIQUE INDEX runs_spool_file ON atomd.runs (spool_file) WHERE spool_file IS NOT NULL",
            "CREATE INDEX runs_submission ON atomd.runs (submission) WHERE submission IS NOT NULL",
            // `ord`: the order steps first had a transition (SQLite's rowid).
            """
            CREATE TABLE atomd.steps (
                run_id TEXT NOT NULL REFERENCES atomd.runs (id),
                step_id TEXT NOT NULL,
                ord BIGSERIAL NOT NULL,
                path TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending',
                attempts BIGINT NOT NULL DEFAULT 0,
                key_attempt BIGINT,
                idempotency_key TEXT,
                effect TEXT,
                input TEXT,
                outputs TEXT,
                error TEXT,
                compensation TEXT,
                process_group BIGINT,
                state TEXT,
                started_at DOUBLE PRECISION,
                finished_at DOUBLE PRECISION,
                PRIMARY KEY (run_id, step_id)
            )
            """,
            """
            CREATE TABLE atomd.events (
                run_id TEXT NOT NULL REFERENCES atomd.runs (id),
                sequence BIGINT NOT NULL,
                time DOUBLE PRECISION NOT NULL,
                kind TEXT NOT NULL,
                status TEXT,
                step_id TEXT,
                step_path TEXT,
                attempt BIGINT,
                detail TEXT,
                data TEXT,
                idempotency_key TEXT,
                effect TEXT,
                context TEXT,
                PRIMARY KEY (run_id, sequence)
            )
            """,
            recordFunction,
        ]),
    ]

    /// One `record` in one statement, so one round trip and one commit: the
    /// events as `PostgresWrites.batch` lays them out, each appended to the
    /// history and applied to its run's and step's rows as `JournalWrites`
    /// does on SQLite. A batch whose first event is already there was
    /// committed by an earlier try whose answer was lost: it is not applied twice.
    static let recordFunction: PostgresQuery = """
        CREATE FUNCTION atomd.record_events(batch jsonb) RETURNS void LANGUAGE plpgsql AS $body$
        DECLARE
            e record;
        BEGIN
            -- Stored by an earlier try whose answer was lost: the same event.
            -- Another event at that place is another writer's: refused.
            IF EXISTS (SELECT 1 FROM atomd.events
                       WHERE run_id = batch->0->>'run_id' AND sequence = (batch->0->>'sequence')::bigint) THEN
                IF NOT EXISTS (SELECT 1 FROM atomd.events
                               WHERE run_id = batch->0->>'run_id' AND sequence = (batch->0->>'sequence')::bigint
                                 AND kind = batch->0->>'kind' AND status IS NOT DISTINCT FROM batch->0->>'status'
                                 AND step_id IS NOT DISTINCT FROM batch->0->>'step_id'
                                 AND attempt IS NOT DISTINCT FROM (batch->0->>'attempt')::bigint) THEN
                    RAISE EXCEPTION 'event % of run % is already another one: a second writer', batch->0->>'sequence', batch->0->>'run_id'
                        USING ERRCODE = 'unique_violation', HINT = 'two atomd processes wrote this run';
                END IF;
                RETURN;
            END IF;
            INSERT INTO atomd.events (run_id, sequence, time, kind, status, step_id, step_path, attempt, detail, data,
                                      idempotency_key, effect, context)
            SELECT run_id, sequence, time, kind, status, step_id, step_path, attempt, detail, data, idempotency_key, effect, context
            FROM jsonb_to_recordset(batch) AS x(run_id text, sequence bigint, time float8, kind text, status text, step_id text,
                                                step_path text, attempt bigint, detail text, data text, idempotency_key text, effect text,
                                                context text);
            -- In order: one batch may hold a step's failed attempt and its next.
            FOR e IN SELECT * FROM jsonb_to_recordset(batch) AS x(
                run_id text, time float8, kind text, status text, step_id text, step_path text, attempt bigint, detail text, data text,
                idempotency_key text, effect text, final boolean, reopened boolean, set_vars jsonb, process_group bigint, keyed boolean,
                key_attempt bigint, set_outputs boolean, outputs text, set_error boolean, error text, set_compensation boolean,
                compensation text, set_state boolean, state text)
            LOOP
                IF e.kind = 'step' AND e.step_id IS NOT NULL THEN
                    INSERT INTO atomd.steps AS s (run_id, step_id, path, status, attempts, key_attempt, idempotency_key, effect, input,
                                                  outputs, error, compensation, state, started_at, finished_at)
                    VALUES (e.run_id, e.step_id, COALESCE(e.step_path, e.step_id), e.status, COALESCE(e.attempt, 0),
                            CASE WHEN e.keyed THEN e.key_attempt END, CASE WHEN e.keyed THEN e.idempotency_key END, e.effect,
                            CASE WHEN e.keyed THEN e.data END, CASE WHEN e.set_outputs THEN e.outputs END,
                            CASE WHEN e.set_error THEN e.error END, CASE WHEN e.set_compensation THEN e.compensation END,
                            CASE WHEN e.set_state THEN e.state END, CASE WHEN e.status = 'running' THEN e.time END,
                            CASE WHEN e.status IN ('succeeded', 'skipped', 'failed', 'ignored') THEN e.time END)
                    ON CONFLICT (run_id, step_id) DO UPDATE SET
                        status = e.status,
                        effect = COALESCE(e.effect, s.effect),
                        attempts = GREATEST(s.attempts, COALESCE(e.attempt, 0)),
                        started_at = CASE WHEN e.status = 'running' AND (COALESCE(e.attempt, 1) = 1 OR s.started_at IS NULL)
                                          THEN e.time ELSE s.started_at END,
                        finished_at = CASE WHEN e.status IN ('running', 'pending') THEN NULL
                                           WHEN e.status IN ('succeeded', 'skipped', 'failed', 'ignored') THEN e.time ELSE s.finished_at END,
                        idempotency_key = CASE WHEN e.keyed THEN e.idempotency_key ELSE s.idempotency_key END,
                        key_attempt = CASE WHEN e.keyed THEN e.key_attempt ELSE s.key_attempt END,
                        input = CASE WHEN e.keyed THEN e.data ELSE s.input END,
                        outputs = CASE WHEN e.set_outputs THEN e.outputs ELSE s.outputs END,
                        error = CASE WHEN e.set_error THEN e.error ELSE s.error END,
                        compensation = CASE WHEN e.set_compensation THEN e.compensation ELSE s.compensation END,
                        state = CASE WHEN e.set_state THEN e.state ELSE s.state END;
                ELSIF e.kind = 'run' THEN
                    UPDATE atomd.runs SET status = e.status, detail = e.detail,
                        started_at = CASE WHEN e.status = 'running' THEN COALESCE(started_at, e.time) ELSE started_at END,
                        finished_at = CASE WHEN e.final THEN e.time ELSE NULL END
                    WHERE id = e.run_id;
                ELSIF e.kind = 'closed' THEN
                    UPDATE atomd.runs SET closed_at = e.time WHERE id = e.run_id;
                ELSIF e.kind = 'note' THEN
                    IF e.reopened THEN
                        UPDATE atomd.runs SET closed_at = NULL WHERE id = e.run_id;
                    END IF;
                    IF jsonb_typeof(e.set_vars) = 'object' THEN
                        UPDATE atomd.runs SET vars = (COALESCE(vars::jsonb, '{}'::jsonb) || e.set_vars)::text WHERE id = e.run_id;
                    END IF;
                    IF e.step_id IS NOT NULL AND e.process_group IS NOT NULL THEN
                        UPDATE atomd.steps SET process_group = e.process_group WHERE run_id = e.run_id AND step_id = e.step_id;
                    END IF;
                END IF;
            END LOOP;
        END
        $body$
        SET search_path = pg_catalog, atomd
        """

    /// Brings the schema up to date under the migration lock, in one
    /// transaction: all of it, or nothing. Refuses a database whose `atomd`
    /// schema another program made, or a newer atomd migrated.
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.run("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            let schemaExists = try await connection.query(
                "SELECT count(*) FROM pg_namespace WHERE nspname = 'atomd'", logger: logger).decode(Int.self).first { _ in true } ?? 0
            if schemaExists == 0 {
                try await connection.run("CREATE SCHEMA atomd", logger: logger)
            }
            let tableExists = try await connection.query(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'atomd' AND tablename = 'migrations'", logger: logger)
                .decode(Int.self).first { _ in true } ?? 0
            if tableExists == 0 {
                let others = try await connection.query(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'atomd' ORDER BY tablename LIMIT 5", logger: logger)
                    .decode(String.self).collect()
                guard others.isEmpty else {
                    throw JournalError("the schema atomd holds tables that are not an atomd journal's (\(others.joined(separator: ", ")))")
                }
                try await connection.run(
                    "CREATE TABLE atomd.migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", logger: logger)
            }
            try await checkOwnership(connection, logger: logger)
            let applied = Set(try await connection.query("SELECT name FROM atomd.migrations", logger: logger).decode(String.self).collect())
            let known = Set(migrations.map(\.name))
            if let unknown = applied.subtracting(known).sorted().first {
                throw JournalError("it was migrated by a newer atomd (migration \(unknown)); use that version")
            }
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements { try await connection.run(statement, logger: logger) }
                try await connection.run("INSERT INTO atomd.migrations (name) VALUES (\(migration.name))", logger: logger)
                logger.info("journal: applied migration \(migration.name)")
            }
        }
    }

    /// Refuses a schema `atomd` that is not wholly atomd's role's: the
    /// schema and everything in it (columns included) owned by it, no
    /// privilege granted to any other role, and atomd's role granted to no
    /// role but superusers (a member may act as it). Whoever else could create or change a table or function
    /// there would run code as atomd's role in every write, and could change
    /// the job text a resumed run runs.
    static func checkOwnership(_ connection: PostgresConnection, logger: Logger) async throws {
        let foreign = try await connection.query("""
            WITH me AS (SELECT oid, rolname FROM pg_roles WHERE rolname = current_user),
            objects AS (
                SELECT 'schema atomd' AS what, nspowner AS owner, nspacl::text[] AS acl FROM pg_namespace WHERE nspname = 'atomd'
                UNION ALL SELECT 'table atomd.' || relname, relowner, relacl::text[] FROM pg_class
                    WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'atomd')
                UNION ALL SELECT 'function atomd.' || proname, proowner, proacl::text[] FROM pg_proc
                    WHERE pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'atomd')
                UNION ALL SELECT 'type atomd.' || typname, typowner, typacl::text[] FROM pg_type
                    WHERE typnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'atomd')
                UNION ALL SELECT 'column atomd.' || c.relname || '.' || a.attname, c.relowner, a.attacl::text[]
                    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                    WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'atomd') AND a.attacl IS NOT NULL
                UNION ALL SELECT 'role ' || me.rolname || ' (granted to ' || pg_get_userbyid(m.member) || ')', me.oid, NULL
                    FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member, me
                    WHERE m.roleid = me.oid AND NOT r.rolsuper
            )
            SELECT what || CASE WHEN owner <> me.oid THEN ' (owned by ' || pg_get_userbyid(owner) || ')'
                                WHEN what LIKE 'role %' THEN '' ELSE ' (granted to others)' END
            FROM objects, me
            WHERE owner <> me.oid OR what LIKE 'role %'
               OR EXISTS (SELECT 1 FROM unnest(acl) AS entry
                          WHERE split_part(entry, '=', 1) NOT IN (me.rolname, '"' || me.rolname || '"'))
            ORDER BY 1 LIMIT 5
            """, logger: logger).decode(String.self).collect()
        guard foreign.isEmpty else {
            throw JournalError("the schema atomd is not atomd's role's alone: \(foreign.joined(separator: ", "))",
                               hint: "give atomd a database (or schema) no other role can create in, and drop what others made there")
        }
    }

    /// Refuses a server that does not make commits durable before it
    /// answers (`synchronous_commit = off`, `fsync = off`), unless the
    /// operator accepted it; the settings that are off.
    @discardableResult
    static func checkDurability(_ connection: PostgresConnection, allowAsync: Bool, logger: Logger) async throws -> [String] {
        var off: [String] = []
        for setting in ["synchronous_commit", "fsync"] {
            let value = try await connection.query("SELECT current_setting(\(setting))", logger: logger)
                .decode(String.self).collect().first ?? "unknown"
            guard value == "off" else { continue }
            guard allowAsync else {
                throw JournalError("the server has \(setting) = off: a commit it confirms may be lost in a crash, and a run would act on it",
                                   hint: "turn it on for atomd's role (ALTER ROLE … SET \(setting) = on), or accept it with journal.postgres.allow_async: true")
            }
            off.append(setting)
        }
        return off
    }
}

extension AsyncSequence where Self: Sendable {
    /// Every element, in order.
    func collect() async throws -> [Element] {
        var all: [Element] = []
        for try await element in self { all.append(element) }
        return all
    }
}
