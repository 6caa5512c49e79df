-- ---------------------------------------------------------------------------
-- 40 citus: the same answers and the same guarantees with citizen data
-- distributed by kommune_nr over a Citus cluster (docs/scale-out.md).
--
-- One code path: what is here changes nothing a single node answers.  The
-- distribution columns become plain text with a CHECK (Citus prunes a
-- domain-typed one to nothing); the sharing functions and ingest name the
-- kommuner in every statement on citizen data and read the caller context
-- only on the coordinator (src/citus.c refuses it on a worker); a lookup by
-- one citizen reads only the kommuner that hold the citizen
-- (deling.patient_index, distributed by pid on Citus), so each of its
-- statements goes to one shard; ingest runs as deling_owner.  The DBA's
-- deling.distribute(), after CREATE EXTENSION citus, distributes the
-- tables and puts the shards under policies that need no context.
-- ---------------------------------------------------------------------------

CREATE FUNCTION deling.citus_node() RETURNS text
    AS 'MODULE_PATHNAME', 'deling_citus_node' LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.citus_node() IS
    'What this node is to Citus: none (Citus is not installed in this database), coordinator (group 0, also a node not yet added) or worker';

-- IMMUTABLE (it never returns): the planner evaluates it when it plans the
-- statement, so the refusal comes before any row is looked at, also when an
-- index finds none (as a STABLE policy it would be a filter on the rows)
CREATE FUNCTION deling.citus_direct_access(tbl text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'deling_citus_direct_access' LANGUAGE C IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.citus_direct_access(text) IS
    'Policy of a distributed table towards the caller''s roles: refuses (42501) a direct read or write, on every node, when the statement is planned';

-- The distribution columns as text with a CHECK: every kommune_nr column,
-- and the pid of the two tables Citus distributes by person
-- (patient_index and citizen_block).  The checks raise what the domains
-- raised.  The policies and the view that name them are made again.
DO $$
DECLARE
    cols CONSTANT jsonb := (
        SELECT jsonb_object_agg(t, c) FROM (
            SELECT a.attrelid::regclass::text AS t,
                   jsonb_agg(jsonb_build_object('name', a.attname,
                                                'check', CASE WHEN a.atttypid = 'deling.pid'::regtype THEN 'fnr_check'
                                                              ELSE 'kommunenr_check' END) ORDER BY a.attnum) AS c
            FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class r ON r.oid = a.attrelid
            WHERE r.relnamespace = 'deling'::regnamespace AND r.relkind = 'r' AND NOT a.attisdropped AND a.attnum > 0
              AND (a.atttypid = 'deling.kommunenr'::regtype
                   OR a.atttypid = 'deling.pid'::regtype AND a.attrelid IN ('deling.patient_index'::regclass,
                                                                            'deling.citizen_block'::regclass))
            GROUP BY a.attrelid) x);
    pols jsonb;
    p jsonb;
    t text;
    c jsonb;
BEGIN
    SELECT jsonb_agg(jsonb_build_object(
               'name', pol.polname, 'tbl', pol.polrelid::regclass::text,
               'permissive', CASE WHEN pol.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
               'cmd', CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                      WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
               'roles', (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(r)) END, ', ')
                         FROM unnest(pol.polroles) r),
               'qual', pg_catalog.pg_get_expr(pol.polqual, pol.polrelid),
               'check', pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid)) ORDER BY pol.oid)
    INTO pols
    FROM pg_catalog.pg_policy pol WHERE pol.polrelid::regclass::text IN (SELECT jsonb_object_keys(cols));
    FOR p IN SELECT * FROM jsonb_array_elements(pols) LOOP
        EXECUTE format('DROP POLICY %I ON %s', p->>'name', p->>'tbl');
    END LOOP;
    DROP VIEW api.citizens;
    FOR t, c IN SELECT * FROM jsonb_each(cols) LOOP
        EXECUTE format('ALTER TABLE %s %s', t,
                       (SELECT string_agg(format('ALTER COLUMN %1$I TYPE text, ADD CONSTRAINT %2$I CHECK (deling.%3$s(%1$I))',
                                                 x->>'name', split_part(t, '.', 2) || '_' || (x->>'name') || '_check', x->>'check'), ', ')
                        FROM jsonb_array_elements(c) x));
    END LOOP;
    FOR p IN SELECT * FROM jsonb_array_elements(pols) LOOP
        EXECUTE format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', p->>'name', p->>'tbl', p->>'permissive', p->>'cmd',
                       p->>'roles', ' USING (' || (p->>'qual') || ')', ' WITH CHECK (' || (p->>'check') || ')');
    END LOOP;
END
$$;

CREATE VIEW api.citizens WITH (security_invoker = true) AS
    SELECT kommune_nr, pid, citizen_id, given_name, family_name, sex, birth_date, updated_at
    FROM deling.citizen;
COMMENT ON VIEW api.citizens IS
    'Citizens of the calling integration''s kommune.
An EPJ integration registers and reads the persons its kommune shares data about; rows of other kommuner are invisible.';
COMMENT ON COLUMN api.citizens.kommune_nr IS 'Kommunenummer; defaults to the caller''s kommune';
COMMENT ON COLUMN api.citizens.pid IS 'Identity number (fødselsnummer, D-, H-, FH-nummer), validated';
COMMENT ON COLUMN api.citizens.citizen_id IS 'Stable non-sequential id of the citizen within the kommune';
GRANT SELECT, INSERT, UPDATE, DELETE ON api.citizens TO deling_integrasjon, deling_admin;

