-- ---------------------------------------------------------------------------
-- 54 access log (innsynslogg): every sharing-service access, granted or
-- denied, written durably before data is returned (src/access_log.c),
-- drained by the background worker into a per-kommune SHA-256 hash chain.
-- ---------------------------------------------------------------------------

CREATE FUNCTION deling.access_log_emit(entry jsonb) RETURNS pg_lsn
    AS 'MODULE_PATHNAME', 'deling_access_log_emit' LANGUAGE C VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.access_log_emit(jsonb) IS
    'Internal: write an access-log entry as a non-transactional WAL message and flush it; deling_owner only';

CREATE FUNCTION deling.sha256(bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'deling_sha256' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.sha256(bytea) IS 'SHA-256 digest (OpenSSL)';
CREATE FUNCTION deling.sha256_chain(start bytea, contents bytea[]) RETURNS bytea[]
    AS 'MODULE_PATHNAME', 'deling_sha256_chain' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.sha256_chain(bytea, bytea[]) IS
    'Hash chain: element i is SHA-256(element i-1 || contents[i]), element 0 being start';

-- nobody but a superuser may put messages into the WAL (they could forge entries)
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean, text, bytea) FROM PUBLIC;

CREATE TABLE deling.access_log (
    kommune_nr    deling.kommunenr NOT NULL,
    seq           bigint NOT NULL,
    lsn           pg_lsn NOT NULL,
    logged_at     timestamptz NOT NULL,
    appended_at   timestamptz NOT NULL DEFAULT now(),
    citizen_pid   text,
    entry         jsonb NOT NULL,
    content_hash  bytea NOT NULL,
    prev_hash     bytea NOT NULL,
    chain_hash    bytea NOT NULL,
    PRIMARY KEY (kommune_nr, seq),
    UNIQUE (kommune_nr, lsn)
);
COMMENT ON TABLE deling.access_log IS
    'Access log: one entry per access per kommune concerned (0000: none), hash-chained per kommune; append-only';
CREATE INDEX access_log_citizen ON deling.access_log (citizen_pid, logged_at);

-- the drain's high-water mark: the slot may be advanced up to safe_lsn
CREATE TABLE deling.access_log_head (
    id        boolean PRIMARY KEY DEFAULT true CHECK (id),
    safe_lsn  pg_lsn NOT NULL DEFAULT '0/0',
    drained_at timestamptz
);
INSERT INTO deling.access_log_head DEFAULT VALUES;

ALTER TABLE deling.access_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE deling.access_log FORCE ROW LEVEL SECURITY;
CREATE POLICY access_log_admin ON deling.access_log FOR SELECT TO deling_admin USING (true);
CREATE POLICY access_log_citizen ON deling.access_log FOR SELECT TO deling_owner
    USING (citizen_pid = (SELECT deling.ctx_citizen_pid()));

-- append-only for everyone but a superuser (whose changes the verifier catches)
CREATE FUNCTION deling.access_log_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'the access log is append-only' USING ERRCODE = '42501';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON deling.access_log
    FOR EACH ROW EXECUTE FUNCTION deling.access_log_append_only();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON deling.access_log
    FOR EACH STATEMENT EXECUTE FUNCTION deling.access_log_append_only();

-- access_log_slot: this database's access-log slot (slot names are cluster-wide).
CREATE FUNCTION deling.access_log_slot() RETURNS name
    AS 'MODULE_PATHNAME', 'deling_access_log_slot' LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;

-- access_log_ready: is the slot there to carry entries into the log?  Reads
-- are refused while it is not (an entry emitted then would be lost).
CREATE FUNCTION deling.access_log_ready() RETURNS boolean
    AS 'MODULE_PATHNAME', 'deling_access_log_ready' LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;

-- access_log_prepare (worker): create the slot once the extension is installed.
CREATE FUNCTION deling.access_log_prepare() RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_create_logical_replication_slot(deling.access_log_slot(), 'deling')
    WHERE NOT deling.access_log_ready();
$$;

