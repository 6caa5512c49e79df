-- The sharing services declared on the machinery (issue 19): every declared
-- service with a synthetic generator (its declaration's "synthetic"), found
-- in deling.service, none named here.  The pilots (NEWS2, the municipal
-- services) have no generator and are measured by ingest.sql, fhir.sql and
-- legevakt.sh; this file does not repeat them.  Per service:
--   load   its synthetic records for up to :citizens citizens of each of
--          the benchmark's kommuner (all opted in), written through its own
--          ingest by deling.generate_synthetic_services;
--   read   :reads reads of a Bodø citizen with records, by the Bodø EPJ:
--          the service's FHIR read (gate, blocks, FHIR, its durable
--          access-log entry) against the floor: the same rows (its
--          generated rows function, with the arguments the read gives it)
--          as plain JSON, and that floor with the read's durable access-log
--          entry; the three in turn, citizen by citizen; the read and the
--          floor must return the same rows; p50 and p99 of each;
--   ingest :batches batches of :batch new items for Bodø citizens (from its
--          generator), half sent through its generated items function as
--          the Bodø EPJ (checks, RLS, per-item report), half inserted by
--          the DBA as the floor: one plain INSERT whose columns are the
--          declaration's ingest expressions (deling.field_ingest_sql), with
--          no checks and no report; both must store the same columns.
-- psql -v citizens=N -v batches=B -v batch=N -v reads=R -f tests/bench/services.sql
-- (as the DBA, after setup.sql; run after legevakt.sh, whose lookup it
-- would otherwise widen by the services it opts every kommune in to)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE TABLE bench.svc AS
SELECT s.service_code::text AS code, replace(s.service_code, '-', '_') AS svc, s.declaration AS d,
       s.declaration->>'table' AS tbl, s.declaration->>'synthetic' AS generator,
       deling.service_vars(s.declaration)->>'items_fn' AS items_fn,
       s.declaration->'read'->>'function' AS read_fn
FROM deling.service s WHERE s.declaration ? 'synthetic' ORDER BY 1;
GRANT SELECT ON bench.svc TO PUBLIC;

-- load: every kommune opts in; each service's records through its ingest
SELECT count(*) FILTER (WHERE deling.enable_service(k.kommune_nr, s.code) IS NULL) AS enabled
FROM bench.svc s, deling.kommune k WHERE k.active \gset
SELECT clock_timestamp() AS l0 \gset
CREATE TABLE bench.svc_load AS
SELECT s.code, t0, (deling.generate_synthetic_services(ARRAY[s.code], :citizens, 1)->>s.code)::bigint AS written, clock_timestamp() AS t1
FROM bench.svc s, LATERAL (SELECT clock_timestamp() AS t0) t ORDER BY s.code;
SELECT count(*) AS kommuner FROM deling.kommune WHERE active \gset
SELECT bench.fail(format('%s wrote no synthetic records', code)) FROM bench.svc_load WHERE written = 0;
INSERT INTO bench.result (area, measure, value, unit)
SELECT 'sharing services', format('%s synthetic load through its ingest, %s records for up to %s citizens in each of %s kommuner',
                                  code, written, :citizens, :kommuner),
       round(written / extract(epoch FROM t1 - t0)::numeric), 'rows/s'
FROM bench.svc_load ORDER BY code;
-- a plain read of each service's table, so that VACUUM ANALYZE sees it
SELECT format('VACUUM ANALYZE deling.%I', tbl) FROM bench.svc ORDER BY code \gexec

