-- ---------------------------------------------------------------------------
-- 11 generator: deling.declare_service and the code templates it fills.
-- Each template below is the one definition of that piece for every
-- sharing service; a service's declaration supplies the names, columns and
-- expressions (docs/architecture.md lists the declaration's keys).
-- ---------------------------------------------------------------------------

-- declaration_problem: NULL when a declaration has what the generator
-- needs, else what is missing or malformed
CREATE FUNCTION deling.declaration_problem(d jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f jsonb;
    bad text;
BEGIN
    IF jsonb_typeof(d) IS DISTINCT FROM 'object' THEN
        RETURN 'a declaration is a JSON object';
    END IF;
    IF d->>'code' !~ '^[a-z][a-z0-9-]{1,40}$' THEN
        RETURN format('code "%s" must be 2-41 characters of a-z 0-9 -, starting with a letter', d->>'code');
    END IF;
    IF coalesce(btrim(d->>'name'), '') = '' OR coalesce(btrim(d->>'description'), '') = '' THEN
        RETURN 'name and description are required';
    END IF;
    IF d->>'table' !~ '^[a-z][a-z0-9_]{1,40}$' OR d->>'record_id' !~ '^[a-z][a-z0-9_]{1,40}$' THEN
        RETURN 'table and record_id must be identifiers of a-z 0-9 _';
    END IF;
    IF jsonb_typeof(d->'fields') IS DISTINCT FROM 'array' OR jsonb_array_length(d->'fields') = 0 THEN
        RETURN 'fields must be a non-empty array';
    END IF;
    FOR f IN SELECT * FROM jsonb_array_elements(d->'fields') LOOP
        IF f->>'name' !~ '^[a-z][a-z0-9_]{0,40}$' OR deling.field_sql_type(f->>'type') IS NULL THEN
            RETURN format('field %s needs a name (a-z 0-9 _) and a type (text, integer, numeric, boolean, date, timestamptz, jsonb, hpr, orgnr, uuid, text[])', f);
        END IF;
    END LOOP;
    IF jsonb_typeof(d->'order') IS DISTINCT FROM 'array' OR jsonb_array_length(d->'order') = 0 THEN
        RETURN 'order must name at least one column';
    END IF;
    IF d->'read'->>'function' !~ '^[a-z][a-z0-9_]{1,60}$' THEN
        RETURN 'read.function must name the api function of the FHIR read';
    END IF;
    IF NOT coalesce(d->'fhir' ? 'template' OR d->'fhir' ? 'renderer', false) THEN
        RETURN 'fhir needs a template or a renderer';
    END IF;
    IF d->'fhir' ? 'context' AND (jsonb_typeof(d->'fhir'->'context') IS DISTINCT FROM 'string' OR d->'fhir' ? 'renderer') THEN
        RETURN 'fhir.context is an SQL expression over the row r (a string), for a template';
    END IF;
    IF d ? 'synthetic' AND to_regprocedure((d->>'synthetic') || '(text, text[], integer)') IS NULL THEN
        RETURN format('synthetic must name a function (kommune_nr text, pids text[], seed integer) returning items, not %s', d->>'synthetic');
    END IF;
    IF jsonb_typeof(d->'fhir_in') IS DISTINCT FROM 'object' THEN
        RETURN 'fhir_in (how a FHIR Bundle is read into items: a parser, or a resource type and a map) is required';
    END IF;
    IF NOT d->'fhir_in' ? 'parser' AND coalesce(d->'fhir_in'->>'resource', '') !~ '^[A-Z][A-Za-z]{1,60}$' THEN
        RETURN 'fhir_in needs a parser, or the resource type its map reads';
    END IF;
    IF d->'fhir_in' ? 'parser' AND to_regprocedure((d->'fhir_in'->>'parser') || '(jsonb)') IS NULL THEN
        RETURN format('fhir_in.parser must name a function (bundle jsonb) returning items, not %s', d->'fhir_in'->>'parser');
    END IF;
    IF NOT d->'fhir_in' ? 'parser' OR d->'fhir_in' ? 'map' THEN
        bad := deling.fhir_map_problem(d->'fhir_in'->'map');
        IF bad IS NOT NULL THEN
            RETURN bad;
        END IF;
        -- without a parser the map's values are the items' fields; a parser
        -- may map to names of its own first and make the items from them
        bad := (SELECT string_agg(k, ', ') FROM jsonb_object_keys(d->'fhir_in'->'map') k
                WHERE NOT d->'fhir_in' ? 'parser' AND k NOT IN (SELECT x->>'name' FROM jsonb_array_elements(d->'fields') x));
        IF bad IS NOT NULL THEN
            RETURN format('fhir_in.map names what is not a field: %s', bad);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION deling.declaration_problem(jsonb) IS
    'NULL when a sharing-service declaration has what deling.declare_service needs, else what is wrong';

CREATE FUNCTION deling.in_extension_script() RETURNS boolean
    AS 'MODULE_PATHNAME', 'deling_in_extension_script' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.in_extension_script() IS
    'True while CREATE or ALTER EXTENSION runs a script (where sharing services are declared)';

-- declare_service: make a sharing service from its declaration (run by the
-- release script that adds the service; again to change it).  Creates its
-- table and history table unless they exist, and (re)generates its
-- functions and the legevakt summary.
CREATE FUNCTION deling.declare_service(d jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    problem text := deling.declaration_problem(d);
BEGIN
    IF NOT deling.in_extension_script() THEN
        RAISE EXCEPTION 'a sharing service is declared by a release script of the extension, not in a session'
            USING ERRCODE = '55000',
                  HINT = 'Put the declaration in the release''s update script (docs/architecture.md, "Adding a sharing service") and run ALTER EXTENSION deling UPDATE.';
    END IF;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'invalid sharing-service declaration: %', problem USING ERRCODE = '22023';
    END IF;
    INSERT INTO deling.service (service_code, name, description, available, declaration)
    VALUES (d->>'code', d->>'name', d->>'description', true, d)
    ON CONFLICT (service_code) DO UPDATE
        SET name = excluded.name, description = excluded.description, available = true, declaration = excluded.declaration;
    IF to_regclass(format('deling.%I', d->>'table')) IS NULL THEN
        EXECUTE deling.service_table_sql(d);
    END IF;
    IF to_regclass(format('deling.%I', (d->>'table') || '_history')) IS NULL THEN
        EXECUTE deling.service_history_sql(d);
    END IF;
    problem := deling.renderer_problem(d);
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'invalid sharing-service declaration: %', problem USING ERRCODE = '22023';
    END IF;
    EXECUTE deling.service_ingest_sql(d);
    EXECUTE deling.service_read_sql(d);
    EXECUTE deling.legevakt_summary_sql();
END
$$;
COMMENT ON FUNCTION deling.declare_service(jsonb) IS
    'Release scripts: make a sharing service from its declaration: table, history, policies, grants, ingest, FHIR read, count, legevakt summary';

-- renderer_problem: NULL when the renderers a declaration names (fhir and
-- summary) take the service's rows (deling.<table>[], other arguments
-- defaulted) and return their searchset entries as json, and the fhir one
-- is the only function of its name (the read names it: regproc), else what
-- is wrong; checked once the table, and so its row type, exists
CREATE FUNCTION deling.renderer_problem(d jsonb) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN x.fits = 0
                THEN format('%s %s must be a function of the service''s rows (deling.%s[]) that returns json',
                            k, d->k->>'renderer', d->>'table')
                ELSE format('%s %s must be the only function of its name (the read names it)', k, d->k->>'renderer') END
    FROM unnest(ARRAY['fhir', 'summary']) k
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE p.pronargs >= 1 AND p.pronargs - p.pronargdefaults <= 1
                                  AND p.proargtypes[0] = to_regtype(format('deling.%I[]', d->>'table'))
                                  AND p.prorettype = 'json'::regtype AND NOT p.proretset) AS fits,
               count(*) AS named
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE ARRAY[n.nspname::text, p.proname::text] = parse_ident(d->k->>'renderer', false)) x
    WHERE d->k ? 'renderer' AND (x.fits = 0 OR (k = 'fhir' AND x.named > 1))
    ORDER BY k LIMIT 1;