-- person_state: who holds a person (their registrations in
-- deling.patient_index, each with its kommune, Patient.id and time, oldest
-- first) and the person's active blocks, in one statement (on Citus both
-- tables are distributed by pid and colocated: one router query); the C
-- function remembers it while the snapshot, role and caller context are the
-- same (src/person_state.c), so that one read asks once
CREATE FUNCTION deling.person_state_lookup(pid text, OUT registrations jsonb, OUT blocks jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT (SELECT coalesce(jsonb_agg(jsonb_build_object('kommune_nr', i.kommune_nr, 'patient_id', i.patient_id)
                                      ORDER BY i.registered_at, i.kommune_nr), '[]')
            FROM deling.patient_index i WHERE i.pid = person_state_lookup.pid),
           (SELECT coalesce(jsonb_agg(jsonb_build_object('kommune_nr', b.kommune_nr, 'service', b.sharing_service,
                                                         'codes', b.service_codes, 'organisations', b.organisations)
                                      ORDER BY b.kommune_nr, b.block_id), '[]')
            FROM deling.citizen_block b WHERE b.pid = person_state_lookup.pid AND b.revoked_at IS NULL)
    INTO registrations, blocks;
END
$$;
COMMENT ON FUNCTION deling.person_state_lookup(text) IS
    'Internal: a person''s registrations (kommune, Patient.id, oldest first) and active blocks, in one statement';
CREATE FUNCTION deling.person_state(pid text, OUT registrations jsonb, OUT blocks jsonb)
    AS 'MODULE_PATHNAME', 'deling_person_state' LANGUAGE C STABLE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.person_state(text) IS
    'Internal: deling.person_state_lookup, looked up once per snapshot, role and caller context';

-- holding_kommuner: the kommuner among these that hold the citizen (whose
-- registration is in deling.patient_index, as every citizen row's is), in
-- the order given.  A read of one citizen reads only these: on Citus each
-- of its statements then goes to one shard.
CREATE FUNCTION deling.holding_kommuner(pid text, kommuner text[]) RETURNS text[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    held text[];
BEGIN
    IF coalesce(cardinality(kommuner), 0) = 0 THEN
        RETURN '{}';
    END IF;
    held := ARRAY(SELECT r->>'kommune_nr' FROM jsonb_array_elements((deling.person_state(pid)).registrations) r);
    RETURN ARRAY(SELECT k FROM unnest(kommuner) WITH ORDINALITY AS u(k, o) WHERE k = ANY (held) ORDER BY o);
END
$$;
COMMENT ON FUNCTION deling.holding_kommuner(text, text[]) IS
    'The kommuner among those given that hold the citizen (deling.patient_index), in the order given';

-- fhir_patient_id: as before (the id of the person's earliest registration;
-- P0002 for a person in no kommune the caller sees), the kommuner the
-- caller sees computed here and named in the one lookup by pid (it no
-- longer leans on deling.citizen's policies, which a Citus worker cannot
-- evaluate)
CREATE OR REPLACE FUNCTION deling.fhir_patient_id(pid text) RETURNS uuid
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    everyone boolean := deling.kpr_reading();
    seen text[];
    id uuid;
    visible boolean;
BEGIN
    IF NOT everyone THEN
        seen := deling.reach_for(NULL) || deling.research_kommuner();
    END IF;
    SELECT (array_agg((r->>'patient_id')::uuid ORDER BY o))[1], coalesce(bool_or(everyone OR r->>'kommune_nr' = ANY (seen)), false)
    INTO id, visible
    FROM jsonb_array_elements((deling.person_state(fhir_patient_id.pid)).registrations) WITH ORDINALITY AS x(r, o);
    IF NOT visible THEN
        RAISE EXCEPTION 'no Patient id: the person is not a citizen of a kommune this caller reaches' USING ERRCODE = 'P0002';
    END IF;
    RETURN id;
END
$$;

-- blocks_for: as before, in PL/pgSQL, the caller's organisations read
-- here: the query on deling.citizen_block may run on a Citus worker
CREATE OR REPLACE FUNCTION deling.blocks_for(service text, pid text, kommuner text[])
RETURNS TABLE (kommune_nr text, service_codes text[])
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    orgs text[] := ARRAY[nullif(current_setting('deling.ctx_orgnr_child'), ''),
                         nullif(current_setting('deling.ctx_orgnr_parent'), '')];
BEGIN
    RETURN QUERY
    SELECT b.kommune_nr, b.service_codes
    FROM deling.citizen_block b
    WHERE b.pid = blocks_for.pid AND b.kommune_nr = ANY (kommuner) AND b.revoked_at IS NULL
      AND (b.sharing_service IS NULL OR b.sharing_service = service)
      AND (b.organisations IS NULL OR b.organisations && orgs);
END
$$;

-- register_patients: give persons who became citizens of a kommune their
-- Patient.id (the one they have elsewhere, or a new random one), as the
-- trigger on deling.citizen does on a single node; on Citus, where no
-- trigger runs on the coordinator's behalf, deling.add_citizens calls it
CREATE FUNCTION deling.register_patients(kommune text, pids text[]) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    known jsonb;
BEGIN
    SELECT coalesce(jsonb_object_agg(x.pid, x.patient_id), '{}') INTO known
    FROM (SELECT DISTINCT ON (i.pid) i.pid, i.patient_id FROM deling.patient_index i
          WHERE i.pid = ANY (pids) ORDER BY i.pid, i.registered_at, i.kommune_nr) x;
    INSERT INTO deling.patient_index (kommune_nr, pid, patient_id)
    SELECT kommune, p, coalesce((known->>p)::uuid, gen_random_uuid()) FROM unnest(pids) p
    ORDER BY 2
    ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION deling.register_patients(text, text[]) IS
    'Internal: the Patient.id of persons who became citizens of a kommune (the one they have elsewhere, else a new random one)';

-- add_citizens: register persons as citizens of a kommune (those not yet
-- registered there), with their Patient.id; the one way ingest adds them.
-- The ones already registered are looked up first (one index probe each,
-- one statement naming the kommune): a conflicting insert would check
-- every row's constraints and policy first, which costs ten times more;
-- the insert's ON CONFLICT still decides (a citizen added meanwhile, or
-- one the caller cannot see)
CREATE FUNCTION deling.add_citizens(kommune text, pids text[]) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    known text[] := ARRAY(SELECT c.pid::text FROM deling.citizen c WHERE c.kommune_nr = kommune AND c.pid = ANY (pids));
    added text[];
BEGIN
    IF cardinality(known) > 0 THEN
        pids := ARRAY(SELECT p FROM unnest(pids) p EXCEPT SELECT k FROM unnest(known) k);
        IF cardinality(pids) = 0 THEN
            RETURN;
        END IF;
    END IF;
    WITH a AS (
        INSERT INTO deling.citizen (kommune_nr, pid)
        SELECT DISTINCT kommune, p FROM unnest(pids) p
        ON CONFLICT DO NOTHING
        RETURNING pid)
    SELECT array_agg(a.pid::text) INTO added FROM a;
    -- a single node's trigger has registered them; Citus has none
    IF added IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                                         WHERE t.tgrelid = 'deling.citizen'::regclass AND t.tgname = 'citizen_patient_register') THEN
        PERFORM deling.register_patients(kommune, added);
    END IF;
END
$$;
COMMENT ON FUNCTION deling.add_citizens(text, text[]) IS
    'Internal: register persons as citizens of a kommune, with their Patient.id (ingest)';

-- register_missing_patients: the Patient.id of every citizen that has none
-- (rows a DBA inserted into deling.citizen directly on Citus, where no
-- trigger registers them), kommune by kommune; how many
CREATE FUNCTION deling.register_missing_patients() RETURNS integer
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k text;
    missing text[];
    n integer := 0;
BEGIN
    FOR k IN SELECT x.kommune_nr FROM deling.kommune x ORDER BY 1 LOOP
        missing := ARRAY(SELECT c.pid::text FROM deling.citizen c WHERE c.kommune_nr = k
                         EXCEPT
                         SELECT i.pid FROM deling.patient_index i WHERE i.kommune_nr = k);
        IF cardinality(missing) > 0 THEN
            PERFORM deling.register_patients(k, missing);
            n := n + cardinality(missing);
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION deling.register_missing_patients() IS
    'DBA: give every citizen without a Patient.id one (after inserting into deling.citizen directly on Citus); returns how many';

-- kommune_blocks: a newly registered kommune is covered by every
-- citizen's everywhere-block (the same block_id), as deling.kommune_added
-- does on a single node; deling.add_kommune does it (a trigger on a Citus
-- reference table cannot reach the blocks' shards)
CREATE FUNCTION deling.kommune_blocks(kommune text) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO deling.citizen_block (kommune_nr, block_id, pid, sharing_service, service_codes, organisations,
                                      registered_by, registered_at, everywhere)
    SELECT DISTINCT ON (b.block_id) kommune, b.block_id, b.pid, b.sharing_service, b.service_codes,
           b.organisations, b.registered_by, b.registered_at, true
    FROM deling.citizen_block b
    WHERE b.everywhere AND b.revoked_at IS NULL
    ORDER BY b.block_id, b.kommune_nr
    ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION deling.kommune_blocks(text) IS
    'Internal (deling.add_kommune): extend every citizen''s everywhere-block to a newly registered kommune';

-- add_kommune: as before, and the new kommune is covered by the
-- everywhere-blocks here (every statement keeps its line)
CREATE OR REPLACE FUNCTION deling.add_kommune(kommune_nr text, name text, orgnr text, active boolean DEFAULT true)
RETURNS deling.kommune
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    result deling.kommune;
BEGIN
    PERFORM deling.kommunenr_check(kommune_nr);
    IF btrim(coalesce(name, '')) = '' THEN
        RAISE EXCEPTION 'kommune name must not be empty' USING ERRCODE = '22023';
    END IF;
    IF left(kommune_nr, 2) NOT IN ('03', '11', '15', '18', '21', '22', '31', '32', '33', '34',
                                    '39', '40', '42', '46', '50', '55', '56') THEN
        RAISE EXCEPTION 'invalid kommunenummer "%": % is not a county (fylke) number', kommune_nr, left(kommune_nr, 2)
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO deling.kommune (kommune_nr, name, orgnr, active)
        VALUES (kommune_nr, name, orgnr, active)
        RETURNING * INTO result;
    INSERT INTO deling.organisation (orgnr, name, kind, host_kommune_nr) VALUES (orgnr, name || ' kommune', 'kommune', kommune_nr);
    PERFORM deling.kommune_blocks(kommune_nr);
    INSERT INTO deling.organisation_reach VALUES (orgnr, kommune_nr);
    RETURN result;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'kommune % or organisation % is already registered', kommune_nr, orgnr
        USING ERRCODE = '23505';
END
$$;

-- Ingest runs as deling_owner (deling.service_ingest_sql): its writes
-- name the caller's kommune, and deling_owner may write only that
-- kommune's rows of a service the kommune has enabled (as the caller's
-- own integration policy allows), and register only its citizens.
CREATE POLICY citizen_owner_insert ON deling.citizen FOR INSERT TO deling_owner
    WITH CHECK (kommune_nr = (SELECT deling.current_kommune()));

CREATE OR REPLACE FUNCTION deling.share_table(tbl regclass, service text, readable boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text := (SELECT c.relname FROM pg_class c WHERE c.oid = tbl);
BEGIN
    IF NOT EXISTS (SELECT FROM deling.service s WHERE s.service_code = share_table.service) THEN
        RAISE EXCEPTION 'unknown sharing service "%"', service USING ERRCODE = '22023';
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY %I ON %s TO deling_integrasjon USING (%s) '
                   'WITH CHECK (kommune_nr = (SELECT deling.current_kommune_for(%L)))', t || '_integrasjon', tbl,
                   deling.integration_read_qual(service), service);
    IF readable THEN
        EXECUTE format('CREATE POLICY %I ON %s FOR SELECT TO deling_owner '
                       'USING (kommune_nr = ANY ((SELECT deling.reach_for(%L))::text[]) OR (SELECT deling.kpr_reading()))',
                       t || '_sharing', tbl, service);
    END IF;
    PERFORM deling.share_table_writes(tbl, service);
    EXECUTE format('CREATE POLICY %I ON %s TO deling_admin USING (true) WITH CHECK (true)', t || '_admin', tbl);
END
$$;

-- share_table_writes: deling_owner's write policies of a sharing table
CREATE FUNCTION deling.share_table_writes(tbl regclass, service text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text := (SELECT c.relname FROM pg_class c WHERE c.oid = tbl);
BEGIN
    EXECUTE format('CREATE POLICY %I ON %s FOR INSERT TO deling_owner '
                   'WITH CHECK (kommune_nr = (SELECT deling.current_kommune_for(%L)))', t || '_owner_insert', tbl, service);
    EXECUTE format('CREATE POLICY %I ON %s FOR UPDATE TO deling_owner '
                   'USING (kommune_nr = (SELECT deling.current_kommune_for(%L))) '
                   'WITH CHECK (kommune_nr = (SELECT deling.current_kommune_for(%L)))', t || '_owner_update', tbl, service, service);
END
$$;
COMMENT ON FUNCTION deling.share_table_writes(regclass, text) IS
    'Install scripts: deling_owner''s write policies of a sharing service''s table (ingest writes as deling_owner for the caller''s kommune)';

-- the tables of the services declared so far
SELECT deling.share_table_writes(format('deling.%I', t)::regclass, s.service_code)
FROM deling.service s, LATERAL (VALUES (s.declaration->>'table'), ((s.declaration->>'table') || '_history')) x(t)
WHERE s.declaration IS NOT NULL AND to_regclass(format('deling.%I', t)) IS NOT NULL;

-- The citizen's blocks: which blocks the caller sees is now said in the
-- statements (as deling.citizen_block's policy for deling_owner says it),
-- with the context read first.
CREATE OR REPLACE FUNCTION api.unblock_sharing(block_id uuid) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    b deling.citizen_block;
    seen text[] := deling.reach_for(NULL) || deling.current_kommune();
    me text := deling.ctx_citizen_pid();
BEGIN
    SELECT * INTO b FROM deling.citizen_block x
    WHERE x.block_id = unblock_sharing.block_id AND x.revoked_at IS NULL AND (x.kommune_nr = ANY (seen) OR x.pid = me)
    LIMIT 1;
    IF NOT FOUND OR deling.block_caller(b.pid) <> b.registered_by
       OR (b.registered_by = 'kommune' AND b.kommune_nr IS DISTINCT FROM deling.current_kommune()) THEN
        RAISE EXCEPTION 'no active block with that id that you registered' USING ERRCODE = '42501';
    END IF;
    -- the whole block, in every kommune it covers
    UPDATE deling.citizen_block x SET revoked_at = now()
    WHERE x.pid = b.pid AND x.block_id = b.block_id AND x.revoked_at IS NULL AND (x.kommune_nr = ANY (seen) OR x.pid = me);
END
$$;

CREATE OR REPLACE FUNCTION api.sharing_blocks(pid text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    caller text := deling.block_caller(pid);
    own text := deling.current_kommune();
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('block_id', b.block_id,
                'kommune_nr', b.kommune_nr, 'sharing_service', b.sharing_service, 'service_codes', b.service_codes,
                'organisations', b.organisations, 'registered_by', b.registered_by,
                'everywhere', nullif(b.everywhere, false),
                'registered_at', deling.fhir_datetime(b.registered_at))) ORDER BY b.registered_at, b.kommune_nr), '[]')
            FROM deling.citizen_block b
            WHERE b.pid = sharing_blocks.pid AND b.revoked_at IS NULL
              AND (caller = 'citizen' OR b.kommune_nr = own));