-- read: the floors of each service, a function of the extension's owner
-- like the read (SECURITY DEFINER): the rows the read returns, from its
-- rows function with the arguments the read gives it by default (its
-- reach; current only when the read has a history switch; a page's worth
-- when it pages), as plain JSON; with logged, also the read's durable
-- access-log entry (as legevakt.sh's floor with the log)
SELECT format($f$CREATE FUNCTION bench.%1$I(pid text, logged boolean) RETURNS json
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $b$
DECLARE
    k text[] := deling.reach_for(%3$L);
    result json;
BEGIN
    SELECT coalesce(json_agg(r), '[]') INTO result FROM deling.%2$I(pid, k, '{}', '{}', %4$s, NULL, %5$s, NULL, NULL) r;
    IF logged THEN
        PERFORM deling.log_access('bench-floor', pid, k, NULL, NULL, true, NULL, json_array_length(result));
    END IF;
    RETURN result;
END
$b$;
ALTER FUNCTION bench.%1$I(text, boolean) OWNER TO deling_owner;
GRANT EXECUTE ON FUNCTION bench.%1$I(text, boolean) TO PUBLIC$f$,
              svc || '_floor', svc || '_rows', code, CASE WHEN d->'read' ? 'history_param' THEN 'true' ELSE 'false' END,
              CASE WHEN (d->'read'->>'paging')::boolean THEN coalesce(d->'read'->>'max_default', '50') ELSE 'NULL' END)
FROM bench.svc ORDER BY code \gexec
-- the citizens read: Bodø citizens with records of the service
CREATE TABLE bench.svc_readers (code text, n integer, pid text);
SELECT format($q$INSERT INTO bench.svc_readers
SELECT %1$L, row_number() OVER (ORDER BY md5(pid)), pid
FROM (SELECT DISTINCT t.pid FROM deling.%2$I t WHERE t.kommune_nr = '1804') x$q$, code, tbl)
FROM bench.svc ORDER BY code \gexec
GRANT SELECT ON bench.svc_readers TO PUBLIC;
SELECT bench.fail(format('%s has no records of Bodø citizens to read', code))
FROM bench.svc s WHERE NOT EXISTS (SELECT FROM bench.svc_readers r WHERE r.code = s.code);
CREATE TABLE bench.svc_read_time (code text, i integer, read_ms numeric, floor_ms numeric, logged_ms numeric, read_rows integer, floor_rows integer);
GRANT SELECT, INSERT ON bench.svc_read_time TO PUBLIC;
-- reads(code, n): n reads, n floors and n floors with the log, of the
-- service's citizens in turn, the three in a rotating order; each timed on its own
CREATE FUNCTION bench.svc_reads(code text, reads integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    s record;
    m integer := (SELECT count(*) FROM bench.svc_readers r WHERE r.code = svc_reads.code);
    p text;
    b json;
    f json;
    t0 timestamptz;
    ms numeric[];
    q text[];
    k integer;
BEGIN
    SELECT * INTO s FROM bench.svc x WHERE x.code = svc_reads.code;
    q := ARRAY[format('SELECT api.%I($1)::json', s.read_fn), format('SELECT bench.%I($1, false)', s.svc || '_floor'),
               format('SELECT bench.%I($1, true)', s.svc || '_floor')];
    FOR i IN 1..reads LOOP
        p := (SELECT r.pid FROM bench.svc_readers r WHERE r.code = svc_reads.code AND r.n = 1 + (i - 1) % m);
        ms := '{0,0,0}';
        FOR j IN 0..2 LOOP
            k := 1 + (i + j) % 3;
            t0 := clock_timestamp();
            IF k = 1 THEN
                EXECUTE q[k] INTO b USING p;
            ELSE
                EXECUTE q[k] INTO f USING p;
            END IF;
            ms[k] := extract(epoch FROM clock_timestamp() - t0) * 1000;
        END LOOP;
        INSERT INTO bench.svc_read_time VALUES (code, i, ms[1], ms[2], ms[3],
            (SELECT count(*) FROM json_array_elements(b->'entry') e WHERE e->'search'->>'mode' = 'match'), json_array_length(f));
    END LOOP;
    RETURN reads;
END
$$;
GRANT EXECUTE ON FUNCTION bench.svc_reads(text, integer) TO PUBLIC;

SET SESSION AUTHORIZATION bench_epj;
-- a warm-up round of each (not kept), then the measured one
SELECT code, bench.svc_reads(code, least(:reads, 50)) AS warm FROM bench.svc ORDER BY code;
RESET SESSION AUTHORIZATION;
TRUNCATE bench.svc_read_time;
SET SESSION AUTHORIZATION bench_epj;
SELECT code, bench.svc_reads(code, :reads) AS reads FROM bench.svc ORDER BY code;
RESET SESSION AUTHORIZATION;
SELECT bench.fail(format('%s: the read and its floor returned different numbers of rows in %s of %s reads', code, count(*) FILTER (WHERE read_rows <> floor_rows), count(*)))
FROM bench.svc_read_time GROUP BY code HAVING count(*) FILTER (WHERE read_rows <> floor_rows) > 0;
SELECT bench.fail(format('%s: no read returned a row', code))
FROM bench.svc_read_time GROUP BY code HAVING max(read_rows) = 0;
INSERT INTO bench.result (area, measure, value, unit, baseline, ratio)
SELECT 'sharing services', measure, round(value::numeric, 3), 'ms', baseline, round((value / nullif(base, 0))::numeric, 2)
FROM (SELECT code, s.read_fn, avg(read_rows) AS rows, count(*) AS n,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY floor_ms) AS f50, percentile_cont(0.99) WITHIN GROUP (ORDER BY floor_ms) AS f99,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY logged_ms) AS g50, percentile_cont(0.99) WITHIN GROUP (ORDER BY logged_ms) AS g99,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY read_ms) AS r50, percentile_cont(0.99) WITHIN GROUP (ORDER BY read_ms) AS r99
      FROM bench.svc_read_time JOIN bench.svc s USING (code) GROUP BY code, s.read_fn) t,
     LATERAL (VALUES
         (1, format('%s floor: the same rows as plain JSON (no gate, FHIR, blocks or log), p50 of %s reads', t.code, t.n), f50, NULL, NULL),
         (2, format('%s floor with the read''s durable access-log entry: p50', t.code), g50, 'floor p50', f50),
         (3, format('%s read api.%s, Bodø EPJ, %s rows on average: p50', t.code, t.read_fn, round(t.rows, 1)), r50, 'floor p50', f50),
         (4, format('%s read p50 over the floor with the log', t.code), r50, 'floor with log p50', g50),
         (5, format('%s floor p99', t.code), f99, NULL, NULL),
         (6, format('%s floor with the log p99', t.code), g99, 'floor p99', f99),
         (7, format('%s read p99', t.code), r99, 'floor with log p99', g99)) v(o, measure, value, baseline, base)
