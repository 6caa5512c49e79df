-- ---------------------------------------------------------------------------
-- 61 news2 ingest: one measurement, a JSON batch, or a FHIR Bundle, for
-- integrations of a kommune that enabled news2.  A batch is validated whole
-- first (no subtransaction per item): any bad item rejects the batch with
-- 22023 and a per-item report in DETAIL, and nothing is written.
-- ---------------------------------------------------------------------------

-- news2_item_problem: NULL when a JSON item is a valid measurement, else why.
CREATE FUNCTION deling.news2_item_problem(item jsonb) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    allowed  CONSTANT text[] := ARRAY['pid', 'measured_at', 'resp_rate', 'spo2', 'spo2_scale', 'on_oxygen', 'oxygen_flow',
                                      'systolic_bp', 'pulse', 'consciousness', 'temperature', 'recorded_by',
                                      'unit_name', 'unit_orgnr', 'source_system', 'source_id', 'status', 'kommune_nr'];
    required CONSTANT text[] := ARRAY['pid', 'measured_at', 'resp_rate', 'spo2', 'on_oxygen', 'systolic_bp', 'pulse',
                                      'consciousness', 'temperature', 'source_system', 'source_id'];
    f    text;
    bad  text;
    ts   timestamptz;
BEGIN
    IF jsonb_typeof(item) IS DISTINCT FROM 'object' THEN
        RETURN 'item is not a JSON object';
    END IF;
    IF item ? '_unresolved' THEN
        RETURN format('reference "%s" is not a resource in the Bundle', item->>'_unresolved');
    END IF;
    IF item ? '_problem' THEN
        RETURN item->>'_problem';
    END IF;
    bad := deling.item_fields_problem(item, allowed, required);
    IF bad IS NOT NULL THEN
        RETURN bad;
    END IF;
    FOREACH f IN ARRAY ARRAY['resp_rate', 'spo2', 'spo2_scale', 'systolic_bp', 'pulse'] LOOP
        CONTINUE WHEN coalesce(jsonb_typeof(item->f), 'null') = 'null';
        IF jsonb_typeof(item->f) <> 'number' OR (item->>f)::numeric <> trunc((item->>f)::numeric)
           OR abs((item->>f)::numeric) > 2147483647 THEN
            RETURN format('%s must be a whole number, not %s', f, item->f);
        END IF;
    END LOOP;
    FOREACH f IN ARRAY ARRAY['temperature', 'oxygen_flow'] LOOP
        IF coalesce(jsonb_typeof(item->f), 'null') NOT IN ('null', 'number') THEN
            RETURN format('%s must be a number, not %s', f, item->f);
        END IF;
    END LOOP;
    IF jsonb_typeof(item->'on_oxygen') <> 'boolean' THEN
        RETURN format('on_oxygen must be true or false, not %s', item->'on_oxygen');
    END IF;
    FOREACH f IN ARRAY ARRAY['pid', 'measured_at', 'consciousness', 'source_system', 'source_id', 'recorded_by',
                             'unit_name', 'unit_orgnr', 'status'] LOOP
        IF coalesce(jsonb_typeof(item->f), 'null') NOT IN ('null', 'string') THEN
            RETURN format('%s must be a string, not %s', f, item->f);
        END IF;
    END LOOP;
    bad := deling.fnr_problem(item->>'pid');
    IF bad IS NOT NULL THEN
        RETURN format('pid "%s" is not a valid identity number: %s', item->>'pid', bad);
    END IF;
    IF item->>'measured_at' !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN
        RETURN format('measured_at "%s" must be an ISO 8601 date and time with a UTC offset, e.g. 2026-11-20T08:15:00+01:00',
                      item->>'measured_at');
    END IF;
    ts := deling.try_timestamptz(item->>'measured_at');
    IF ts IS NULL THEN
        RETURN format('measured_at "%s" is not a valid date and time', item->>'measured_at');
    END IF;
    IF ts > now() + interval '5 minutes' THEN
        RETURN format('measured_at %s is in the future', item->>'measured_at');
    END IF;
    IF ts < timestamptz '1900-01-01 00:00:00+00' THEN
        RETURN format('measured_at %s is before 1900', item->>'measured_at');
    END IF;
    IF (item->>'oxygen_flow')::numeric < 0 OR (item->>'oxygen_flow')::numeric > 60 THEN
        RETURN format('oxygen_flow %s is outside 0-60 L/min', item->>'oxygen_flow');
    END IF;
    IF NOT (item->>'on_oxygen')::boolean AND (item->>'oxygen_flow')::numeric > 0 THEN
        RETURN 'oxygen_flow is given but on_oxygen is false';
    END IF;
    IF coalesce(item->>'status', 'final') NOT IN ('final', 'entered-in-error') THEN
        RETURN format('status "%s" is not final or entered-in-error (amendments are detected by source_id)', item->>'status');
    END IF;
    IF item->>'recorded_by' !~ '^[0-9]{1,9}$' THEN
        RETURN format('recorded_by "%s" is not an HPR number', item->>'recorded_by');
    END IF;
    IF NOT deling.orgnr_valid(item->>'unit_orgnr') THEN
        RETURN format('unit_orgnr "%s" is not a valid organisasjonsnummer', item->>'unit_orgnr');
    END IF;
    IF item->>'source_system' !~ '^[A-Za-z0-9._:/-]{1,100}$' THEN
        RETURN format('source_system "%s" must be 1-100 characters of A-Z a-z 0-9 . _ : / -', item->>'source_system');
    END IF;
    IF length(item->>'source_id') NOT BETWEEN 1 AND 200 THEN
        RETURN 'source_id must be 1-200 characters';
    END IF;
    RETURN deling.news2_problem((item->>'resp_rate')::int, (item->>'spo2')::int, coalesce((item->>'spo2_scale')::int, 1),
                                (item->>'on_oxygen')::boolean, (item->>'systolic_bp')::int, (item->>'pulse')::int,
                                item->>'consciousness', (item->>'temperature')::numeric);
