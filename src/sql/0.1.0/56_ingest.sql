-- ---------------------------------------------------------------------------
-- 56 ingest: the machinery every sharing service's ingest shares: the
-- caller must act for a kommune that enabled the service, the batch is
-- checked whole with the service's item check, and any problem rejects it
-- with one report before anything is written.
-- ---------------------------------------------------------------------------

-- share_table: put a sharing service's table under the platform's rules:
-- RLS enabled and forced; integrations read and write their own kommune's
-- rows while it has enabled the service; the sharing functions (running as
-- deling_owner) read the kommuner the caller reaches (when readable), and
-- KPR's logged reporting functions read every kommune; the DBA's role sees
-- everything.  A new sharing service calls this for each of
-- its tables in its install or upgrade script.
CREATE FUNCTION deling.share_table(tbl regclass, service text, readable boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text := (SELECT c.relname FROM pg_class c WHERE c.oid = tbl);
BEGIN
    IF NOT EXISTS (SELECT FROM deling.service s WHERE s.service_code = share_table.service) THEN
        RAISE EXCEPTION 'unknown sharing service "%"', service USING ERRCODE = '22023';
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY %I ON %s TO deling_integrasjon '
                   'USING (kommune_nr = (SELECT deling.current_kommune_for(%L))) '
                   'WITH CHECK (kommune_nr = (SELECT deling.current_kommune_for(%L)))', t || '_integrasjon', tbl, service, service);
    IF readable THEN
        EXECUTE format('CREATE POLICY %I ON %s FOR SELECT TO deling_owner '
                       'USING (kommune_nr = ANY ((SELECT deling.reach_for(%L))::text[]) OR (SELECT deling.kpr_reading()))',
                       t || '_sharing', tbl, service);
    END IF;
    EXECUTE format('CREATE POLICY %I ON %s TO deling_admin USING (true) WITH CHECK (true)', t || '_admin', tbl);
END
$$;
COMMENT ON FUNCTION deling.share_table(regclass, text, boolean) IS
    'Install scripts: forced RLS and the standard policies for a sharing service''s table';

-- ingest_kommune: the kommune an ingest writes for; 42501 when the caller
-- acts for none, or its kommune has not enabled the service.
CREATE FUNCTION deling.ingest_kommune(service text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kommune text := deling.current_kommune();
BEGIN
    IF kommune IS NULL THEN
        RAISE EXCEPTION 'no kommune to write for: ingest is for integrations acting for a kommune'
            USING ERRCODE = '42501',
                  HINT = 'Authenticate with the integration''s token (PostgREST or deling.authenticate), or use a login role the DBA bound with deling.bind_integration.';
    END IF;
    IF deling.current_kommune_for(service) IS NULL THEN
        RAISE EXCEPTION 'kommune % has not enabled the sharing service "%"', kommune, service
            USING ERRCODE = '42501', HINT = format('The DBA enables it with deling.enable_service(kommune_nr, %L).', service);
    END IF;
    RETURN kommune;
END
$$;

-- ingest_problems: check a batch with the service's item check (a function
-- jsonb -> text, NULL when the item is valid); returns the per-item
-- problems, or NULL.  Items naming another kommune are refused outright.
CREATE FUNCTION deling.ingest_problems(items jsonb, kommune text, item_problem regproc, max_items integer DEFAULT 10000)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n integer;
    problems jsonb;
    other record;
BEGIN
    IF jsonb_typeof(items) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'the batch must be a JSON array' USING ERRCODE = '22023';
    END IF;
    n := jsonb_array_length(items);
    IF n = 0 OR n > max_items THEN
        RAISE EXCEPTION 'a batch has 1 to % items, not %', max_items, n USING ERRCODE = '22023';
    END IF;
    SELECT ord, item->>'kommune_nr' AS k INTO other
    FROM jsonb_array_elements(items) WITH ORDINALITY AS e(item, ord)
    WHERE jsonb_typeof(item) = 'object' AND item ? 'kommune_nr' AND item->>'kommune_nr' IS DISTINCT FROM kommune
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'item % is for kommune %, but this integration acts for kommune %', other.ord, other.k, kommune
            USING ERRCODE = '42501';
    END IF;
    EXECUTE format($q$
        SELECT jsonb_agg(jsonb_build_object('item', ord, 'source_id', item->>'source_id', 'error', problem) ORDER BY ord)
        FROM (SELECT ord, item,
                     coalesce(%s(item),
                              CASE WHEN count(*) OVER (PARTITION BY item->>'source_system', item->>'source_id') > 1
                                   THEN 'source_id appears more than once in the batch' END) AS problem
              FROM jsonb_array_elements($1) WITH ORDINALITY AS e(item, ord)) checked
        WHERE problem IS NOT NULL$q$, item_problem)
    INTO problems USING items;
    RETURN problems;
