-- deling.log_access in C writes exactly the entry 0.1.0's PL/pgSQL function
-- wrote: that function's body is kept here (returning the entry instead of
-- writing it) and both are compared, without the time, in every kind of
-- context: no context, a person (TREAT, ETREAT with a reason, ETREAT with
-- the reason in the token's decision_ref), an integration bound to its
-- kommune, the citizen; caller values over every bound (multibyte too),
-- decision_refs too long or not an object, flags that add, replace or are
-- null, NULL and empty kommuner, resources and decisions; and the same
-- refusals for entries the log cannot take.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE FUNCTION deling_test.old_log_entry(service text, pid text, kommuner text[], purpose text, reason text,
                                          granted boolean, why text, resources integer, flags jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kind text := deling.ctx_kind();
    effective text := coalesce(nullif(current_setting('deling.ctx_purpose'), ''), purpose);
    ref jsonb := CASE WHEN kind <> '' THEN nullif(current_setting('deling.ctx_decision_ref'), '')::jsonb END;
BEGIN
    IF length(ref::text) > 1000 OR jsonb_typeof(ref) <> 'object' THEN
        ref := jsonb_build_object('id', deling.clip(ref->>'id', 200), 'description', deling.clip(ref->>'description', 500),
                                  'truncated', length(ref::text));
    END IF;
    RETURN jsonb_strip_nulls(jsonb_build_object(
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
        'session_user', session_user::text) || flags);
END
$$;
-- new_log_entry: the entry deling.log_access writes (as the sharing
-- functions' owner calls it), read back as the worker appended it
CREATE FUNCTION deling_test.write_log_entry(service text, pid text, kommuner text[], purpose text, reason text,
                                            granted boolean, why text, resources integer, flags jsonb DEFAULT '{}')
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.log_access(service, pid, kommuner, purpose, reason, granted, why, resources, flags);
$$;
ALTER FUNCTION deling_test.write_log_entry(text, text, text[], text, text, boolean, text, integer, jsonb) OWNER TO deling_owner;
GRANT USAGE ON SCHEMA deling_test TO deling_owner;
CREATE FUNCTION deling_test.new_log_entry(service text, pid text, kommuner text[], purpose text, reason text,
                                          granted boolean, why text, resources integer, flags jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM deling_test.write_log_entry(service, pid, kommuner, purpose, reason, granted, why, resources, flags);
    PERFORM deling.access_log_drain();
    RETURN (SELECT l.entry FROM deling.access_log l ORDER BY l.seq DESC LIMIT 1);
END
$$;
-- same(args): whether both write the same entry (but its time), else both entries or both errors
CREATE FUNCTION deling_test.same_entry(args text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    old jsonb;
    new jsonb;
    old_error text;
    new_error text;
BEGIN
    BEGIN
        EXECUTE 'SELECT deling_test.old_log_entry(' || args || ')' INTO old;
        -- the old function handed its entry to deling.access_log_emit, which checked it
        PERFORM deling.access_log_problem(convert_to(old::text, 'UTF8'));
        IF deling.access_log_problem(convert_to(old::text, 'UTF8')) IS NOT NULL THEN
            old_error := '22023: access-log entry refused: ' || deling.access_log_problem(convert_to(old::text, 'UTF8'));
        END IF;
    EXCEPTION WHEN OTHERS THEN
        old_error := SQLSTATE || ': ' || SQLERRM;
    END;
    BEGIN
        EXECUTE 'SELECT deling_test.new_log_entry(' || args || ')' INTO new;
    EXCEPTION WHEN OTHERS THEN
        new_error := SQLSTATE || ': ' || SQLERRM;
    END;
    IF old_error IS NOT NULL OR new_error IS NOT NULL THEN
        RETURN CASE WHEN old_error IS NOT DISTINCT FROM new_error THEN 'same refusal: ' || new_error
                    ELSE format('DIFFERENT: old %s, new %s', coalesce(old_error, old::text), coalesce(new_error, new::text)) END;
    END IF;
    IF new->>'time' !~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' OR (new->>'time')::timestamptz NOT BETWEEN now() - interval '1 minute' AND clock_timestamp() THEN
        RETURN 'DIFFERENT time: ' || (new->>'time');
    END IF;
    RETURN CASE WHEN old - 'time' = new - 'time' AND (old - 'time')::text = (new - 'time')::text THEN 'same'
                ELSE format('DIFFERENT: old %s, new %s', old - 'time', new - 'time') END;
END
$$;
GRANT EXECUTE ON FUNCTION deling_test.same_entry(text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION deling_test.old_log_entry(text, text, text[], text, text, boolean, text, integer, jsonb),
                          deling_test.new_log_entry(text, text, text[], text, text, boolean, text, integer, jsonb) TO PUBLIC;

CREATE TEMP TABLE cases (n int, args text);
GRANT SELECT ON cases TO PUBLIC;
INSERT INTO cases VALUES
    (1, $$'news2', '13916300004', ARRAY['1804', '1833'], 'TREAT', NULL, true, NULL, 5$$),
    (2, $$'news2', repeat('1', 3200), ARRAY['1804'], 'TREAT', NULL, false, repeat('æøå ', 400), 0$$),
    (3, $$repeat('tjeneste-', 20), NULL, ARRAY[]::text[], NULL, NULL, NULL, NULL, NULL$$),
    (4, $$'news2', '13916300004', NULL, 'COC', 'a reason that is not logged', true, 'why', 1, '{"opened_block": null}'$$),
    (5, $$'news2', '13916300004', ARRAY['1804'], 'ETREAT', '  ', true, NULL, 2, '{"opened_block": true, "count": 3}'$$),
    (6, $$'news2', '13916300004', ARRAY['1804'], 'ETREAT', repeat('Bevisstløs ', 150), true, NULL, 2, '{"service": "replaced"}'$$),
    (7, $$'news2', '13916300004', ARRAY['1804', NULL], 'TREAT', NULL, true, NULL, 1$$),
    (8, $$'news2', '13916300004', ARRAY[['1804'], ['1833']], 'TREAT', NULL, true, NULL, 1$$),
    (9, $$'', '', ARRAY['180'], '', '', true, '', 1$$),
    (10, $$'legevakt-summary', '13916300004', ARRAY['1804', '1833', '1838'], NULL, 'Bevisstløs', true, NULL, 12, '{"opened_block": false}'$$);

-- no context (the superuser); then a person, an emergency, an integration, the citizen
SELECT n, deling_test.same_entry(args) FROM cases ORDER BY n;
SELECT deling.synthetic_fnr('1938-03-14', 0) AS pid \gset
SELECT deling_test.claims('lege_ab') AS p \gset
\set lege_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT jsonb_set((:'p')::jsonb, '{authorization_details,0,care_relationship,purpose_of_use,code}', '"ETREAT"')::text AS e \gset
\set etreat_tok `tests/tools/mint-jwt RS256 k1 :'e'`
SELECT jsonb_set(jsonb_set((:'e')::jsonb, '{authorization_details,0,care_relationship,decision_ref,description}',
                           '"  Bevisstløs, ingen pårørende  "'), '{name}', to_jsonb(repeat('Åse ', 45)))::text AS p \gset
\set etreat_ref_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT jsonb_set((:'e')::jsonb, '{authorization_details,0,care_relationship,decision_ref}',
                 jsonb_build_object('id', repeat('x', 300), 'description', repeat('ø', 1500), 'extra', NULL))::text AS p \gset
\set long_ref_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT jsonb_set((:'e')::jsonb, '{authorization_details,0,care_relationship,decision_ref}', '["not", "an", "object"]')::text AS p \gset
\set array_ref_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT jsonb_set((:'e')::jsonb, '{authorization_details,0,care_relationship,decision_ref}',
                 '{"id": "d-1", "description": null, "nested": {"a": null, "b": [null, 1]}}')::text AS p \gset
\set null_ref_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.claims('innbygger', jsonb_build_object('helseid://claims/identity/pid', :'pid')) AS p \gset
\set citizen_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SET SESSION AUTHORIZATION regress_lege;
SELECT deling.authenticate(:'lege_tok', for_session => true) ->> 'kind' AS kind;
SELECT n, deling_test.same_entry(args) FROM cases ORDER BY n;
SELECT deling.logout();
SELECT deling.authenticate(:'etreat_tok', for_session => true) ->> 'purpose' AS purpose;
SELECT n, deling_test.same_entry(args) FROM cases WHERE n IN (1, 5, 6, 10) ORDER BY n;
SELECT deling.logout();
SELECT deling.authenticate(:'etreat_ref_tok', for_session => true) ->> 'purpose' AS purpose;
SELECT n, deling_test.same_entry(args) FROM cases WHERE n IN (1, 5, 6) ORDER BY n;
-- what they agree on: the reason from the decision_ref, trimmed; the emergency flag; the name in full
SELECT e->>'reason' AS reason, e->>'emergency' AS emergency, length(e->>'name') AS name_length, e->'decision_ref' AS decision_ref
FROM deling_test.old_log_entry('news2', '13916300004', ARRAY['1804'], NULL, '  ', true, NULL, 2) e;
SELECT deling.logout();
SELECT deling.authenticate(:'long_ref_tok', for_session => true) ->> 'purpose' AS purpose;
SELECT n, deling_test.same_entry(args) FROM cases WHERE n IN (1, 5) ORDER BY n;
SELECT length(e->'decision_ref'->>'id') AS id_length, length(e->'decision_ref'->>'description') AS description_length,
       e->'decision_ref'->'truncated' AS truncated, e->>'reason' AS reason
FROM deling_test.old_log_entry('news2', '13916300004', ARRAY['1804'], NULL, NULL, true, NULL, 2) e;
SELECT deling.logout();
SELECT deling.authenticate(:'array_ref_tok', for_session => true) ->> 'purpose' AS purpose;
SELECT n, deling_test.same_entry(args) FROM cases WHERE n IN (1, 5) ORDER BY n;
SELECT deling.logout();
SELECT deling.authenticate(:'null_ref_tok', for_session => true) ->> 'purpose' AS purpose;
SELECT n, deling_test.same_entry(args) FROM cases WHERE n IN (1, 5) ORDER BY n;
SELECT e->'decision_ref' AS decision_ref FROM deling_test.old_log_entry('news2', '13916300004', ARRAY['1804'], NULL, NULL, true, NULL, 2) e;
SELECT deling.logout();
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_epj_baerum;
SELECT n, deling_test.same_entry(args) FROM cases WHERE n IN (1, 4, 9) ORDER BY n;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_innbygger;
SELECT deling.authenticate(:'citizen_tok', for_session => true) ->> 'kind' AS kind;
SELECT n, deling_test.same_entry(args) FROM cases WHERE n IN (1, 3) ORDER BY n;
SELECT deling.logout();
RESET SESSION AUTHORIZATION;
-- the entries in the log verify, and the chain with them
SELECT deling.verify_access_log(NULL)->>'valid' AS valid;
