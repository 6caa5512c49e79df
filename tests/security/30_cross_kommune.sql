-- Cross-kommune: an integration sees and writes its own kommune's rows
-- only, in every table of every sharing service; a person reads only the
-- kommuner their organisation reaches; nobody writes another kommune's data
-- through the ingest APIs.
\c - postgres
SELECT sec.ok(count(*) >= 4, 'the suite covers ' || count(*) || ' citizen-data tables: ' || string_agg(tbl::text, ', ' ORDER BY tbl::text))
FROM sec.citizen_tables;
SELECT sec.pid('3201') AS baerum_pid \gset
SELECT sec.pid('1804') AS bodo_pid \gset
SELECT deling.synthetic_fnr('1999-09-09', 3) AS new_pid \gset

\c - sec_epj_bodo
SELECT sec.ok(sec.rows(format('SELECT FROM %s WHERE kommune_nr <> ''1804''', tbl)) IN (0) OR sec.rows(format('SELECT FROM %s', tbl)) IS NULL,
              format('Bodø''s integration sees no other kommune''s rows in %s', tbl))
FROM sec.citizen_tables ORDER BY tbl::text;
SELECT sec.ok(sec.affected(format('UPDATE %s SET kommune_nr = kommune_nr WHERE kommune_nr = ''3201''', tbl)) IN ('0', '42501'),
              format('Bodø''s integration updates no Bærum row in %s', tbl))
FROM sec.citizen_tables ORDER BY tbl::text;
SELECT sec.ok(sec.affected(format('DELETE FROM %s WHERE kommune_nr = ''3201''', tbl)) IN ('0', '42501'),
              format('Bodø''s integration deletes no Bærum row in %s', tbl))
FROM sec.citizen_tables ORDER BY tbl::text;
-- moving one of its own rows to Bærum violates the policy (or is not allowed at all)
SELECT sec.ok(sec.affected(format('UPDATE %s SET kommune_nr = ''3201'' WHERE ctid = (SELECT ctid FROM %s WHERE kommune_nr = ''1804'' LIMIT 1)', tbl, tbl))
              IN ('0', '42501', '23503'),
              format('Bodø''s integration cannot move its own row of %s to Bærum', tbl))
FROM sec.citizen_tables ORDER BY tbl::text;
SELECT sec.ok(sec.affected(format('INSERT INTO deling.citizen (kommune_nr, pid) VALUES (''3201'', %L)', :'new_pid'))
              = '42501', 'Bodø''s integration cannot register a citizen in Bærum');
-- every declared service's read of a Bærum citizen gives Bodø's
-- integration nothing of Bærum's, and its ingest refuses an item for Bærum
SELECT sec.ok(sec.value(format('SELECT (api.%I(%L))::jsonb->>''total''', s.read_fn, :'baerum_pid')) = '0',
              format('%s (api.%s) of a Bærum citizen: nothing', s.code, s.read_fn))
FROM sec.services() s;
SELECT sec.ok(coalesce(jsonb_array_length((api.legevakt_summary(:'baerum_pid'))::jsonb->'entry'), 0) = 0,
              'legevakt_summary of a Bærum citizen: nothing');
SELECT sec.ok(sec.sqlstate(format('SELECT api.%I(%L)', s.ingest_fn, jsonb_build_object('kommune_nr', '3201', 'pid', :'baerum_pid',
              'source_system', 'sec', 'source_id', 'x-' || s.code))) = '42501',
              format('a %s item for Bærum from Bodø''s integration is refused (api.%s)', s.code, s.ingest_fn))
FROM sec.services() s;
SELECT sec.ok(sec.sqlstate(format('SELECT api.%I_batch(%L)', s.ingest_fn, jsonb_build_array(jsonb_build_object('pid', :'bodo_pid',
              'source_system', 'sec', 'source_id', 'y-' || s.code), jsonb_build_object('kommune_nr', '3201', 'pid', :'baerum_pid',
              'source_system', 'sec', 'source_id', 'z-' || s.code)))) = '42501',
              format('a %s batch with one item for Bærum is refused whole (api.%s_batch)', s.code, s.ingest_fn))
FROM sec.services() s;

-- a doctor at Bodø legevakt (reach: the 18xx kommuner) reads nothing of Bærum
\c - sec_lege
SELECT sec.claims('lege_bodo') AS claims \gset
\set tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT sec.ok(sec.value(format('SELECT (api.%I(%L))::jsonb->>''total''', s.read_fn, :'baerum_pid')) = '0',
              format('Bodø legevakt: %s of a Bærum citizen: nothing', s.code))
FROM sec.services() s;
SELECT sec.ok(sec.rows('SELECT FROM deling.citizen') IS NULL OR sec.rows('SELECT FROM deling.citizen') = 0,
              'a doctor reads no table directly');
SELECT sec.ok((api.news2_observations(:'bodo_pid'))->>'resourceType' = 'Bundle', 'Bodø legevakt reads a Bodø citizen');