END
$$;

-- bind_integration: as before; a binding made again takes the time of the
-- proposed row (Citus needs an immutable expression in ON CONFLICT DO
-- UPDATE; every statement keeps its line)
CREATE OR REPLACE FUNCTION deling.bind_integration(role_name regrole, kommune_nr text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF role_name::text IN ('deling_authenticator', 'deling_integrasjon')
       OR NOT pg_has_role(role_name::oid, 'deling_integrasjon', 'MEMBER') THEN
        RAISE EXCEPTION 'role % cannot be bound: bind a login role that is a member of deling_integrasjon', role_name
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO deling.integration_binding (role_name, kommune_nr) VALUES (role_name::text, kommune_nr)
        ON CONFLICT ON CONSTRAINT integration_binding_pkey
        DO UPDATE SET kommune_nr = excluded.kommune_nr, bound_at = excluded.bound_at;
END
$$;

-- KPR: every query on a kommune's services goes to its shard as one
-- statement, so what it needs of the coordinator (the events derived, the
-- plan, the test mode, the time, the study's key) is computed here first
-- and given to it as values.

-- kpr.plan: as before, KPR's events derived first, here, and the plan's
-- query given them as a value (it goes to the kommune's shard as one
-- statement; a function called in it would run there)
CREATE OR REPLACE FUNCTION kpr.plan(kommune_nr text, held jsonb DEFAULT '{}')
RETURNS TABLE (event_key text, service_id uuid, event text, status text, payload jsonb, original_guid uuid,
               registered_at timestamptz, citizen_id uuid, test_person boolean, hold text,
               phase integer, sort_date date, sort_rank integer)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    plan_today CONSTANT date := (now() AT TIME ZONE 'Europe/Oslo')::date;
    plan_test_mode CONSTANT boolean := current_setting('deling.kpr_test_mode') = 'on';
    plan_now CONSTANT timestamptz := now();
    plan_events jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(to_jsonb(e)), '[]') INTO plan_events FROM kpr.derived_events(plan.kommune_nr, true) e;
    RETURN QUERY
WITH opt AS (
    SELECT s.cutoff_date, plan_today AS today, plan_test_mode AS test_mode
    FROM deling.kpr_report_state s WHERE s.kommune_nr = plan.kommune_nr),
d AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset(plan_events) AS x(service_id uuid, event_key text, kind text, present boolean, event text,
                                                      event_date date, ends date, provider_orgnr text, stop_id text,
                                                      registered_at timestamptz)),
svc AS MATERIALIZED (
    SELECT m.service_id, m.service_code, m.period_start, m.pid::text AS pid, m.registered_at, c.citizen_id,
           kpr.type_id(m.pid) AS type_id, deling.fnr_synthetic(m.pid) AS test_person, t.status AS code_status,
           t.replaced_by, EXISTS (SELECT FROM deling.kpr_reported_service_type rt WHERE rt.code = m.service_code) AS in_scope
    FROM deling.municipal_service m
    JOIN deling.citizen c ON c.kommune_nr = m.kommune_nr AND c.pid = m.pid
    JOIN deling.service_type t ON t.code = m.service_code
    WHERE m.kommune_nr = plan.kommune_nr AND m.service_id IN (SELECT d.service_id FROM d)),
want AS (
    SELECT DISTINCT ON (d.event_key) d.event_key, d.service_id, d.event, d.kind, d.event_date, d.registered_at,
           jsonb_build_object(
               'name', d.event,
               'attrs', jsonb_strip_nulls(jsonb_build_object(
                   'tjenesteType', s.service_code, 'tjenesteOrgNr', d.provider_orgnr,
                   'hendelseDato', to_char(d.event_date, 'YYYY-MM-DD'), 'tjenesteID', d.service_id,
                   'midlertidigStoppID', d.stop_id)),
               'children', jsonb_build_array(jsonb_build_object(
                   'name', 'Bruker',
                   'attrs', jsonb_strip_nulls(jsonb_build_object('pasientGUID', s.citizen_id, 'brukerNr', s.citizen_id,
                                                                 'fid', s.pid, 'typeID', s.type_id::text))))) AS payload
    FROM d JOIN svc s ON s.service_id = d.service_id CROSS JOIN opt
    WHERE d.present AND s.in_scope AND d.event_date <= opt.today
      AND coalesce(d.ends, 'infinity') >= opt.cutoff_date
      AND (NOT s.test_person OR opt.test_mode)
    ORDER BY d.event_key),
sent AS (
    SELECT r.* FROM deling.kpr_reported_event r CROSS JOIN opt
    WHERE r.kommune_nr = plan.kommune_nr AND (NOT r.test_person OR opt.test_mode)),
a AS (
    SELECT coalesce(w.event_key, r.event_key) AS event_key, coalesce(w.service_id, r.service_id) AS service_id,
           coalesce(w.event, r.event) AS event, split_part(coalesce(w.event_key, r.event_key), ':', 2) AS part,
           coalesce(w.payload, r.payload) AS payload, r.status IN ('N', 'M') AS live_before,
           CASE WHEN r.status IN ('N', 'M') THEN r.original_guid END AS original_guid,
           coalesce(w.registered_at, dg.registered_at, s.registered_at, plan_now) AS registered_at,
           coalesce(s.test_person, r.test_person) AS test_person, s.service_code, s.period_start,
           CASE WHEN w.event_key IS NOT NULL AND (r.event_key IS NULL OR r.status = 'C') THEN 'N'
                WHEN w.event_key IS NOT NULL AND r.payload IS DISTINCT FROM w.payload THEN 'M'
                WHEN w.event_key IS NULL AND r.status IN ('N', 'M')
                     AND NOT (s.in_scope IS FALSE AND s.code_status = 'active'
                              AND r.payload->'attrs'->>'tjenesteType' = s.service_code) THEN 'C'
           END AS status,
           CASE WHEN plan.held ? coalesce(w.event_key, r.event_key) THEN plan.held->>coalesce(w.event_key, r.event_key)
                WHEN s.code_status <> 'active'
                THEN format('service code %s is %s in code list 9151%s: changes are held back until the code is corrected',
                            s.service_code, s.code_status, coalesce(' (replaced by ' || s.replaced_by || ')', ''))
                WHEN w.event_key IS NOT NULL AND s.type_id IS NULL
                THEN 'the identity number gives no identifier type (code system 9032)'
           END AS base_hold
    FROM want w
    FULL JOIN sent r ON r.event_key = w.event_key
    LEFT JOIN svc s ON s.service_id = coalesce(w.service_id, r.service_id)
    LEFT JOIN d dg ON dg.event_key = r.event_key AND w.event_key IS NULL),
