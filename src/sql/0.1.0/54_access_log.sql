-- ---------------------------------------------------------------------------
-- 54 access log (innsynslogg): every sharing-service access, granted or
-- denied, written durably before data is returned (src/access_log.c), and
-- carried by the background worker (src/access_log_worker.c) into one
-- SHA-256 hash chain, one entry per read.  docs/access-log.md.
-- ---------------------------------------------------------------------------

CREATE FUNCTION deling.access_log_emit(entry jsonb) RETURNS pg_lsn
    AS 'MODULE_PATHNAME', 'deling_access_log_emit' LANGUAGE C VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.access_log_emit(jsonb) IS
    'Internal: write an access-log entry as a non-transactional WAL message and flush it; deling_owner only';

CREATE FUNCTION deling.access_log_problem(raw bytea) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_access_log_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.access_log_problem(bytea) IS
    'Why the drain cannot append a decoded message (too large, not UTF-8, not JSON, not an entry); NULL when it can';

CREATE FUNCTION deling.sha256(bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'deling_sha256' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.sha256(bytea) IS 'SHA-256 digest (OpenSSL)';
CREATE FUNCTION deling.sha256_chain(start bytea, contents bytea[]) RETURNS bytea[]
    AS 'MODULE_PATHNAME', 'deling_sha256_chain' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.sha256_chain(bytea, bytea[]) IS
    'Hash chain: element i is SHA-256(element i-1 || contents[i]), element 0 being start';

CREATE FUNCTION deling.random_key() RETURNS bytea
    AS 'MODULE_PATHNAME', 'deling_random_key' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.random_key() IS '32 bytes from the server''s strong random source';
CREATE FUNCTION deling.ed25519_public_key(seed bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'deling_ed25519_public_key' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.ed25519_public_key(bytea) IS 'The Ed25519 public key of a 32-byte seed (OpenSSL)';
CREATE FUNCTION deling.ed25519_sign(message bytea, seed bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'deling_ed25519_sign' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.ed25519_sign(bytea, bytea) IS 'The Ed25519 signature of a message under a 32-byte seed (OpenSSL)';
CREATE FUNCTION deling.ed25519_verify(message bytea, signature bytea, public_key bytea) RETURNS boolean
    AS 'MODULE_PATHNAME', 'deling_ed25519_verify' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.ed25519_verify(bytea, bytea, bytea) IS 'Whether a signature is the Ed25519 signature of a message under a public key';

-- nobody but a superuser may put messages into the WAL (they could forge entries)
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean, text, bytea) FROM PUBLIC;

CREATE TABLE deling.access_log (
    seq           bigint PRIMARY KEY CHECK (seq > 0),
    lsn           pg_lsn UNIQUE,
    kind          text NOT NULL CHECK (kind IN ('access', 'quarantined', 'gap')),
    logged_at     timestamptz NOT NULL,
    appended_at   timestamptz NOT NULL DEFAULT now(),
    citizen_pid   text CHECK (length(citizen_pid) <= 100),
    kommuner      text[] NOT NULL DEFAULT '{}',
    entry         jsonb NOT NULL,
    content_hash  bytea NOT NULL,
    prev_hash     bytea NOT NULL,
    chain_hash    bytea NOT NULL
);
COMMENT ON TABLE deling.access_log IS
    'Access log: one entry per read (kind access, listing the kommuner it concerned), per quarantined message and per acknowledged gap; one SHA-256 hash chain in seq order; append-only';
CREATE INDEX access_log_citizen ON deling.access_log (citizen_pid, logged_at) WHERE citizen_pid IS NOT NULL;
CREATE INDEX access_log_kommuner ON deling.access_log USING gin (kommuner);
CREATE INDEX access_log_logged_at ON deling.access_log (logged_at);

-- the log's head: what the worker has appended and confirmed, and any gap
CREATE TABLE deling.access_log_head (
    id                  boolean PRIMARY KEY DEFAULT true CHECK (id),
    confirmed_lsn       pg_lsn NOT NULL DEFAULT '0/0',
    last_seq            bigint NOT NULL DEFAULT 0,
    last_hash           bytea,
    appended_at         timestamptz,
    gap_kind            text CHECK (gap_kind IN ('dropped', 'invalidated', 'replaced', 'advanced')),
    gap_cause           text,
    gap_from            pg_lsn,
    gap_to              pg_lsn,
    gap_detected_at     timestamptz,
    gap_acknowledged_at timestamptz,
    gap_acknowledged_by text,
    gap_reason          text
);
COMMENT ON TABLE deling.access_log_head IS
    'The access log''s head: every entry before confirmed_lsn is in the log; the last entry appended; a gap the worker found in the slot and its acknowledgement';
INSERT INTO deling.access_log_head DEFAULT VALUES;

-- messages the drain could not append, kept as they were
CREATE TABLE deling.access_log_quarantine (
    lsn          pg_lsn PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    reason       text NOT NULL,
    raw          bytea NOT NULL,
    raw_sha256   bytea NOT NULL
);
COMMENT ON TABLE deling.access_log_quarantine IS
    'Access-log messages the drain could not append (not JSON, not an entry, an insert error), with the reason; each is also a chain entry of kind quarantined';

-- the key that signs the log's anchors; only its owner reads the seed
CREATE TABLE deling.access_log_key (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    seed        bytea NOT NULL CHECK (octet_length(seed) = 32),
    public_key  bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE deling.access_log_key IS
    'The Ed25519 key that signs access-log anchors; the seed is readable by deling_owner (and superusers) only';
INSERT INTO deling.access_log_key (seed, public_key)
SELECT k, deling.ed25519_public_key(k) FROM deling.random_key() k;

ALTER TABLE deling.access_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE deling.access_log FORCE ROW LEVEL SECURITY;
CREATE POLICY access_log_admin ON deling.access_log FOR SELECT TO deling_admin USING (true);
CREATE POLICY access_log_citizen ON deling.access_log FOR SELECT TO deling_owner
    USING (citizen_pid = (SELECT deling.ctx_citizen_pid()));

-- append-only for everyone but a superuser (whose changes the verifier catches)
CREATE FUNCTION deling.access_log_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'the access log is append-only' USING ERRCODE = '42501';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION deling.access_log_append_only() IS
    'Trigger: refuses UPDATE, DELETE and TRUNCATE of the access log and its quarantine to everyone but a superuser';
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON deling.access_log
    FOR EACH ROW EXECUTE FUNCTION deling.access_log_append_only();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON deling.access_log
    FOR EACH STATEMENT EXECUTE FUNCTION deling.access_log_append_only();
CREATE TRIGGER access_log_quarantine_append_only BEFORE UPDATE OR DELETE ON deling.access_log_quarantine
    FOR EACH ROW EXECUTE FUNCTION deling.access_log_append_only();
CREATE TRIGGER access_log_quarantine_no_truncate BEFORE TRUNCATE ON deling.access_log_quarantine
    FOR EACH STATEMENT EXECUTE FUNCTION deling.access_log_append_only();

CREATE FUNCTION deling.access_log_slot() RETURNS name
    AS 'MODULE_PATHNAME', 'deling_access_log_slot' LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.access_log_slot() IS
    'The name of this database''s access-log replication slot (deling_access_log_<database oid>)';

CREATE FUNCTION deling.access_log_ready() RETURNS boolean
    AS 'MODULE_PATHNAME', 'deling_access_log_ready' LANGUAGE C VOLATILE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.access_log_ready() IS
    'Whether the access log can take entries now: the worker runs, holds the slot, and no gap waits for acknowledgement';

CREATE FUNCTION deling.access_log_check() RETURNS void
    AS 'MODULE_PATHNAME', 'deling_access_log_check' LANGUAGE C VOLATILE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.access_log_check() IS
    'Refuses (55000, with what the DBA does) unless the access log can take entries; every sharing read calls it first';

CREATE FUNCTION deling.access_log_drain(wait interval DEFAULT '30 seconds') RETURNS bigint
    AS 'MODULE_PATHNAME', 'deling_access_log_drain' LANGUAGE C VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.access_log_drain(interval) IS
    'Wake the access-log worker and wait until every entry written before the call is in the log (55000 after wait); returns the entries it appended meanwhile';

CREATE FUNCTION deling.access_log_worker_status(OUT worker_pid integer, OUT ready boolean, OUT read_upto pg_lsn,
                                                OUT caught_up_at timestamptz, OUT emitted bigint, OUT consumed bigint,
                                                OUT undrained bigint, OUT refused bigint, OUT last_anchor_at timestamptz,
                                                OUT last_anchor_seq bigint, OUT system_identifier text)
    AS 'MODULE_PATHNAME', 'deling_access_log_worker_status' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.access_log_worker_status() IS
    'The access-log worker''s shared state (counters since the server started), for deling.status';

-- access_log_now: a time as entries carry it, e.g. 2026-11-23T15:04:05.000000Z
CREATE FUNCTION deling.access_log_now() RETURNS text
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
$$;
COMMENT ON FUNCTION deling.access_log_now() IS 'The current time in UTC as access-log entries carry it';

CREATE FUNCTION deling.access_log_genesis() RETURNS bytea
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.sha256(convert_to('deling access log', 'UTF8'));
$$;
COMMENT ON FUNCTION deling.access_log_genesis() IS 'The prev_hash of the access log''s first entry';

-- access_log_content: the hash an entry contributes to the chain: its kind,
-- its LSN and its content (the other columns are derived from those)
CREATE FUNCTION deling.access_log_content(kind text, lsn pg_lsn, entry jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.sha256(convert_to(kind || ' ' || coalesce(lsn::text, '-') || ' ' || entry::text, 'UTF8'));
$$;
COMMENT ON FUNCTION deling.access_log_content(text, pg_lsn, jsonb) IS
    'The content hash of an access-log entry: SHA-256 of its kind, LSN and entry';

CREATE FUNCTION deling.access_log_kommuner(entry jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT ARRAY(SELECT k FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(entry->'kommuner') = 'array'
                                                           THEN entry->'kommuner' ELSE '[]' END) AS k);
$$;
COMMENT ON FUNCTION deling.access_log_kommuner(jsonb) IS 'The kommuner an access-log entry concerns, as listed in it';

-- access_log_chain (worker): continue the chain with entries, set-based:
-- content hashes, one sha256_chain call, one INSERT, the head moved on.
-- The chain continues from the head, so removing the newest entries shows
-- as a break; a restored database (head not dumped) continues from its
-- last entry.
CREATE FUNCTION deling.access_log_chain(kinds text[], lsns pg_lsn[], entries jsonb[]) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    h deling.access_log_head;
    base bigint;
    start bytea;
    contents bytea[];
    chain bytea[];
    n integer := coalesce(cardinality(entries), 0);
BEGIN
    IF n = 0 THEN
        RETURN 0;
    END IF;
    SELECT * INTO h FROM deling.access_log_head FOR UPDATE;
    IF h.last_seq > 0 THEN
        base := h.last_seq;
        start := h.last_hash;
    ELSE
        SELECT l.seq, l.chain_hash INTO base, start FROM deling.access_log l ORDER BY l.seq DESC LIMIT 1;
        base := coalesce(base, 0);
        start := coalesce(start, deling.access_log_genesis());
    END IF;
    contents := ARRAY(SELECT deling.access_log_content(u.k, u.l, u.e)
                      FROM unnest(kinds, lsns, entries) WITH ORDINALITY AS u(k, l, e, i) ORDER BY u.i);
    chain := deling.sha256_chain(start, contents);
    INSERT INTO deling.access_log (seq, lsn, kind, logged_at, citizen_pid, kommuner, entry, content_hash, prev_hash, chain_hash)
    SELECT base + u.i, u.l, u.k, (u.e->>'time')::timestamptz, u.e->>'citizen', deling.access_log_kommuner(u.e), u.e, u.c,
           coalesce(lag(u.h) OVER (ORDER BY u.i), start), u.h
    FROM unnest(kinds, lsns, entries, contents, chain) WITH ORDINALITY AS u(k, l, e, c, h, i);
    UPDATE deling.access_log_head SET last_seq = base + n, last_hash = chain[n], appended_at = now();
    RETURN n;
END
$$;
COMMENT ON FUNCTION deling.access_log_chain(text[], pg_lsn[], jsonb[]) IS
    'Internal (worker): append entries to the access log''s hash chain in one statement';

-- access_log_quarantine_entry: the chain entry that records a quarantined message
CREATE FUNCTION deling.access_log_quarantine_entry(lsn pg_lsn, raw bytea, reason text) RETURNS jsonb
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_build_object('time', deling.access_log_now(), 'event', 'quarantined', 'lsn', lsn::text,
                              'reason', deling.clip(reason, 500), 'raw_sha256', encode(deling.sha256(raw), 'hex'),
                              'raw_length', octet_length(raw));
$$;
COMMENT ON FUNCTION deling.access_log_quarantine_entry(pg_lsn, bytea, text) IS
    'The access-log entry that records a quarantined message: its LSN, the reason, its SHA-256 and length';

-- access_log_append (worker): append decoded messages, set-based; each one
-- already in the log (a crash between append and confirm) is skipped, each
-- one the log cannot take is quarantined (and the chain records it).
CREATE FUNCTION deling.access_log_append(lsns pg_lsn[], raws bytea[]) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kinds text[];
    new_lsns pg_lsn[];
    entries jsonb[];
    bad integer;
    first_bad text;
BEGIN
    PERFORM FROM deling.access_log_head FOR UPDATE;
    WITH input AS (
        SELECT u.i, u.lsn, u.raw, deling.access_log_problem(u.raw) AS problem
        FROM unnest(lsns, raws) WITH ORDINALITY AS u(lsn, raw, i)
        WHERE NOT EXISTS (SELECT FROM deling.access_log l WHERE l.lsn = u.lsn)),
    quarantined AS (
        INSERT INTO deling.access_log_quarantine (lsn, reason, raw, raw_sha256)
        SELECT x.lsn, x.problem, x.raw, deling.sha256(x.raw) FROM input x WHERE x.problem IS NOT NULL
        ON CONFLICT DO NOTHING
        RETURNING 1)
    SELECT coalesce(array_agg(CASE WHEN x.problem IS NULL THEN 'access' ELSE 'quarantined' END ORDER BY x.i), '{}'),
           coalesce(array_agg(x.lsn ORDER BY x.i), '{}'),
           coalesce(array_agg(CASE WHEN x.problem IS NULL THEN convert_from(x.raw, 'UTF8')::jsonb
                                   ELSE deling.access_log_quarantine_entry(x.lsn, x.raw, x.problem) END ORDER BY x.i), '{}'),
           (SELECT count(*) FROM quarantined),
           min(format('%s at %s', x.problem, x.lsn)) FILTER (WHERE x.problem IS NOT NULL)
    INTO kinds, new_lsns, entries, bad, first_bad
    FROM input x;
    IF bad > 0 THEN
        RAISE WARNING 'deling access log: % message(s) quarantined: %', bad, first_bad
            USING HINT = 'SELECT * FROM deling.access_log_quarantine shows them; the log carries on.';
    END IF;
    RETURN deling.access_log_chain(kinds, new_lsns, entries);
END
$$;
COMMENT ON FUNCTION deling.access_log_append(pg_lsn[], bytea[]) IS
    'Internal (worker): append decoded access-log messages in one set-based call, skipping those already in the log, quarantining those it cannot take';

-- access_log_quarantine (worker): an entry whose append failed on its own
CREATE FUNCTION deling.access_log_quarantine(lsn pg_lsn, raw bytea, reason text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT FROM deling.access_log l WHERE l.lsn = access_log_quarantine.lsn) THEN
        RETURN;
    END IF;
    INSERT INTO deling.access_log_quarantine (lsn, reason, raw, raw_sha256)
    VALUES (lsn, reason, raw, deling.sha256(raw)) ON CONFLICT DO NOTHING;
    RAISE WARNING 'deling access log: the message at % quarantined: %', lsn, reason
        USING HINT = 'SELECT * FROM deling.access_log_quarantine shows it; the log carries on.';
    PERFORM deling.access_log_chain(ARRAY['quarantined'], ARRAY[lsn],
                                    ARRAY[deling.access_log_quarantine_entry(lsn, raw, reason)]);
END
$$;
COMMENT ON FUNCTION deling.access_log_quarantine(pg_lsn, bytea, text) IS
    'Internal (worker): quarantine a message whose append failed, and record it in the chain';

-- access_log_acknowledge_gap: a DBA's acknowledgement of a gap the worker
-- found in the slot (entries may have been lost); the worker then records
-- the gap and the acknowledgement as a chain entry and reads are served
-- again (with a new slot if the old one was lost).
CREATE FUNCTION deling.access_log_acknowledge_gap(reason text) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    h deling.access_log_head;
BEGIN
    IF nullif(btrim(reason), '') IS NULL THEN
        RAISE EXCEPTION 'a reason is required: what was found and why the gap is accepted' USING ERRCODE = '22023';
    ELSIF length(reason) > 1000 THEN
        RAISE EXCEPTION 'reason is longer than 1000 characters (%)', length(reason) USING ERRCODE = '22023';
    END IF;
    SELECT * INTO h FROM deling.access_log_head FOR UPDATE;
    IF h.gap_detected_at IS NULL THEN
        RAISE EXCEPTION 'the access log has no gap to acknowledge' USING ERRCODE = '55000';
    END IF;
    UPDATE deling.access_log_head
    SET gap_acknowledged_at = now(), gap_acknowledged_by = session_user, gap_reason = reason;
    RETURN jsonb_build_object('gap', h.gap_kind, 'cause', h.gap_cause, 'from_lsn', h.gap_from::text, 'to_lsn', h.gap_to::text,
                              'detected_at', h.gap_detected_at, 'acknowledged_by', session_user::text, 'reason', reason);
END
$$;
COMMENT ON FUNCTION deling.access_log_acknowledge_gap(text) IS
    'DBA (deling_admin): acknowledge a gap in the access log with a reason; the worker records it as a chain entry of kind gap and reads are served again';

-- access_log_record_gap (worker): the acknowledged gap as a chain entry
CREATE FUNCTION deling.access_log_record_gap() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    h deling.access_log_head;
BEGIN
    SELECT * INTO h FROM deling.access_log_head FOR UPDATE;
    IF h.gap_acknowledged_at IS NULL THEN
        RETURN;
    END IF;
    PERFORM deling.access_log_chain(ARRAY['gap'], ARRAY[NULL::pg_lsn], ARRAY[jsonb_build_object(
        'time', deling.access_log_now(), 'event', 'gap', 'gap', h.gap_kind, 'cause', h.gap_cause,
        'from_lsn', h.gap_from::text, 'to_lsn', h.gap_to::text,
        'detected_at', to_char(h.gap_detected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'acknowledged_at', to_char(h.gap_acknowledged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'acknowledged_by', h.gap_acknowledged_by, 'reason', h.gap_reason)]);
    -- an advanced slot carries on from where it now is; a lost one is made anew
    UPDATE deling.access_log_head
    SET confirmed_lsn = CASE WHEN h.gap_kind = 'advanced' THEN h.gap_to ELSE '0/0' END,
        gap_kind = NULL, gap_cause = NULL, gap_from = NULL, gap_to = NULL, gap_detected_at = NULL,
        gap_acknowledged_at = NULL, gap_acknowledged_by = NULL, gap_reason = NULL;
END
$$;
COMMENT ON FUNCTION deling.access_log_record_gap() IS
    'Internal (worker): record an acknowledged gap as a chain entry of kind gap and let the log carry on';

-- access_log_anchor: the log's head, signed, for the DBA to keep outside
-- the database; verify_access_log checks the log against it later.
CREATE FUNCTION deling.access_log_anchor() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k deling.access_log_key;
    a jsonb;
BEGIN
    SELECT * INTO STRICT k FROM deling.access_log_key;
    SELECT jsonb_build_object('system_identifier', (SELECT w.system_identifier FROM deling.access_log_worker_status() w),
                              'database', current_database(), 'seq', h.last_seq,
                              'chain_hash', encode(coalesce(h.last_hash, deling.access_log_genesis()), 'hex'),
                              'taken_at', deling.access_log_now(), 'public_key', encode(k.public_key, 'hex'))
    INTO a FROM deling.access_log_head h;
    RETURN a || jsonb_build_object('signature', encode(deling.ed25519_sign(convert_to(a::text, 'UTF8'), k.seed), 'hex'));
END
$$;
COMMENT ON FUNCTION deling.access_log_anchor() IS
    'DBA (deling_admin): the access log''s head (seq and chain hash) signed with Ed25519, to keep outside the database and check with verify_access_log later';

-- log_access: write one access-log entry for the current caller, durably,
-- before the data is returned.  Used by the sharing gate (denials) and by
-- every sharing read (grants, with the number of resources returned).
-- Every value a caller supplies is bounded (deling.clip), so the entry
-- stays small and its citizen fits the index.  It refuses (55000) while the
-- log cannot take entries, so no read returns data without its entry, also
-- one that did not pass the sharing gate (KPR).
CREATE FUNCTION deling.log_access(service text, pid text, kommuner text[], purpose text, reason text,
                                  granted boolean, why text, resources integer, flags jsonb DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kind text := deling.ctx_kind();
    effective text := coalesce(nullif(current_setting('deling.ctx_purpose'), ''), purpose);
    ref jsonb := CASE WHEN kind <> '' THEN nullif(current_setting('deling.ctx_decision_ref'), '')::jsonb END;
BEGIN
    PERFORM deling.access_log_check();
    IF length(ref::text) > 1000 OR jsonb_typeof(ref) <> 'object' THEN
        ref := jsonb_build_object('id', deling.clip(ref->>'id', 200), 'description', deling.clip(ref->>'description', 500),
                                  'truncated', length(ref::text));
    END IF;
    PERFORM deling.access_log_emit(jsonb_strip_nulls(jsonb_build_object(
        'time', deling.access_log_now(),
        'service', deling.clip(service, 64),
        'citizen', deling.clip(pid, 32),
        'kommuner', to_jsonb(coalesce(kommuner, '{}'::text[])),
        'decision', CASE WHEN granted THEN 'granted' ELSE 'denied' END,
        'why', deling.clip(why, 1000),
        'resources', resources,
        'kind', nullif(kind, ''),
        'role', deling.outer_role(),
        'hpr', CASE WHEN kind <> '' THEN deling.clip(nullif(current_setting('deling.ctx_hpr'), ''), 32) END,
        'actor_pid', CASE WHEN kind <> '' THEN deling.clip(nullif(current_setting('deling.ctx_pid'), ''), 32) END,
        'name', CASE WHEN kind <> '' THEN deling.clip(nullif(current_setting('deling.ctx_name'), ''), 200) END,
        'orgnr_parent', CASE WHEN kind <> '' THEN deling.clip(nullif(current_setting('deling.ctx_orgnr_parent'), ''), 32) END,
        'orgnr_child', CASE WHEN kind <> '' THEN deling.clip(nullif(current_setting('deling.ctx_orgnr_child'), ''), 32) END,
        'client_id', CASE WHEN kind <> '' THEN deling.clip(nullif(current_setting('deling.ctx_client_id'), ''), 200) END,
        'acting_for', deling.current_kommune(),
        'purpose', deling.clip(effective, 20),
        'decision_ref', ref,
        'emergency', CASE WHEN effective = 'ETREAT' AND kind = 'person' THEN true END,
        'reason', CASE WHEN effective = 'ETREAT' THEN deling.clip(deling.emergency_reason(reason), 1000) END,
        'token_id', CASE WHEN kind <> '' THEN deling.clip(nullif(current_setting('deling.ctx_token_id'), ''), 200) END,
        'request_id', CASE WHEN kind <> '' THEN deling.clip(nullif(current_setting('deling.ctx_request_id'), ''), 200) END,
        'session_user', session_user::text) || flags));
END
$$;
COMMENT ON FUNCTION deling.log_access(text, text, text[], text, text, boolean, text, integer, jsonb) IS
    'Write one durable access-log entry for the current caller, every caller-supplied value bounded (sharing functions only)';

-- verify_access_log: check the whole chain (linkage, content hashes, the
-- columns derived from each entry, the head) and, with an anchor taken
-- earlier, that the log still holds the anchored entry unchanged; count the
-- kommune's entries (NULL: every entry).
CREATE FUNCTION deling.verify_access_log(kommune_nr text, anchor jsonb DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    total bigint;
    last bigint;
    mine bigint;
    problem jsonb;
    head_seq bigint := (SELECT h.last_seq FROM deling.access_log_head h);
    anchored bytea;
    result jsonb;
BEGIN
    SELECT count(*), max(l.seq), count(*) FILTER (WHERE kommune_nr IS NULL OR l.kommuner @> ARRAY[kommune_nr])
    INTO total, last, mine FROM deling.access_log l;
    SELECT jsonb_build_object('seq', CASE WHEN c.problem = 'removed' THEN c.expected ELSE c.seq END, 'problem', c.problem)
    INTO problem
    FROM (SELECT x.seq, x.expected,
                 CASE WHEN x.seq <> x.expected THEN 'removed'
                      WHEN x.prev_hash <> x.expected_prev THEN 'removed or reordered before this entry'
                      WHEN x.content_hash <> deling.access_log_content(x.kind, x.lsn, x.entry)
                        OR x.logged_at IS DISTINCT FROM (x.entry->>'time')::timestamptz
                        OR x.citizen_pid IS DISTINCT FROM x.entry->>'citizen'
                        OR x.kommuner <> deling.access_log_kommuner(x.entry) THEN 'altered'
                      WHEN x.chain_hash <> deling.sha256(x.prev_hash || x.content_hash) THEN 'chain hash altered'
                 END AS problem
          FROM (SELECT l.*, coalesce(lag(l.seq) OVER w, 0) + 1 AS expected,
                       coalesce(lag(l.chain_hash) OVER w, deling.access_log_genesis()) AS expected_prev
                FROM deling.access_log l WINDOW w AS (ORDER BY l.seq)) x) c
    WHERE c.problem IS NOT NULL
    ORDER BY c.seq LIMIT 1;
    IF problem IS NULL AND coalesce(last, 0) < head_seq THEN
        problem := jsonb_build_object('seq', coalesce(last, 0) + 1, 'problem', 'removed (the newest entries)');
    END IF;
    IF problem IS NULL AND anchor IS NOT NULL THEN
        IF jsonb_typeof(anchor) <> 'object' OR coalesce(anchor->>'seq', '') !~ '^[0-9]{1,18}$'
           OR coalesce(anchor->>'chain_hash', '') !~ '^[0-9a-f]{64}$' OR coalesce(anchor->>'public_key', '') !~ '^[0-9a-f]{64}$'
           OR coalesce(anchor->>'signature', '') !~ '^[0-9a-f]{128}$' THEN
            RAISE EXCEPTION 'not an access-log anchor: it needs seq, chain_hash, public_key and signature as deling.access_log_anchor() writes them'
                USING ERRCODE = '22023';
        END IF;
        anchored := CASE WHEN (anchor->>'seq')::bigint = 0 THEN deling.access_log_genesis()
                         ELSE (SELECT l.chain_hash FROM deling.access_log l WHERE l.seq = (anchor->>'seq')::bigint) END;
        IF NOT deling.ed25519_verify(convert_to((anchor - 'signature')::text, 'UTF8'), decode(anchor->>'signature', 'hex'),
                                     decode(anchor->>'public_key', 'hex')) THEN
            problem := jsonb_build_object('seq', (anchor->>'seq')::bigint, 'problem', 'the anchor''s signature is not valid');
        ELSIF decode(anchor->>'public_key', 'hex') <> (SELECT k.public_key FROM deling.access_log_key k) THEN
            problem := jsonb_build_object('seq', (anchor->>'seq')::bigint, 'problem', 'the anchor is signed with another key');
        ELSIF anchored IS NULL THEN
            problem := jsonb_build_object('seq', (anchor->>'seq')::bigint, 'problem', 'removed since the anchor');
        ELSIF anchored <> decode(anchor->>'chain_hash', 'hex') THEN
            problem := jsonb_build_object('seq', (anchor->>'seq')::bigint, 'problem', 'altered since the anchor');
        END IF;
    END IF;
    result := jsonb_build_object('kommune_nr', kommune_nr, 'valid', problem IS NULL, 'entries', mine, 'log_entries', total);
    IF anchor IS NOT NULL THEN
        result := result || jsonb_build_object('anchor_seq', (anchor->>'seq')::bigint);
    END IF;
    IF problem IS NOT NULL THEN
        result := result || jsonb_build_object('first_problem', problem);
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION deling.verify_access_log(text, jsonb) IS
    'Verify the access log''s hash chain (and, with an anchor taken earlier, that its anchored entry is unchanged); counts a kommune''s entries; reports the first problem';

-- access_log_auditevent: an entry as a FHIR R4 AuditEvent (no free-text reason).
CREATE FUNCTION deling.access_log_auditevent(l deling.access_log) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'resourceType', 'AuditEvent',
        'id', md5('deling-audit:' || l.seq)::uuid,
        'type', jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/audit-event-type', 'code', 'rest',
                                   'display', 'RESTful Operation'),
        'subtype', jsonb_build_array(jsonb_build_object('system', 'http://hl7.org/fhir/restful-interaction',
                                                        'code', 'search-type', 'display', 'search-type')),
        'action', 'E',
        'recorded', to_char(l.logged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'outcome', CASE l.entry->>'decision' WHEN 'granted' THEN '0' ELSE '4' END,
        'outcomeDesc', CASE WHEN l.entry->>'decision' = 'denied' THEN l.entry->>'why' END,
        'purposeOfEvent', CASE WHEN l.entry ? 'purpose' THEN jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(
            jsonb_build_object('system', 'urn:oid:2.16.840.1.113883.1.11.20448', 'code', l.entry->>'purpose')))) END,
        'agent', jsonb_build_array(
            jsonb_strip_nulls(jsonb_build_object('requestor', true,
                'type', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
                    'system', 'http://terminology.hl7.org/CodeSystem/extra-security-role-type',
                    'code', CASE WHEN l.entry ? 'hpr' THEN 'humanuser' ELSE 'dataprocessor' END))),
                'who', jsonb_strip_nulls(jsonb_build_object(
                    'identifier', CASE WHEN l.entry ? 'hpr' THEN jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.4',
                                                                                     'value', l.entry->>'hpr') END,
                    'display', coalesce(l.entry->>'name', l.entry->>'client_id', l.entry->>'role'))))),
            jsonb_build_object('requestor', false,
                'who', jsonb_strip_nulls(jsonb_build_object(
                    'identifier', CASE WHEN coalesce(l.entry->>'orgnr_child', l.entry->>'orgnr_parent') IS NOT NULL THEN
                        jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.101',
                                           'value', coalesce(l.entry->>'orgnr_child', l.entry->>'orgnr_parent')) END,
                    'display', (SELECT o.name FROM deling.organisation o
                                WHERE o.orgnr = coalesce(l.entry->>'orgnr_child', l.entry->>'orgnr_parent')))))),
        'source', jsonb_build_object('site', coalesce(nullif(array_to_string(l.kommuner, ' '), ''), 'deling'),
                                     'observer', jsonb_build_object('display', 'deling')),
        'entity', CASE WHEN l.citizen_pid IS NOT NULL AND deling.fnr_valid(l.citizen_pid) THEN jsonb_build_array(jsonb_build_object(
            'what', jsonb_build_object('identifier', deling.fhir_pid_identifier(l.citizen_pid)),
            'type', jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/audit-entity-type', 'code', '1',
                                       'display', 'Person'),
            'description', l.entry->>'service')) END));