$$;
COMMENT ON FUNCTION deling.renderer_problem(jsonb) IS
    'NULL when a declaration''s own renderers take its rows and return json entries, else what is wrong';

-- service_vars: the names every template of a service uses
CREATE FUNCTION deling.service_vars(d jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_build_object(
        'code', d->>'code',
        'code_lit', quote_literal(d->>'code'),
        'svc', replace(d->>'code', '-', '_'),
        'name_lit', quote_literal(d->>'name'),
        'table', d->>'table',
        'record_id', d->>'record_id',
        'order_col', d->'order'->0->>'column',
        'items_fn', coalesce(d->'ingest'->>'items_function', replace(d->>'code', '-', '_') || '_ingest_items'),
        'item_problem_comment', quote_literal(format('NULL when a JSON item is a valid %s item, else what is wrong (generated from the declaration)', d->>'name')),
        'items_comment', quote_literal(format('Validate and write a JSON array of %s items for the caller''s kommune, all or nothing (generated from the declaration)', d->>'name')),
        'entries_comment', quote_literal(format('The searchset entries of %s records: their FHIR resources from the declaration''s template (generated)', d->>'name')),
        'rows_comment', quote_literal(format('The %s records a gate-approved read may return, in reading order (generated from the declaration)', d->>'name')));
$$;

-- service_table_sql: the table of a new service: the standard columns
-- around the declared fields; every key leads with kommune_nr (plain text
-- with a CHECK, so that it can distribute a table on Citus)
CREATE FUNCTION deling.service_table_sql(d jsonb) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.fill($t$
CREATE TABLE deling.@table@ (
    kommune_nr    text NOT NULL CHECK (kommune_nr ~ '^[0-9]{4}$') REFERENCES deling.kommune,
    @record_id@   uuid NOT NULL DEFAULT gen_random_uuid(),
    pid           text NOT NULL CHECK (deling.fnr_valid(pid)),
@columns@
    source_system text NOT NULL CHECK (source_system ~ '^[A-Za-z0-9._:/-]{1,100}$'),
    source_id     text NOT NULL CHECK (length(source_id) BETWEEN 1 AND 200),
    version       integer NOT NULL DEFAULT 1,
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kommune_nr, @record_id@),
    UNIQUE (kommune_nr, source_system, source_id),
    FOREIGN KEY (kommune_nr, pid) REFERENCES deling.citizen (kommune_nr, pid)
);
COMMENT ON TABLE deling.@table@ IS @table_comment@;
CREATE INDEX @table@_citizen ON deling.@table@ (kommune_nr, pid, @order_col@);
SELECT deling.share_table('deling.@table@', @code_lit@, readable => true);
GRANT SELECT, INSERT, UPDATE ON deling.@table@ TO deling_integrasjon;
GRANT SELECT, INSERT, UPDATE, DELETE ON deling.@table@ TO deling_admin;
SELECT pg_catalog.pg_extension_config_dump('deling.@table@', '');
$t$, deling.service_vars(d) || jsonb_build_object(
        'table_comment', quote_literal(format('%s (sharing service %s), per kommune; RLS forced', d->>'name', d->>'code')),
        'columns', (SELECT string_agg(format('    %-13s %s%s%s,', f->>'name', deling.field_sql_type(f->>'type'),
                                             CASE WHEN f->>'type' = 'hpr' THEN format(' CHECK (%I ~ ''^[0-9]{1,9}$'')', f->>'name')
                                                  WHEN f->>'type' = 'orgnr' THEN format(' CHECK (deling.orgnr_valid(%I))', f->>'name')
                                                  ELSE '' END,
                                             CASE WHEN (f->>'required')::boolean OR f ? 'default' THEN ' NOT NULL' ELSE '' END), E'\n'
                                      ORDER BY o)
                    FROM jsonb_array_elements(d->'fields') WITH ORDINALITY AS x(f, o))
                    || coalesce(E'\n' || (SELECT string_agg(format('    %-13s %s,', g->>'name', deling.field_sql_type(g->>'type')), E'\n')
                                          FROM jsonb_array_elements(d->'derived') g), '')));
$$;

-- service_history_sql: the one history shape: the table's columns (LIKE,
-- generated columns as plain values) and when the version was superseded;
-- a trigger keeps every version an update replaces
CREATE FUNCTION deling.service_history_sql(d jsonb) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.fill($t$
CREATE TABLE deling.@table@_history (
    LIKE deling.@table@,
    superseded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kommune_nr, @record_id@, version),
    FOREIGN KEY (kommune_nr, @record_id@) REFERENCES deling.@table@ (kommune_nr, @record_id@)
);
COMMENT ON TABLE deling.@table@_history IS @history_comment@;
SELECT deling.share_table('deling.@table@_history', @code_lit@, readable => @history_readable@);
GRANT SELECT, INSERT ON deling.@table@_history TO deling_integrasjon;
GRANT SELECT, INSERT, UPDATE, DELETE ON deling.@table@_history TO deling_admin;
SELECT pg_catalog.pg_extension_config_dump('deling.@table@_history', '');