-- the start: does KPR hold it after this message?
b AS (
    SELECT a.*, left(a.part, 1) AS kind, substr(a.part, 2) AS day,
           bool_or(CASE WHEN a.status IS NOT NULL AND a.base_hold IS NULL THEN a.status <> 'C' ELSE a.live_before END)
               FILTER (WHERE a.part = 'S') OVER (PARTITION BY a.service_id) AS start_held_by_kpr
    FROM a),
-- stops from, then everything else that attaches to the start or a stop from
c AS (
    SELECT b.*,
           CASE WHEN b.status IN ('N', 'M') AND b.kind <> 'S' AND b.base_hold IS NULL AND NOT coalesce(b.start_held_by_kpr, false)
                THEN 'waiting for its TjenesteStart, which KPR does not hold'
                ELSE b.base_hold END AS hold1
    FROM b),
e AS (
    SELECT c.*,
           bool_or(CASE WHEN c.status IS NOT NULL AND c.hold1 IS NULL THEN c.status <> 'C' ELSE c.live_before END)
               FILTER (WHERE c.kind = 'F') OVER (PARTITION BY c.service_id, c.day) AS from_held_by_kpr
    FROM c),
f AS (
    SELECT e.*,
           CASE WHEN e.status IN ('N', 'M') AND e.kind = 'T' AND e.hold1 IS NULL AND NOT coalesce(e.from_held_by_kpr, false)
                THEN 'waiting for its MidlertidigStoppFra, which KPR does not hold'
                ELSE e.hold1 END AS hold2
    FROM e),
g AS (
    SELECT f.*,
           bool_or(CASE WHEN f.status IS NOT NULL AND f.hold2 IS NULL THEN f.status <> 'C' ELSE f.live_before END)
               FILTER (WHERE f.kind = 'T') OVER (PARTITION BY f.service_id, f.day) AS to_held_by_kpr,
           bool_or(CASE WHEN f.status IS NOT NULL AND f.hold2 IS NULL THEN f.status <> 'C' ELSE f.live_before END)
               FILTER (WHERE f.kind <> 'S') OVER (PARTITION BY f.service_id) AS others_held_by_kpr
    FROM f)
SELECT g.event_key, g.service_id, g.event, g.status, g.payload, g.original_guid, g.registered_at,
       (g.payload->'children'->0->'attrs'->>'brukerNr')::uuid, g.test_person,
       CASE WHEN g.status = 'C' AND g.hold2 IS NULL AND g.kind = 'F' AND coalesce(g.to_held_by_kpr, false)
            THEN 'its MidlertidigStoppTil is still held by KPR'
            WHEN g.status = 'C' AND g.hold2 IS NULL AND g.kind = 'S' AND coalesce(g.others_held_by_kpr, false)
            THEN 'events of the service are still held by KPR'
            ELSE g.hold2 END,
       CASE WHEN g.status = 'C' THEN 0 ELSE 1 END,
       CASE WHEN g.status = 'C' THEN (g.payload->'attrs'->>'hendelseDato')::date
            WHEN g.kind = 'S' THEN (g.payload->'attrs'->>'hendelseDato')::date
            ELSE greatest((g.payload->'attrs'->>'hendelseDato')::date, g.period_start) END,
       CASE WHEN g.status = 'C' THEN CASE g.kind WHEN 'S' THEN 2 WHEN 'F' THEN 1 ELSE 0 END
            ELSE CASE g.kind WHEN 'S' THEN 0 WHEN 'F' THEN 1 WHEN 'P' THEN 2 WHEN 'T' THEN 3 ELSE 4 END END
FROM g
WHERE g.status IS NOT NULL;
END
$$;

-- kpr.service_events: as before, the events derived first, here
CREATE OR REPLACE FUNCTION kpr.service_events(kommune_nr text, from_date date, to_date date)
RETURNS TABLE (service_id uuid, bruker_nr text, pid text, type_id integer, test_person boolean, event text,
               event_date date, service_code text, provider_orgnr text, stop_id text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    events jsonb;
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'service_events');
    SELECT coalesce(jsonb_agg(to_jsonb(e)), '[]') INTO events FROM kpr.derived_events(service_events.kommune_nr, false) e;
    RETURN QUERY
    SELECT d.service_id, c.citizen_id::text, m.pid::text, kpr.type_id(m.pid), deling.fnr_synthetic(m.pid), d.event,
           d.event_date, m.service_code, d.provider_orgnr, d.stop_id
    FROM jsonb_to_recordset(events) AS d(service_id uuid, event_key text, kind text, present boolean, event text,
                                         event_date date, ends date, provider_orgnr text, stop_id text, registered_at timestamptz)
    JOIN deling.municipal_service m ON m.kommune_nr = service_events.kommune_nr AND m.service_id = d.service_id
    JOIN deling.citizen c ON c.kommune_nr = m.kommune_nr AND c.pid = m.pid
    WHERE d.present AND d.event_date BETWEEN from_date AND to_date
    ORDER BY d.event_date, d.service_id, CASE d.kind WHEN 'S' THEN 0 WHEN 'F' THEN 1 WHEN 'P' THEN 2 WHEN 'T' THEN 3 ELSE 4 END,
             d.event_key;
END
$$;

-- kpr.data_quality: as before, the held-back changes planned first, here
CREATE OR REPLACE FUNCTION kpr.data_quality(kommune_nr text)
RETURNS TABLE (service_id uuid, source_id text, service_code text, problem text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    today CONSTANT date := (now() AT TIME ZONE 'Europe/Oslo')::date;
    last_held jsonb;
    held jsonb;
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'data_quality');
    SELECT coalesce(jsonb_object_agg(h.event_key, h.reason), '{}') INTO last_held FROM deling.kpr_held_event h
    WHERE h.kommune_nr = data_quality.kommune_nr;
    SELECT coalesce(jsonb_agg(to_jsonb(p)), '[]') INTO held FROM kpr.plan(data_quality.kommune_nr, last_held) p
    WHERE p.hold IS NOT NULL;
    RETURN QUERY
    WITH problems AS (
        SELECT m.service_id, m.source_id, m.service_code, p.problem
        FROM deling.municipal_service m
        JOIN deling.service_type t ON t.code = m.service_code
        CROSS JOIN LATERAL (VALUES
            (CASE WHEN t.status <> 'active' THEN format('service code %s is %s in code list 9151', m.service_code, t.status) END),
            (CASE WHEN m.period_end < m.period_start THEN 'period ends before it starts' END),
            (CASE WHEN m.unit_orgnr IS NULL AND m.service_code IN ('1', '2', '3', '4', '15', '17', '18', '19', '20', '21', '22', '25')
                  THEN 'no provider organisation number (required by KPR for this service type)' END),
            (CASE WHEN m.weekly_hours > 168 THEN 'more than 168 hours a week' END),
            (CASE WHEN deling.fnr_synthetic(m.pid) THEN 'test person (never reported in production)' END),
            (CASE WHEN kpr.type_id(m.pid) NOT IN (1, 2) THEN 'identity number gives no KPR person id (H- or FH-nummer)' END),
            (CASE WHEN m.status = 'on-hold'
                       AND NOT EXISTS (SELECT FROM unnest(m.stops) r
                                       WHERE upper_inf(r) OR today <@ r)
                  THEN 'on hold without an ongoing temporary stop: KPR gets no MidlertidigStoppFra (send the stop''s dates)' END)
        ) p(problem)
        WHERE m.kommune_nr = data_quality.kommune_nr AND m.status <> 'entered-in-error' AND p.problem IS NOT NULL
        UNION ALL
        SELECT p.service_id, m.source_id, m.service_code,
               format('%s %s (%s) held back from KPR: %s', p.event, coalesce(p.payload->'attrs'->>'hendelseDato', 'without a date'),
                      p.status, p.hold)
        FROM jsonb_to_recordset(held) AS p(service_id uuid, event text, status text, payload jsonb, hold text)
        LEFT JOIN deling.municipal_service m ON m.kommune_nr = data_quality.kommune_nr AND m.service_id = p.service_id)
    SELECT x.service_id, x.source_id, x.service_code, x.problem FROM problems x ORDER BY x.source_id, x.problem;
END
$$;