END
$$;
COMMENT ON FUNCTION deling.news2_item_problem(jsonb) IS 'NULL when a JSON item is a valid NEWS2 measurement, else what is wrong';

-- news2_ingest_items: validate a JSON array of measurements as a whole, then
-- write it: new source ids are created, unchanged ones left alone, changed
-- ones amended (the old version kept in history).  Runs as the caller, so
-- RLS applies to every row written.
CREATE FUNCTION deling.news2_ingest_items(items jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kommune text := deling.ingest_kommune('news2');
    problems jsonb := deling.ingest_problems(items, kommune, 'deling.news2_item_problem');
    n integer := jsonb_array_length(items);
    report jsonb;
BEGIN
    IF problems IS NOT NULL THEN
        PERFORM deling.ingest_reject('NEWS2', problems, n);
    END IF;

    INSERT INTO deling.citizen (kommune_nr, pid)
        SELECT DISTINCT kommune, item->>'pid' FROM jsonb_array_elements(items) item
        ON CONFLICT DO NOTHING;

    WITH input AS (
        SELECT ord, item, item->>'source_system' AS source_system, item->>'source_id' AS source_id
        FROM jsonb_array_elements(items) WITH ORDINALITY AS e(item, ord)),
    written AS (
        INSERT INTO deling.news2_measurement AS m
            (kommune_nr, pid, measured_at, resp_rate, spo2, spo2_scale, on_oxygen, oxygen_flow, systolic_bp, pulse,
             consciousness, temperature, recorded_by, unit_name, unit_orgnr, source_system, source_id, status)
        SELECT kommune, item->>'pid', (item->>'measured_at')::timestamptz, (item->>'resp_rate')::int,
               (item->>'spo2')::int, coalesce((item->>'spo2_scale')::int, 1), (item->>'on_oxygen')::boolean,
               (item->>'oxygen_flow')::numeric, (item->>'systolic_bp')::int, (item->>'pulse')::int,
               deling.news2_acvpu(item->>'consciousness'), (item->>'temperature')::numeric, item->>'recorded_by',
               item->>'unit_name', item->>'unit_orgnr', source_system, source_id, coalesce(item->>'status', 'final')
        FROM input
        ON CONFLICT (kommune_nr, source_system, source_id) DO UPDATE SET
            pid = excluded.pid, measured_at = excluded.measured_at, resp_rate = excluded.resp_rate,
            spo2 = excluded.spo2, spo2_scale = excluded.spo2_scale, on_oxygen = excluded.on_oxygen,
            oxygen_flow = excluded.oxygen_flow, systolic_bp = excluded.systolic_bp, pulse = excluded.pulse,
            consciousness = excluded.consciousness, temperature = excluded.temperature,
            recorded_by = excluded.recorded_by, unit_name = excluded.unit_name, unit_orgnr = excluded.unit_orgnr,
            status = CASE excluded.status WHEN 'entered-in-error' THEN 'entered-in-error' ELSE 'amended' END,
            version = m.version + 1, received_at = now()
        WHERE (m.pid, m.measured_at, m.resp_rate, m.spo2, m.spo2_scale, m.on_oxygen, m.oxygen_flow, m.systolic_bp,
               m.pulse, m.consciousness, m.temperature, m.recorded_by, m.unit_name, m.unit_orgnr)
              IS DISTINCT FROM
              (excluded.pid, excluded.measured_at, excluded.resp_rate, excluded.spo2, excluded.spo2_scale,
               excluded.on_oxygen, excluded.oxygen_flow, excluded.systolic_bp, excluded.pulse, excluded.consciousness,
               excluded.temperature, excluded.recorded_by, excluded.unit_name, excluded.unit_orgnr)
           OR (excluded.status = 'entered-in-error') <> (m.status = 'entered-in-error')
        RETURNING m.source_system, m.source_id, m.measurement_id, m.xmax = 0 AS created, m.status, m.score, m.risk)
    SELECT jsonb_build_object(
               'kommune_nr', kommune,
               'received', n,
               'created', count(*) FILTER (WHERE w.created),
               'amended', count(*) FILTER (WHERE w.source_id IS NOT NULL AND NOT w.created),
               'unchanged', count(*) FILTER (WHERE w.source_id IS NULL),
               'items', jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                   'item', i.ord,
                   'source_id', i.source_id,
                   'result', CASE WHEN w.source_id IS NULL THEN 'unchanged' WHEN w.created THEN 'created' ELSE 'amended' END,
                   'measurement_id', coalesce(w.measurement_id, cur.measurement_id),
                   'status', coalesce(w.status, cur.status),
                   'score', coalesce(w.score, cur.score),
                   'risk', coalesce(w.risk, cur.risk),
                   'warning', CASE WHEN (i.item->>'_sender_total')::int IS DISTINCT FROM coalesce(w.score, cur.score)
                                        AND i.item ? '_sender_total'
                                   THEN format('the sender''s total %s differs from the chart''s %s; stored %s',
                                               i.item->>'_sender_total', coalesce(w.score, cur.score), coalesce(w.score, cur.score)) END))
                   ORDER BY i.ord))
    INTO report
    FROM input i
    LEFT JOIN written w ON w.source_system = i.source_system AND w.source_id = i.source_id
    -- unchanged items: the stored row, one unique-index probe each.  The
    -- keys are the input's text columns, not item->>'…': under forced RLS a
    -- qual that calls a function that is not leakproof (->>) cannot be an
    -- index condition, and the planner would scan the kommune's whole table
    -- (and its cost estimate would switch on JIT for every batch).
    LEFT JOIN LATERAL (
        SELECT c.* FROM deling.news2_measurement c
        WHERE w.source_id IS NULL AND c.kommune_nr = kommune
          AND c.source_system = i.source_system AND c.source_id = i.source_id
        LIMIT 1) cur ON true;
    RETURN report;