-- access_log_genesis: the prev_hash of the first entry of a kommune's chain.
CREATE FUNCTION deling.access_log_genesis(kommune_nr text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.sha256(convert_to('deling access log ' || kommune_nr, 'UTF8'));
$$;

-- access_log_drain (worker, or a DBA): append what the slot holds, per
-- kommune in LSN order, skipping entries already appended (so a crash
-- between append and advance duplicates nothing).
CREATE FUNCTION deling.access_log_drain(max_changes integer DEFAULT 10000) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    horizon pg_lsn := pg_current_wal_flush_lsn();
    lsns pg_lsn[];
    entries jsonb[];
    g record;
    prev record;
    start bytea;
    contents bytea[];
    chain bytea[];
    n integer := 0;
BEGIN
    IF NOT deling.access_log_ready() THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('deling.access_log_drain'));
    -- nothing written since the last drain: nothing to decode
    IF (SELECT h.safe_lsn >= horizon FROM deling.access_log_head h) THEN
        RETURN 0;
    END IF;
    SELECT coalesce(array_agg(c.lsn ORDER BY c.lsn), '{}'), coalesce(array_agg(c.data::jsonb ORDER BY c.lsn), '{}')
    INTO lsns, entries
    FROM pg_logical_slot_peek_changes(deling.access_log_slot(), NULL, max_changes) c;
    -- set-based per kommune: the batch's new entries in LSN order, their
    -- content hashes, and the chain continued from the kommune's last entry
    -- in one call (C); an entry already appended is skipped
    FOR g IN
        SELECT k AS kommune_nr, array_agg(e.lsn ORDER BY e.lsn) AS lsns, array_agg(e.entry ORDER BY e.lsn) AS entries
        FROM unnest(lsns, entries) AS e(lsn, entry),
             jsonb_array_elements_text(CASE WHEN jsonb_array_length(coalesce(e.entry->'kommuner', '[]')) = 0
                                            THEN '["0000"]' ELSE e.entry->'kommuner' END) AS k
        WHERE NOT EXISTS (SELECT FROM deling.access_log l WHERE l.kommune_nr = k AND l.lsn = e.lsn)
        GROUP BY k ORDER BY k
    LOOP
        SELECT l.seq, l.chain_hash INTO prev FROM deling.access_log l
        WHERE l.kommune_nr = g.kommune_nr ORDER BY l.seq DESC LIMIT 1;
        start := coalesce(prev.chain_hash, deling.access_log_genesis(g.kommune_nr));
        contents := ARRAY(SELECT deling.sha256(convert_to(x::text, 'UTF8')) FROM unnest(g.entries) WITH ORDINALITY AS u(x, i) ORDER BY i);
        chain := deling.sha256_chain(start, contents);
        INSERT INTO deling.access_log (kommune_nr, seq, lsn, logged_at, citizen_pid, entry, content_hash, prev_hash, chain_hash)
        SELECT g.kommune_nr, coalesce(prev.seq, 0) + i, g.lsns[i], (g.entries[i]->>'time')::timestamptz, g.entries[i]->>'citizen',
               g.entries[i], contents[i], CASE WHEN i = 1 THEN start ELSE chain[i - 1] END, chain[i]
        FROM generate_subscripts(g.lsns, 1) i;
        n := n + cardinality(g.lsns);
    END LOOP;
    -- everything up to the horizon has been seen unless the batch was full
    UPDATE deling.access_log_head SET safe_lsn = CASE WHEN cardinality(lsns) < max_changes THEN horizon ELSE lsns[cardinality(lsns)] END,
                                      drained_at = now();
    RETURN n;
END
$$;
COMMENT ON FUNCTION deling.access_log_drain(integer) IS
    'Append the access-log entries waiting in the slot to deling.access_log (the worker runs it; safe to run by hand)';