$$;
COMMENT ON FUNCTION deling.access_log_auditevent(deling.access_log) IS
    'An access-log entry as a FHIR R4 AuditEvent (free-text reasons left out)';

-- status: the access log's health, for the DBA and monitoring
-- (docs/access-log.md has thresholds and a Prometheus query)
CREATE VIEW deling.status AS
SELECT w.worker_pid,
       w.worker_pid IS NOT NULL AS worker_running,
       w.ready,
       deling.access_log_slot() AS slot_name,
       s.slot_name IS NOT NULL AS slot_exists,
       coalesce(s.active_pid = w.worker_pid, false) AS slot_held_by_worker,
       s.wal_status AS slot_wal_status,
       coalesce(s.wal_status = 'lost', false) AS slot_invalidated,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_flush_lsn(), coalesce(w.read_upto, s.confirmed_flush_lsn)) AS lag_bytes,
       CASE WHEN w.undrained > 0 THEN extract(epoch FROM now() - coalesce(w.caught_up_at, h.appended_at)) ELSE 0 END AS lag_seconds,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_flush_lsn(), s.restart_lsn) AS wal_retained_bytes,
       w.undrained AS undrained_entries,
       (SELECT count(*) FROM deling.access_log_quarantine) AS quarantined_entries,
       h.last_seq AS log_entries,
       h.appended_at AS last_append,
       w.refused AS refused_reads,
       h.gap_detected_at IS NOT NULL AS gap,
       h.gap_cause,
       h.gap_from,
       h.gap_to,
       h.gap_detected_at,
       h.gap_acknowledged_at,
       w.last_anchor_at,
       w.last_anchor_seq,
       current_setting('wal_level') AS wal_level
