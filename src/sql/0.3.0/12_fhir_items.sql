-- ---------------------------------------------------------------------------
-- 12 FHIR in: the one parser of a sharing service's FHIR Bundle.  A
-- declaration without a parser of its own says in "fhir_in" which resources
-- carry its items and where in each resource each field is, as SQL/JSON
-- paths; deling.fhir_items turns a Bundle into the items its ingest checks,
-- so what a FHIR sender gets wrong is reported per item like a JSON
-- sender's mistake.
--
--   "fhir_in": {"resource": "Condition",           the resources read
--               "subject": "subject",              the Patient reference
--               "map": {"code": "$.code.coding[*] ? (@.system == \"...\").code",
--                       "onset": {"path": "$.onsetDateTime", "date": true},
--                       "status": {"path": "$.clinicalStatus.coding[0].code",
--                                  "values": {"resolved": "resolved", ...}},
--                       "activities": {"path": "$.activity[*].detail",
--                                      "each": {"code": "$.code.text", ...}}}}
--
-- A path's first value is the field's (an object or array as JSON), with
-- "all" every value as an array, with "each" every value mapped by its own
-- map, with "date" the date of a FHIR dateTime, with "values" translated by
-- its table (a value not in it is kept, for the item check to name).  The
-- source key is the resource's first identifier (the system without
-- deling's NamingSystem prefix, the value), as every pilot reads it.
-- ---------------------------------------------------------------------------

