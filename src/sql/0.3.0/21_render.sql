-- ---------------------------------------------------------------------------
-- 21 render: every FHIR document is written by the one JSON layer (issue
-- 19; docs/fhir-output.md).  The reads the generator makes, the legevakt
-- summary and the pilots' renderers use the json renderers of
-- 05_fhir_json.sql; here the citizen's access log and its export follow,
-- what SQL still spelled of the FHIR constants reads them by name
-- (deling.fhir_constant: defined once, in C), and the 0.1.0 jsonb builders
-- that nothing calls any more are dropped.
-- ---------------------------------------------------------------------------

-- fhir_pid_identifier: the FHIR identifier of an identity number (no-basis
-- systems; an H-nummer, which has no national system, in the platform's
-- NamingSystem with no-basis's type HNR of code system 8327), as the
-- renderers write it, with the constants read by name; NULL for NULL.
CREATE OR REPLACE FUNCTION deling.fhir_pid_identifier(pid text) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN pid IS NOT NULL THEN
        jsonb_build_object('system', deling.fhir_constant(CASE WHEN k IN ('fnr', 'dnr', 'fhnr') THEN 'system.' || k ELSE 'system.hnr' END),
                           'value', pid)
        || CASE WHEN k = 'hnr' THEN jsonb_build_object('type', jsonb_build_object('coding', jsonb_build_array(
               jsonb_build_object('system', deling.fhir_constant('codesystem.8327'), 'code', 'HNR')))) ELSE '{}' END END
    FROM (SELECT deling.fnr_kind(pid) AS k) x;
$$;
COMMENT ON FUNCTION deling.fhir_pid_identifier(text) IS
    'The FHIR identifier of an identity number: no-basis''s systems, an H-nummer in the platform''s NamingSystem with type HNR';

-- fhir_name_uuid: the RFC 4122 name-based UUID (version 3, MD5) of a name in
-- the platform's namespace (fhir_constant('namespace.name_uuid')): the one
-- computation the renderers use for ids of resources derived from stored
-- rows (a kommune's unit, a measurement's vital signs).  Not for persons
-- (deling.patient_index).
CREATE OR REPLACE FUNCTION deling.fhir_name_uuid(name text) RETURNS uuid
    AS 'MODULE_PATHNAME', 'deling_fhir_name_uuid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fhir_name_uuid(text) IS
    'The name-based (RFC 4122 version 3) id of a resource derived from a stored row, in the platform''s namespace';

-- access_log_auditevent: an entry as a FHIR R4 AuditEvent (no free-text
-- reason), its code systems and identifier systems read by name.
CREATE OR REPLACE FUNCTION deling.access_log_auditevent(l deling.access_log) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'resourceType', 'AuditEvent',
        'id', md5('deling-audit:' || l.seq)::uuid,
        'type', jsonb_build_object('system', deling.fhir_constant('codesystem.audit_event_type'), 'code', 'rest',
                                   'display', 'RESTful Operation'),
        'subtype', jsonb_build_array(jsonb_build_object('system', deling.fhir_constant('codesystem.restful_interaction'),
                                                        'code', 'search-type', 'display', 'search-type')),
        'action', 'E',
        'recorded', to_char(l.logged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        'outcome', CASE l.entry->>'decision' WHEN 'granted' THEN '0' ELSE '4' END,
        'outcomeDesc', CASE WHEN l.entry->>'decision' = 'denied' THEN l.entry->>'why' END,
        'purposeOfEvent', CASE WHEN l.entry ? 'purpose' THEN jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(
            jsonb_build_object('system', deling.fhir_constant('codesystem.purpose_of_use'), 'code', l.entry->>'purpose')))) END,
        'agent', jsonb_build_array(
            jsonb_strip_nulls(jsonb_build_object('requestor', true,
                'type', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
                    'system', deling.fhir_constant('codesystem.security_role_type'),
                    'code', CASE WHEN l.entry ? 'hpr' THEN 'humanuser' ELSE 'dataprocessor' END))),
                'who', jsonb_strip_nulls(jsonb_build_object(
                    'identifier', CASE WHEN l.entry ? 'hpr' THEN jsonb_build_object('system', deling.fhir_constant('system.hpr'),
                                                                                     'value', l.entry->>'hpr') END,
                    'display', coalesce(l.entry->>'name', l.entry->>'client_id', l.entry->>'role'))))),
            jsonb_build_object('requestor', false,
                'who', jsonb_strip_nulls(jsonb_build_object(
                    'identifier', CASE WHEN coalesce(l.entry->>'orgnr_child', l.entry->>'orgnr_parent') IS NOT NULL THEN
                        jsonb_build_object('system', deling.fhir_constant('system.orgnr'),
                                           'value', coalesce(l.entry->>'orgnr_child', l.entry->>'orgnr_parent')) END,
                    'display', (SELECT o.name FROM deling.organisation o
                                WHERE o.orgnr = coalesce(l.entry->>'orgnr_child', l.entry->>'orgnr_parent')))))),
        'source', jsonb_build_object('site', coalesce(nullif(array_to_string(l.kommuner, ' '), ''), 'deling'),
                                     'observer', jsonb_build_object('display', 'deling')),
        'entity', CASE WHEN l.citizen_pid IS NOT NULL AND deling.fnr_valid(l.citizen_pid) THEN jsonb_build_array(jsonb_build_object(
            'what', jsonb_build_object('identifier', deling.fhir_pid_identifier(l.citizen_pid)),
            'type', jsonb_build_object('system', deling.fhir_constant('codesystem.audit_entity_type'), 'code', '1',
                                       'display', 'Person'),
            'description', l.entry->>'service')) END));