END
$$;
COMMENT ON FUNCTION deling.news2_ingest_items(jsonb) IS
    'Validate and write a JSON array of NEWS2 measurements for the caller''s kommune, all or nothing';

-- news2_items_from_fhir: turn a FHIR Bundle of NEWS2 total Observations and
-- the vital-sign Observations they are derived from into ingest items.
-- Never misfiles: the subject must be an identity number (by identifier or
-- a Patient in the Bundle); a vital sign about another person, two vital
-- signs that disagree, and a unit that is not the UCUM unit of the
-- quantity (or one converted to it) each make the item invalid (_problem).
-- Vital signs are recognised by LOINC (R4 vital signs) or SNOMED CT (UK
-- Core, HL7 Norway VKP) codes; ACVPU by SNOMED CT answers (UK Core), the
-- platform's own code, or text; air or oxygen by 3151-8 flow, or by SNOMED
-- CT 722742002 / 371825009 as the Observation's code (UK Core) or value.
CREATE FUNCTION deling.news2_items_from_fhir(bundle jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    snomed CONSTANT text := 'http://snomed.info/sct';
    loinc  CONSTANT text := 'http://loinc.org';
    acvpu  CONSTANT jsonb := '{"248234008": "A", "130987000": "C", "300202002": "V", "450847001": "P", "422768004": "U"}';
    res    jsonb;
    items  jsonb := '[]';
    total  jsonb;
    member jsonb;
    item   jsonb;
    found  jsonb;
    problem text;
    subject record;
    other  record;
    qv     numeric;
    qp     text;
    ref    text;
    codes  text[];
    k      text;
    v      jsonb;
BEGIN
    res := deling.fhir_bundle_index(bundle);

    FOR total IN
        SELECT e->'resource' FROM jsonb_array_elements(bundle->'entry') WITH ORDINALITY AS x(e, ord)
        WHERE e->'resource'->>'resourceType' = 'Observation'
          AND e->'resource'->'code'->'coding' @> jsonb_build_array(jsonb_build_object('system', snomed, 'code', '1104051000000101'))
        ORDER BY ord
    LOOP
        item := jsonb_build_object(
            'measured_at', total->'effectiveDateTime',
            'source_system', regexp_replace(total->'identifier'->0->>'system', '^https://deling\.nhn\.no/fhir/NamingSystem/source/', ''),
            'source_id', total->'identifier'->0->'value',
            'status', CASE total->>'status' WHEN 'entered-in-error' THEN 'entered-in-error'
                                            WHEN 'final' THEN 'final' WHEN 'amended' THEN 'final' WHEN 'corrected' THEN 'final'
                                            ELSE total->>'status' END,
            'spo2_scale', CASE WHEN total->'component' @> jsonb_build_array(jsonb_build_object('code', jsonb_build_object(
                                   'coding', jsonb_build_array(jsonb_build_object('system', snomed, 'code', '1104321000000108')))))
                               THEN 2 ELSE 1 END,
            '_sender_total', coalesce(total->'valueQuantity'->'value', total->'valueInteger'));
        -- the subject: an identity number by identifier, or a Patient in the Bundle
        subject := deling.fhir_subject_pid(total->'subject', res, 'subject');
        problem := subject.problem;
        item := item || jsonb_build_object('pid', subject.pid);
        -- performers: the HPR number and the unit
        SELECT p->'identifier'->'value' INTO v FROM jsonb_array_elements(total->'performer') p
            WHERE p->'identifier'->>'system' = 'urn:oid:2.16.578.1.12.4.1.4.4' LIMIT 1;
        item := item || jsonb_strip_nulls(jsonb_build_object('recorded_by', v));
        SELECT p INTO v FROM jsonb_array_elements(total->'performer') p
            WHERE p->'identifier'->>'system' = 'urn:oid:2.16.578.1.12.4.1.4.101' LIMIT 1;
        item := item || jsonb_strip_nulls(jsonb_build_object('unit_orgnr', v->'identifier'->'value', 'unit_name', v->'display'));

        FOR ref IN SELECT r->>'reference' FROM jsonb_array_elements(coalesce(total->'derivedFrom', '[]') || coalesce(total->'hasMember', '[]')) r
        LOOP
            member := res->ref;
            IF member IS NULL THEN
                item := item || jsonb_build_object('_unresolved', ref);
                CONTINUE;
            END IF;
            -- a vital sign without a subject is the total's; one with a subject must name the same person
            IF problem IS NULL AND member ? 'subject' THEN
                other := deling.fhir_subject_pid(member->'subject', res, format('subject of %s', ref));
                problem := coalesce(other.problem, CASE WHEN other.pid IS DISTINCT FROM subject.pid
                    THEN format('vital sign %s is about another person than the NEWS2 total %s', ref, item->>'source_id') END);
            END IF;
            SELECT array_agg((c->>'system') || '|' || (c->>'code')) INTO codes FROM jsonb_array_elements(member->'code'->'coding') c;
            qv := NULL;
            qp := NULL;
            found := NULL;
            IF codes && ARRAY[loinc || '|9279-1', snomed || '|86290005'] THEN
                SELECT * INTO qv, qp FROM deling.ucum_quantity(member->'valueQuantity', 'respiration rate', '/min');
                found := jsonb_build_object('resp_rate', qv);
            ELSIF codes && ARRAY[loinc || '|8867-4', snomed || '|364075005', snomed || '|78564009'] THEN
                SELECT * INTO qv, qp FROM deling.ucum_quantity(member->'valueQuantity', 'pulse', '/min');
                found := jsonb_build_object('pulse', qv);
            ELSIF codes && ARRAY[loinc || '|2708-6', loinc || '|59408-5', snomed || '|103228002', snomed || '|431314004'] THEN
                SELECT * INTO qv, qp FROM deling.ucum_quantity(member->'valueQuantity', 'SpO2', '%');
                found := jsonb_build_object('spo2', qv);
            ELSIF codes && ARRAY[loinc || '|8310-5', snomed || '|276885007'] THEN
                SELECT * INTO qv, qp FROM deling.ucum_quantity(member->'valueQuantity', 'temperature', 'Cel');
                found := jsonb_build_object('temperature', qv);
            ELSIF codes && ARRAY[loinc || '|8480-6', snomed || '|271649006', snomed || '|72313002'] THEN
                SELECT * INTO qv, qp FROM deling.ucum_quantity(member->'valueQuantity', 'systolic blood pressure', 'mm[Hg]');
                found := jsonb_build_object('systolic_bp', qv);
            ELSIF codes && ARRAY[loinc || '|85354-9', snomed || '|75367002'] THEN
                SELECT * INTO qv, qp FROM deling.ucum_quantity(
                    (SELECT c->'valueQuantity' FROM jsonb_array_elements(member->'component') c, jsonb_array_elements(c->'code'->'coding') cc
                     WHERE (cc->>'system', cc->>'code') IN ((loinc, '8480-6'), (snomed, '271649006'), (snomed, '72313002')) LIMIT 1),
                    'systolic blood pressure', 'mm[Hg]');
                found := jsonb_build_object('systolic_bp', qv);
            ELSIF codes && ARRAY[snomed || '|1104441000000107'] THEN
                SELECT format('ACVPU answer SNOMED CT %s is not one of 248234008 (A), 130987000 (C), 300202002 (V), 450847001 (P), 422768004 (U)',
                              c->>'code') INTO qp
                FROM jsonb_array_elements(member->'valueCodeableConcept'->'coding') c
                WHERE c->>'system' = snomed AND NOT acvpu ? (c->>'code') LIMIT 1;
                found := jsonb_build_object('consciousness', coalesce(
                    (SELECT coalesce(acvpu->>(c->>'code'), c->>'code') FROM jsonb_array_elements(member->'valueCodeableConcept'->'coding') c
                     WHERE c->>'system' = snomed LIMIT 1),
                    (SELECT c->>'code' FROM jsonb_array_elements(member->'valueCodeableConcept'->'coding') c
                     WHERE c->>'system' = 'https://deling.nhn.no/fhir/CodeSystem/acvpu' LIMIT 1),
                    member->'valueCodeableConcept'->>'text', member->>'valueString',
                    member->'valueCodeableConcept'->'coding'->0->>'code'));
            ELSIF codes && ARRAY[loinc || '|3151-8'] THEN
                SELECT * INTO qv, qp FROM deling.ucum_quantity(member->'valueQuantity', 'oxygen flow', 'L/min');
                found := jsonb_build_object('oxygen_flow', qv, 'on_oxygen', qv > 0);
            ELSIF codes && ARRAY[snomed || '|371825009'] THEN
                -- UK Core InspiredOxygen: on oxygen, with the flow (or the FiO2 %, not stored) as its value
                found := '{"on_oxygen": true}';
                IF member->'valueQuantity'->>'code' IS DISTINCT FROM '%' THEN
                    SELECT * INTO qv, qp FROM deling.ucum_quantity(member->'valueQuantity', 'oxygen flow', 'L/min');
                    found := found || jsonb_strip_nulls(jsonb_build_object('oxygen_flow', qv));
                END IF;
            ELSIF codes && ARRAY[snomed || '|722742002']
                  OR member->'valueCodeableConcept'->'coding' @> jsonb_build_array(jsonb_build_object('system', snomed, 'code', '722742002')) THEN
                found := '{"on_oxygen": false}';
            ELSIF member->'valueCodeableConcept'->'coding' @> jsonb_build_array(jsonb_build_object('system', snomed, 'code', '371825009')) THEN
                found := '{"on_oxygen": true}';
            END IF;
            problem := coalesce(problem, qp);
            -- two vital signs that give one field different values contradict each other
            FOR k IN SELECT jsonb_object_keys(found) LOOP
                IF problem IS NULL AND item ? k AND item->k IS DISTINCT FROM found->k THEN
                    problem := format('vital signs disagree on %s (%s and %s)', k, item->k, found->k);
                END IF;
            END LOOP;
            item := item || coalesce(found, '{}');
        END LOOP;
        IF problem IS NOT NULL THEN
            item := item || jsonb_build_object('_problem', problem);
        END IF;
        items := items || jsonb_build_array(item);
    END LOOP;
    IF jsonb_array_length(items) = 0 THEN
        RAISE EXCEPTION 'the Bundle has no NEWS2 total Observation (SNOMED CT 1104051000000101)'
            USING ERRCODE = '22023',
                  HINT = 'Send each measurement as a NEWS2 total Observation whose derivedFrom (or hasMember) references its vital-sign Observations.';
    END IF;
    RETURN items;
END
$$;
COMMENT ON FUNCTION deling.news2_items_from_fhir(jsonb) IS
    'Ingest items from a FHIR Bundle: each NEWS2 total Observation with the vital signs it is derived from';

CREATE FUNCTION api.news2_ingest(measurement jsonb) RETURNS jsonb
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT r->'items'->0 FROM deling.news2_ingest_items(jsonb_build_array(measurement)) r;
$$;
COMMENT ON FUNCTION api.news2_ingest(jsonb) IS
    'Record one NEWS2 measurement (integrations).
Score and risk are computed by the platform. Re-sending the same source_system + source_id is a no-op; changed values amend the measurement and keep the old version. Returns the result (created, amended, unchanged), measurement_id, score and risk.';

CREATE FUNCTION api.news2_ingest_batch(measurements jsonb) RETURNS jsonb
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.news2_ingest_items(measurements);
$$;
COMMENT ON FUNCTION api.news2_ingest_batch(jsonb) IS
    'Record a batch of NEWS2 measurements (integrations), all or nothing.
A JSON array of up to 10000 measurements. If any item is invalid the batch is rejected (HTTP 400, SQLSTATE 22023) with a per-item report in details and nothing is written; otherwise returns a per-item report.';

CREATE FUNCTION api.news2_ingest_fhir(bundle jsonb) RETURNS jsonb
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.news2_ingest_items(deling.news2_items_from_fhir(bundle));
$$;
COMMENT ON FUNCTION api.news2_ingest_fhir(jsonb) IS
    'Record NEWS2 measurements sent as a FHIR R4 Bundle (integrations), all or nothing.
Each measurement is a NEWS2 total Observation (SNOMED CT 1104051000000101) whose derivedFrom references its vital-sign Observations (LOINC 9279-1, 2708-6, 85354-9/8480-6, 8867-4, 8310-5, 3151-8; ACVPU as SNOMED CT 1104441000000107). The sender''s total is recomputed; a difference is reported as a warning.';
