-- ---------------------------------------------------------------------------
-- 10 machinery: a sharing service is declared once, and the platform makes
-- everything else from the declaration (docs/architecture.md, "Adding a
-- sharing service"): its table and the one history shape, forced RLS and
-- the standard policies, grants, and the service's functions - the item
-- check, all-or-nothing ingest (single, batch, FHIR Bundle), the FHIR
-- searchset read with paging through the sharing gate, the citizen's
-- blocks (by service and by code) and the access log, the count, and its
-- part of the legevakt summary.  The generated functions are ordinary,
-- pinned, commented functions (\sf shows them); every query they run names
-- kommune_nr, so it stays index- and shard-routable.
-- ---------------------------------------------------------------------------

ALTER TABLE deling.service ADD COLUMN declaration jsonb;
COMMENT ON COLUMN deling.service.declaration IS
    'The service''s declaration (deling.declare_service): fields, table, checks, read, FHIR mapping, summary; NULL for a service announced but not yet built';

-- fill: a code template with every @name@ replaced by vars->>name (the
-- generator's one way of writing code; a name missing from vars is an error)
CREATE FUNCTION deling.fill(template text, vars jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k text;
    result text := template;
    left_over text;
BEGIN
    FOR k IN SELECT jsonb_object_keys(vars) ORDER BY 1 DESC LOOP
        result := replace(result, '@' || k || '@', coalesce(vars->>k, ''));
    END LOOP;
    left_over := substring(result FROM '@([a-z_]+)@');
    IF left_over IS NOT NULL THEN
        RAISE EXCEPTION 'code template names @%@, which has no value', left_over USING ERRCODE = '22023';
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION deling.fill(text, jsonb) IS
    'The service generator''s templating: every @name@ in the template replaced by the value of name';

-- field_sql_type: the column type of a declared field's type
CREATE FUNCTION deling.field_sql_type(type text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE type WHEN 'text' THEN 'text' WHEN 'integer' THEN 'integer' WHEN 'numeric' THEN 'numeric'
                     WHEN 'boolean' THEN 'boolean' WHEN 'date' THEN 'date' WHEN 'timestamptz' THEN 'timestamptz'
                     WHEN 'jsonb' THEN 'jsonb' WHEN 'hpr' THEN 'text' WHEN 'orgnr' THEN 'text' WHEN 'uuid' THEN 'uuid'
                     WHEN 'text[]' THEN 'text[]' WHEN 'daterange[]' THEN 'daterange[]' END;
$$;

-- field_ingest_sql: the SQL expression that turns a field of an item
-- (`item`, jsonb) into its column value: the field's own "ingest"
-- expression, or the cast its type implies, defaulted when declared.  A
-- date or timestamptz is cast plainly: the item check has taken it only as
-- a strict ISO 8601 date (deling.iso_date) or date and time with an offset
-- (deling.try_timestamptz), which the cast reads to the same value, and a
-- cast costs no pinned function call per row
CREATE FUNCTION deling.field_ingest_sql(f jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN f->>'default' IS NOT NULL THEN format('coalesce(%s, %L::%s)', e, f->>'default', deling.field_sql_type(f->>'type'))
                ELSE e END
    FROM (SELECT coalesce(f->>'ingest', CASE f->>'type'
              WHEN 'text' THEN format('item->>%L', f->>'name')
              WHEN 'hpr' THEN format('item->>%L', f->>'name')
              WHEN 'orgnr' THEN format('item->>%L', f->>'name')
              WHEN 'integer' THEN format('(item->>%L)::numeric::integer', f->>'name')
              WHEN 'numeric' THEN format('(item->>%L)::numeric', f->>'name')
              WHEN 'boolean' THEN format('(item->>%L)::boolean', f->>'name')
              WHEN 'date' THEN format('(item->>%L)::date', f->>'name')
              WHEN 'timestamptz' THEN format('(item->>%L)::timestamptz', f->>'name')
              WHEN 'jsonb' THEN format('item->%L', f->>'name')
              WHEN 'uuid' THEN format('(item->>%L)::uuid', f->>'name')
              WHEN 'text[]' THEN format('ARRAY(SELECT jsonb_array_elements_text(item->%L))', f->>'name') END) AS e) x;
$$;

-- field_problem: NULL when an item's field fits its declaration (type,
-- enum, pattern, length, range, dates between 1900 and the bound ahead, a
-- time not in the future when not_future), else what is wrong.  A missing
-- optional field is fine (required fields are checked by item_fields_problem).
CREATE FUNCTION deling.field_problem(item jsonb, f jsonb) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text := f->>'name';
    v jsonb := item->name;
    t text := coalesce(jsonb_typeof(v), 'null');
    s text := item->>name;
    ts timestamptz;
BEGIN
    IF t = 'null' THEN
        RETURN NULL;
    END IF;
    CASE f->>'type'
        WHEN 'text', 'hpr', 'orgnr', 'date', 'timestamptz', 'uuid' THEN
            IF t <> 'string' THEN
                RETURN format('%s must be a string, not %s', name, deling.clip(v::text, 40));
            END IF;
        WHEN 'integer' THEN
            IF t <> 'number' OR s::numeric <> trunc(s::numeric) OR abs(s::numeric) > 2147483647 THEN
                RETURN format('%s must be a whole number, not %s', name, deling.clip(v::text, 40));
            END IF;
        WHEN 'numeric' THEN
            IF t <> 'number' THEN
                RETURN format('%s must be a number, not %s', name, deling.clip(v::text, 40));
            END IF;
        WHEN 'boolean' THEN
            IF t <> 'boolean' THEN
                RETURN format('%s must be true or false, not %s', name, deling.clip(v::text, 40));
            END IF;
        WHEN 'text[]' THEN
            IF t <> 'array' OR EXISTS (SELECT FROM jsonb_array_elements(v) e WHERE jsonb_typeof(e) <> 'string') THEN
                RETURN format('%s must be an array of strings', name);
            END IF;
        ELSE
            NULL;
    END CASE;
    IF f->>'type' = 'hpr' AND s !~ '^[0-9]{1,9}$' THEN
        RETURN format('%s "%s" is not an HPR number', name, deling.clip(s, 20));
    END IF;
    IF f->>'type' = 'orgnr' AND NOT deling.orgnr_valid(s) THEN
        RETURN format('%s "%s" is not a valid organisasjonsnummer', name, deling.clip(s, 20));
    END IF;
    IF f->>'type' = 'uuid' AND s !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        RETURN format('%s "%s" is not a UUID', name, deling.clip(s, 40));
    END IF;
    IF f->>'type' = 'date' THEN
        IF deling.iso_date(s) IS NULL THEN
            RETURN format('%s "%s" is not a date (YYYY-MM-DD)', name, deling.clip(s, 40));
        END IF;
        RETURN deling.date_bound_problem(name, deling.iso_date(s), coalesce((f->>'years_ahead')::int, 10));
    END IF;
    IF f->>'type' = 'timestamptz' THEN
        ts := CASE WHEN s ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$'
                   THEN deling.try_timestamptz(s) END;
        IF ts IS NULL THEN
            RETURN format('%s "%s" must be an ISO 8601 date and time with a UTC offset, e.g. 2026-11-20T08:15:00+01:00',
                          name, deling.clip(s, 40));
        END IF;
        IF (f->>'not_future')::boolean AND ts > now() + interval '5 minutes' THEN
            RETURN format('%s %s is in the future', name, s);
        END IF;
        RETURN deling.date_bound_problem(name, (ts AT TIME ZONE 'Europe/Oslo')::date, coalesce((f->>'years_ahead')::int, 10));
    END IF;
    IF f ? 'enum' AND NOT f->'enum' ? s THEN
        RETURN format('%s "%s" is not one of %s', name, deling.clip(s, 40),
                      (SELECT string_agg(e, ', ') FROM jsonb_array_elements_text(f->'enum') e));
    END IF;
    IF f ? 'pattern' AND s !~ (f->>'pattern') THEN
        RETURN format('%s "%s" is not of the form %s', name, deling.clip(s, 40), f->>'pattern');
    END IF;
    IF f ? 'max_length' AND length(s) > (f->>'max_length')::int THEN
        RETURN format('%s is longer than %s characters', name, f->>'max_length');
    END IF;
    IF f ? 'min' AND s::numeric < (f->>'min')::numeric THEN
        RETURN format('%s %s is below %s', name, s, f->>'min');
    END IF;
    IF f ? 'max' AND s::numeric > (f->>'max')::numeric THEN
        RETURN format('%s %s is above %s', name, s, f->>'max');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION deling.field_problem(jsonb, jsonb) IS
    'Generated item checks: NULL when an item''s field fits its declaration, else what is wrong';

-- source_problem: the checks every item's source key has (the key of an
-- item in its source system; re-sending it is idempotent)
CREATE FUNCTION deling.source_problem(item jsonb) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN coalesce(jsonb_typeof(item->'source_system'), 'null') <> 'string' OR coalesce(jsonb_typeof(item->'source_id'), 'null') <> 'string'
        THEN 'source_system and source_id must be strings'
        WHEN item->>'source_system' !~ '^[A-Za-z0-9._:/-]{1,100}$'
        THEN format('source_system "%s" must be 1-100 characters of A-Z a-z 0-9 . _ : / -', deling.clip(item->>'source_system', 40))
        WHEN length(item->>'source_id') NOT BETWEEN 1 AND 200
        THEN 'source_id must be 1-200 characters' END;
$$;

-- what a declared service's generated item check, its fhir_in map and the
-- ingest expressions of its fields run as the calling integration (pure
-- helpers: they read no table)
GRANT EXECUTE ON FUNCTION deling.field_problem(jsonb, jsonb), deling.source_problem(jsonb), deling.clip(text, integer),
    deling.fhir_source_system(text), deling.fhir_constant(text)
    TO deling_integrasjon;