$$;

-- my_access_log: the citizen's view of their access log, a searchset
-- Bundle of AuditEvents written by the one Bundle writer
CREATE OR REPLACE FUNCTION api.my_access_log(since timestamptz DEFAULT NULL) RETURNS api."application/fhir+json"
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me text := deling.ctx_citizen_pid();
    entries json;
    n integer;
BEGIN
    IF me IS NULL THEN
        PERFORM deling.log_access('access-log', NULL, NULL, NULL, NULL, false, 'not the citizen''s channel', 0);
        RAISE EXCEPTION 'the access log is shown to the citizen it concerns, through the citizen''s channel'
            USING ERRCODE = '42501';
    END IF;
    PERFORM deling.access_log_check();
    SELECT json_agg(json_build_object('mode', 'match', 'resource', deling.access_log_auditevent(l))
                    ORDER BY l.logged_at DESC, l.seq DESC), count(*)
    INTO entries, n
    FROM deling.access_log l
    WHERE l.citizen_pid = me AND l.kind = 'access' AND (since IS NULL OR l.logged_at >= since)
      AND coalesce(l.entry->>'actor_pid', '') <> me;
    PERFORM deling.log_access('access-log', me, NULL, NULL, NULL, true, NULL, n);
    RETURN deling.fhir_searchset_json(entries, NULL, n)::api."application/fhir+json";
END
$$;

-- access_log_export: a kommune's access log for a period as a collection
-- Bundle of AuditEvents (jsonb, as since 0.1.0), written by the one Bundle
-- writer
CREATE OR REPLACE FUNCTION deling.access_log_export(kommune_nr text, from_time timestamptz, to_time timestamptz) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.fhir_bundle_json('collection',
        ARRAY[(SELECT json_agg(json_build_object('resource', deling.access_log_auditevent(l)) ORDER BY l.seq)
               FROM deling.access_log l
               WHERE l.kind = 'access' AND l.kommuner @> ARRAY[access_log_export.kommune_nr]
                 AND l.logged_at >= from_time AND l.logged_at < to_time)], NULL)::jsonb;
$$;
-- the export runs as its caller, the DBA (deling_admin), who was granted
-- every function of 0.1.0 but not those of 0.3.0 it now calls
GRANT EXECUTE ON FUNCTION deling.fhir_bundle_json(text, json[], integer, jsonb, jsonb), deling.fhir_constant(text)
    TO deling_admin;

-- the 0.1.0 jsonb builders, which the json renderers replaced: nothing
-- calls them any more (their C symbols stay, the json renderers as jsonb,
-- for a database not yet updated: fhir_json_to_jsonb in src/fhir_common.c)
DROP FUNCTION deling.news2_fhir(deling.news2_measurement, boolean);
DROP FUNCTION deling.municipal_services_entries(deling.municipal_service[]);
DROP FUNCTION deling.municipal_service_fhir(deling.municipal_service, text, text, text);
DROP FUNCTION deling.fhir_unit(text, text, text, text);
DROP FUNCTION deling.fhir_unit_id(text, text, text);
DROP FUNCTION deling.fhir_patient(text, text[]);
DROP FUNCTION deling.fhir_bundle(text, jsonb, integer, jsonb, jsonb);
DROP FUNCTION deling.fhir_bundle_parts(text, jsonb[], integer, jsonb);
