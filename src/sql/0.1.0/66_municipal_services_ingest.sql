-- ---------------------------------------------------------------------------
-- 66 municipal services ingest: one service, a JSON batch or a FHIR Bundle
-- of EpisodeOfCare resources (OKT mapping), all or nothing, idempotent on
-- source id; corrections keep the old version.
-- ---------------------------------------------------------------------------

-- municipal_service_item_problem: NULL when a JSON item is a valid service, else why.
CREATE FUNCTION deling.municipal_service_item_problem(item jsonb) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    allowed  CONSTANT text[] := ARRAY['pid', 'service_code', 'status', 'vedtak_date', 'period_start', 'period_end', 'stops',
                                      'weekly_hours', 'stay_type', 'service_level', 'description', 'unit_name',
                                      'unit_orgnr', 'unit_phone', 'source_system', 'source_id', 'kommune_nr', 'registered_at'];
    required CONSTANT text[] := ARRAY['pid', 'service_code', 'status', 'period_start', 'source_system', 'source_id'];
    f    text;
    bad  text;
    stop jsonb;
    prev date;
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
    FOREACH f IN ARRAY ARRAY['pid', 'service_code', 'status', 'vedtak_date', 'period_start', 'period_end', 'stay_type',
                             'service_level', 'description', 'unit_name', 'unit_orgnr', 'unit_phone', 'source_system',
                             'source_id', 'registered_at'] LOOP
        IF coalesce(jsonb_typeof(item->f), 'null') NOT IN ('null', 'string') THEN
            RETURN format('%s must be a string, not %s', f, item->f);
        END IF;
    END LOOP;
    bad := deling.fnr_problem(item->>'pid');
    IF bad IS NOT NULL THEN
        RETURN format('pid "%s" is not a valid identity number: %s', item->>'pid', bad);
    END IF;
    IF deling.code_9151(item->>'service_code') IS NULL THEN
        RETURN format('service_code "%s" is not a code of list 9151 (1-4 digits)', item->>'service_code');
    END IF;
    IF item->>'status' NOT IN ('applied', 'granted', 'active', 'on-hold', 'ended', 'cancelled', 'entered-in-error') THEN
        RETURN format('status "%s" is not applied, granted, active, on-hold, ended, cancelled or entered-in-error', item->>'status');
    END IF;
    FOREACH f IN ARRAY ARRAY['vedtak_date', 'period_start', 'period_end'] LOOP
        IF item ? f AND jsonb_typeof(item->f) = 'string' AND deling.iso_date(item->>f) IS NULL THEN
            RETURN format('%s "%s" is not a date (YYYY-MM-DD)', f, item->>f);
        END IF;
    END LOOP;
    IF item->>'registered_at' IS NOT NULL THEN
        IF item->>'registered_at' !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$'
           OR deling.try_timestamptz(item->>'registered_at') IS NULL THEN
            RETURN format('registered_at "%s" is not an ISO 8601 timestamp with a UTC offset (e.g. 2026-11-20T08:00:00+01:00)', item->>'registered_at');
        END IF;
        IF deling.try_timestamptz(item->>'registered_at') > now() + interval '5 minutes' THEN
            RETURN format('registered_at %s is in the future', item->>'registered_at');
        END IF;
        IF deling.try_timestamptz(item->>'registered_at') < timestamptz '1900-01-01 00:00:00+00' THEN
            RETURN format('registered_at %s is before 1900', item->>'registered_at');
        END IF;
    END IF;
    -- dates between 1900 and a year ahead (a service's end: ten years)
    bad := coalesce(deling.date_bound_problem('vedtak_date', deling.iso_date(item->>'vedtak_date'), 1),
                    deling.date_bound_problem('period_start', deling.iso_date(item->>'period_start'), 1),
                    deling.date_bound_problem('period_end', deling.iso_date(item->>'period_end'), 10));
    IF bad IS NOT NULL THEN
        RETURN bad;
    END IF;
    IF deling.iso_date(item->>'period_end') < deling.iso_date(item->>'period_start') THEN
        RETURN format('period_end %s is before period_start %s', item->>'period_end', item->>'period_start');
    END IF;
    IF item->>'status' = 'ended' AND item->>'period_end' IS NULL THEN
        RETURN 'an ended service needs period_end';
    END IF;
    IF coalesce(jsonb_typeof(item->'weekly_hours'), 'null') NOT IN ('null', 'number') THEN
        RETURN format('weekly_hours must be a number, not %s', item->'weekly_hours');
    END IF;
    IF (item->>'weekly_hours')::numeric NOT BETWEEN 0 AND 168 THEN
        RETURN format('weekly_hours %s is outside 0-168 (hours in a week)', item->>'weekly_hours');
    END IF;
    IF item->>'stay_type' NOT IN ('dagopphold', 'nattopphold', 'korttidsopphold', 'langtidsopphold') THEN
        RETURN format('stay_type "%s" is not dagopphold, nattopphold, korttidsopphold or langtidsopphold', item->>'stay_type');
    END IF;
    IF item->>'unit_orgnr' IS NOT NULL AND NOT deling.orgnr_valid(item->>'unit_orgnr') THEN
        RETURN format('unit_orgnr "%s" is not a valid organisasjonsnummer', item->>'unit_orgnr');
    END IF;
    IF item->>'unit_phone' !~ '^\+?[0-9][0-9 ]{6,18}$' THEN
        RETURN format('unit_phone "%s" is not a phone number', item->>'unit_phone');
    END IF;
    IF length(item->>'description') > 4000 THEN
        RETURN 'description is longer than 4000 characters';
    END IF;
    IF item->>'source_system' !~ '^[A-Za-z0-9._:/-]{1,100}$' THEN
        RETURN format('source_system "%s" must be 1-100 characters of A-Z a-z 0-9 . _ : / -', item->>'source_system');
    END IF;
    IF length(item->>'source_id') NOT BETWEEN 1 AND 200 THEN
        RETURN 'source_id must be 1-200 characters';
    END IF;
    IF coalesce(jsonb_typeof(item->'stops'), 'array') <> 'array' THEN
        RETURN 'stops must be an array of {"from": date, "to": date}';
    END IF;
    FOR stop IN SELECT s FROM jsonb_array_elements(coalesce(item->'stops', '[]')) s ORDER BY s->>'from' LOOP
        IF jsonb_typeof(stop) <> 'object' OR deling.iso_date(stop->>'from') IS NULL
           OR (stop ? 'to' AND stop->'to' <> 'null' AND deling.iso_date(stop->>'to') IS NULL)
           OR EXISTS (SELECT FROM jsonb_object_keys(stop) k WHERE k NOT IN ('from', 'to')) THEN
            RETURN format('stop %s is not {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD" or absent}', stop);
        END IF;
        IF deling.iso_date(stop->>'to') < deling.iso_date(stop->>'from') THEN
            RETURN format('stop from %s ends before it starts (%s)', stop->>'from', stop->>'to');
        END IF;
        IF deling.iso_date(stop->>'from') < deling.iso_date(item->>'period_start')
           OR deling.iso_date(stop->>'from') > deling.iso_date(item->>'period_end') THEN
            RETURN format('stop from %s is outside the service period', stop->>'from');
        END IF;
        IF deling.iso_date(stop->>'to') > deling.iso_date(item->>'period_end') THEN
            RETURN format('stop from %s to %s runs past the service''s end %s', stop->>'from', stop->>'to', item->>'period_end');
        END IF;
        IF deling.iso_date(stop->>'to') IS NULL AND item->>'status' = 'ended' THEN
            RETURN format('stop from %s has no end, but the service has ended (%s): give the stop''s last day',
                          stop->>'from', item->>'period_end');
        END IF;
        bad := deling.date_bound_problem('stop end', deling.iso_date(stop->>'to'), 10);
        IF bad IS NOT NULL THEN
            RETURN bad;
        END IF;
        IF prev IS NOT NULL AND deling.iso_date(stop->>'from') <= prev THEN
            RETURN format('stop from %s overlaps the stop before it', stop->>'from');
        END IF;
        prev := coalesce(deling.iso_date(stop->>'to'), 'infinity');
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION deling.municipal_service_item_problem(jsonb) IS
    'NULL when a JSON item is a valid municipal service, else what is wrong';

-- municipal_services_ingest_items: validate and write a batch for the
-- caller's kommune, all or nothing.  A new service must have an active code;
-- corrections of existing ones may keep a withdrawn one.
CREATE FUNCTION deling.municipal_services_ingest_items(items jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kommune text := deling.ingest_kommune('municipal-services');
    problems jsonb := deling.ingest_problems(items, kommune, 'deling.municipal_service_item_problem');
    n integer := jsonb_array_length(items);
    report jsonb;
BEGIN
    IF problems IS NULL THEN
        -- the keys as text columns of a materialized CTE, so that under
        -- forced RLS the existence check is an index probe (see below)
        WITH e AS MATERIALIZED (
            SELECT ord, item, item->>'source_system' AS source_system, item->>'source_id' AS source_id
            FROM jsonb_array_elements(items) WITH ORDINALITY AS e(item, ord))
        SELECT jsonb_agg(jsonb_build_object('item', ord, 'source_id', e.source_id, 'error',
                   CASE WHEN t.code IS NULL
                        THEN format('service_code %s is not in code list 9151', item->>'service_code')
                        ELSE format('service_code %s (%s) is %s in code list 9151%s; a new service needs an active code',
                                    t.code, t.name, t.status, coalesce(' (replaced by ' || t.replaced_by || ')', '')) END)
                   ORDER BY ord)
        INTO problems
        FROM e
        LEFT JOIN deling.service_type t ON t.code = deling.code_9151(item->>'service_code')
        WHERE (t.code IS NULL OR t.status <> 'active')
          AND (t.code IS NULL OR NOT EXISTS (
                SELECT FROM deling.municipal_service m WHERE m.kommune_nr = kommune
                  AND m.source_system = e.source_system AND m.source_id = e.source_id));
    END IF;
    IF problems IS NOT NULL THEN
        PERFORM deling.ingest_reject('Municipal services', problems, n);
    END IF;

    INSERT INTO deling.citizen (kommune_nr, pid)
        SELECT DISTINCT kommune, item->>'pid' FROM jsonb_array_elements(items) item
        ON CONFLICT DO NOTHING;

    WITH input AS (
        SELECT ord, item, item->>'source_system' AS source_system, item->>'source_id' AS source_id,
               ARRAY(SELECT daterange(deling.iso_date(s->>'from'), deling.iso_date(s->>'to'), '[]')
                     FROM jsonb_array_elements(coalesce(item->'stops', '[]')) s ORDER BY s->>'from') AS stops
        FROM jsonb_array_elements(items) WITH ORDINALITY AS e(item, ord)),
    written AS (
        INSERT INTO deling.municipal_service AS m
            (kommune_nr, pid, service_code, status, vedtak_date, period_start, period_end, stops, weekly_hours,
             stay_type, service_level, description, unit_name, unit_orgnr, unit_phone, source_system, source_id,
             registered_at)
        SELECT kommune, item->>'pid', deling.code_9151(item->>'service_code'), item->>'status',
               deling.iso_date(item->>'vedtak_date'), deling.iso_date(item->>'period_start'),
               deling.iso_date(item->>'period_end'), stops, (item->>'weekly_hours')::numeric, item->>'stay_type',
               item->>'service_level', item->>'description', item->>'unit_name', item->>'unit_orgnr',
               item->>'unit_phone', source_system, source_id,
               coalesce(deling.try_timestamptz(item->>'registered_at'), now())
        FROM input
        ON CONFLICT (kommune_nr, source_system, source_id) DO UPDATE SET
            pid = excluded.pid, service_code = excluded.service_code, status = excluded.status,
            vedtak_date = excluded.vedtak_date, period_start = excluded.period_start, period_end = excluded.period_end,
            stops = excluded.stops, weekly_hours = excluded.weekly_hours, stay_type = excluded.stay_type,
            service_level = excluded.service_level, description = excluded.description, unit_name = excluded.unit_name,
            unit_orgnr = excluded.unit_orgnr, unit_phone = excluded.unit_phone,
            version = m.version + 1, received_at = now(), registered_at = excluded.registered_at
        WHERE (m.pid, m.service_code, m.status, m.vedtak_date, m.period_start, m.period_end, m.stops, m.weekly_hours,
               m.stay_type, m.service_level, m.description, m.unit_name, m.unit_orgnr, m.unit_phone)
              IS DISTINCT FROM
              (excluded.pid, excluded.service_code, excluded.status, excluded.vedtak_date, excluded.period_start,
               excluded.period_end, excluded.stops, excluded.weekly_hours, excluded.stay_type, excluded.service_level,
               excluded.description, excluded.unit_name, excluded.unit_orgnr, excluded.unit_phone)
        RETURNING m.source_system, m.source_id, m.service_id, m.xmax = 0 AS created, m.status, m.version)
    SELECT jsonb_build_object(
               'kommune_nr', kommune,
               'received', n,
               'created', count(*) FILTER (WHERE w.created),
               'amended', count(*) FILTER (WHERE w.source_id IS NOT NULL AND NOT w.created),
               'unchanged', count(*) FILTER (WHERE w.source_id IS NULL),
               'items', jsonb_agg(jsonb_build_object(
                   'item', i.ord,
                   'source_id', i.source_id,
                   'result', CASE WHEN w.source_id IS NULL THEN 'unchanged' WHEN w.created THEN 'created' ELSE 'amended' END,
                   'service_id', coalesce(w.service_id, cur.service_id),
                   'status', coalesce(w.status, cur.status),
                   'version', coalesce(w.version, cur.version)) ORDER BY i.ord))
    INTO report
    FROM input i
    LEFT JOIN written w ON w.source_system = i.source_system AND w.source_id = i.source_id
    -- unchanged items: the stored row, one unique-index probe each.  The
    -- keys are the input's text columns, not item->>'…': under forced RLS a
    -- qual that calls a function that is not leakproof (->>) cannot be an
    -- index condition, and the planner would scan the kommune's whole table
    -- (and its cost estimate would switch on JIT for every batch).
    LEFT JOIN LATERAL (
        SELECT c.* FROM deling.municipal_service c
        WHERE w.source_id IS NULL AND c.kommune_nr = kommune
          AND c.source_system = i.source_system AND c.source_id = i.source_id
        LIMIT 1) cur ON true;
    RETURN report;
END
$$;
COMMENT ON FUNCTION deling.municipal_services_ingest_items(jsonb) IS
    'Validate and write a JSON array of municipal services for the caller''s kommune, all or nothing';

-- okt_weekly_hours: the hours per week of an OKT weekly-extent extension:
-- WeeklyExtentRatio (0.2.0), a Ratio of UCUM time over UCUM time, or
-- WeeklyExtentQuantity (0.1.0), a Quantity in h (hours per week, as its
-- definition says) or in time per time (h/d, min/wk ...).  Numerator units
-- h and min; denominator units wk, d, mo (UCUM's mean Julian month,
-- 365.25/12 d) and a (365.25 d); rounded to two decimals.  Any other unit,
-- or a quantity without one, is the problem, named.
CREATE FUNCTION deling.okt_weekly_hours(x jsonb, OUT hours numeric, OUT problem text)
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    num record;
    den record;
    per text;
    h numeric;
    wk numeric;
BEGIN
    IF x ? 'valueRatio' THEN
        SELECT * INTO num FROM deling.ucum_code(x->'valueRatio'->'numerator', 'weekly extent numerator');
        SELECT * INTO den FROM deling.ucum_code(x->'valueRatio'->'denominator', 'weekly extent denominator');
        per := den.code;
    ELSE
        SELECT * INTO num FROM deling.ucum_code(x->'valueQuantity', 'weekly extent');
        SELECT 1::numeric AS value, NULL::text AS problem INTO den;
        per := coalesce(substring(num.code FROM '/(.*)$'), 'wk');
        num.code := regexp_replace(num.code, '/.*$', '');
    END IF;
    problem := coalesce(num.problem, den.problem);
    IF problem IS NOT NULL THEN
        RETURN;
    END IF;
    h := num.value * CASE num.code WHEN 'h' THEN 1 WHEN 'min' THEN 1 / 60.0 END;
    wk := den.value * CASE per WHEN 'wk' THEN 1 WHEN 'd' THEN 1 / 7.0 WHEN 'mo' THEN 365.25 / 12 / 7 WHEN 'a' THEN 365.25 / 7 END;
    IF h IS NULL THEN
        problem := format('weekly extent unit "%s" is not a time of UCUM h or min', num.code);
    ELSIF wk IS NULL THEN
        problem := format('weekly extent is per "%s", not per a UCUM wk, d, mo or a', per);
    ELSIF wk <= 0 THEN
        problem := format('weekly extent is per %s %s', den.value, per);
    ELSE
        hours := round(h / wk, 2);
    END IF;
END
$$;

-- municipal_services_items_from_fhir: ingest items from a Bundle of OKT
-- EpisodeOfCare resources (with the Patient and Organizations they reference).
CREATE FUNCTION deling.municipal_services_items_from_fhir(bundle jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    okt CONSTANT text := 'http://hl7.no/fhir/ig/okt/StructureDefinition/';
    res   jsonb;
    eoc   jsonb;
    org   jsonb;
    items jsonb := '[]';
    item  jsonb;
    patient record;
    extent record;
BEGIN
    res := deling.fhir_bundle_index(bundle);

    FOR eoc IN SELECT e->'resource' FROM jsonb_array_elements(bundle->'entry') WITH ORDINALITY AS x(e, ord)
               WHERE e->'resource'->>'resourceType' = 'EpisodeOfCare' ORDER BY ord
    LOOP
        -- the patient: an identity number by identifier, or a Patient in the Bundle
        patient := deling.fhir_subject_pid(eoc->'patient', res, 'patient');
        SELECT w.hours, w.problem INTO extent
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(eoc->'extension') = 'array' THEN eoc->'extension' ELSE '[]' END) x,
             deling.okt_weekly_hours(x) w
        WHERE x->>'url' IN (okt || 'WeeklyExtentRatio', okt || 'WeeklyExtentQuantity') LIMIT 1;
        item := jsonb_build_object(
            'source_system', regexp_replace(eoc->'identifier'->0->>'system', '^https://deling\.nhn\.no/fhir/NamingSystem/source/', ''),
            'source_id', eoc->'identifier'->0->'value',
            'status', CASE eoc->>'status' WHEN 'planned' THEN 'granted' WHEN 'waitlist' THEN 'applied'
                                          WHEN 'onhold' THEN 'on-hold' WHEN 'finished' THEN 'ended'
                                          ELSE eoc->>'status' END,
            'period_start', left(eoc->'period'->>'start', 10),
            'service_code', (SELECT c->'code' FROM jsonb_array_elements(eoc->'type') t, jsonb_array_elements(t->'coding') c
                             WHERE c->>'system' = 'urn:oid:2.16.578.1.12.4.1.1.9151' LIMIT 1),
            'stay_type', (SELECT c->'code' FROM jsonb_array_elements(eoc->'type') t, jsonb_array_elements(t->'coding') c
                          WHERE c->>'system' = 'http://hl7.no/fhir/ig/okt/CodeSystem/OktStayTypeCs' LIMIT 1),
            'weekly_hours', extent.hours,
            'description', (SELECT x->'valueMarkdown' FROM jsonb_array_elements(eoc->'extension') x
                            WHERE x->>'url' = okt || 'ServiceDescriptionMarkdown' LIMIT 1),
            'stops', coalesce((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('from', left(h->'period'->>'start', 10),
                                                                                       'to', left(h->'period'->>'end', 10))))
                               FROM jsonb_array_elements(eoc->'statusHistory') h WHERE h->>'status' = 'onhold'), '[]'),
            'pid', patient.pid,
            '_problem', coalesce(patient.problem, extent.problem));
        IF eoc->'period' ? 'end' THEN
            item := item || jsonb_build_object('period_end', left(eoc->'period'->>'end', 10));
        END IF;
        IF eoc->'managingOrganization' ? 'reference' THEN
            org := res->(eoc->'managingOrganization'->>'reference');
            IF org IS NULL THEN
                item := item || jsonb_build_object('_unresolved', eoc->'managingOrganization'->>'reference');
            ELSE
                item := item || jsonb_build_object(
                    'unit_name', org->'name',
                    'unit_orgnr', (SELECT i->'value' FROM jsonb_array_elements(org->'identifier') i
                                   WHERE i->>'system' = 'urn:oid:2.16.578.1.12.4.1.4.101' LIMIT 1),
                    'unit_phone', (SELECT t->'value' FROM jsonb_array_elements(org->'telecom') t
                                   WHERE t->>'system' = 'phone' LIMIT 1));
            END IF;
        ELSIF eoc->'managingOrganization' ? 'display' THEN
            item := item || jsonb_build_object('unit_name', eoc->'managingOrganization'->'display');
        END IF;
        items := items || jsonb_build_array(jsonb_strip_nulls(item));
    END LOOP;
    IF jsonb_array_length(items) = 0 THEN
        RAISE EXCEPTION 'the Bundle has no EpisodeOfCare resources' USING ERRCODE = '22023';
    END IF;
    RETURN items;