-- access_log_advance (worker): release WAL the log no longer needs.  Under
-- the drain's lock: the advance holds the slot, and a drain peeking it
-- meanwhile (a DBA's, by hand) would fail with "slot is active".
CREATE FUNCTION deling.access_log_advance() RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_advisory_xact_lock(hashtext('deling.access_log_drain'));
    SELECT pg_replication_slot_advance(deling.access_log_slot(), h.safe_lsn)
    FROM deling.access_log_head h, pg_replication_slots s
    WHERE s.slot_name = deling.access_log_slot() AND s.database = current_database()
      AND h.safe_lsn > coalesce(s.confirmed_flush_lsn, '0/0');
$$;

-- log_access: write one access-log entry for the current caller, durably,
-- before the data is returned.  Used by the sharing gate (denials) and by
-- every sharing read (grants, with the number of resources returned).
CREATE FUNCTION deling.log_access(service text, pid text, kommuner text[], purpose text, reason text,
                                  granted boolean, why text, resources integer, flags jsonb DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kind text := deling.ctx_kind();
    effective text := coalesce(nullif(current_setting('deling.ctx_purpose'), ''), purpose);
BEGIN
    PERFORM deling.access_log_emit(jsonb_strip_nulls(jsonb_build_object(
        'time', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'service', service,
        'citizen', deling.clip(pid, 64),
        'kommuner', to_jsonb(coalesce(kommuner, '{}'::text[])),
        'decision', CASE WHEN granted THEN 'granted' ELSE 'denied' END,
        'why', deling.clip(why, 1000),
        'resources', resources,
        'kind', nullif(kind, ''),
        'role', deling.outer_role(),
        'hpr', CASE WHEN kind <> '' THEN nullif(current_setting('deling.ctx_hpr'), '') END,
        'actor_pid', CASE WHEN kind <> '' THEN nullif(current_setting('deling.ctx_pid'), '') END,
        'name', CASE WHEN kind <> '' THEN nullif(current_setting('deling.ctx_name'), '') END,
        'orgnr_parent', CASE WHEN kind <> '' THEN nullif(current_setting('deling.ctx_orgnr_parent'), '') END,
        'orgnr_child', CASE WHEN kind <> '' THEN nullif(current_setting('deling.ctx_orgnr_child'), '') END,
        'client_id', CASE WHEN kind <> '' THEN nullif(current_setting('deling.ctx_client_id'), '') END,
        'acting_for', deling.current_kommune(),
        'purpose', deling.clip(effective, 20),
        'decision_ref', CASE WHEN kind <> '' THEN nullif(current_setting('deling.ctx_decision_ref'), '')::jsonb END,
        'emergency', CASE WHEN effective = 'ETREAT' AND kind = 'person' THEN true END,
        'reason', CASE WHEN effective = 'ETREAT' THEN deling.clip(deling.emergency_reason(reason), 1000) END,
        'token_id', CASE WHEN kind <> '' THEN nullif(current_setting('deling.ctx_token_id'), '') END,
        'request_id', CASE WHEN kind <> '' THEN nullif(current_setting('deling.ctx_request_id'), '') END,
        'session_user', session_user::text) || flags));
END
$$;
COMMENT ON FUNCTION deling.log_access(text, text, text[], text, text, boolean, text, integer, jsonb) IS
    'Write one durable access-log entry for the current caller (sharing functions only)';

-- verify_access_log: walk a kommune's chain; report the first altered,
-- removed or reordered entry.
CREATE FUNCTION deling.verify_access_log(kommune_nr text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    expected_prev bytea := deling.access_log_genesis(kommune_nr);
    expected_seq bigint := 1;
    n bigint := 0;
BEGIN
    FOR r IN SELECT * FROM deling.access_log l WHERE l.kommune_nr = verify_access_log.kommune_nr ORDER BY l.seq LOOP
        n := n + 1;
        IF r.seq <> expected_seq THEN
            RETURN jsonb_build_object('kommune_nr', kommune_nr, 'valid', false, 'entries', n - 1,
                'first_problem', jsonb_build_object('seq', expected_seq, 'problem', 'removed'));
        END IF;
        IF r.prev_hash <> expected_prev THEN
            RETURN jsonb_build_object('kommune_nr', kommune_nr, 'valid', false, 'entries', n - 1,
                'first_problem', jsonb_build_object('seq', r.seq, 'problem', 'removed or reordered before this entry'));
        END IF;
        IF r.content_hash <> deling.sha256(convert_to(r.entry::text, 'UTF8')) THEN
            RETURN jsonb_build_object('kommune_nr', kommune_nr, 'valid', false, 'entries', n - 1,
                'first_problem', jsonb_build_object('seq', r.seq, 'problem', 'altered'));
        END IF;
        IF r.chain_hash <> deling.sha256(r.prev_hash || r.content_hash) THEN
            RETURN jsonb_build_object('kommune_nr', kommune_nr, 'valid', false, 'entries', n - 1,
                'first_problem', jsonb_build_object('seq', r.seq, 'problem', 'chain hash altered'));
        END IF;
        expected_prev := r.chain_hash;
        expected_seq := r.seq + 1;
    END LOOP;
    RETURN jsonb_build_object('kommune_nr', kommune_nr, 'valid', true, 'entries', n);
END
$$;
COMMENT ON FUNCTION deling.verify_access_log(text) IS
    'Verify a kommune''s access-log hash chain; reports the first altered, removed or reordered entry';

-- access_log_auditevent: an entry as a FHIR R4 AuditEvent (no free-text reason).
CREATE FUNCTION deling.access_log_auditevent(l deling.access_log) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'resourceType', 'AuditEvent',
        'id', md5('deling-audit:' || l.kommune_nr || ':' || l.seq)::uuid,
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
        'source', jsonb_build_object('site', l.kommune_nr, 'observer', jsonb_build_object('display', 'deling')),
        'entity', CASE WHEN l.citizen_pid IS NOT NULL AND deling.fnr_valid(l.citizen_pid) THEN jsonb_build_array(jsonb_build_object(
            'what', jsonb_build_object('identifier', deling.fhir_pid_identifier(l.citizen_pid)),
            'type', jsonb_build_object('system', 'http://terminology.hl7.org/CodeSystem/audit-entity-type', 'code', '1',
                                       'display', 'Person'),
            'description', l.entry->>'service')) END));
$$;

-- access_log_status: what a DBA monitors.
CREATE VIEW deling.access_log_status AS
SELECT deling.access_log_slot() AS slot_name,
       s.slot_name IS NOT NULL AS slot_exists,
       s.active AS slot_in_use,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn) AS slot_lag_bytes,
       pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn) AS wal_retained_bytes,
       h.drained_at AS last_drain,
       now() - h.drained_at AS since_last_drain,
       (SELECT count(*) FROM pg_stat_activity a WHERE a.backend_type = 'deling access log') AS workers,
       (SELECT max(appended_at) FROM deling.access_log) AS last_entry_appended,
       current_setting('wal_level') AS wal_level
