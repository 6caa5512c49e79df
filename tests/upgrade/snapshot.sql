-- Before an update: every row of every table of platform data (the access
-- log's head, the worker's running state, left out) as JSON, and a function
-- that names afterwards each table with a row that is no longer there.  A
-- row is still there when some row of its table has every value the old row
-- had in the columns the table still has: an update may add columns (a
-- service's declaration), reshape a table (0.2.0's history snapshots became
-- columns) and add rows (a new service in the catalog), but keeps each row.
-- The one table whose rows an update may change is the service catalog: a
-- service announced there (available = false) becomes the declared service,
-- with its declaration's name and description; it is kept by its code.
CREATE SCHEMA upgrade_check;
CREATE TABLE upgrade_check.row_before (tbl text NOT NULL, r jsonb NOT NULL);
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid FROM pg_catalog.pg_class c
             WHERE c.relnamespace = 'deling'::regnamespace AND c.relkind = 'r'
               AND c.oid <> 'deling.access_log_head'::regclass LOOP
        EXECUTE format('INSERT INTO upgrade_check.row_before SELECT %L, to_jsonb(t) FROM %s t', t::text, t);
    END LOOP;
END $$;
CREATE FUNCTION upgrade_check.missing() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    t text;
    n bigint;
    cols text[];
BEGIN
    FOR t IN SELECT DISTINCT tbl FROM upgrade_check.row_before ORDER BY 1 LOOP
        IF to_regclass(t) IS NULL THEN
            RETURN NEXT t || ' (gone)';
            CONTINUE;
        END IF;
        SELECT array_agg(a.attname::text) INTO cols FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = t::regclass AND a.attnum > 0 AND NOT a.attisdropped
          AND (t <> 'deling.service' OR a.attname = 'service_code');
        EXECUTE format('SELECT count(*) FROM upgrade_check.row_before b WHERE b.tbl = %L AND NOT EXISTS '
                       '(SELECT FROM %s a WHERE to_jsonb(a) @> (SELECT coalesce(jsonb_object_agg(k, v), ''{}'') '
                       'FROM jsonb_each(b.r) e(k, v) WHERE k = ANY ($1)))', t, t)
            INTO n USING cols;
        IF n > 0 THEN
            RETURN NEXT format('%s (%s of its rows)', t, n);
        END IF;
    END LOOP;
END $$;