FROM deling.access_log_worker_status() w
CROSS JOIN deling.access_log_head h
LEFT JOIN pg_catalog.pg_replication_slots s ON s.slot_name = deling.access_log_slot() AND s.database = current_database();
COMMENT ON VIEW deling.status IS
    'Access-log health for the DBA and monitoring: worker, slot, lag, undrained and quarantined entries, last append, reads refused, gap, last anchor (counters since the server started)';

CREATE FUNCTION api.my_access_log(since timestamptz DEFAULT NULL) RETURNS api."application/fhir+json"
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me text := deling.ctx_citizen_pid();
    entries jsonb;
    n integer;
BEGIN
    IF me IS NULL THEN
        PERFORM deling.log_access('access-log', NULL, NULL, NULL, NULL, false, 'not the citizen''s channel', 0);
        RAISE EXCEPTION 'the access log is shown to the citizen it concerns, through the citizen''s channel'
            USING ERRCODE = '42501';
    END IF;
    PERFORM deling.access_log_check();
    SELECT coalesce(jsonb_agg(jsonb_build_object('mode', 'match', 'resource', deling.access_log_auditevent(l))
                              ORDER BY l.logged_at DESC, l.seq DESC), '[]'), count(*)
    INTO entries, n
    FROM deling.access_log l
    WHERE l.citizen_pid = me AND l.kind = 'access' AND (since IS NULL OR l.logged_at >= since)
      AND coalesce(l.entry->>'actor_pid', '') <> me;
    PERFORM deling.log_access('access-log', me, NULL, NULL, NULL, true, NULL, n);
    RETURN deling.fhir_bundle('searchset', entries, n)::json::api."application/fhir+json";
