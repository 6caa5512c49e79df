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
-- fullUrl and by Type/id, so references resolve inside the Bundle.
CREATE FUNCTION deling.fhir_bundle_index(bundle jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    res jsonb;
BEGIN
    IF bundle->>'resourceType' IS DISTINCT FROM 'Bundle' THEN
        RAISE EXCEPTION 'expected a FHIR Bundle, not %', coalesce(bundle->>'resourceType', jsonb_typeof(bundle))
            USING ERRCODE = '22023';
    END IF;
    IF bundle->>'type' IS NULL OR bundle->>'type' NOT IN ('transaction', 'batch', 'collection') THEN
        RAISE EXCEPTION 'Bundle.type must be transaction, batch or collection, not %', coalesce(bundle->>'type', 'missing')
            USING ERRCODE = '22023';
    END IF;
    SELECT coalesce(jsonb_object_agg(k, r), '{}') INTO res
    FROM (SELECT e->>'fullUrl' AS k, e->'resource' AS r FROM jsonb_array_elements(bundle->'entry') e WHERE e ? 'fullUrl'
          UNION ALL
          SELECT (e->'resource'->>'resourceType') || '/' || (e->'resource'->>'id'), e->'resource'
          FROM jsonb_array_elements(bundle->'entry') e WHERE e->'resource' ? 'id') x
    WHERE k IS NOT NULL;
    RETURN res;
END
$$;