ORDER BY t.code, v.o;

-- ingest: the items, built before any timing; source keys of their own
SELECT :batches / 2 AS half, :batches * :batch AS need \gset
SET bench.need = :need;
CREATE TABLE bench.svc_pids AS
SELECT array_agg(pid ORDER BY n) AS pids FROM (SELECT n, pid FROM bench.lookup WHERE kommune_nr = '1804' ORDER BY n LIMIT 1000) l;
CREATE TABLE bench.svc_items (code text, n integer, item jsonb, PRIMARY KEY (code, n));
DO $$
DECLARE
    s record;
    seed integer;
    got integer;
    need integer := current_setting('bench.need')::integer;
    items jsonb;
BEGIN
    FOR s IN SELECT * FROM bench.svc ORDER BY code LOOP
        seed := 1000;
        got := 0;
        WHILE got < need LOOP
            EXECUTE format('SELECT %s(%L, $1, %s)', s.generator, '1804', seed) INTO items USING (SELECT pids FROM bench.svc_pids);
            IF seed > 1200 THEN
                PERFORM bench.fail(format('%s''s generator gave %s items for Bodø citizens in 200 seeds, not %s', s.code, got, need));
            END IF;
            INSERT INTO bench.svc_items (code, n, item)
            SELECT s.code, got + o, i || jsonb_build_object('source_system', 'bench-svc', 'source_id', format('%s-%s', s.code, got + o))
            FROM jsonb_array_elements(items) WITH ORDINALITY x(i, o) WHERE got + o <= need;
            got := least(need, got + jsonb_array_length(items));
            seed := seed + 1;
        END LOOP;
    END LOOP;
END
$$;
CREATE TABLE bench.svc_batch AS
SELECT code, (n - 1) / :batch + 1 AS b, jsonb_agg(item ORDER BY n) AS items FROM bench.svc_items GROUP BY 1, 2;
GRANT SELECT ON bench.svc_items, bench.svc_batch TO PUBLIC;

CREATE TABLE bench.svc_time (code text, side text, rows bigint, s numeric);
GRANT SELECT, INSERT ON bench.svc_time TO PUBLIC;
SET bench.batch = :batch;