END
$$;
COMMENT ON FUNCTION deling.municipal_services_items_from_fhir(jsonb) IS
    'Ingest items from a FHIR Bundle of OKT EpisodeOfCare resources';

CREATE FUNCTION api.municipal_services_ingest(service jsonb) RETURNS jsonb
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT r->'items'->0 FROM deling.municipal_services_ingest_items(jsonb_build_array(service)) r;
$$;
COMMENT ON FUNCTION api.municipal_services_ingest(jsonb) IS
    'Record one municipal service of a citizen (integrations).
The service type is a code of list 9151 (with or without leading zeros). registered_at (optional, ISO 8601 with a UTC offset) is when the source registered this version (default: when deling receives it). Re-sending the same source_system + source_id is a no-op; changed values correct the service and keep the old version. Returns the result (created, amended, unchanged), service_id (stable, used by KPR) and version.';

CREATE FUNCTION api.municipal_services_ingest_batch(services jsonb) RETURNS jsonb
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.municipal_services_ingest_items(services);
$$;
COMMENT ON FUNCTION api.municipal_services_ingest_batch(jsonb) IS
    'Record a batch of municipal services (integrations), all or nothing.
A JSON array of up to 10000 services. If any is invalid the batch is rejected (HTTP 400, SQLSTATE 22023) with a per-item report in details and nothing is written.';

CREATE FUNCTION api.municipal_services_ingest_fhir(bundle jsonb) RETURNS jsonb
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.municipal_services_ingest_items(deling.municipal_services_items_from_fhir(bundle));
$$;
COMMENT ON FUNCTION api.municipal_services_ingest_fhir(jsonb) IS
    'Record municipal services sent as a FHIR R4 Bundle of EpisodeOfCare resources as HL7 Norway''s OKT guide maps them (integrations), all or nothing.
type: a 9151 coding (and optionally an OktStayTypeCs coding); status; period; patient; managingOrganization (an Organization in the Bundle with orgnr and phone); extensions WeeklyExtentRatio/WeeklyExtentQuantity and ServiceDescriptionMarkdown; statusHistory entries with status onhold are temporary stops.';