END
$$;

-- item_fields_problem: the first check of every item check: NULL when a
-- JSON object has only allowed fields (and private ones, starting with _)
-- and every required one not null; else which are unknown or missing.  A
-- valid item costs two expressions, no query (it runs once per item).
CREATE FUNCTION deling.item_fields_problem(item jsonb, allowed text[], required text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad text;
BEGIN
    IF (item - allowed) <> '{}' THEN
        SELECT string_agg(k, ', ' ORDER BY k) INTO bad FROM jsonb_object_keys(item - allowed) k WHERE k NOT LIKE '\_%';
        IF bad IS NOT NULL THEN
            RETURN 'unknown field(s): ' || bad;
        END IF;
    END IF;
    IF NOT jsonb_strip_nulls(item) ?& required THEN
        SELECT string_agg(k, ', ' ORDER BY ord) INTO bad FROM unnest(required) WITH ORDINALITY r(k, ord)
            WHERE coalesce(jsonb_typeof(item->k), 'null') = 'null';
        RETURN 'missing field(s): ' || bad;
    END IF;
    RETURN NULL;
END
$$;

-- ingest_reject: raise the batch rejection (22023) with the per-item report.
CREATE FUNCTION deling.ingest_reject(label text, problems jsonb, n integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% batch rejected: % of % item(s) invalid; nothing was written', label, jsonb_array_length(problems), n
        USING ERRCODE = '22023', DETAIL = problems::text,
              HINT = 'Correct the items listed in the detail and send the whole batch again.';
END
$$;

-- iso_date: a strict ISO 8601 calendar date (YYYY-MM-DD) that exists, or
-- NULL.
CREATE FUNCTION deling.iso_date(v text) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN v ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN (deling.try_timestamptz(v || 'T12:00:00Z') AT TIME ZONE 'UTC')::date END;
$$;

-- fhir_bundle_index: check that an incoming FHIR document is a Bundle an
-- EPJ may send (transaction, batch, collection) and index its resources by
-- fullUrl and by Type/id, so references resolve inside the Bundle.  A key
-- that two entries share (bdl-7 for fullUrl) would make a reference to it
-- resolve to either resource, so the Bundle is refused, naming the keys.
CREATE FUNCTION deling.fhir_bundle_index(bundle jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    res jsonb;
    dup text;
BEGIN
    IF bundle->>'resourceType' IS DISTINCT FROM 'Bundle' THEN
        RAISE EXCEPTION 'expected a FHIR Bundle, not %', coalesce(bundle->>'resourceType', jsonb_typeof(bundle))
            USING ERRCODE = '22023';
    END IF;
    IF bundle->>'type' IS NULL OR bundle->>'type' NOT IN ('transaction', 'batch', 'collection') THEN
        RAISE EXCEPTION 'Bundle.type must be transaction, batch or collection, not %', coalesce(bundle->>'type', 'missing')
            USING ERRCODE = '22023';
    END IF;
    IF jsonb_typeof(bundle->'entry') IS DISTINCT FROM 'array' THEN
        RETURN '{}';
    END IF;
    WITH keys AS (
        SELECT DISTINCT ord - 1 AS i, k, r
        FROM (SELECT ord, e->>'fullUrl' AS k, e->'resource' AS r FROM jsonb_array_elements(bundle->'entry') WITH ORDINALITY x(e, ord)
              WHERE e ? 'fullUrl'
              UNION ALL
              SELECT ord, (e->'resource'->>'resourceType') || '/' || (e->'resource'->>'id'), e->'resource'
              FROM jsonb_array_elements(bundle->'entry') WITH ORDINALITY x(e, ord) WHERE e->'resource' ? 'id') x
        WHERE k IS NOT NULL),
    dups AS (
        SELECT k, string_agg(format('entry[%s]', i), ' and ' ORDER BY i) AS entries, min(i) AS first
        FROM keys GROUP BY k HAVING count(*) > 1)
    SELECT (SELECT string_agg(format('%s (%s)', k, entries), ', ' ORDER BY first, k) FROM dups),
           (SELECT coalesce(jsonb_object_agg(k, r), '{}') FROM keys)
    INTO dup, res;
    IF dup IS NOT NULL THEN
        RAISE EXCEPTION 'Bundle entries share a fullUrl or resource id, so a reference to it could mean either: %', dup
            USING ERRCODE = '22023',
                  HINT = 'Give every entry its own fullUrl (bdl-7) and every resource its own Type/id; nothing was written.';
    END IF;
    RETURN res;
END
$$;

-- fhir_identity_number: the identity number an Identifier carries, or NULL
-- when it is not one: a fødselsnummer, D- or FH-nummer by its no-basis
-- system (the urn:oid or the non-preferred http://hl7.no URI), or an
-- H-nummer by no-basis's system "HNR", deling's NamingSystem, or type
-- HNR of code system 8327.  A value in any other system (an EPJ's own
-- patient number) is never taken for an identity number.
CREATE FUNCTION deling.fhir_identity_number(i jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN jsonb_typeof(i) = 'object' AND jsonb_typeof(i->'value') = 'string'
                 AND (i->>'system' IN ('urn:oid:2.16.578.1.12.4.1.4.1', 'urn:oid:2.16.578.1.12.4.1.4.2',
                                       'urn:oid:2.16.578.1.12.4.1.4.3', 'http://hl7.no/fhir/NamingSystem/FNR',
                                       'http://hl7.no/fhir/NamingSystem/DNR', 'http://hl7.no/fhir/NamingSystem/FHNR',
                                       'HNR', 'https://deling.nhn.no/fhir/NamingSystem/h-nummer')
                      OR i->'type'->'coding' @> '[{"system": "urn:oid:2.16.578.1.12.4.1.1.8327", "code": "HNR"}]')
           THEN i->>'value' END;
$$;

-- fhir_subject_pid: the identity number of the person a Reference (a
-- subject or patient) names, by its identifier, by the Patient in the
-- Bundle it references, or both (then they must agree); what names the
-- reference in messages.  No reference: neither pid nor problem.
CREATE FUNCTION deling.fhir_subject_pid(ref jsonb, res jsonb, what text, OUT pid text, OUT problem text)
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    by_identifier text;
    patient jsonb;
    numbers text[];
BEGIN
    IF jsonb_typeof(ref) IS DISTINCT FROM 'object' THEN
        RETURN;
    END IF;
    IF ref ? 'identifier' THEN
        by_identifier := deling.fhir_identity_number(ref->'identifier');
        IF by_identifier IS NULL THEN
            problem := format('%s identifier (system %s) is not a fødselsnummer, D-, FH- or H-nummer', what,
                              coalesce(ref->'identifier'->>'system', 'missing'));
            RETURN;
        END IF;
        pid := by_identifier;
    END IF;
    IF ref ? 'reference' THEN
        patient := res->(ref->>'reference');
        IF patient IS NULL THEN
            problem := format('reference "%s" is not a resource in the Bundle', ref->>'reference');
            RETURN;
        END IF;
        IF patient->>'resourceType' IS DISTINCT FROM 'Patient' THEN
            problem := format('%s "%s" is a %s, not a Patient', what, ref->>'reference', coalesce(patient->>'resourceType', 'resource'));
            RETURN;
        END IF;
        -- a person may carry a fødselsnummer and an older D-nummer: the
        -- kind ranked first wins; two numbers of that kind are ambiguous
        SELECT array_agg(n ORDER BY array_position(ARRAY['fnr', 'dnr', 'fhnr', 'hnr'], deling.fnr_kind(n)), n) INTO numbers
        FROM (SELECT DISTINCT deling.fhir_identity_number(i) AS n FROM jsonb_array_elements(
                  CASE WHEN jsonb_typeof(patient->'identifier') = 'array' THEN patient->'identifier' ELSE '[]' END) i) x
        WHERE n IS NOT NULL AND deling.fnr_problem(n) IS NULL;
        IF numbers IS NULL THEN
            problem := format('Patient "%s" has no valid fødselsnummer, D-, FH- or H-nummer', ref->>'reference');
            RETURN;
        END IF;
        IF cardinality(numbers) > 1 AND deling.fnr_kind(numbers[1]) = deling.fnr_kind(numbers[2]) THEN
            problem := format('Patient "%s" has more than one %s', ref->>'reference', deling.fnr_kind(numbers[1]));
            RETURN;
        END IF;
        IF by_identifier IS NOT NULL AND by_identifier <> ALL (numbers) THEN
            problem := format('%s names two persons: its identifier and the Patient "%s" it references', what, ref->>'reference');
            RETURN;
        END IF;
        pid := coalesce(by_identifier, numbers[1]);
    END IF;
END
$$;

-- ucum_code: a FHIR Quantity's numeric value and UCUM unit code (UCUM
-- codes as UCUM writes them, case sensitive; annotations in braces mean
-- nothing, UCUM §6, and are removed), or the problem: a value that is not a
-- number, a unit system other than UCUM, no unit code (what names the
-- quantity).  A Quantity without a system is read as UCUM.
CREATE FUNCTION deling.ucum_code(q jsonb, what text, OUT value numeric, OUT code text, OUT problem text)
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF jsonb_typeof(q) IS DISTINCT FROM 'object' OR jsonb_typeof(q->'value') IS DISTINCT FROM 'number' THEN
        problem := format('%s must be a Quantity with a numeric value, not %s', what, coalesce(q::text, 'nothing'));
        RETURN;
    END IF;
    value := (q->>'value')::numeric;
    IF q ? 'system' AND q->>'system' IS DISTINCT FROM 'http://unitsofmeasure.org' THEN
        problem := format('%s %s is in unit system "%s", not UCUM (http://unitsofmeasure.org)', what, value, q->>'system');
    ELSIF jsonb_typeof(q->'code') IS DISTINCT FROM 'string' THEN
        problem := format('%s %s has no UCUM unit code%s', what, value,
                          CASE WHEN q ? 'unit' THEN format(' (unit "%s")', q->>'unit') ELSE '' END);
    ELSE
        code := regexp_replace(q->>'code', '\{[^{}]*\}', '', 'g');
    END IF;
END
$$;

-- ucum_quantity: a FHIR Quantity as a value in the unit target, converting
-- the UCUM codes of the same quantity: temperature Cel or [degF] (rounded
-- to one decimal, the NEWS2 chart's precision); pressure mm[Hg] or kPa
-- (UCUM: m[Hg] = 133.3220 kPa; rounded to whole mm[Hg]); oxygen flow
-- L/min, l/min, mL/min, ml/min, L/h, l/h (two decimals); rates /min; SpO2
-- %.  Any other unit is a problem that names it.  No quantity: neither.
CREATE FUNCTION deling.ucum_quantity(q jsonb, what text, target text, OUT value numeric, OUT problem text)
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u record;
BEGIN
    IF q IS NULL OR q = 'null' THEN
        RETURN;
    END IF;
    SELECT * INTO u FROM deling.ucum_code(q, what);
    problem := u.problem;
    value := CASE target
        WHEN '/min' THEN CASE WHEN u.code IN ('/min', '1/min') THEN u.value END
        WHEN '%' THEN CASE WHEN u.code = '%' THEN u.value END
        WHEN 'Cel' THEN CASE u.code WHEN 'Cel' THEN u.value WHEN '[degF]' THEN round((u.value - 32) * 5 / 9, 1) END
        WHEN 'mm[Hg]' THEN CASE u.code WHEN 'mm[Hg]' THEN u.value WHEN 'kPa' THEN round(u.value / 0.1333220) END
        WHEN 'L/min' THEN CASE WHEN u.code IN ('L/min', 'l/min') THEN u.value
                               WHEN u.code IN ('mL/min', 'ml/min') THEN trim_scale(round(u.value / 1000, 2))
                               WHEN u.code IN ('L/h', 'l/h') THEN trim_scale(round(u.value / 60, 2)) END
        END;
    IF value IS NULL AND problem IS NULL THEN
        problem := format('%s %s has unit "%s", which is not %s', what, u.value, q->>'code', CASE target
            WHEN '/min' THEN '/min (annotations such as {beats}/min allowed)'
            WHEN 'Cel' THEN 'Cel or [degF]'
            WHEN 'mm[Hg]' THEN 'mm[Hg] or kPa'
            WHEN 'L/min' THEN 'L/min, l/min, mL/min, ml/min, L/h or l/h'
            ELSE target END);
    END IF;
END
$$;

-- date_bound_problem: NULL when a date lies between 1900-01-01 and the
-- given number of years ahead of today (Norwegian date), else why (what
-- names the date).  Every ingest refuses dates outside: typing errors such
-- as 0026 for 2026, or 2062 for 2026.
CREATE FUNCTION deling.date_bound_problem(what text, d date, years integer) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN d < date '1900-01-01' THEN format('%s %s is before 1900-01-01', what, to_char(d, 'YYYY-MM-DD'))
                WHEN d > (now() AT TIME ZONE 'Europe/Oslo')::date + make_interval(years => years)
                THEN format('%s %s is more than %s ahead', what, to_char(d, 'YYYY-MM-DD'),
                            CASE WHEN years = 1 THEN 'a year' ELSE years || ' years' END) END;
$$;