-- the API: the second half of the batches through the generated items
-- function (as the Bodø EPJ); the items it created, and how long it took
CREATE FUNCTION bench.svc_api(code text, first integer, last integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    fn text := (SELECT s.items_fn FROM bench.svc s WHERE s.code = svc_api.code);
    r jsonb;
    n bigint := 0;
    t0 timestamptz := clock_timestamp();
BEGIN
    FOR i IN first..last LOOP
        EXECUTE format('SELECT deling.%I($1)', fn) INTO r
        USING (SELECT items FROM bench.svc_batch x WHERE x.code = svc_api.code AND x.b = i);
        n := n + (r->>'created')::bigint;
    END LOOP;
    INSERT INTO bench.svc_time VALUES (code, 'api', n, extract(epoch FROM clock_timestamp() - t0));
    RETURN n;
END
$$;
GRANT EXECUTE ON FUNCTION bench.svc_api(text, integer, integer) TO PUBLIC;
-- the floor: the first half in one plain INSERT by the DBA, each column the
-- declaration's ingest expression of its field; the rows it inserted
CREATE FUNCTION bench.svc_floor(code text, last integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    d jsonb := (SELECT s.d FROM bench.svc s WHERE s.code = svc_floor.code);
    q text;
    n bigint;
    t0 timestamptz;
BEGIN
    q := format($q$INSERT INTO deling.%I (kommune_nr, pid, %s, source_system, source_id)
                   SELECT '1804', item->>'pid', %s, item->>'source_system', item->>'source_id'
                   FROM bench.svc_items WHERE code = $1 AND n <= $2$q$,
                d->>'table',
                (SELECT string_agg(quote_ident(f->>'name'), ', ' ORDER BY o) FROM jsonb_array_elements(d->'fields') WITH ORDINALITY x(f, o)),
                (SELECT string_agg(deling.field_ingest_sql(f), ', ' ORDER BY o) FROM jsonb_array_elements(d->'fields') WITH ORDINALITY x(f, o)));
    t0 := clock_timestamp();
    EXECUTE q USING code, last * current_setting('bench.batch')::integer;
    GET DIAGNOSTICS n = ROW_COUNT;
    INSERT INTO bench.svc_time VALUES (code, 'floor', n, extract(epoch FROM clock_timestamp() - t0));
    RETURN n;
END
$$;
-- differing(code): the items whose stored row differs from what the
-- floor's expressions make of the item (0: the floor stores what the API
-- stores, and every item was stored)
CREATE FUNCTION bench.svc_differing(code text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    d jsonb := (SELECT s.d FROM bench.svc s WHERE s.code = svc_differing.code);
    n bigint;
BEGIN
    EXECUTE format($q$SELECT count(*) FROM bench.svc_items i
                      LEFT JOIN deling.%I t ON t.kommune_nr = '1804' AND t.source_system = i.item->>'source_system'
                                            AND t.source_id = i.item->>'source_id'
                      WHERE i.code = $1 AND (t.pid IS NULL OR (t.pid, %s) IS DISTINCT FROM (i.item->>'pid', %s))$q$,
                   d->>'table',
                   (SELECT string_agg('t.' || quote_ident(f->>'name'), ', ' ORDER BY o) FROM jsonb_array_elements(d->'fields') WITH ORDINALITY x(f, o)),
                   (SELECT string_agg(format('(SELECT %s FROM (SELECT i.item AS item) x)', deling.field_ingest_sql(f)), ', ' ORDER BY o)
                    FROM jsonb_array_elements(d->'fields') WITH ORDINALITY x(f, o)))
    USING code;
    RETURN n;
END
$$;

SET SESSION AUTHORIZATION bench_epj;
SELECT code, bench.svc_api(code, :half + 1, :batches) AS created FROM bench.svc ORDER BY code;
RESET SESSION AUTHORIZATION;
SELECT code, bench.svc_floor(code, :half) AS inserted FROM bench.svc ORDER BY code;
SELECT bench.fail(format('%s: the API created %s of %s items, the floor inserted %s of %s',
                         s.code, a.rows, (:batches - :half) * :batch, f.rows, :half * :batch))
FROM bench.svc s JOIN bench.svc_time a ON a.code = s.code AND a.side = 'api' JOIN bench.svc_time f ON f.code = s.code AND f.side = 'floor'
WHERE a.rows <> (:batches - :half) * :batch OR f.rows <> :half * :batch;
SELECT bench.fail(format('%s: %s items are not stored as the floor''s expressions make them', code, n))
FROM (SELECT code, bench.svc_differing(code) AS n FROM bench.svc) x WHERE n > 0;
INSERT INTO bench.result (area, measure, value, unit, baseline, ratio)
SELECT 'sharing services', v.measure, v.value, 'rows/s', v.baseline, v.ratio
FROM bench.svc s JOIN bench.svc_time a ON a.code = s.code AND a.side = 'api' JOIN bench.svc_time f ON f.code = s.code AND f.side = 'floor',
     LATERAL (VALUES
         (1, format('%s direct INSERT by the DBA (floor: the declaration''s ingest expressions, no checks), %s rows', s.code, f.rows),
          round(f.rows / f.s), NULL, NULL),
         (2, format('%s batch ingest (deling.%s), %s batches of %s, Bodø EPJ (RLS)', s.code, s.items_fn, :batches - :half, :batch),
          round(a.rows / a.s), 'direct INSERT', round((a.rows / a.s) / (f.rows / f.s), 2))) v(o, measure, value, baseline, ratio)
ORDER BY s.code, v.o;