FROM deling.access_log_head h
LEFT JOIN pg_replication_slots s ON s.slot_name = deling.access_log_slot() AND s.database = current_database();
COMMENT ON VIEW deling.access_log_status IS
    'Access-log health for the DBA: slot present and lag, WAL retained, last drain, worker running';

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
    IF NOT deling.access_log_ready() THEN
        RAISE EXCEPTION 'the access log is not running' USING ERRCODE = '55000';
    END IF;
    -- one AuditEvent per access, even when it concerned several kommuner
    SELECT coalesce(jsonb_agg(jsonb_build_object('mode', 'match', 'resource', deling.access_log_auditevent(l))
                              ORDER BY l.logged_at DESC), '[]'), count(*)
    INTO entries, n
    FROM (SELECT DISTINCT ON (l.lsn) l.* FROM deling.access_log l
          WHERE l.citizen_pid = me AND (since IS NULL OR l.logged_at >= since)
            AND coalesce(l.entry->>'actor_pid', '') <> me
          ORDER BY l.lsn, l.kommune_nr) l;
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
        WHERE l.kommune_nr = access_review.kommune_nr AND l.logged_at >= from_time AND l.logged_at < to_time),
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
        'unusual_volume', coalesce((SELECT jsonb_agg(jsonb_build_object('who', who, 'name', name, 'accesses', accesses,
                        'citizens', citizens) ORDER BY citizens DESC)
                     FROM per_user, median WHERE citizens >= 10 AND citizens > 3 * m), '[]'));
$$;
COMMENT ON FUNCTION api.access_review(text, timestamptz, timestamptz) IS
    'For the kommune''s privacy officer (deling_admin): emergency (ETREAT) reads, denials and users reading unusually many citizens in a period, with the chain verification';

CREATE FUNCTION deling.access_log_export(kommune_nr text, from_time timestamptz, to_time timestamptz) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.fhir_bundle('collection',
        coalesce((SELECT jsonb_agg(jsonb_build_object('resource', deling.access_log_auditevent(l)) ORDER BY l.seq)
                  FROM deling.access_log l
                  WHERE l.kommune_nr = access_log_export.kommune_nr AND l.logged_at >= from_time AND l.logged_at < to_time),
                 '[]'), NULL);
$$;
COMMENT ON FUNCTION deling.access_log_export(text, timestamptz, timestamptz) IS
    'DBA / privacy officer: a kommune''s access log for a period as a FHIR R4 collection Bundle of AuditEvents (with reasons kept in the table)';