-- kpr.service_statistics: as before, the test mode read here
CREATE OR REPLACE FUNCTION kpr.service_statistics(kommune_nr text, from_month date, to_month date)
RETURNS TABLE (month date, service_code text, age_band text, sex text, persons bigint, services bigint,
               weekly_hours numeric, suppressed boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    min_persons CONSTANT integer := 5;
    test_mode CONSTANT boolean := current_setting('deling.kpr_test_mode') = 'on';
    c_mo date[];
    c_code text[];
    c_age text[];
    c_sex text[];
    c_persons bigint[];
    c_services bigint[];
    c_hours numeric[];
    c_supp boolean[];
    more bigint[];
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'service_statistics');
    IF from_month IS NULL OR to_month IS NULL OR from_month > to_month THEN
        RAISE EXCEPTION 'the months must run from a date to the same or a later date' USING ERRCODE = '22023';
    END IF;
    WITH base AS (
        SELECT mo::date AS mo, m.service_code AS code, m.pid, m.weekly_hours,
               CASE WHEN a.age IS NULL THEN 'unknown' WHEN a.age < 18 THEN '0-17' WHEN a.age < 50 THEN '18-49'
                    WHEN a.age < 67 THEN '50-66' WHEN a.age < 80 THEN '67-79' WHEN a.age < 90 THEN '80-89' ELSE '90+' END AS band,
               coalesce(c.sex, 'unknown') AS sx
        FROM generate_series(date_trunc('month', from_month), date_trunc('month', to_month), interval '1 month') mo
        JOIN deling.municipal_service m ON m.kommune_nr = service_statistics.kommune_nr
             AND m.status IN ('granted', 'active', 'on-hold', 'ended')
             AND m.period_start < mo + interval '1 month' AND (m.period_end IS NULL OR m.period_end >= mo)
        JOIN deling.citizen c ON c.kommune_nr = m.kommune_nr AND c.pid = m.pid
        CROSS JOIN LATERAL (SELECT extract(year FROM age(mo::date, coalesce(c.birth_date, deling.fnr_birth_date(m.pid))))::int AS age) a
        WHERE NOT deling.fnr_synthetic(m.pid) OR test_mode),
    g AS (
        SELECT b.mo, b.code, CASE WHEN GROUPING(b.band) = 1 THEN 'total' ELSE b.band END AS band,
               CASE WHEN GROUPING(b.sx) = 1 THEN 'total' ELSE b.sx END AS sx,
               count(DISTINCT b.pid) AS np, count(*) AS ns, sum(b.weekly_hours) AS wh
        FROM base b
        GROUP BY GROUPING SETS ((b.mo, b.code, b.band, b.sx), (b.mo, b.code, b.band), (b.mo, b.code, b.sx), (b.mo, b.code)))
    SELECT array_agg(g.mo ORDER BY g.mo, g.code, g.band, g.sx), array_agg(g.code ORDER BY g.mo, g.code, g.band, g.sx),
           array_agg(g.band ORDER BY g.mo, g.code, g.band, g.sx), array_agg(g.sx ORDER BY g.mo, g.code, g.band, g.sx),
           array_agg(g.np ORDER BY g.mo, g.code, g.band, g.sx), array_agg(g.ns ORDER BY g.mo, g.code, g.band, g.sx),
           array_agg(g.wh ORDER BY g.mo, g.code, g.band, g.sx), array_agg(g.np < min_persons ORDER BY g.mo, g.code, g.band, g.sx)
    INTO c_mo, c_code, c_age, c_sex, c_persons, c_services, c_hours, c_supp
    FROM g;
    -- secondary suppression: no row or column with exactly one suppressed cell
    LOOP
        WITH c AS (
            SELECT u.i, u.np, u.supp,
                   to_char(u.mo, 'YYYY-MM') || '|' || u.code AS tbl, u.band, u.sx
            FROM unnest(c_mo, c_code, c_age, c_sex, c_persons, c_supp) WITH ORDINALITY AS u(mo, code, band, sx, np, supp, i)),
        l AS (
            SELECT c.i, c.np, c.supp, x.line, count(*) FILTER (WHERE c.supp) OVER (PARTITION BY x.line) AS n_supp
            FROM c CROSS JOIN LATERAL (VALUES ('band|' || c.tbl || '|' || c.band), ('sex|' || c.tbl || '|' || c.sx)) x(line))
        SELECT array_agg(DISTINCT p.i) INTO more
        FROM (SELECT DISTINCT ON (l.line) l.i FROM l WHERE l.n_supp = 1 AND NOT l.supp ORDER BY l.line, l.np, l.i) p;
        EXIT WHEN more IS NULL;
        FOR j IN 1..cardinality(more) LOOP
            c_supp[more[j]::integer] := true;
        END LOOP;
    END LOOP;
    RETURN QUERY
    SELECT u.mo, u.code, u.band, u.sx, CASE WHEN u.supp THEN NULL ELSE u.np END, CASE WHEN u.supp THEN NULL ELSE u.ns END,
           CASE WHEN u.supp THEN NULL ELSE u.wh END, u.supp
    FROM unnest(c_mo, c_code, c_age, c_sex, c_persons, c_services, c_hours, c_supp) AS u(mo, code, band, sx, np, ns, wh, supp)
    ORDER BY u.mo, u.code, u.band = 'total', u.band, u.sx = 'total', u.sx;
END
$$;

-- kpr.record_message: as before, in PL/pgSQL (Citus plans no LANGUAGE sql
-- function with parameters on a distributed table), who built it read here
CREATE OR REPLACE FUNCTION kpr.record_message(kommune_nr text, kind text, request text, lopenrs bigint[], held_back integer,
                                              message text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    who CONSTANT text := deling.outer_role();
    id bigint;
BEGIN
    INSERT INTO deling.kpr_message (kommune_nr, kind, request, built_by, lopenrs, held_back, message)
    VALUES (kommune_nr, kind, request, who, coalesce(lopenrs, '{}'), held_back, message)
    RETURNING kpr_message.message_id INTO id;
    RETURN id;
END
$$;

-- kpr.xpr_ipl_message: as before; an event sent again takes the time of the
-- proposed row (the same now(), and an immutable expression, as Citus needs
-- in ON CONFLICT DO UPDATE)
CREATE OR REPLACE FUNCTION kpr.xpr_ipl_message(kommune_nr text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    st deling.kpr_report_state;
    held jsonb := '{}';
    items jsonb;
    held_count integer;
    message text;
    errors text[];
    own_errors text[];
    n jsonb;
    found_bad boolean;
    msg_id bigint;
    now_local CONSTANT text := to_char(now() AT TIME ZONE 'Europe/Oslo', 'YYYY-MM-DD"T"HH24:MI:SS');
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'xpr_ipl_message');
    SELECT * INTO st FROM deling.kpr_report_state s WHERE s.kommune_nr = xpr_ipl_message.kommune_nr FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'reporting to KPR has not been started for kommune %', kommune_nr
            USING ERRCODE = '55000',
                  HINT = 'The DBA starts it with kpr.start_reporting(kommune_nr, cutoff_date) and registers the contact persons with kpr.add_contact(kommune_nr, type, name, email, phone).';
    END IF;
    PERFORM kpr.contact_elements(kommune_nr);     -- refuses without the required contact persons
    FOR attempt IN 1..20 LOOP
        WITH pl AS MATERIALIZED (SELECT * FROM kpr.plan(xpr_ipl_message.kommune_nr, held)),
        o AS MATERIALIZED (
            SELECT p.*, row_number() OVER (ORDER BY p.phase, CASE WHEN p.phase = 0 THEN p.sort_rank END,
                                                    CASE WHEN p.phase = 0 THEN p.sort_date END DESC,
                                                    p.sort_date, p.sort_rank, p.event_key) AS i,
                   gen_random_uuid() AS guid
            FROM pl p WHERE p.hold IS NULL),
        x AS (SELECT o.*, coalesce(lag(o.guid) OVER (ORDER BY o.i), st.last_guid) AS prev FROM o)
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'event_key', x.event_key, 'service_id', x.service_id, 'citizen_id', x.citizen_id, 'event', x.event,
                   'test_person', x.test_person, 'status', x.status, 'payload', x.payload, 'guid', x.guid,
                   'original_guid', coalesce(x.original_guid, x.guid), 'lopenr', st.last_lopenr + x.i,
                   'notification', jsonb_build_object(
                       'name', 'Notifikasjon',
                       'attrs', jsonb_strip_nulls(jsonb_build_object(
                           'statusNotifikasjon', x.status, 'notifikasjonTid', now_local,
                           'notifikasjonGUID', x.guid, 'notifikasjonForrigeGUID', x.prev,
                           'notifikasjonLopeNr', (st.last_lopenr + x.i)::text,
                           'notifikasjonRef', CASE WHEN x.status <> 'N' THEN x.original_guid END)),
                       'children', jsonb_build_array(jsonb_set(x.payload, '{attrs}', x.payload->'attrs' || jsonb_build_object(
                           'hendelseRegTid', to_char(x.registered_at AT TIME ZONE 'Europe/Oslo', 'YYYY-MM-DD"T"HH24:MI:SS'),
                           'hendelseGUID', gen_random_uuid()))))) ORDER BY x.i), '[]'),
               (SELECT count(*) FROM pl WHERE pl.hold IS NOT NULL)
        INTO items, held_count
        FROM x;
        message := kpr.xpr_ipl_envelope(kommune_nr, (SELECT jsonb_agg(e->'notification' ORDER BY (e->>'lopenr')::bigint)
                                                     FROM jsonb_array_elements(items) e));
        errors := kpr.validate_xpr_ipl(message);
        EXIT WHEN cardinality(errors) = 0;
        -- hold back the notifications that do not validate on their own
        found_bad := false;
        FOR n IN SELECT e FROM jsonb_array_elements(items) e LOOP
            own_errors := kpr.validate_xpr_ipl(kpr.xpr_ipl_envelope(kommune_nr, jsonb_build_array(n->'notification')));
            IF cardinality(own_errors) > 0 THEN
                held := held || jsonb_build_object(n->>'event_key',
                    'does not validate against XPR(ipl).xsd: ' || array_to_string(own_errors, '; '));
                found_bad := true;
            END IF;
        END LOOP;
        EXIT WHEN NOT found_bad;
    END LOOP;
    IF cardinality(errors) > 0 THEN
        RAISE EXCEPTION 'the XPR(ipl) message for kommune % does not validate; nothing was recorded', kommune_nr
            USING ERRCODE = '22023', DETAIL = array_to_string(errors, E'\n'),
                  HINT = 'The notifications validate one by one: check the kommune''s contact persons (kpr.contacts).';
    END IF;

    msg_id := kpr.record_message(kommune_nr, 'continuous', 'next',
                                 ARRAY(SELECT (e->>'lopenr')::bigint FROM jsonb_array_elements(items) e ORDER BY 1),
                                 held_count, message);
    INSERT INTO deling.kpr_notification (kommune_nr, lopenr, notification, message_id, event_key, service_id, citizen_id, status)
    SELECT kommune_nr, (e->>'lopenr')::bigint, e->'notification', msg_id, e->>'event_key', (e->>'service_id')::uuid,
           (e->>'citizen_id')::uuid, e->>'status'
    FROM jsonb_array_elements(items) e;
    INSERT INTO deling.kpr_reported_event AS r
        (kommune_nr, event_key, service_id, event, test_person, status, original_guid, notification_guid, lopenr, payload)
    SELECT kommune_nr, e->>'event_key', (e->>'service_id')::uuid, e->>'event', (e->>'test_person')::boolean, e->>'status',
           (e->>'original_guid')::uuid, (e->>'guid')::uuid, (e->>'lopenr')::bigint, e->'payload'
    FROM jsonb_array_elements(items) e
    ON CONFLICT ON CONSTRAINT kpr_reported_event_pkey DO UPDATE
        SET status = excluded.status, notification_guid = excluded.notification_guid, lopenr = excluded.lopenr,
            sent_at = excluded.sent_at, test_person = excluded.test_person,
            -- an N (first, or after a C) is the new original; M and C keep it
            original_guid = CASE WHEN excluded.status = 'N' THEN excluded.notification_guid ELSE r.original_guid END,
            -- a C cancels the event as KPR held it
            payload = CASE WHEN excluded.status = 'C' THEN r.payload ELSE excluded.payload END;
    DELETE FROM deling.kpr_held_event h WHERE h.kommune_nr = xpr_ipl_message.kommune_nr;
    INSERT INTO deling.kpr_held_event (kommune_nr, event_key, service_id, reason)
    SELECT kommune_nr, h.key, split_part(h.key, ':', 1)::uuid, h.value FROM jsonb_each_text(held) h;
    IF jsonb_array_length(items) > 0 THEN
        UPDATE deling.kpr_report_state s
        SET last_lopenr = (items->-1->>'lopenr')::bigint, last_guid = (items->-1->>'guid')::uuid
        WHERE s.kommune_nr = xpr_ipl_message.kommune_nr;
    END IF;
    RETURN message;
