-- ---------------------------------------------------------------------------
-- 62 news2 read: FHIR R4 Observations (the NEWS2 total with its seven
-- sub-scores, and the vital signs it was derived from) and the trend, read
-- through deling.sharing_gate().
-- ---------------------------------------------------------------------------

-- fhir_concept: a one-coding CodeableConcept (inlined: no pinned search_path).
CREATE FUNCTION deling.fhir_concept(system text, code text, display text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', system, 'code', code, 'display', display)));
$$;

-- news2_fhir: the FHIR resources of one measurement as search entries: the
-- NEWS2 total (mode match) first, then its vital signs (mode include).
CREATE FUNCTION deling.news2_fhir(m deling.news2_measurement) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
BEGIN
    -- PL/pgSQL, so the plan of this large query is cached per session
    RETURN (WITH base AS (
        SELECT jsonb_strip_nulls(jsonb_build_object(
                   'status', m.status,
                   'subject', jsonb_build_object('reference', 'urn:uuid:' || deling.fhir_patient_id(m.pid),
                                                 'identifier', deling.fhir_pid_identifier(m.pid)),
                   'effectiveDateTime', deling.fhir_datetime(m.measured_at),
                   'issued', deling.fhir_datetime(m.received_at),
                   'performer', (SELECT jsonb_agg(p) FROM (VALUES
                       (CASE WHEN m.recorded_by IS NOT NULL THEN jsonb_build_object('type', 'Practitioner', 'identifier',
                           jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.4', 'value', m.recorded_by)) END),
                       (CASE WHEN m.unit_orgnr IS NOT NULL OR m.unit_name IS NOT NULL THEN jsonb_strip_nulls(jsonb_build_object(
                           'type', 'Organization', 'identifier', CASE WHEN m.unit_orgnr IS NOT NULL THEN
                               jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.4.101', 'value', m.unit_orgnr) END,
                           'display', m.unit_name)) END)) v(p) WHERE p IS NOT NULL))) AS common,
               jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
                   'system', 'http://terminology.hl7.org/CodeSystem/observation-category',
                   'code', 'vital-signs', 'display', 'Vital Signs')))) AS vital,
               deling.news2_subscores(m.resp_rate, m.spo2, m.spo2_scale, m.on_oxygen, m.systolic_bp, m.pulse,
                                      m.consciousness, m.temperature) AS s),
    vs AS (
        SELECT name, md5(m.measurement_id::text || ':' || name)::uuid AS id, resource
        FROM base, LATERAL (VALUES
            ('resp', jsonb_build_object(
                'meta', jsonb_build_object('profile', jsonb_build_array('http://hl7.org/fhir/StructureDefinition/resprate')),
                'code', deling.fhir_concept('http://loinc.org', '9279-1', 'Respiratory rate'),
                'valueQuantity', jsonb_build_object('value', m.resp_rate, 'unit', 'breaths/minute',
                                                    'system', 'http://unitsofmeasure.org', 'code', '/min'))),
            ('spo2', jsonb_build_object(
                'meta', jsonb_build_object('profile', jsonb_build_array('http://hl7.org/fhir/StructureDefinition/oxygensat')),
                'code', jsonb_build_object('coding', jsonb_build_array(
                    jsonb_build_object('system', 'http://loinc.org', 'code', '2708-6', 'display', 'Oxygen saturation in Arterial blood'),
                    jsonb_build_object('system', 'http://loinc.org', 'code', '59408-5',
                                       'display', 'Oxygen saturation in Arterial blood by Pulse oximetry'))),
                'valueQuantity', jsonb_build_object('value', m.spo2, 'unit', '%',
                                                    'system', 'http://unitsofmeasure.org', 'code', '%'))),
            ('oxygen', CASE WHEN m.oxygen_flow IS NOT NULL THEN jsonb_build_object(
                'code', deling.fhir_concept('http://loinc.org', '3151-8', 'Inhaled oxygen flow rate'),
                'valueQuantity', jsonb_build_object('value', m.oxygen_flow, 'unit', 'L/min',
                                                    'system', 'http://unitsofmeasure.org', 'code', 'L/min'))
             ELSE jsonb_build_object(
                'code', jsonb_build_object('text', 'Air or oxygen'),
                'valueCodeableConcept', CASE WHEN m.on_oxygen
                    THEN deling.fhir_concept('http://snomed.info/sct', '371825009', 'Patient on oxygen')
                    ELSE deling.fhir_concept('http://snomed.info/sct', '722742002', 'Breathing room air') END) END),
            ('bp', jsonb_build_object(
                'meta', jsonb_build_object('profile', jsonb_build_array('http://hl7.org/fhir/StructureDefinition/bp')),
                'code', deling.fhir_concept('http://loinc.org', '85354-9', 'Blood pressure panel with all children optional'),
                'component', jsonb_build_array(jsonb_build_object(
                    'code', deling.fhir_concept('http://loinc.org', '8480-6', 'Systolic blood pressure'),
                    'valueQuantity', jsonb_build_object('value', m.systolic_bp, 'unit', 'mmHg',
                                                        'system', 'http://unitsofmeasure.org', 'code', 'mm[Hg]'))))),
            ('pulse', jsonb_build_object(
                'meta', jsonb_build_object('profile', jsonb_build_array('http://hl7.org/fhir/StructureDefinition/heartrate')),
                'code', deling.fhir_concept('http://loinc.org', '8867-4', 'Heart rate'),
                'valueQuantity', jsonb_build_object('value', m.pulse, 'unit', 'beats/minute',
                                                    'system', 'http://unitsofmeasure.org', 'code', '/min'))),
            ('consciousness', jsonb_build_object(
                'code', deling.fhir_concept('http://snomed.info/sct', '1104441000000107', 'ACVPU (alert, new confusion, voice, pain, unresponsive) scale score'),
                'valueCodeableConcept', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
                    'system', 'https://deling.nhn.no/fhir/CodeSystem/acvpu', 'code', m.consciousness,
                    'display', CASE m.consciousness WHEN 'A' THEN 'Alert' WHEN 'C' THEN 'New confusion' WHEN 'V' THEN 'Voice'
                                                    WHEN 'P' THEN 'Pain' ELSE 'Unresponsive' END))))),
            ('temperature', jsonb_build_object(
                'meta', jsonb_build_object('profile', jsonb_build_array('http://hl7.org/fhir/StructureDefinition/bodytemp')),
                'code', deling.fhir_concept('http://loinc.org', '8310-5', 'Body temperature'),
                'valueQuantity', jsonb_build_object('value', m.temperature, 'unit', 'C',
                                                    'system', 'http://unitsofmeasure.org', 'code', 'Cel')))
        ) AS v(name, resource))
    SELECT jsonb_build_array(jsonb_build_object('mode', 'match', 'resource',
               jsonb_build_object(
                   'resourceType', 'Observation',
                   'id', m.measurement_id,
                   'identifier', jsonb_build_array(jsonb_build_object('system', 'urn:deling:source:' || m.source_system,
                                                                      'value', m.source_id)),
                   'category', jsonb_build_array(deling.fhir_concept(
                       'http://terminology.hl7.org/CodeSystem/observation-category', 'survey', 'Survey')),
                   'code', deling.fhir_concept('http://snomed.info/sct', '1104051000000101',
                       'Royal College of Physicians NEWS2 (National Early Warning Score 2) total score'),
                   'valueQuantity', jsonb_build_object('value', (s).total, 'unit', 'score',
                                                       'system', 'http://unitsofmeasure.org', 'code', '{ScoreOf}'),
                   'interpretation', jsonb_build_array(jsonb_build_object(
                       'coding', jsonb_build_array(jsonb_build_object('system', 'https://deling.nhn.no/fhir/CodeSystem/news2-risk',
                           'code', (s).risk,
                           'display', CASE (s).risk WHEN 'low' THEN 'Low clinical risk' WHEN 'low-medium' THEN 'Low-medium clinical risk (single parameter 3)'
                                                    WHEN 'medium' THEN 'Medium clinical risk' ELSE 'High clinical risk' END)),
                       'text', (SELECT r.monitoring || '; ' || r.response FROM deling.news2_response((s).total, (s).risk) r))),
                   'component', jsonb_build_array(
                       jsonb_build_object('code', deling.fhir_concept('http://snomed.info/sct', '1104301000000104', 'Respiration rate score'), 'valueInteger', (s).respiration_rate),
                       jsonb_build_object('code', CASE m.spo2_scale WHEN 1
                           THEN deling.fhir_concept('http://snomed.info/sct', '1104311000000102', 'Oxygen saturation scale 1 score')
                           ELSE deling.fhir_concept('http://snomed.info/sct', '1104321000000108', 'Oxygen saturation scale 2 score') END, 'valueInteger', (s).spo2),
                       jsonb_build_object('code', deling.fhir_concept('http://snomed.info/sct', '1104331000000105', 'Air or oxygen score'), 'valueInteger', (s).air_or_oxygen),
                       jsonb_build_object('code', deling.fhir_concept('http://snomed.info/sct', '1104341000000101', 'Systolic blood pressure score'), 'valueInteger', (s).systolic_bp),
                       jsonb_build_object('code', deling.fhir_concept('http://snomed.info/sct', '1104351000000103', 'Pulse score'), 'valueInteger', (s).pulse),
                       jsonb_build_object('code', deling.fhir_concept('http://snomed.info/sct', '1104361000000100', 'Consciousness score'), 'valueInteger', (s).consciousness),
                       jsonb_build_object('code', deling.fhir_concept('http://snomed.info/sct', '1104371000000107', 'Temperature score'), 'valueInteger', (s).temperature)),
                   'derivedFrom', (SELECT jsonb_agg(jsonb_build_object('reference', 'urn:uuid:' || vs.id) ORDER BY vs.name) FROM vs))
               || common))
        || (SELECT jsonb_agg(jsonb_build_object('mode', 'include', 'resource',
                jsonb_build_object('resourceType', 'Observation', 'id', vs.id, 'category', vital) || vs.resource || common)
                ORDER BY vs.name) FROM vs)
    FROM base);