END
$$;
COMMENT ON FUNCTION api.my_access_log(timestamptz) IS
    'Innsyn i logg: who accessed my information, when, from which organisation and for which purpose.
For the citizen''s channel (a token with the citizen''s own pid). A FHIR R4 searchset Bundle of AuditEvents, newest first; free-text reasons are not shown. Reading it is logged too.';

CREATE FUNCTION api.access_review(kommune_nr text, from_time timestamptz, to_time timestamptz) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH e AS (
        SELECT l.* FROM deling.access_log l
        WHERE l.kind = 'access' AND l.kommuner @> ARRAY[access_review.kommune_nr]
          AND l.logged_at >= from_time AND l.logged_at < to_time),
    platform AS (
        SELECT l.* FROM deling.access_log l
        WHERE l.kind <> 'access' AND l.logged_at >= from_time AND l.logged_at < to_time),
    per_user AS (
        SELECT coalesce(entry->>'hpr', entry->>'client_id', entry->>'session_user') AS who,
               max(entry->>'name') AS name, count(*) AS accesses, count(DISTINCT citizen_pid) AS citizens
        FROM e WHERE entry->>'decision' = 'granted' GROUP BY 1),
    median AS (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY citizens) AS m FROM per_user)
    SELECT jsonb_build_object(
        'kommune_nr', kommune_nr,
        'from', from_time, 'to', to_time,
        'accesses', (SELECT count(*) FROM e),
        'verification', deling.verify_access_log(kommune_nr),
        'emergency', coalesce((SELECT jsonb_agg(jsonb_build_object('time', logged_at, 'hpr', entry->>'hpr', 'name', entry->>'name',
                        'organisation', coalesce(entry->>'orgnr_child', entry->>'orgnr_parent'), 'citizen', citizen_pid,
                        'reason', entry->>'reason', 'opened_block', entry->'opened_block') ORDER BY logged_at)
                     FROM e WHERE (entry->>'emergency')::boolean), '[]'),
        'denials', coalesce((SELECT jsonb_agg(jsonb_build_object('time', logged_at, 'who',
                        coalesce(entry->>'hpr', entry->>'client_id', entry->>'session_user'), 'citizen', citizen_pid,
                        'service', entry->>'service', 'why', entry->>'why') ORDER BY logged_at)
                     FROM e WHERE entry->>'decision' = 'denied'), '[]'),
        'gaps', coalesce((SELECT jsonb_agg(jsonb_build_object('seq', seq, 'time', logged_at) || (entry - 'time' - 'event') ORDER BY seq)
                     FROM platform WHERE kind = 'gap'), '[]'),
        'quarantined', coalesce((SELECT jsonb_agg(jsonb_build_object('seq', seq, 'time', logged_at, 'lsn', entry->>'lsn',
                        'reason', entry->>'reason') ORDER BY seq)
                     FROM platform WHERE kind = 'quarantined'), '[]'),
        'unusual_volume', coalesce((SELECT jsonb_agg(jsonb_build_object('who', who, 'name', name, 'accesses', accesses,
                        'citizens', citizens) ORDER BY citizens DESC)
                     FROM per_user, median WHERE citizens >= 10 AND citizens > 3 * m), '[]'));
$$;
COMMENT ON FUNCTION api.access_review(text, timestamptz, timestamptz) IS
    'For the kommune''s privacy officer (deling_admin): emergency (ETREAT) reads, denials and users reading unusually many citizens in a period, the log''s gaps and quarantined messages, with the chain verification';

CREATE FUNCTION deling.access_log_export(kommune_nr text, from_time timestamptz, to_time timestamptz) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.fhir_bundle('collection',
        coalesce((SELECT jsonb_agg(jsonb_build_object('resource', deling.access_log_auditevent(l)) ORDER BY l.seq)
                  FROM deling.access_log l
                  WHERE l.kind = 'access' AND l.kommuner @> ARRAY[access_log_export.kommune_nr]
                    AND l.logged_at >= from_time AND l.logged_at < to_time),
                 '[]'), NULL);
$$;
COMMENT ON FUNCTION deling.access_log_export(text, timestamptz, timestamptz) IS
    'DBA / privacy officer: a kommune''s access log for a period as a FHIR R4 collection Bundle of AuditEvents (with reasons kept in the table)';