CREATE FUNCTION deling.@table@_keep_history() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
    INSERT INTO deling.@table@_history SELECT (OLD).*, now();
    RETURN NULL;
END
$f$;
COMMENT ON FUNCTION deling.@table@_keep_history() IS 'Trigger (generated): keep the version an update replaces';
CREATE TRIGGER @table@_keep_history AFTER UPDATE ON deling.@table@
    FOR EACH ROW EXECUTE FUNCTION deling.@table@_keep_history();
$t$, deling.service_vars(d) || jsonb_build_object(
        'history_comment', quote_literal(format('Earlier versions of %s records (sharing service %s): the same columns and when it was superseded',
                                                d->>'table', d->>'code')),
        'history_readable', coalesce(d->>'history_readable', 'false')));
$$;

-- service_ingest_sql: a service's ingest.  The item check (generated from
-- the fields, or the service's own), then one function that checks a batch
-- whole and writes it all or nothing: new source keys are created,
-- unchanged ones left alone, changed ones amended (the old version kept by
-- the history trigger), a withdrawal withdraws; a per-item report.  And the
-- api functions for one item, a batch and a FHIR Bundle.  The writer runs
-- as deling_owner and names the caller's kommune in every row it writes
-- (deling_owner's write policies check it; on Citus, where the caller's
-- role cannot reach the workers, it is the tenancy).
CREATE FUNCTION deling.service_ingest_sql(d jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v jsonb := deling.service_vars(d);
    i jsonb := coalesce(d->'ingest', '{}');
    st jsonb := coalesce(d->'status', '{}');
    stcol text := st->>'column';
    fields jsonb := d->'fields';
    svc text := v->>'svc';
    item_problem text := coalesce(i->>'item_problem', format('deling.%s_item_problem', svc));
    sql text := '';
BEGIN
    v := v || jsonb_build_object(
        'prefix', coalesce(i->>'prefix', svc || '_ingest'),
        'item_param', coalesce(i->>'item_param', 'item'),
        'batch_param', coalesce(i->>'batch_param', 'items'),
        'label_lit', quote_literal(coalesce(i->>'label', d->>'name')),
        'item_problem_lit', quote_literal(item_problem),
        'batch_problem', CASE WHEN i ? 'batch_problem'
                              THEN format(E'    IF problems IS NULL THEN\n        problems := %s(items, kommune);\n    END IF;\n', i->>'batch_problem')
                              ELSE '' END,
        'cols', (SELECT string_agg(quote_ident(f->>'name'), ', ' ORDER BY o) FROM jsonb_array_elements(fields) WITH ORDINALITY x(f, o)),
        'exprs', (SELECT string_agg(deling.field_ingest_sql(f), E',\n               ' ORDER BY o)
                  FROM jsonb_array_elements(fields) WITH ORDINALITY x(f, o)),
        'set', (SELECT string_agg(format('%1$I = excluded.%1$I', f->>'name'), ', ' ORDER BY o)
                FROM jsonb_array_elements(fields) WITH ORDINALITY x(f, o)
                WHERE f->>'name' IS DISTINCT FROM CASE WHEN st ? 'amended' THEN stcol END),
        'status_set', CASE WHEN st ? 'amended'
                           THEN format('%1$I = CASE excluded.%1$I WHEN %2$L THEN %2$L ELSE %3$L END, ', stcol, st->>'withdrawn', st->>'amended')
                           ELSE '' END,
        'compared', (SELECT string_agg(format('m.%I', f->>'name'), ', ' ORDER BY o)
                     FROM jsonb_array_elements(fields) WITH ORDINALITY x(f, o)
                     WHERE coalesce((f->>'compare')::boolean, true) AND f->>'name' IS DISTINCT FROM CASE WHEN st ? 'amended' THEN stcol END),
        'compared_new', (SELECT string_agg(format('excluded.%I', f->>'name'), ', ' ORDER BY o)
                         FROM jsonb_array_elements(fields) WITH ORDINALITY x(f, o)
                         WHERE coalesce((f->>'compare')::boolean, true) AND f->>'name' IS DISTINCT FROM CASE WHEN st ? 'amended' THEN stcol END),
        'withdraw_toggle', CASE WHEN st ? 'amended'
                                THEN format(E'\n           OR (excluded.%1$I = %2$L) <> (m.%1$I = %2$L)', stcol, st->>'withdrawn')
                                ELSE '' END,
        'returning', coalesce((SELECT string_agg(format(', m.%I', r->>'column'), '')
                               FROM jsonb_array_elements(i->'report') r WHERE r ? 'column'), ''),
        'report', coalesce((SELECT string_agg(format(E',\n                   %L, %s', r->>'key',
                                                     coalesce(r->>'expr', format('coalesce(w.%1$I, cur.%1$I)', r->>'column'))), '' ORDER BY o)
                            FROM jsonb_array_elements(i->'report') WITH ORDINALITY x(r, o)), ''),
        'item_comment', quote_literal(coalesce(i->'comments'->>'item', format('Record one %s item (integrations): all or nothing, idempotent on source_system + source_id; changed values amend it and keep the old version. Returns the item''s report.', d->>'name'))),
        'batch_comment', quote_literal(coalesce(i->'comments'->>'batch', format(E'Record a batch of %s items (integrations), all or nothing.\nA JSON array of up to 10000 items. If any is invalid the batch is rejected (HTTP 400, SQLSTATE 22023) with a per-item report in details and nothing is written; otherwise returns a per-item report.', d->>'name'))),
        'fhir_comment', quote_literal(coalesce(i->'comments'->>'fhir', format('Record %s items sent as a FHIR R4 Bundle of %s resources (integrations), all or nothing.', d->>'name', coalesce(d->'fhir_in'->>'resource', 'FHIR')))),
        'fhir_items', CASE WHEN d->'fhir_in' ? 'parser' THEN format('%s(bundle)', d->'fhir_in'->>'parser')
                           ELSE format('deling.fhir_items(bundle, %L)', d->>'code') END);

    -- the item check from the fields, unless the service brings its own
    IF NOT i ? 'item_problem' THEN
        sql := sql || deling.fill($t$
CREATE OR REPLACE FUNCTION deling.@svc@_item_problem(item jsonb) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
    bad text;
BEGIN
    IF jsonb_typeof(item) IS DISTINCT FROM 'object' THEN
        RETURN 'item is not a JSON object';
    END IF;
    IF item ? '_problem' THEN
        RETURN item->>'_problem';
    END IF;
    bad := deling.item_fields_problem(item, @allowed@, @required@);
    IF bad IS NOT NULL THEN
        RETURN bad;
    END IF;
    IF deling.fnr_problem(item->>'pid') IS NOT NULL THEN
        RETURN format('pid "%s" is not a valid identity number: %s', deling.clip(item->>'pid', 20), deling.fnr_problem(item->>'pid'));
    END IF;
    bad := coalesce(deling.source_problem(item)@field_checks@);
    IF bad IS NOT NULL THEN
        RETURN bad;
    END IF;
    RETURN @check@;
END
$f$;
COMMENT ON FUNCTION deling.@svc@_item_problem(jsonb) IS @item_problem_comment@;
GRANT EXECUTE ON FUNCTION deling.@svc@_item_problem(jsonb) TO deling_integrasjon;
$t$, v || jsonb_build_object(
            'allowed', quote_literal(ARRAY['pid', 'source_system', 'source_id', 'kommune_nr']
                                     || ARRAY(SELECT f->>'name' FROM jsonb_array_elements(fields) f WHERE NOT coalesce((f->>'internal')::boolean, false)))
                       || '::text[]',
            'required', quote_literal(ARRAY['pid', 'source_system', 'source_id']
                                      || ARRAY(SELECT f->>'name' FROM jsonb_array_elements(fields) f WHERE (f->>'required')::boolean))
                        || '::text[]',
            'field_checks', (SELECT string_agg(format(E',\n                   deling.field_problem(item, %L::jsonb)', f)
                                               || CASE WHEN f ? 'check'
                                                       THEN format(E',\n                   CASE WHEN item ? %L THEN %s(item->>%L) END', f->>'name', f->>'check', f->>'name')
                                                       ELSE '' END, '' ORDER BY o)
                             FROM jsonb_array_elements(fields) WITH ORDINALITY x(f, o)),
            'check', CASE WHEN d ? 'check' THEN format('%s(item)', d->>'check') ELSE 'NULL' END));
    END IF;

    sql := sql || deling.fill($t$
CREATE OR REPLACE FUNCTION deling.@items_fn@(items jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
    kommune text := deling.ingest_kommune(@code_lit@);
    problems jsonb := deling.ingest_problems(items, kommune, @item_problem_lit@);
    n integer := jsonb_array_length(items);
    report jsonb;
BEGIN
@batch_problem@    IF problems IS NOT NULL THEN
        PERFORM deling.ingest_reject(@label_lit@, problems, n);
    END IF;

    PERFORM deling.add_citizens(kommune, ARRAY(SELECT DISTINCT item->>'pid' FROM jsonb_array_elements(items) item));


    WITH input AS (
        SELECT ord, item, item->>'source_system' AS source_system, item->>'source_id' AS source_id
        FROM jsonb_array_elements(items) WITH ORDINALITY AS e(item, ord)),
    written AS (
        INSERT INTO deling.@table@ AS m (kommune_nr, pid, @cols@, source_system, source_id)
        SELECT kommune, item->>'pid',
               @exprs@,
               source_system, source_id
        FROM input
        ON CONFLICT (kommune_nr, source_system, source_id) DO UPDATE SET
            pid = excluded.pid, @set@,
            @status_set@version = m.version + 1, received_at = excluded.received_at
        WHERE (m.pid, @compared@) IS DISTINCT FROM (excluded.pid, @compared_new@)@withdraw_toggle@
        RETURNING m.source_system, m.source_id, m.@record_id@, m.xmax = 0 AS created@returning@)
    SELECT jsonb_build_object(
               'kommune_nr', kommune,
               'received', n,
               'created', count(*) FILTER (WHERE w.created),
               'amended', count(*) FILTER (WHERE w.source_id IS NOT NULL AND NOT w.created),
               'unchanged', count(*) FILTER (WHERE w.source_id IS NULL),
               -- the items' null members left out in one pass over the array
               'items', jsonb_strip_nulls(jsonb_agg(jsonb_build_object(
                   'item', i.ord,
                   'source_id', i.source_id,
                   'result', CASE WHEN w.source_id IS NULL THEN 'unchanged' WHEN w.created THEN 'created' ELSE 'amended' END,
                   '@record_id@', coalesce(w.@record_id@, cur.@record_id@)@report@)
                   ORDER BY i.ord)))
    INTO report
    FROM input i
    LEFT JOIN written w ON w.source_system = i.source_system AND w.source_id = i.source_id
    -- unchanged items: the stored row, one unique-index probe each (the
    -- keys are the input's text columns: under forced RLS a qual calling a
    -- function that is not leakproof, such as ->>, is no index condition)
    LEFT JOIN LATERAL (
        SELECT c.* FROM deling.@table@ c
        WHERE w.source_id IS NULL AND c.kommune_nr = kommune
          AND c.source_system = i.source_system AND c.source_id = i.source_id
        LIMIT 1) cur ON true;
    RETURN report;
END
$f$;
COMMENT ON FUNCTION deling.@items_fn@(jsonb) IS @items_comment@;
GRANT EXECUTE ON FUNCTION deling.@items_fn@(jsonb) TO deling_integrasjon;

CREATE OR REPLACE FUNCTION api.@prefix@(@item_param@ jsonb) RETURNS jsonb
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $f$
    SELECT r->'items'->0 FROM deling.@items_fn@(jsonb_build_array(@item_param@)) r;
$f$;
COMMENT ON FUNCTION api.@prefix@(jsonb) IS @item_comment@;
CREATE OR REPLACE FUNCTION api.@prefix@_batch(@batch_param@ jsonb) RETURNS jsonb
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $f$
    SELECT deling.@items_fn@(@batch_param@);
$f$;
COMMENT ON FUNCTION api.@prefix@_batch(jsonb) IS @batch_comment@;
CREATE OR REPLACE FUNCTION api.@prefix@_fhir(bundle jsonb) RETURNS jsonb
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $f$
    SELECT deling.@items_fn@(@fhir_items@);
$f$;
COMMENT ON FUNCTION api.@prefix@_fhir(jsonb) IS @fhir_comment@;
GRANT EXECUTE ON FUNCTION api.@prefix@(jsonb), api.@prefix@_batch(jsonb), api.@prefix@_fhir(jsonb) TO deling_integrasjon, deling_admin;
$t$, v);
    RETURN sql;
END
$$;
COMMENT ON FUNCTION deling.service_ingest_sql(jsonb) IS
    'The generator: a service''s item check, all-or-nothing ingest and its api functions, from its declaration';

-- blocks_of: what a gate-approved read of a service may return once the
-- citizen's blocks apply: the kommuner not blocked whole (and, of those,
-- only the ones that hold the citizen: deling.holding_kommuner), the
-- (kommune, code) pairs blocked by code, and the OperationOutcome that says
-- information is withheld (or, for an emergency, which opens every block,
-- shown and flagged).  The person's blocks and who holds them are read in
-- one statement (deling.person_state).
CREATE FUNCTION deling.blocks_of(service text, pid text, kommuner text[], purpose text,
                                 OUT readable text[], OUT blocked_k text[], OUT blocked_c text[], OUT outcome jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    person record := deling.person_state(pid);
    emergency boolean;
    orgs text[];
    blocks jsonb;
    whole text[];
    any_block boolean;
BEGIN
    -- most citizens block nothing: then every kommune that holds them is
    -- readable, and neither the purpose nor the caller's organisation matters
    IF coalesce(jsonb_array_length(person.blocks), 0) = 0 THEN
        readable := deling.holding_kommuner(pid, kommuner);
        blocked_k := '{}';
        blocked_c := '{}';
        RETURN;
    END IF;
    emergency := deling.is_emergency(purpose);
    orgs := ARRAY[nullif(current_setting('deling.ctx_orgnr_child'), ''), nullif(current_setting('deling.ctx_orgnr_parent'), '')];
    -- the blocks that apply to the caller for this service in these kommuner (as deling.blocks_for)
    SELECT coalesce(jsonb_agg(x ORDER BY x->>'kommune_nr'), '[]') INTO blocks
    FROM jsonb_array_elements(person.blocks) x
    WHERE x->>'kommune_nr' = ANY (kommuner) AND (x->>'service' IS NULL OR x->>'service' = service)
      AND (jsonb_typeof(x->'organisations') IS DISTINCT FROM 'array'
           OR ARRAY(SELECT jsonb_array_elements_text(x->'organisations')) && orgs);
    whole := ARRAY(SELECT DISTINCT x->>'kommune_nr' FROM jsonb_array_elements(blocks) x
                   WHERE jsonb_typeof(x->'codes') IS DISTINCT FROM 'array' ORDER BY 1);
    any_block := jsonb_array_length(blocks) > 0;
    IF emergency THEN
        readable := kommuner;
        blocked_k := '{}';
        blocked_c := '{}';
    ELSE
        readable := ARRAY(SELECT k FROM unnest(kommuner) k WHERE k <> ALL (whole));
        SELECT coalesce(array_agg(x->>'kommune_nr' ORDER BY x->>'kommune_nr', c), '{}'),
               coalesce(array_agg(c ORDER BY x->>'kommune_nr', c), '{}')
        INTO blocked_k, blocked_c
        FROM jsonb_array_elements(blocks) x, jsonb_array_elements_text(CASE jsonb_typeof(x->'codes') WHEN 'array' THEN x->'codes' ELSE '[]' END) c;
    END IF;
    -- of those, the kommuner that hold the citizen (every statement on the rows then names one)
    readable := deling.holding_kommuner(pid, readable);
    outcome := deling.sharing_outcome(any_block AND NOT emergency, any_block AND emergency);
END
$$;
COMMENT ON FUNCTION deling.blocks_of(text, text, text[], text) IS
    'The kommuner a read may return after the citizen''s blocks, the (kommune, code) pairs blocked by code, and the OperationOutcome about them';

-- page_token / page_after: the opaque token of the row a page ends with
-- (its ordering time in microseconds since 1970, and its id), and back
-- (NULLs for NULL and for what is not a token)
CREATE FUNCTION deling.page_token(at timestamptz, id uuid) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (extract(epoch FROM at) * 1000000)::bigint || '.' || id;
$$;
COMMENT ON FUNCTION deling.page_token(timestamptz, uuid) IS 'The page token of the row a page ends with';
CREATE FUNCTION deling.page_after(page text, OUT after_at timestamptz, OUT after_id uuid)
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT timestamptz 'epoch' + split_part(page, '.', 1)::bigint * interval '1 microsecond', split_part(page, '.', 2)::uuid
    WHERE page ~ '^-?[0-9]{1,16}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
$$;
COMMENT ON FUNCTION deling.page_after(text) IS 'The row a page token names (NULLs for what is not a token)';

-- service_entries_fn: the function that renders a service's rows as
-- searchset entries: its own renderer, or the one generated from its template
CREATE FUNCTION deling.service_entries_fn(d jsonb) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(d->'fhir'->>'renderer', format('deling.%s_entries', replace(d->>'code', '-', '_')));
$$;

-- service_read_sql: a service's rows (the one query every read of it
-- runs), its FHIR searchset read and (when declared) its count
CREATE FUNCTION deling.service_read_sql(d jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v jsonb := deling.service_vars(d);
    r jsonb := d->'read';
    st jsonb := coalesce(d->'status', '{}');
    codes jsonb := d->'codes';
    paging boolean := coalesce((r->>'paging')::boolean, false);
    since boolean := d ? 'since';
    hist text := r->>'history_param';
    sql text;
BEGIN
    v := v || jsonb_build_object(
        'read', r->>'function',
        'order', (SELECT string_agg(format('r.%I%s', o->>'column', CASE WHEN (o->>'desc')::boolean THEN ' DESC' ELSE '' END), ', ' ORDER BY n)
                  FROM jsonb_array_elements(d->'order') WITH ORDINALITY x(o, n)),
        'withdrawn', CASE WHEN st ? 'withdrawn' THEN format(E'\n                       AND r.%I <> %L', st->>'column', st->>'withdrawn') ELSE '' END,
        'since_cond', CASE WHEN since THEN format(E'\n                       AND (since IS NULL OR r.%I >= since)', d->>'since') ELSE '' END,
        'current_cond', CASE WHEN r ? 'current' THEN format(E'\n      AND (NOT current_only OR (%s))', r->>'current') ELSE '' END,
        'code_cond', CASE WHEN codes IS NULL THEN ''
                          WHEN codes->>'match' = 'prefix'
                          THEN format(E'\n      AND NOT EXISTS (SELECT FROM unnest(blocked_k, blocked_c) AS b(k, c)\n                      WHERE b.k = r.kommune_nr AND deling.code_block_matches(b.c, %s, r.%I))',
                                      CASE WHEN codes ? 'system_column' THEN format('r.%I', codes->>'system_column') ELSE 'NULL' END, codes->>'column')
                          ELSE format(E'\n      AND NOT EXISTS (SELECT FROM unnest(blocked_k, blocked_c) AS b(k, c) WHERE b.k = r.kommune_nr AND b.c = r.%I)',
                                      codes->>'column') END,
        'after_cond', CASE WHEN paging
                           THEN format(E'\n                       AND (after_at IS NULL OR r.%1$I < after_at OR (r.%1$I = after_at AND r.%2$I > after_id))',
                                       d->'order'->0->>'column', d->>'record_id')
                           ELSE '' END,
        -- the rows fetched may be limited to max when nothing is filtered out after fetching them
        'fetch_limit', CASE WHEN r ? 'current' OR codes IS NOT NULL
                            THEN format(E'\n                       LIMIT CASE WHEN %s THEN max END',
                                        concat_ws(' AND ', CASE WHEN r ? 'current' THEN 'NOT current_only' END,
                                                           CASE WHEN codes IS NOT NULL THEN 'coalesce(cardinality(blocked_c), 0) = 0' END))
                            ELSE E'\n                       LIMIT max' END,
        'since_arg', CASE WHEN since THEN ', since text DEFAULT NULL' ELSE '' END,
        'hist_arg', CASE WHEN hist IS NOT NULL THEN format(', %I boolean DEFAULT false', hist) ELSE '' END,
        'max_arg', CASE WHEN paging THEN format(', max integer DEFAULT %s', coalesce(r->>'max_default', '50')) ELSE '' END,
        'page_arg', CASE WHEN paging THEN ', page text DEFAULT NULL' ELSE '' END,
        'max_limit', coalesce(r->>'max_limit', '1000'),
        'current_only', CASE WHEN hist IS NOT NULL THEN format('NOT coalesce(%I, false)', hist) ELSE 'false' END,
        'since_at', CASE WHEN since THEN 'since_at' ELSE 'NULL' END,
        'renderer', format('%L::regproc', deling.service_entries_fn(d)),
        'render_rows', format('rows[1:%s]', CASE WHEN paging THEN 'max' ELSE 'cardinality(rows)' END),
        'link_args', 'ARRAY[''pid'', pid, ''purpose'', purpose'
                     || CASE WHEN since THEN ', ''since'', since' ELSE '' END
                     || CASE WHEN hist IS NOT NULL THEN format(', %L, %I::text', hist, hist) ELSE '' END
                     || CASE WHEN paging THEN ', ''max'', max::text' ELSE '' END
                     || ', ''reason'', reason'
                     || CASE WHEN paging THEN ', ''page'', page' ELSE '' END || ']',
        'read_args', 'text, text' || CASE WHEN since THEN ', text' ELSE '' END || CASE WHEN hist IS NOT NULL THEN ', boolean' ELSE '' END
                     || CASE WHEN paging THEN ', integer' ELSE '' END || ', text' || CASE WHEN paging THEN ', text' ELSE '' END,
        'read_comment', quote_literal(coalesce(r->>'comment', format('The %s of a citizen as a FHIR R4 searchset Bundle, through the sharing gate (duty need, purpose of use, reach, opt-in), the citizen''s blocks and the access log.', d->>'name'))));

    -- a service without a renderer of its own renders its template: each
    -- record as JSON with its Patient's id and identifier and its source
    -- key's identifier system added, so that a template refers to the
    -- Patient as {{patient_id}} and {{pid_identifier}}, and to the record's
    -- business identifier as {{source_system_uri}} and {{source_id}}; and
    -- what the declared "context" (an SQL expression over the record r,
    -- giving a JSON object) adds to it
    sql := CASE WHEN d->'fhir' ? 'renderer' THEN '' ELSE deling.fill($t$
CREATE OR REPLACE FUNCTION deling.@svc@_entries(rows deling.@table@[]) RETURNS json
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
    -- PL/pgSQL, so that its plan is kept for the session (an SQL function
    -- that cannot be inlined is parsed and planned at every call)
    IF coalesce(cardinality(rows), 0) = 0 THEN
        RETURN '[]';
    END IF;
    RETURN (WITH patient AS MATERIALIZED (
        SELECT p.pid, jsonb_build_object('patient_id', deling.fhir_patient_id(p.pid),
                                         'pid_identifier', deling.fhir_pid_identifier(p.pid)) AS context
        FROM (SELECT DISTINCT (rows[i]).pid FROM generate_subscripts(rows, 1) i) p)
    SELECT deling.fhir_render_entries(@template_lit@::jsonb,
               ARRAY(SELECT to_jsonb(x.r) || patient.context
                            || jsonb_build_object('source_system_uri', deling.fhir_source_system((x.r).source_system))@context@
                     FROM generate_subscripts(rows, 1) i CROSS JOIN LATERAL (SELECT rows[i] AS r) x
                     JOIN patient ON patient.pid = (x.r).pid ORDER BY i)));
END
$f$;
COMMENT ON FUNCTION deling.@svc@_entries(deling.@table@[]) IS @entries_comment@;
$t$, v || jsonb_build_object('template_lit', quote_literal(d->'fhir'->>'template'),
                             'context', CASE WHEN d->'fhir' ? 'context' THEN format(' || coalesce(%s, ''{}'')', d->'fhir'->>'context') ELSE '' END)) END;

    -- the rows: a statement on the table per kommune, naming the kommune and
    -- the citizen (on Citus a router query to the kommune's shard), with only
    -- conditions on its columns; what needs the whole row (the declaration's
    -- current) or the caller's blocks is checked after, on what they returned
    sql := sql || deling.fill($t$
CREATE OR REPLACE FUNCTION deling.@svc@_rows(pid text, kommuner text[], blocked_k text[], blocked_c text[], current_only boolean,
                                             since timestamptz, max integer, after_at timestamptz, after_id uuid)
RETURNS SETOF deling.@table@
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $f$
#variable_conflict use_variable
DECLARE
    fetched deling.@table@[] := '{}';
    part deling.@table@[];
    k text;
BEGIN
    -- a statement per kommune (SELECT INTO, not an assignment: Citus would
    -- send a variable of the extension's own type to the worker as a
    -- parameter of no type)
    FOREACH k IN ARRAY ARRAY(SELECT DISTINCT x FROM unnest(kommuner) x WHERE x IS NOT NULL ORDER BY 1) LOOP
        SELECT ARRAY(SELECT ROW(r.*)::deling.@table@ FROM deling.@table@ r
                     WHERE r.kommune_nr = k AND r.pid = @svc@_rows.pid@withdrawn@@since_cond@@after_cond@
                     ORDER BY @order@, r.@record_id@@fetch_limit@)
        INTO part;
        fetched := fetched || part;
    END LOOP;
    RETURN QUERY
    SELECT r.* FROM unnest(fetched) r
    WHERE true@current_cond@@code_cond@
    ORDER BY @order@, r.@record_id@
    LIMIT max;
END
$f$;
COMMENT ON FUNCTION deling.@svc@_rows(text, text[], text[], text[], boolean, timestamptz, integer, timestamptz, uuid) IS @rows_comment@;
$t$, v);

    sql := sql || deling.fill($t$
CREATE OR REPLACE FUNCTION api.@read@(pid text, purpose text DEFAULT NULL@since_arg@@hist_arg@@max_arg@, reason text DEFAULT NULL@page_arg@)
RETURNS api."application/fhir+json"
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
    gate text[];
    b record;
    rows deling.@table@[];
    patient json;
    matches integer;
    links jsonb;
    bundle api."application/fhir+json";
    resources integer;
$t$ || CASE WHEN since THEN E'    since_at timestamptz := deling.oslo_instant(since);\n' ELSE '' END
    || CASE WHEN paging THEN E'    after_at timestamptz;\n    after_id uuid;\n' ELSE '' END || $t$BEGIN
$t$ || CASE WHEN paging THEN $t$    IF max IS NULL OR max < 1 OR max > @max_limit@ THEN
        PERFORM deling.refuse_read(@code_lit@, pid, NULL, purpose, reason, '22023',
                                   format('max must be between 1 and @max_limit@, not %s', coalesce(max::text, 'NULL')));
    END IF;
$t$ ELSE '' END || CASE WHEN since THEN $t$    IF since IS NOT NULL AND since_at IS NULL THEN
        PERFORM deling.refuse_read(@code_lit@, pid, NULL, purpose, reason, '22023',
                                   format('since "%s" is not an ISO 8601 date or date and time', deling.clip(since, 64)),
                                   CASE WHEN since ~ ' [0-9]{2}(:?[0-9]{2})?$'
                                        THEN 'A + in a URL is a space: write the offset''s + as %2B.'
                                        ELSE 'E.g. 2026-11-20, 2026-11-20T08:00 (both Norwegian time) or 2026-11-20T08:00:00+01:00.' END);
    END IF;
$t$ ELSE '' END || CASE WHEN paging THEN $t$    SELECT p.after_at, p.after_id INTO after_at, after_id FROM deling.page_after(page) p;
    IF page IS NOT NULL AND after_at IS NULL THEN
        PERFORM deling.refuse_read(@code_lit@, pid, NULL, purpose, reason, '22023',
                                   format('page "%s" is not a page of this read', deling.clip(page, 64)),
                                   'Follow the Bundle''s next link as it is.');
    END IF;
$t$ ELSE '' END || $t$    gate := deling.sharing_gate(@code_lit@, pid, purpose, reason);
    b := deling.blocks_of(@code_lit@, pid, gate, purpose);
$t$ || CASE WHEN paging THEN $t$    -- one more than a page: whether a next page exists
    rows := ARRAY(SELECT r FROM deling.@svc@_rows(pid, b.readable, b.blocked_k, b.blocked_c, @current_only@, @since_at@,
                                                  max + 1, after_at, after_id) r);
    -- Bundle.total counts every match, also those beyond max and on other
    -- pages: counted again unless this first page holds them all
    IF after_at IS NULL AND cardinality(rows) <= max THEN
        matches := coalesce(cardinality(rows), 0);
    ELSE
        SELECT count(*) INTO matches
        FROM deling.@svc@_rows(pid, b.readable, b.blocked_k, b.blocked_c, @current_only@, @since_at@, NULL, NULL, NULL);
    END IF;
$t$ ELSE $t$    rows := ARRAY(SELECT r FROM deling.@svc@_rows(pid, b.readable, b.blocked_k, b.blocked_c, @current_only@, @since_at@,
                                                  NULL, NULL, NULL) r);
    matches := cardinality(rows);
$t$ END || $t$    IF matches > 0 THEN
        patient := deling.fhir_entry_json('include', deling.fhir_patient_json(pid, b.readable));
    END IF;
    -- self: this read's arguments; next: the same with the page after this one's last row
    links := jsonb_build_array(deling.fhir_link('self', @read_lit@, @link_args@))$t$
    || CASE WHEN paging THEN $t$
             || CASE WHEN cardinality(rows) > max
                     THEN jsonb_build_array(deling.fhir_link('next', @read_lit@,
                              (@link_args@)[1:cardinality(@link_args@) - 1] || deling.page_token(rows[max].@order_col@, rows[max].@record_id@)))
                     ELSE '[]' END$t$ ELSE '' END || $t$;
    -- the Bundle written once, the entries rendered into it and the Patient
    -- (fhir_searchset_of frees the entries before the Bundle is returned)
    bundle := deling.fhir_searchset_of(@renderer@, @render_rows@, patient, matches, b.outcome, links);
    -- its resources, the OperationOutcome's entry not counted: counted in an
    -- assignment, not in the PERFORM, whose query's custom plan would copy
    -- the Bundle into itself as a constant
    resources := deling.fhir_bundle_entries(bundle) - CASE WHEN b.outcome IS NULL THEN 0 ELSE 1 END;
    PERFORM deling.log_access(@code_lit@, pid, gate, purpose, reason, true, NULL, resources,
                              jsonb_build_object('opened_block', b.outcome->'issue'->0->>'code' = 'informational'));
    RETURN bundle;
END
$f$;
COMMENT ON FUNCTION api.@read@(@read_args@) IS @read_comment@;
GRANT EXECUTE ON FUNCTION api.@read@(@read_args@) TO deling_helsepersonell, deling_integrasjon, deling_admin;
$t$, v || jsonb_build_object('read_lit', quote_literal(r->>'function')));

    IF r ? 'count_function' THEN
        sql := sql || deling.fill($t$
CREATE OR REPLACE FUNCTION api.@count_fn@(pid text, purpose text DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
    gate text[] := deling.sharing_gate(@code_lit@, pid, purpose);
    b record := deling.blocks_of(@code_lit@, pid, gate, purpose);
    n integer;
BEGIN
    SELECT count(*) INTO n FROM deling.@svc@_rows(pid, b.readable, b.blocked_k, b.blocked_c, true, NULL, NULL, NULL, NULL);
    PERFORM deling.log_access(@code_lit@, pid, gate, purpose, NULL, true, NULL, 0, jsonb_build_object('count', n));
    RETURN n;
END
$f$;
COMMENT ON FUNCTION api.@count_fn@(text, text) IS @count_comment@;
GRANT EXECUTE ON FUNCTION api.@count_fn@(text, text) TO deling_helsepersonell, deling_integrasjon, deling_admin;
$t$, v || jsonb_build_object('count_fn', r->>'count_function',
                             'count_comment', quote_literal(coalesce(r->>'count_comment', format('The number of current %s records of a citizen that the caller may see', d->>'name')))));
    END IF;
    RETURN sql;
END
$$;
COMMENT ON FUNCTION deling.service_read_sql(jsonb) IS
    'The generator: a service''s rows function, FHIR searchset read and count, from its declaration';

-- sharing_reach: the summary's gate for its second and later services.
-- What deling.sharing_gate checks of the caller (the token's HPR number and
-- organisation, the purpose of use, the reason, the identity number) does
-- not depend on the service, and the summary's first gate has checked it
-- (or refused the read); what is left per service is that it is available
-- and the kommuner that share it with the caller.
CREATE FUNCTION deling.sharing_reach(service text) RETURNS text[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM deling.service s WHERE s.service_code = sharing_reach.service AND s.available) THEN
        RAISE EXCEPTION 'unknown sharing service "%"', deling.clip(service, 40) USING ERRCODE = '22023';
    END IF;
    RETURN deling.reach_for(service);
END
$$;
COMMENT ON FUNCTION deling.sharing_reach(text) IS
    'The kommuner that share an available service with the caller, once deling.sharing_gate has checked the caller for another service of the same read';

-- legevakt_summary_sql: api.legevakt_summary over every declared service
-- that appears in it (its "summary", in order of position): per service the
-- gate (a service the caller's organisation does not reach adds nothing),
-- the citizen's blocks, its current or latest rows, their entries; then one
-- Bundle with the Patient first, and one access-log entry
CREATE FUNCTION deling.legevakt_summary_sql() RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    decl text := '';
    body text := '';
    gates text := '';
    outcomes text := '';
    parts text := '';
    counts text := '';
    labels text[] := '{}';
BEGIN
    FOR s IN
        SELECT d, replace(d->>'code', '-', '_') AS svc, row_number() OVER (ORDER BY (d->'summary'->>'position')::int, d->>'code') AS n
        FROM (SELECT sv.declaration AS d FROM deling.service sv WHERE sv.declaration ? 'summary') x
        ORDER BY n
    LOOP
        decl := decl || format(E'    g%1$s text[];\n    b%1$s record;\n    o%1$s jsonb;\n    e%1$s json := \'[]\';\n', s.n);
        body := body || deling.fill($t$
    -- @name@ (nothing to read where the caller reaches no kommune that shares it)
    g@n@ := @gate@;
    IF g@n@ <> '{}' THEN
        b@n@ := deling.blocks_of(@code_lit@, pid, g@n@, purpose);
        o@n@ := b@n@.outcome;
        e@n@ := @render@(ARRAY(SELECT r FROM deling.@svc@_rows(pid, b@n@.readable, b@n@.blocked_k, b@n@.blocked_c, @current@,
                                                                 NULL, @max@, NULL, NULL) r));
    END IF;
$t$, jsonb_build_object('name', s.d->>'name', 'n', s.n, 'code_lit', quote_literal(s.d->>'code'), 'svc', s.svc,
                        'gate', CASE WHEN s.n = 1 THEN format('deling.sharing_gate(%L, pid, purpose, reason, require_reach => false)', s.d->>'code')
                                     ELSE format('deling.sharing_reach(%L)', s.d->>'code') END,
                        'current', coalesce(s.d->'summary'->>'current', 'false'),
                        'max', coalesce(s.d->'summary'->>'max', 'NULL'),
                        'render', coalesce(s.d->'summary'->>'renderer', deling.service_entries_fn(s.d))));
        gates := gates || format(' || g%s', s.n);
        outcomes := outcomes || format(', o%s', s.n);
        parts := parts || format(', e%s', s.n);
        counts := counts || format(' + json_array_length(e%s)', s.n);
        labels := labels || coalesce(s.d->'summary'->>'label', s.d->>'name');
    END LOOP;
    IF body = '' THEN
        RETURN '';
    END IF;
    RETURN deling.fill($t$
CREATE OR REPLACE FUNCTION api.legevakt_summary(pid text, purpose text DEFAULT NULL, reason text DEFAULT NULL)
RETURNS api."application/fhir+json"
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
@decl@    reach text[];
    outcome jsonb;
    patient json;
    n integer;
BEGIN
@body@
    reach := ARRAY(SELECT DISTINCT k FROM unnest('{}'::text[]@gates@) k ORDER BY 1);
    IF reach = '{}' THEN
        PERFORM deling.refuse_read('legevakt-summary', pid, '{}', purpose, reason, '42501',
                                   'your organisation reaches no kommune that shares @labels@');
    END IF;
    outcome := coalesce(NULL@outcomes@);
    n := 0@counts@;
    IF n > 0 THEN
        patient := deling.fhir_entry_json('include', deling.fhir_patient_json(pid, deling.holding_kommuner(pid, '{}'::text[]@gates@)));
        n := n + 1;
    END IF;
    PERFORM deling.log_access('legevakt-summary', pid, reach, purpose, reason, true, NULL, n,
                              jsonb_build_object('opened_block', outcome->'issue'->0->>'code' = 'informational'));
    -- the parts in order (the Patient, then each service's), written into the Bundle once
    RETURN deling.fhir_bundle_json('collection', ARRAY[patient@parts@], NULL, outcome)::api."application/fhir+json";
END
$f$;
COMMENT ON FUNCTION api.legevakt_summary(text, text, text) IS @comment@;
GRANT EXECUTE ON FUNCTION api.legevakt_summary(text, text, text) TO deling_helsepersonell, deling_integrasjon, deling_admin;
$t$, jsonb_build_object('decl', decl, 'body', body, 'gates', gates, 'outcomes', outcomes, 'parts', parts, 'counts', counts,
                        'labels', CASE WHEN cardinality(labels) = 1 THEN labels[1]
                                       ELSE array_to_string(labels[1:cardinality(labels) - 1], ', ') || ' or ' || labels[cardinality(labels)] END,
                        'comment', quote_literal(format(E'The legevakt''s lookup in one call: a FHIR R4 collection Bundle with the Patient, %s.\nSame access rules as %s.',
                                   (SELECT string_agg(coalesce(sv.declaration->'summary'->>'describes', sv.name), ', ' ORDER BY (sv.declaration->'summary'->>'position')::int)
                                    FROM deling.service sv WHERE sv.declaration ? 'summary'),
                                   (SELECT regexp_replace(string_agg(sv.declaration->'read'->>'function', ', ' ORDER BY (sv.declaration->'summary'->>'position')::int),
                                                          ', ([^,]*)$', ' and \1')
                                    FROM deling.service sv WHERE sv.declaration ? 'summary')))));
END
$$;
COMMENT ON FUNCTION deling.legevakt_summary_sql() IS
    'The generator: api.legevakt_summary over every declared service that appears in it';