END
$$;

-- kpr.resend: as before, the notifications read first (the envelope is
-- built here, not on the shard)
CREATE OR REPLACE FUNCTION kpr.resend(kommune_nr text, request text, lopenrs bigint[]) RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    message text;
    sorted bigint[] := ARRAY(SELECT DISTINCT l FROM unnest(lopenrs) l ORDER BY 1);
    notifications jsonb;
BEGIN
    SELECT jsonb_agg(n.notification ORDER BY n.lopenr) INTO notifications FROM deling.kpr_notification n
    WHERE n.kommune_nr = resend.kommune_nr AND n.lopenr = ANY (sorted);
    message := kpr.xpr_ipl_envelope(kommune_nr, notifications);
    PERFORM kpr.record_message(kommune_nr, 'resend', request, sorted, 0, message);
    RETURN message;
END
$$;

-- the re-sends: as before, the notifications' numbers read first (the
-- re-send is built here, not in a statement on the shard)
CREATE OR REPLACE FUNCTION kpr.xpr_ipl_message(kommune_nr text, since_lopenr bigint) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    st deling.kpr_report_state;
    lopenrs bigint[];
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'xpr_ipl_message_resend');
    st := kpr.started(kommune_nr);
    IF since_lopenr IS NULL OR since_lopenr < 1 OR since_lopenr > st.last_lopenr THEN
        RAISE EXCEPTION 'since_lopenr must be between 1 and %, the last løpenummer sent', st.last_lopenr
            USING ERRCODE = '22023';
    END IF;
    lopenrs := ARRAY(SELECT n.lopenr FROM deling.kpr_notification n
                     WHERE n.kommune_nr = xpr_ipl_message.kommune_nr AND n.lopenr >= since_lopenr);
    RETURN kpr.resend(kommune_nr, format('from løpenummer %s', since_lopenr), lopenrs);
END
$$;

CREATE OR REPLACE FUNCTION kpr.xpr_ipl_message(kommune_nr text, from_date date, to_date date) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lopenrs bigint[];
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'xpr_ipl_message_resend');
    IF from_date IS NULL OR to_date IS NULL OR from_date > to_date THEN
        RAISE EXCEPTION 'the period must run from a date to the same or a later date (got % to %)',
            coalesce(to_char(from_date, 'YYYY-MM-DD'), 'NULL'), coalesce(to_char(to_date, 'YYYY-MM-DD'), 'NULL') USING ERRCODE = '22023';
    END IF;
    PERFORM kpr.started(kommune_nr);
    lopenrs := ARRAY(SELECT n.lopenr FROM deling.kpr_notification n
                     WHERE n.kommune_nr = xpr_ipl_message.kommune_nr
                       AND (n.notification->'children'->0->'attrs'->>'hendelseDato')::date BETWEEN from_date AND to_date);
    RETURN kpr.resend(kommune_nr, format('events dated %s to %s', to_char(from_date, 'YYYY-MM-DD'), to_char(to_date, 'YYYY-MM-DD')),
                      lopenrs);
END
$$;

CREATE OR REPLACE FUNCTION kpr.xpr_ipl_message_for_person(kommune_nr text, pid text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    person uuid;
    lopenrs bigint[];
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'xpr_ipl_message_resend_person', pid);
    PERFORM kpr.started(kommune_nr);
    SELECT c.citizen_id INTO person FROM deling.citizen c
    WHERE c.kommune_nr = xpr_ipl_message_for_person.kommune_nr AND c.pid = xpr_ipl_message_for_person.pid;
    IF person IS NULL THEN
        RAISE EXCEPTION 'no citizen with that identity number in kommune %', kommune_nr USING ERRCODE = '22023';
    END IF;
    lopenrs := ARRAY(SELECT n.lopenr FROM deling.kpr_notification n
                     WHERE n.kommune_nr = xpr_ipl_message_for_person.kommune_nr AND n.citizen_id = person);
    RETURN kpr.resend(kommune_nr, format('person %s', person), lopenrs);
END
$$;