-- fhir_map_problem: NULL when a fhir_in map is well formed, else what is not
CREATE FUNCTION deling.fhir_map_problem(map jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k text;
    spec jsonb;
    bad text;
BEGIN
    IF jsonb_typeof(map) IS DISTINCT FROM 'object' OR map = '{}' THEN
        RETURN 'fhir_in.map must be an object of field: path';
    END IF;
    FOR k, spec IN SELECT * FROM jsonb_each(map) LOOP
        IF jsonb_typeof(spec) = 'string' THEN
            spec := jsonb_build_object('path', spec);
        END IF;
        IF jsonb_typeof(spec) IS DISTINCT FROM 'object' OR jsonb_typeof(spec->'path') IS DISTINCT FROM 'string' THEN
            RETURN format('fhir_in.map.%s must be a path or an object with a path', k);
        END IF;
        bad := (SELECT string_agg(x, ', ') FROM jsonb_object_keys(spec) x WHERE x NOT IN ('path', 'all', 'each', 'date', 'values'));
        IF bad IS NOT NULL THEN
            RETURN format('fhir_in.map.%s has unknown keys: %s', k, bad);
        END IF;
        BEGIN
            PERFORM (spec->>'path')::jsonpath;
        EXCEPTION WHEN syntax_error OR invalid_text_representation THEN
            RETURN format('fhir_in.map.%s: "%s" is not a SQL/JSON path', k, spec->>'path');
        END;
        IF spec ? 'values' AND jsonb_typeof(spec->'values') IS DISTINCT FROM 'object' THEN
            RETURN format('fhir_in.map.%s.values must be an object of FHIR value: item value', k);
        END IF;
        IF spec ? 'each' THEN
            bad := deling.fhir_map_problem(spec->'each');
            IF bad IS NOT NULL THEN
                RETURN replace(bad, 'fhir_in.map', format('fhir_in.map.%s.each', k));
            END IF;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION deling.fhir_map_problem(jsonb) IS
    'NULL when a declaration''s fhir_in map (field: SQL/JSON path or {path, all, each, date, values}) is well formed, else what is wrong';

-- fhir_map: the item fields a map finds in one resource (fields found
-- nowhere are left out, so the item check names them as missing)
CREATE FUNCTION deling.fhir_map(resource jsonb, map jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    item jsonb := '{}';
    k text;
    spec jsonb;
    val jsonb;
BEGIN
    FOR k, spec IN SELECT * FROM jsonb_each(map) LOOP
        IF jsonb_typeof(spec) = 'string' THEN
            spec := jsonb_build_object('path', spec);
        END IF;
        IF spec ? 'each' THEN
            val := (SELECT jsonb_agg(deling.fhir_map(x, spec->'each') ORDER BY o)
                    FROM jsonb_path_query(resource, (spec->>'path')::jsonpath, '{}', true) WITH ORDINALITY AS q(x, o));
        ELSIF coalesce((spec->>'all')::boolean, false) THEN
            val := jsonb_path_query_array(resource, (spec->>'path')::jsonpath, '{}', true);
            IF val = '[]' THEN
                val := NULL;
            END IF;
        ELSE
            val := jsonb_path_query_first(resource, (spec->>'path')::jsonpath, '{}', true);
            IF coalesce((spec->>'date')::boolean, false) AND jsonb_typeof(val) = 'string' THEN
                val := to_jsonb(left(val #>> '{}', 10));
            END IF;
            IF spec ? 'values' AND jsonb_typeof(val) = 'string' AND spec->'values' ? (val #>> '{}') THEN
                val := spec->'values'->(val #>> '{}');
            END IF;
        END IF;
        IF val IS NOT NULL AND val <> 'null' THEN
            item := item || jsonb_build_object(k, val);
        END IF;
    END LOOP;
    RETURN item;
END
$$;
COMMENT ON FUNCTION deling.fhir_map(jsonb, jsonb) IS
    'The item fields a declaration''s fhir_in map finds in one FHIR resource';

-- service_fhir_in: a declared service's fhir_in, for deling.fhir_items run
-- by an integration (which reads no catalog table itself)
CREATE FUNCTION deling.service_fhir_in(service text) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.declaration->'fhir_in' FROM deling.service s WHERE s.service_code = service;
$$;
COMMENT ON FUNCTION deling.service_fhir_in(text) IS
    'The fhir_in of a declared sharing service (its FHIR Bundle map), for deling.fhir_items';

-- fhir_items: the ingest items of a service in a FHIR Bundle: one per
-- resource of the declared type, in the Bundle's order, with the Patient it
-- is about (by identifier, or a Patient in the Bundle) and its source key
CREATE FUNCTION deling.fhir_items(bundle jsonb, service text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    fi jsonb := deling.service_fhir_in(service);
    subject text := coalesce(fi->>'subject', 'subject');
    res jsonb := deling.fhir_bundle_index(bundle);
    items jsonb;
BEGIN
    IF fi IS NULL OR NOT fi ? 'map' THEN
        RAISE EXCEPTION 'sharing service "%" takes no FHIR Bundle by map', deling.clip(service, 50) USING ERRCODE = '22023';
    END IF;
    SELECT jsonb_agg(jsonb_strip_nulls(
               deling.fhir_map(r, fi->'map')
               || jsonb_build_object(
                   'source_system', CASE WHEN starts_with(r->'identifier'->0->>'system', deling.fhir_constant('system.source'))
                                         THEN substr(r->'identifier'->0->>'system', length(deling.fhir_constant('system.source')) + 1)
                                         ELSE r->'identifier'->0->>'system' END,
                   'source_id', r->'identifier'->0->'value',
                   'pid', p.pid,
                   '_problem', p.problem))
           ORDER BY o)
    INTO items
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(bundle->'entry') = 'array' THEN bundle->'entry' ELSE '[]' END)
             WITH ORDINALITY AS x(e, o),
         LATERAL (SELECT e->'resource' AS r) rr,
         LATERAL deling.fhir_subject_pid(r->subject, res, subject) p
    WHERE r->>'resourceType' = fi->>'resource';
    IF items IS NULL THEN
        RAISE EXCEPTION 'the Bundle has no % resources', fi->>'resource' USING ERRCODE = '22023';
    END IF;
    RETURN items;
END
$$;
COMMENT ON FUNCTION deling.fhir_items(jsonb, text) IS
    'The ingest items of a sharing service in a FHIR Bundle, found by its declaration''s fhir_in map (one per resource of its type)';
GRANT EXECUTE ON FUNCTION deling.fhir_items(jsonb, text), deling.fhir_map(jsonb, jsonb), deling.service_fhir_in(text)
    TO deling_integrasjon;