END
$$;
COMMENT ON FUNCTION deling.news2_fhir(deling.news2_measurement) IS
    'FHIR R4 Observations of one NEWS2 measurement: the total (match) and its vital signs (include)';

-- news2_rows: the measurements a gate-approved read may return, newest first.
CREATE FUNCTION deling.news2_rows(pid text, kommuner text[], since timestamptz, max integer)
RETURNS SETOF deling.news2_measurement
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT * FROM deling.news2_measurement m
    WHERE m.kommune_nr = ANY (kommuner) AND m.pid = news2_rows.pid AND m.status <> 'entered-in-error'
      AND (since IS NULL OR m.measured_at >= since)
    ORDER BY m.measured_at DESC, m.measurement_id
    LIMIT max;
$$;

-- news2_readable: the kommuner whose NEWS2 a gate-approved read returns
-- once the citizen's blocks are applied (or opened by an emergency), and
-- the OperationOutcome that says so.
CREATE FUNCTION deling.news2_readable(pid text, kommuner text[], purpose text, OUT readable text[], OUT outcome jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
    blocked text[] := ARRAY(SELECT DISTINCT b.kommune_nr FROM deling.blocks_for('news2', pid, kommuner) b
                            WHERE b.service_codes IS NULL);
    emergency boolean := deling.is_emergency(purpose);
BEGIN
    readable := CASE WHEN emergency THEN kommuner
                     ELSE ARRAY(SELECT k FROM unnest(kommuner) k WHERE k <> ALL (blocked)) END;
    outcome := deling.sharing_outcome(blocked <> '{}' AND NOT emergency, blocked <> '{}' AND emergency);
END
$$;

CREATE FUNCTION api.news2_observations(pid text, purpose text DEFAULT NULL, since timestamptz DEFAULT NULL,
                                       max integer DEFAULT 50, reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    gate text[] := deling.sharing_gate('news2', pid, purpose, reason);
    r record := deling.news2_readable(pid, gate, purpose);
    kommuner text[] := r.readable;
    entries jsonb;
    matches integer;
BEGIN
    IF max IS NULL OR max < 1 OR max > 1000 THEN
        RAISE EXCEPTION 'max must be between 1 and 1000, not %', max USING ERRCODE = '22023';
    END IF;
    SELECT coalesce(jsonb_agg(e ORDER BY m.measured_at DESC, m.measurement_id, o), '[]')
    INTO entries
    FROM deling.news2_rows(pid, kommuner, since, max) m, jsonb_array_elements(deling.news2_fhir(m)) WITH ORDINALITY AS x(e, o);
    -- Bundle.total counts every match, also those beyond max
    SELECT count(*) INTO matches FROM deling.news2_rows(pid, kommuner, since, NULL);
    IF matches > 0 THEN
        entries := entries || jsonb_build_array(jsonb_build_object('mode', 'include', 'resource', deling.fhir_patient(pid, kommuner)));
    END IF;
    PERFORM deling.log_access('news2', pid, gate, purpose, reason, true, NULL, jsonb_array_length(entries),
                              jsonb_build_object('opened_block', r.outcome->'issue'->0->>'code' = 'informational'));
    RETURN deling.fhir_bundle('searchset', entries, matches, r.outcome);
END
$$;
COMMENT ON FUNCTION api.news2_observations(text, text, timestamptz, integer, text) IS
    'NEWS2 measurements of a citizen as a FHIR R4 searchset Bundle, newest first.
For health personnel with a duty need (purpose TREAT, ETREAT or COC, attested in the token or given here), across the kommuner their organisation reaches that share NEWS2; integrations read their own kommune. Each NEWS2 total Observation (SNOMED CT 1104051000000101) carries the seven sub-scores as components, the risk as interpretation and derivedFrom its vital-sign Observations. A citizen''s block withholds measurements (an OperationOutcome says so); emergency access (purpose ETREAT with a reason) opens it and is flagged.';

CREATE FUNCTION deling.news2_trend_of(pid text, kommuner text[], n integer) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    WITH t AS (
        SELECT m.measured_at, m.score, m.risk, m.kommune_nr, m.measurement_id,
               row_number() OVER (ORDER BY m.measured_at DESC, m.measurement_id) AS rn
        FROM deling.news2_rows(pid, kommuner, NULL, n) m)
    SELECT CASE WHEN count(*) = 0 THEN jsonb_build_object('measurements', 0) ELSE jsonb_build_object(
        'measurements', count(*),
        'latest', (SELECT jsonb_build_object('measured_at', deling.fhir_datetime(t.measured_at), 'score', t.score,
                       'risk', t.risk, 'kommune_nr', t.kommune_nr, 'observation', 'urn:uuid:' || t.measurement_id,
                       'monitoring', r.monitoring, 'response', r.response)
                   FROM t, deling.news2_response(t.score, t.risk) r WHERE t.rn = 1),
        'direction', (SELECT CASE WHEN count(*) < 2 THEN 'single'
                                  WHEN max(score) FILTER (WHERE rn = 1) > max(score) FILTER (WHERE rn = 2) THEN 'rising'
                                  WHEN max(score) FILTER (WHERE rn = 1) < max(score) FILTER (WHERE rn = 2) THEN 'falling'
                                  ELSE 'stable' END FROM t),
        'trend', jsonb_agg(jsonb_build_object('measured_at', deling.fhir_datetime(measured_at), 'score', score, 'risk', risk)
                           ORDER BY rn)) END
    FROM t;
$$;

CREATE FUNCTION api.news2_trend(pid text, purpose text DEFAULT NULL, n integer DEFAULT 5, reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    gate text[] := deling.sharing_gate('news2', pid, purpose, reason);
    r record := deling.news2_readable(pid, gate, purpose);
    result jsonb;
BEGIN
    IF n IS NULL OR n < 1 OR n > 100 THEN
        RAISE EXCEPTION 'n must be between 1 and 100, not %', n USING ERRCODE = '22023';
    END IF;
    result := deling.news2_trend_of(pid, r.readable, n)
        || CASE WHEN r.outcome IS NOT NULL THEN jsonb_build_object('notice', r.outcome->'issue'->0->>'diagnostics') ELSE '{}' END;
    PERFORM deling.log_access('news2', pid, gate, purpose, reason, true, NULL, (result->>'measurements')::int,
                              jsonb_build_object('opened_block', r.outcome->'issue'->0->>'code' = 'informational'));
    RETURN result;
END
$$;
COMMENT ON FUNCTION api.news2_trend(text, text, integer, text) IS
    'The latest NEWS2 of a citizen with its clinical response, and the last n scores (newest first) with the direction.
For the legevakt view; same access rules as news2_observations.';