-- kpr.pseudonymised_services: as before, the study's services read first
-- and the pseudonyms made here: the study's key never leaves this node
-- (on Citus it would otherwise be a parameter of the shards' queries)
CREATE OR REPLACE FUNCTION kpr.pseudonymised_services(study_id text)
RETURNS TABLE (pseudonym text, key_version integer, kommune_nr text, age_band text, sex text, service_code text,
               period_from text, period_to text, weekly_hours text, generalised_to text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k_anon CONSTANT integer := 5;
    s deling.research_study;
    sk deling.pseudonym_key;
    what CONSTANT text := 'pseudonymised_services ' || coalesce(study_id, '');
    refusal text;
    refusal_code text := '42501';
    total bigint;
    released bigint;
    test_mode CONSTANT boolean := current_setting('deling.kpr_test_mode') = 'on';
    services jsonb;
BEGIN
    SELECT * INTO s FROM deling.research_study x WHERE x.study_id = pseudonymised_services.study_id;
    IF NOT FOUND THEN
        PERFORM kpr.refuse('{}', what, NULL, '22023', format('no research study "%s"', study_id));
    END IF;
    SELECT * INTO sk FROM deling.pseudonym_key x WHERE x.study_id = s.study_id AND x.retired_at IS NULL;
    IF s.revoked_at IS NOT NULL THEN
        refusal := format('research study "%s" was revoked on %s', s.study_id, to_char(s.revoked_at, 'YYYY-MM-DD'));
    ELSIF s.expires_on < (now() AT TIME ZONE 'Europe/Oslo')::date THEN
        refusal := format('research study "%s" expired on %s', s.study_id, to_char(s.expires_on, 'YYYY-MM-DD'));
    ELSIF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        -- a transaction that wrote anything (a chosen citizen and service, say) could read its pseudonym and roll back
        refusal := 'the pseudonymised export runs only in a transaction that has written nothing';
        refusal_code := '55000';
    END IF;
    PERFORM kpr.kpr_reader(s.kommuner, what, NULL, s.researcher, refusal, refusal_code);

    -- the study's services, read first: the pseudonyms are made here, so
    -- the key never goes to another node
    SELECT count(*), coalesce(jsonb_agg(jsonb_build_object(
               'pid', m.pid, 'kommune_nr', m.kommune_nr, 'birth_date', c.birth_date, 'sex', c.sex, 'service_code', m.service_code,
               'weekly_hours', m.weekly_hours, 'period_start', m.period_start, 'period_end', m.period_end)), '[]')
    INTO total, services
    FROM deling.municipal_service m
    JOIN deling.citizen c ON c.kommune_nr = m.kommune_nr AND c.pid = m.pid
    WHERE m.kommune_nr = ANY (s.kommuner) AND m.status IN ('granted', 'active', 'on-hold', 'ended')
      AND (NOT deling.fnr_synthetic(m.pid) OR test_mode);
    RETURN QUERY
    WITH base AS (
        SELECT encode(deling.hmac_sha256(convert_to(m.pid, 'UTF8'), sk.secret), 'hex') AS ps, m.kommune_nr::text AS k,
               CASE WHEN a.age IS NULL THEN 'unknown' WHEN a.age < 18 THEN '0-17' WHEN a.age < 50 THEN '18-49'
                    WHEN a.age < 67 THEN '50-66' WHEN a.age < 80 THEN '67-79' WHEN a.age < 90 THEN '80-89' ELSE '90+' END AS band,
               coalesce(m.sex, 'unknown') AS sx, m.service_code AS code,
               CASE WHEN m.weekly_hours IS NULL THEN 'unknown' WHEN m.weekly_hours < 5 THEN 'under 5'
                    WHEN m.weekly_hours < 10 THEN '5-10' WHEN m.weekly_hours < 20 THEN '10-20'
                    WHEN m.weekly_hours < 35 THEN '20-35' ELSE '35 or more' END AS hours,
               to_char(m.period_start, 'YYYY-MM') AS m_from, to_char(m.period_end, 'YYYY-MM') AS m_to,
               to_char(m.period_start, 'YYYY-"Q"Q') AS q_from, to_char(m.period_end, 'YYYY-"Q"Q') AS q_to,
               to_char(m.period_start, 'YYYY') AS y_from, to_char(m.period_end, 'YYYY') AS y_to
        FROM jsonb_to_recordset(services) AS m(pid text, kommune_nr text, birth_date date, sex text, service_code text,
                                               weekly_hours numeric, period_start date, period_end date)
        CROSS JOIN LATERAL (SELECT extract(year FROM age(m.period_start, coalesce(m.birth_date, deling.fnr_birth_date(m.pid))))::int AS age) a),
    l1 AS (SELECT b.*, count(*) OVER (PARTITION BY b.k, b.band, b.sx, b.code, b.hours, b.m_from, b.m_to) AS n FROM base b),
    l2 AS (SELECT l1.*, count(*) OVER (PARTITION BY l1.k, l1.band, l1.sx, l1.code, l1.hours, l1.q_from, l1.q_to) AS n2
           FROM l1 WHERE l1.n < k_anon),
    l3 AS (SELECT l2.*, count(*) OVER (PARTITION BY l2.k, l2.band, l2.sx, l2.code, l2.hours, l2.y_from, l2.y_to) AS n3
           FROM l2 WHERE l2.n2 < k_anon),
    r AS (
        SELECT l1.ps, l1.k, l1.band, l1.sx, l1.code, l1.m_from AS pf, l1.m_to AS pt, l1.hours, 'month' AS lvl FROM l1 WHERE l1.n >= k_anon
        UNION ALL
        SELECT l2.ps, l2.k, l2.band, l2.sx, l2.code, l2.q_from, l2.q_to, l2.hours, 'quarter' FROM l2 WHERE l2.n2 >= k_anon
        UNION ALL
        SELECT l3.ps, l3.k, l3.band, l3.sx, l3.code, l3.y_from, l3.y_to, l3.hours, 'year' FROM l3 WHERE l3.n3 >= k_anon)
    SELECT r.ps, sk.key_version, r.k, r.band, r.sx, r.code, r.pf, r.pt, r.hours, r.lvl
    FROM r ORDER BY r.k, r.code, r.pf, r.ps;
    GET DIAGNOSTICS released = ROW_COUNT;
    IF released < total THEN
        RAISE NOTICE '% of % services withheld: fewer than % alike even by year', total - released, total, k_anon;
    END IF;
END
$$;


-- ---------------------------------------------------------------------------
-- deling.distribute(): run by a superuser on the Citus coordinator, after
-- CREATE EXTENSION citus and the nodes are added (docs/scale-out.md).  In
-- one transaction, each table once (so also after an upgrade or a new
-- node: what is done is skipped):
--   - reference tables (a copy on every node): the catalog and code lists,
--     every table of schema deling not named below;
--   - distributed by kommune_nr, colocated with deling.citizen: the
--     citizens, every declared service's table and its history, KPR's
--     per-kommune state;
--   - distributed by pid, colocated with each other: deling.patient_index
--     (who holds a person: the lookup every read of one citizen starts
--     with) and deling.citizen_block (a person's blocks);
--   - local to the coordinator: the access log (its one writer is the
--     coordinator), the anchor key, the research keys and studies, and the
--     catalog tables no other table refers to that only the coordinator's
--     code reads (the token keys, NEWS2's clinical responses, the
--     instruments): a read of a reference table on the coordinator goes
--     through Citus (about ten times the cost of a local table's), and
--     FHIR rendering reads the clinical responses for every measurement.
-- The distributed tables' policies become ones that need no caller
-- context: deling_owner (the functions, which name the kommuner) and
-- deling_admin may read and write, the callers' roles are refused (there
-- is no context on a worker to limit them by).  Triggers that would run on
-- a shard and reach other shards go: their work is the coordinator's
-- (deling.add_citizens, deling.add_kommune).
-- ---------------------------------------------------------------------------
CREATE FUNCTION deling.distribute(shard_count integer DEFAULT 32) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    node text := deling.citus_node();
    local_tables CONSTANT text[] := ARRAY['deling.access_log', 'deling.access_log_head', 'deling.access_log_quarantine',
                                          'deling.access_log_key', 'deling.deleted_reference_row', 'deling.research_study',
                                          'deling.pseudonym_key', 'deling.trusted_key', 'deling.news2_clinical_response',
                                          'deling.instrument'];
    by_person CONSTANT text[] := ARRAY['deling.patient_index', 'deling.citizen_block'];
    by_kommune text[];
    reference text[];
    problem text;
    t text;
    n integer;
    done jsonb := '{"reference": [], "by_kommune": [], "by_person": []}';
    version text := (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'deling');
BEGIN
    IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'deling.distribute() is for a superuser' USING ERRCODE = '42501';
    END IF;
    IF node = 'none' THEN
        RAISE EXCEPTION 'Citus is not installed in this database' USING ERRCODE = '55000',
            HINT = 'Preload citus before deling (shared_preload_libraries = ''citus,deling''), CREATE EXTENSION citus, add the nodes, then run deling.distribute().';
    END IF;
    IF node = 'worker' THEN
        RAISE EXCEPTION 'deling.distribute() runs on the Citus coordinator; this node is a worker' USING ERRCODE = '55000',
            HINT = 'Connect to the coordinator.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_node d WHERE d.groupid = 0) THEN
        RAISE EXCEPTION 'this coordinator is not registered in its own cluster' USING ERRCODE = '55000',
            HINT = 'SELECT citus_set_coordinator_host(''<its host>'', <port>); the catalog''s reference tables are read locally there.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_node d WHERE d.groupid <> 0 AND d.noderole = 'primary' AND d.isactive) THEN
        RAISE EXCEPTION 'the cluster has no worker' USING ERRCODE = '55000',
            HINT = 'Add the workers first: SELECT citus_add_node(''<host>'', <port>);';
    END IF;
    -- every worker: the same deling, preloaded, and deling_owner able to log in
    SELECT string_agg(format('%s:%s %s', r.nodename, r.nodeport, r.result), '; ' ORDER BY r.nodename, r.nodeport) INTO problem
    FROM pg_catalog.run_command_on_workers(format($q$SELECT concat_ws(', ',
              CASE WHEN (SELECT extversion FROM pg_extension WHERE extname = 'deling') IS DISTINCT FROM %L
                   THEN 'deling ' || coalesce((SELECT extversion FROM pg_extension WHERE extname = 'deling'), 'missing') || ', not %s' END,
              CASE WHEN NOT 'deling' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ','))
                   THEN 'deling not preloaded' END,
              CASE WHEN NOT coalesce((SELECT rolcanlogin FROM pg_roles WHERE rolname = 'deling_owner'), false)
                   THEN 'deling_owner cannot log in' END)$q$, version, version)) r
    WHERE NOT r.success OR r.result <> '';
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'not every worker is ready for deling: %', problem USING ERRCODE = '55000',
            HINT = 'Every node runs the same deling build, preloaded after citus; deling_owner logs in to the workers (only) with a credential the coordinator has (pg_dist_authinfo or .pgpass) - docs/scale-out.md.';
    END IF;

    by_kommune := ARRAY['deling.citizen']
        || ARRAY(SELECT format('deling.%I', x.t)::regclass::text
                 FROM deling.service s, LATERAL (VALUES (1, s.declaration->>'table'), (2, (s.declaration->>'table') || '_history')) x(o, t)
                 WHERE s.declaration IS NOT NULL AND to_regclass(format('deling.%I', x.t)) IS NOT NULL
                 ORDER BY s.service_code, x.o)
        || ARRAY['deling.kpr_report_state', 'deling.kpr_reported_event', 'deling.kpr_message', 'deling.kpr_notification',
                 'deling.kpr_held_event'];
    reference := ARRAY(SELECT c.oid::regclass::text FROM pg_catalog.pg_class c
                       WHERE c.relnamespace = 'deling'::regnamespace AND c.relkind = 'r'
                         AND c.oid::regclass::text <> ALL (local_tables || by_person || by_kommune)
                       ORDER BY c.oid::regclass::text);
    -- citizen data is never a reference table
    SELECT string_agg(DISTINCT a.attrelid::regclass::text, ', ') INTO problem
    FROM pg_catalog.pg_attribute a
    WHERE a.attname = 'pid' AND NOT a.attisdropped AND a.attrelid::regclass::text = ANY (reference || local_tables);
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'deling.distribute() does not know where to put %, which holds citizens'' data', problem
            USING ERRCODE = 'XX000';
    END IF;

    SET LOCAL citus.multi_shard_modify_mode = 'sequential';
    -- the catalog becomes reference tables before the tables that refer to
    -- it are distributed (in one transaction, so that no local table is
    -- left referring to one)
    SET LOCAL citus.enable_local_reference_table_foreign_keys = off;
    -- the history triggers stay: they write the history of the same kommune, on the same shard group
    SET LOCAL citus.enable_unsafe_triggers = on;

    -- triggers that would run on every copy of a reference table, or on a
    -- shard, and reach other shards from there
    FOR t IN SELECT tg.tgrelid::regclass::text || ' ' || quote_ident(tg.tgname)
             FROM pg_catalog.pg_trigger tg
             WHERE NOT tg.tgisinternal
               AND (tg.tgrelid::regclass::text = ANY (reference)
                    OR (tg.tgrelid, tg.tgname) = ('deling.citizen'::regclass, 'citizen_patient_register'))
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = tg.tgrelid)
    LOOP
        EXECUTE format('DROP TRIGGER %s ON %s', split_part(t, ' ', 2), split_part(t, ' ', 1));
    END LOOP;

    -- reference tables, each after the tables it refers to
    LOOP
        n := 0;
        FOR t IN SELECT r FROM unnest(reference) r
                 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = r::regclass)
                   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co
                                   WHERE co.contype = 'f' AND co.conrelid = r::regclass AND co.confrelid <> co.conrelid
                                     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = co.confrelid))
                 ORDER BY 1
        LOOP
            PERFORM pg_catalog.create_reference_table(t::regclass);
            done := jsonb_set(done, '{reference}', (done->'reference') || to_jsonb(t));
            n := n + 1;
        END LOOP;
        EXIT WHEN n = 0;
    END LOOP;
    SELECT string_agg(r, ', ') INTO problem FROM unnest(reference) r
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = r::regclass);
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'could not make reference tables of %: they refer to tables that are not', problem USING ERRCODE = 'XX000';
    END IF;

    -- the distributed tables' policies: no context needed, none read
    FOR t IN SELECT x FROM unnest(by_kommune || by_person) x
             WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = x::regclass)
    LOOP
        PERFORM deling.citus_policies(t::regclass);
    END LOOP;

    -- who holds a person, and a person's blocks: by pid (their keys become
    -- ones that include it; patient_index keeps no foreign key to citizen,
    -- whose rows are on other shards: an entry outlives a removed citizen,
    -- which costs a read of an empty shard, never a lost row)
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = 'deling.patient_index'::regclass) THEN
        ALTER TABLE deling.patient_index DROP CONSTRAINT IF EXISTS patient_index_kommune_nr_pid_fkey;
        PERFORM pg_catalog.create_distributed_table('deling.patient_index', 'pid', shard_count => shard_count, colocate_with => 'none');
        done := jsonb_set(done, '{by_person}', (done->'by_person') || '"deling.patient_index"');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = 'deling.citizen_block'::regclass) THEN
        ALTER TABLE deling.citizen_block DROP CONSTRAINT citizen_block_pkey,
            ADD CONSTRAINT citizen_block_pkey PRIMARY KEY (pid, kommune_nr, block_id);
        PERFORM pg_catalog.create_distributed_table('deling.citizen_block', 'pid', colocate_with => 'deling.patient_index');
        done := jsonb_set(done, '{by_person}', (done->'by_person') || '"deling.citizen_block"');
    END IF;

    -- citizen data by kommune, each table after those it refers to
    FOREACH t IN ARRAY by_kommune LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = t::regclass);
        -- a unique key must name the distribution column: KPR's message ids
        -- stay unique by their identity column alone
        IF t = 'deling.kpr_message' THEN
            ALTER TABLE deling.kpr_message DROP CONSTRAINT IF EXISTS kpr_message_message_id_key;
        END IF;
        IF t = 'deling.citizen' THEN
            PERFORM pg_catalog.create_distributed_table(t::regclass, 'kommune_nr', shard_count => shard_count, colocate_with => 'none');
        ELSE
            PERFORM pg_catalog.create_distributed_table(t::regclass, 'kommune_nr', colocate_with => 'deling.citizen');
        END IF;
        done := jsonb_set(done, '{by_kommune}', (done->'by_kommune') || to_jsonb(t));
    END LOOP;

    PERFORM deling.citus_prepare_nodes();
    PERFORM deling.register_missing_patients();
    RETURN done || jsonb_build_object('shard_count', (SELECT p.shardcount FROM pg_catalog.pg_dist_partition x
                                                      JOIN pg_catalog.pg_dist_colocation p ON p.colocationid = x.colocationid
                                                      WHERE x.logicalrelid = 'deling.citizen'::regclass),
                                      'local', to_jsonb(local_tables));
