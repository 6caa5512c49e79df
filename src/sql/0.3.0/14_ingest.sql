-- ---------------------------------------------------------------------------
-- 14 ingest in C: the batch check and the pilots' item checks make one pass
-- over each item (src/ingest.c) instead of a PL/pgSQL function per item
-- that calls several pinned helpers: the same messages, in the same order
-- of precedence, the same SQLSTATEs (issue 20, "Performance").
-- ---------------------------------------------------------------------------

-- ingest_problems: check a batch with the service's item check (a function
-- jsonb -> text, NULL when the item is valid); returns the per-item
-- problems, or NULL.  Items naming another kommune are refused outright.
-- The pilots' C item checks run directly; any other once per item.
CREATE OR REPLACE FUNCTION deling.ingest_problems(items jsonb, kommune text, item_problem regproc, max_items integer DEFAULT 10000)
RETURNS jsonb AS 'MODULE_PATHNAME', 'deling_ingest_problems' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.ingest_problems(jsonb, text, regproc, integer) IS
    'Ingest: the per-item problems of a batch (the item check, source ids repeated in the batch), or NULL; refuses a batch that is no array, too large, or names another kommune';

CREATE OR REPLACE FUNCTION deling.news2_item_problem(item jsonb) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_news2_item_problem' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.news2_item_problem(jsonb) IS 'NULL when a JSON item is a valid NEWS2 measurement, else what is wrong';

CREATE OR REPLACE FUNCTION deling.municipal_service_item_problem(item jsonb) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_municipal_service_item_problem' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.municipal_service_item_problem(jsonb) IS
    'NULL when a JSON item is a valid municipal service, else what is wrong';
