-- Every table of the platform's data with its row count and a digest of its
-- rows (the access log's head, the worker's running state, left out), for
-- comparing a database before and after an update or a dump and restore.
SELECT format('%s %s %s', c.oid::regclass, x.n, x.digest)
FROM pg_catalog.pg_class c
CROSS JOIN LATERAL (SELECT (xpath('//n/text()', q))[1]::text::bigint AS n, (xpath('//d/text()', q))[1]::text AS digest
                    FROM query_to_xml(format('SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), '''')) AS d FROM %s t',
                                             c.oid::regclass), false, false, '') q) x
WHERE c.relnamespace = 'deling'::regnamespace AND c.relkind = 'r' AND c.oid <> 'deling.access_log_head'::regclass
ORDER BY 1;
