-- ---------------------------------------------------------------------------
-- 67 municipal services read: FHIR R4 EpisodeOfCare (HL7 Norway OKT) and
-- Organization resources across the kommuner the caller reaches, the active
-- count, and the legevakt summary (services + NEWS2 in one Bundle).
-- ---------------------------------------------------------------------------

-- fhir_unit_id: one stable Organization id per responsible unit of a
-- kommune, name-based (RFC 4122 version 3) on kommune, orgnr and name: a
-- unit's data are public, so an id one can recompute hides nothing.
CREATE FUNCTION deling.fhir_unit_id(kommune_nr text, unit_orgnr text, unit_name text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.fhir_name_uuid('deling-unit:' || kommune_nr || ':' || coalesce(unit_orgnr, '') || ':' || coalesce(unit_name, ''));
$$;

-- fhir_unit: the responsible unit as a no-basis Organization, part of its kommune.
CREATE FUNCTION deling.fhir_unit(kommune_nr text, unit_orgnr text, unit_name text, unit_phone text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- PL/pgSQL, so the plan is cached per session
    RETURN (SELECT jsonb_strip_nulls(jsonb_build_object(
        'resourceType', 'Organization',
        'id', deling.fhir_unit_id(fhir_unit.kommune_nr, unit_orgnr, unit_name),
        'meta', jsonb_build_object('profile', jsonb_build_array('http://hl7.no/fhir/StructureDefinition/no-basis-Organization')),
        'identifier', CASE WHEN unit_orgnr IS NOT NULL THEN jsonb_build_array(jsonb_build_object(
            'system', 'urn:oid:2.16.578.1.12.4.1.4.101', 'value', unit_orgnr)) END,
        'name', coalesce(unit_name, k.name || ' kommune'),
        'telecom', CASE WHEN unit_phone IS NOT NULL THEN jsonb_build_array(jsonb_build_object(
            'system', 'phone', 'value', unit_phone, 'use', 'work')) END,
        'partOf', CASE WHEN unit_orgnr IS DISTINCT FROM k.orgnr THEN jsonb_build_object(
            'identifier', jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.101', 'value', k.orgnr),
            'display', k.name || ' kommune') END))
    FROM deling.kommune k WHERE k.kommune_nr = fhir_unit.kommune_nr);
END
$$;

-- municipal_service_fhir: one service as a searchset entry whose resource
-- is an OKT EpisodeOfCare, built in C (src/fhir.c; make bench compares it
-- with the SQL builder it replaced); the caller passes the status on the
-- day, the code's display and the kommune's name.
CREATE FUNCTION deling.municipal_service_fhir(s deling.municipal_service, status text, type_display text, kommune_name text)
RETURNS jsonb AS 'MODULE_PATHNAME', 'deling_municipal_service_fhir' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.municipal_service_fhir(deling.municipal_service, text, text, text) IS
    'A municipal service as a searchset entry (mode match) with its HL7 Norway OKT EpisodeOfCare, given its EpisodeOfCare status, its code''s display and its kommune''s name';

-- municipal_services_of: the services a gate-approved read returns, after
-- the citizen's blocks (unless an emergency opens them), current ones only
-- unless history is asked for; and the OperationOutcome about blocks.
CREATE FUNCTION deling.municipal_services_of(pid text, kommuner text[], purpose text, include_history boolean,
                                             OUT services deling.municipal_service[], OUT outcome jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    emergency boolean := deling.is_emergency(purpose);
    blocked boolean;
BEGIN
    SELECT coalesce(array_agg(s ORDER BY s.period_start DESC, s.service_code, s.service_id), '{}') INTO services
    FROM deling.municipal_service s
    WHERE s.kommune_nr = ANY (kommuner) AND s.pid = municipal_services_of.pid AND s.status <> 'entered-in-error'
      AND (include_history OR deling.municipal_service_fhir_status(s, (now() AT TIME ZONE 'Europe/Oslo')::date) IN ('active', 'onhold'))
      AND (emergency OR NOT EXISTS (
            SELECT FROM deling.blocks_for('municipal-services', municipal_services_of.pid, kommuner) b
            WHERE b.kommune_nr = s.kommune_nr AND (b.service_codes IS NULL OR s.service_code = ANY (b.service_codes))));
    blocked := EXISTS (SELECT FROM deling.blocks_for('municipal-services', municipal_services_of.pid, kommuner));
    outcome := deling.sharing_outcome(blocked AND NOT emergency, blocked AND emergency);
END
$$;

-- municipal_services_entries: search entries for services: each
-- EpisodeOfCare (match), then their Organizations (include).
CREATE FUNCTION deling.municipal_services_entries(services deling.municipal_service[]) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- PL/pgSQL, so the plan is cached per session
    RETURN coalesce((SELECT jsonb_agg(deling.municipal_service_fhir(services[i],
                                          deling.municipal_service_fhir_status(services[i], (now() AT TIME ZONE 'Europe/Oslo')::date),
                                          t.name, k.name) ORDER BY i)
                     FROM generate_subscripts(services, 1) i
                     LEFT JOIN deling.service_type t ON t.code = (services[i]).service_code
                     LEFT JOIN deling.kommune k ON k.kommune_nr = (services[i]).kommune_nr), '[]')
        || coalesce((SELECT jsonb_agg(jsonb_build_object('mode', 'include', 'resource', u) ORDER BY u->>'id')
                     FROM (SELECT DISTINCT deling.fhir_unit(s.kommune_nr, s.unit_orgnr, s.unit_name, s.unit_phone) AS u
                           FROM unnest(services) s) units), '[]');
END
$$;

CREATE FUNCTION api.municipal_services(pid text, purpose text DEFAULT NULL, include_history boolean DEFAULT false,
                                       reason text DEFAULT NULL)
RETURNS api."application/fhir+json"
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kommuner text[] := deling.sharing_gate('municipal-services', pid, purpose, reason);
    r record := deling.municipal_services_of(pid, kommuner, purpose, coalesce(include_history, false));
    entries jsonb := deling.municipal_services_entries(r.services);
BEGIN
    IF cardinality(r.services) > 0 THEN
        entries := entries || jsonb_build_array(jsonb_build_object('mode', 'include', 'resource', deling.fhir_patient(pid, kommuner)));
    END IF;
    PERFORM deling.log_access('municipal-services', pid, kommuner, purpose, reason, true, NULL, jsonb_array_length(entries),
                              jsonb_build_object('opened_block', r.outcome->'issue'->0->>'code' = 'informational'));
    -- every match is returned: a self link, never a next one
    RETURN deling.fhir_bundle('searchset', entries, cardinality(r.services), r.outcome,
                              jsonb_build_array(deling.fhir_link('self', 'municipal_services', ARRAY['pid', pid, 'purpose', purpose,
                                  'include_history', include_history::text, 'reason', reason])))::json::api."application/fhir+json";
END
$$;
COMMENT ON FUNCTION api.municipal_services(text, text, boolean, text) IS
    'The municipal health and care services of a citizen as a FHIR R4 searchset Bundle (Oversikt over kommunale tjenester).
One EpisodeOfCare per service as HL7 Norway''s OKT guide maps it (type from code list 9151, status active or onhold during a temporary stop, period, managingOrganization, weekly extent as a Ratio h / 1 wk), the responsible units as Organizations, and the Patient; across every kommune the caller''s organisation reaches that shares the service. include_history adds ended, cancelled, planned and applied services. Blocked services are withheld (an OperationOutcome says so) unless emergency access (purpose ETREAT with a reason) opens them.';

CREATE FUNCTION api.municipal_services_count(pid text, purpose text DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kommuner text[] := deling.sharing_gate('municipal-services', pid, purpose);
    n integer := cardinality((deling.municipal_services_of(pid, kommuner, purpose, false)).services);
BEGIN
    PERFORM deling.log_access('municipal-services', pid, kommuner, purpose, NULL, true, NULL, 0,
                              jsonb_build_object('count', n));
    RETURN n;
END
$$;
COMMENT ON FUNCTION api.municipal_services_count(text, text) IS
    'The number of current (active or temporarily stopped) municipal services of a citizen that the caller may see (the OKT status call)';

CREATE FUNCTION api.legevakt_summary(pid text, purpose text DEFAULT NULL, reason text DEFAULT NULL) RETURNS api."application/fhir+json"
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ms_kommuner text[] := deling.sharing_gate('municipal-services', pid, purpose, reason, require_reach => false);
    n2_kommuner text[] := deling.sharing_gate('news2', pid, purpose, reason, require_reach => false);
    ms record;
    n2 record;
    recent deling.news2_measurement[];
    services jsonb;
    latest jsonb := '[]';
    trend jsonb := '[]';
    patient jsonb := '[]';
    n integer;
BEGIN
    IF ms_kommuner = '{}' AND n2_kommuner = '{}' THEN
        PERFORM deling.refuse_read('legevakt-summary', pid, '{}', purpose, reason, '42501',
                                   'your organisation reaches no kommune that shares municipal services or NEWS2');
    END IF;
    ms := deling.municipal_services_of(pid, ms_kommuner, purpose, false);
    n2 := deling.news2_readable(pid, n2_kommuner, purpose);
    services := deling.municipal_services_entries(ms.services);
    -- the latest five NEWS2 in one query, newest first: the latest with its
    -- vital signs, the four before it with their totals only (the trend)
    recent := ARRAY(SELECT m FROM deling.news2_rows(pid, n2.readable, NULL, 5) m ORDER BY m.measured_at DESC, m.measurement_id);
    IF cardinality(recent) > 0 THEN
        latest := deling.news2_fhir(recent[1]);
        trend := coalesce((SELECT jsonb_agg(deling.news2_fhir(recent[i], vital_signs => false)->0 ORDER BY i)
                           FROM generate_subscripts(recent, 1) i WHERE i > 1), '[]');
    END IF;
    n := jsonb_array_length(services) + jsonb_array_length(latest) + jsonb_array_length(trend);
    IF n > 0 THEN
        patient := jsonb_build_array(jsonb_build_object('mode', 'include',
                       'resource', deling.fhir_patient(pid, ms_kommuner || n2_kommuner)));
        n := n + 1;
    END IF;
    PERFORM deling.log_access('legevakt-summary', pid, ARRAY(SELECT DISTINCT k FROM unnest(ms_kommuner || n2_kommuner) k ORDER BY 1),
                              purpose, reason, true, NULL, n,
                              jsonb_build_object('opened_block', coalesce(ms.outcome, n2.outcome)->'issue'->0->>'code' = 'informational'));
    -- the parts in order (Patient, services, NEWS2, trend) without concatenating them first
    RETURN deling.fhir_bundle_parts('collection', ARRAY[patient, services, latest, trend], NULL, coalesce(ms.outcome, n2.outcome))::json::api."application/fhir+json";
END
$$;
COMMENT ON FUNCTION api.legevakt_summary(text, text, text) IS
    'The legevakt''s lookup in one call: a FHIR R4 collection Bundle with the Patient, the current municipal services (EpisodeOfCare + Organizations), the latest NEWS2 with its vital signs and the four NEWS2 scores before it (the trend).
Same access rules as municipal_services and news2_observations.';