END
$$;
COMMENT ON FUNCTION deling.distribute(integer) IS
    'DBA (superuser, on the Citus coordinator): distribute the platform''s tables - citizen data by kommune_nr, who holds a person and their blocks by pid, the catalog as reference tables, the access log local; idempotent (run again after an upgrade or a new node)';

-- citus_policies: a table's policies as a distributed table's: deling_owner
-- (the table's owner, no longer forced under its policies) and deling_admin
-- read and write (deling's functions name the kommuner), the callers' roles
-- are refused with an error, also on an empty shard
CREATE FUNCTION deling.citus_policies(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p record;
    t text := (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = tbl);
BEGIN
    FOR p IN SELECT pol.polname FROM pg_catalog.pg_policy pol WHERE pol.polrelid = tbl LOOP
        EXECUTE format('DROP POLICY %I ON %s', p.polname, tbl);
    END LOOP;
    -- the owner, deling_owner, is no longer subject to the table's policies
    -- (its functions name the kommuner; Citus copies rows into shards as it)
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY %I ON %s TO deling_admin USING (true) WITH CHECK (true)', t || '_admin', tbl);
    EXECUTE format('CREATE POLICY %I ON %s TO deling_integrasjon USING (deling.citus_direct_access(%L)) '
                   'WITH CHECK (deling.citus_direct_access(%L))', t || '_integrasjon', tbl, tbl::text, tbl::text);
END
$$;
COMMENT ON FUNCTION deling.citus_policies(regclass) IS
    'Internal (deling.distribute): a distributed table''s policies, which need no caller context';

-- citus_prepare_nodes: on every node, Citus' functions that run SQL on
-- other nodes are for the superuser only (any login could otherwise run
-- SQL on the workers as itself), and deling_owner may create tables in
-- schema deling (logical shard moves and tenant isolation create the new
-- shards as the table's owner)
CREATE FUNCTION deling.citus_prepare_nodes() RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sql text := (SELECT string_agg(format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', p.oid::regprocedure), '; ')
                 FROM pg_catalog.pg_proc p
                 WHERE p.pronamespace = 'pg_catalog'::regnamespace
                   AND p.proname IN ('run_command_on_workers', 'run_command_on_all_nodes', 'run_command_on_shards',
                                     'run_command_on_placements', 'run_command_on_coordinator',
                                     'run_command_on_colocated_placements', 'master_run_on_worker'))
                || '; GRANT CREATE ON SCHEMA deling TO deling_owner';
BEGIN
    PERFORM pg_catalog.run_command_on_workers('SET citus.enable_ddl_propagation = off; ' || sql);
    EXECUTE 'SET LOCAL citus.enable_ddl_propagation = off; ' || sql;
END
$$;
COMMENT ON FUNCTION deling.citus_prepare_nodes() IS
    'Internal (deling.distribute): on every node, Citus'' run_command_on_* for the superuser only, and CREATE on schema deling for deling_owner';

GRANT EXECUTE ON FUNCTION deling.citus_direct_access(text) TO deling_integrasjon;
GRANT EXECUTE ON FUNCTION deling.citus_node() TO deling_admin;
