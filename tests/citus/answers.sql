-- Ingest, blocks and KPR's messages compared between the single node and
-- the Citus coordinator (tests/citus/run.sh runs this file on both, after
-- reads.sql, and compares the lines): each line is "section/label answer",
-- the answer normalised by ct.norm.  Ingest (batch, resend, amendment,
-- withdrawal, a refused batch, another kommune's item, FHIR) and what is
-- stored and read after it; blocks by the kommune (by code, towards an
-- organisation) and by the citizen (everywhere), what reads then withhold,
-- an emergency, a kommune that joins later, lifting; KPR's messages.
\set ON_ERROR_STOP 1
\pset tuples_only on
\pset format unaligned
\c - postgres
SELECT deling.synthetic_fnr('1961-05-17', 0) AS new_pid \gset
SELECT sec.pid('1804') AS bodo_pid \gset
SELECT sec.pid('1804', 1) AS bodo_pid2 \gset
SELECT sec.pid('3201') AS baerum_pid \gset

-- ingest ------------------------------------------------------------------------
\c - sec_epj_bodo
SELECT 'ingest/news2-batch ' || ct.answer(format('SELECT api.news2_ingest_batch(%L)::text', jsonb_build_array(
    jsonb_build_object('pid', :'new_pid', 'measured_at', '2026-11-20T08:15:00+01:00', 'resp_rate', 22, 'spo2', 93,
                       'on_oxygen', false, 'systolic_bp', 105, 'pulse', 112, 'consciousness', 'A', 'temperature', 38.4,
                       'source_system', 'ct', 'source_id', 'n-1', '_sender_total', 7),
    jsonb_build_object('pid', :'new_pid', 'measured_at', '2026-11-20T12:15:00+01:00', 'resp_rate', 18, 'spo2', 96,
                       'on_oxygen', false, 'systolic_bp', 120, 'pulse', 90, 'consciousness', 'A', 'temperature', 37.4,
                       'source_system', 'ct', 'source_id', 'n-2'),
    jsonb_build_object('pid', :'bodo_pid', 'measured_at', '2026-11-20T09:00:00+01:00', 'resp_rate', 25, 'spo2', 91,
                       'on_oxygen', true, 'oxygen_flow', 2, 'systolic_bp', 95, 'pulse', 131, 'consciousness', 'V', 'temperature', 35.0,
                       'source_system', 'ct', 'source_id', 'n-3'))));
SELECT 'ingest/news2-again ' || ct.answer(format('SELECT api.news2_ingest(%L)::text',
    jsonb_build_object('pid', :'new_pid', 'measured_at', '2026-11-20T12:15:00+01:00', 'resp_rate', 18, 'spo2', 96,
                       'on_oxygen', false, 'systolic_bp', 120, 'pulse', 90, 'consciousness', 'A', 'temperature', 37.4,
                       'source_system', 'ct', 'source_id', 'n-2')));
SELECT 'ingest/news2-amend ' || ct.answer(format('SELECT api.news2_ingest(%L)::text',
    jsonb_build_object('pid', :'new_pid', 'measured_at', '2026-11-20T12:15:00+01:00', 'resp_rate', 24, 'spo2', 96,
                       'on_oxygen', false, 'systolic_bp', 120, 'pulse', 90, 'consciousness', 'A', 'temperature', 37.4,
                       'source_system', 'ct', 'source_id', 'n-2')));
SELECT 'ingest/news2-withdraw ' || ct.answer(format('SELECT api.news2_ingest(%L)::text',
    jsonb_build_object('pid', :'bodo_pid', 'measured_at', '2026-11-20T09:00:00+01:00', 'resp_rate', 25, 'spo2', 91,
                       'on_oxygen', true, 'oxygen_flow', 2, 'systolic_bp', 95, 'pulse', 131, 'consciousness', 'V', 'temperature', 35.0,
                       'source_system', 'ct', 'source_id', 'n-3', 'status', 'entered-in-error')));
SELECT 'ingest/news2-rejected ' || ct.answer(format('SELECT api.news2_ingest_batch(%L)::text', jsonb_build_array(
    jsonb_build_object('pid', :'new_pid', 'source_system', 'ct', 'source_id', 'bad-1'))));
SELECT 'ingest/news2-other-kommune ' || ct.answer(format('SELECT api.news2_ingest(%L)::text',
    jsonb_build_object('kommune_nr', '3201', 'pid', :'baerum_pid', 'source_system', 'ct', 'source_id', 'x-1')));
SELECT 'ingest/services-batch ' || ct.answer(format('SELECT api.municipal_services_ingest_batch(%L)::text', jsonb_build_array(
    jsonb_build_object('pid', :'new_pid', 'service_code', '015', 'status', 'active', 'vedtak_date', '2026-08-25',
        'period_start', '2026-09-01', 'weekly_hours', 7.5, 'unit_name', 'Hjemmesykepleien', 'unit_orgnr', '972418013',
        'source_system', 'ct', 'source_id', 's-15', 'stops', jsonb_build_array(jsonb_build_object('from', '2026-10-01', 'to', '2026-10-05'))),
    jsonb_build_object('pid', :'new_pid', 'service_code', '18', 'status', 'ended', 'period_start', '2026-08-01',
        'period_end', '2026-08-20', 'stay_type', 'korttidsopphold', 'source_system', 'ct', 'source_id', 's-18'),
    jsonb_build_object('pid', :'bodo_pid2', 'service_code', '1', 'status', 'active', 'period_start', '2026-01-01',
        'weekly_hours', 2, 'source_system', 'ct', 'source_id', 's-1'))));
SELECT 'ingest/services-amend ' || ct.answer(format('SELECT api.municipal_services_ingest(%L)::text',
    jsonb_build_object('pid', :'bodo_pid2', 'service_code', '1', 'status', 'active', 'period_start', '2026-01-01',
        'weekly_hours', 3.5, 'source_system', 'ct', 'source_id', 's-1')));
SELECT 'ingest/news2-fhir ' || ct.answer(format('SELECT api.news2_ingest_fhir(%L)::text', jsonb_build_object(
    'resourceType', 'Bundle', 'type', 'collection',
    'entry', jsonb_build_array(
        jsonb_build_object('fullUrl', 'urn:uuid:00000000-0000-4000-8000-000000000001', 'resource', jsonb_build_object(
            'resourceType', 'Patient', 'identifier', jsonb_build_array(jsonb_build_object(
                'system', 'urn:oid:2.16.578.1.12.4.1.4.1', 'value', :'new_pid')))),
        jsonb_build_object('fullUrl', 'urn:uuid:00000000-0000-4000-8000-000000000010', 'resource', jsonb_build_object(
            'resourceType', 'Observation', 'status', 'final',
            'identifier', jsonb_build_array(jsonb_build_object('system', 'dips-arena', 'value', 'news2-77')),
            'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://snomed.info/sct', 'code', '1104051000000101'))),
            'subject', jsonb_build_object('reference', 'urn:uuid:00000000-0000-4000-8000-000000000001'),
            'effectiveDateTime', '2026-11-21T07:30:00+01:00',
            'derivedFrom', (SELECT jsonb_agg(jsonb_build_object('reference', 'urn:uuid:00000000-0000-4000-8000-00000000002' || i)) FROM generate_series(1, 7) i))),
        jsonb_build_object('fullUrl', 'urn:uuid:00000000-0000-4000-8000-000000000021', 'resource', jsonb_build_object('resourceType', 'Observation', 'status', 'final',
            'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', '9279-1'))),
            'valueQuantity', jsonb_build_object('value', 21, 'code', '/min'))),
        jsonb_build_object('fullUrl', 'urn:uuid:00000000-0000-4000-8000-000000000022', 'resource', jsonb_build_object('resourceType', 'Observation', 'status', 'final',
            'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', '59408-5'))),
            'valueQuantity', jsonb_build_object('value', 95, 'code', '%'))),
        jsonb_build_object('fullUrl', 'urn:uuid:00000000-0000-4000-8000-000000000023', 'resource', jsonb_build_object('resourceType', 'Observation', 'status', 'final',
            'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', '3151-8'))),
            'valueQuantity', jsonb_build_object('value', 2, 'code', 'L/min'))),
        jsonb_build_object('fullUrl', 'urn:uuid:00000000-0000-4000-8000-000000000024', 'resource', jsonb_build_object('resourceType', 'Observation', 'status', 'final',
            'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', '85354-9'))),
            'component', jsonb_build_array(
                jsonb_build_object('code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', '8480-6'))),
                                   'valueQuantity', jsonb_build_object('value', 108, 'code', 'mm[Hg]'))))),
        jsonb_build_object('fullUrl', 'urn:uuid:00000000-0000-4000-8000-000000000025', 'resource', jsonb_build_object('resourceType', 'Observation', 'status', 'final',
            'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', '8867-4'))),
            'valueQuantity', jsonb_build_object('value', 92, 'code', '/min'))),
        jsonb_build_object('fullUrl', 'urn:uuid:00000000-0000-4000-8000-000000000026', 'resource', jsonb_build_object('resourceType', 'Observation', 'status', 'final',
            'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://snomed.info/sct', 'code', '1104441000000107'))),
            'valueCodeableConcept', jsonb_build_object('text', 'Alert'))),
        jsonb_build_object('fullUrl', 'urn:uuid:00000000-0000-4000-8000-000000000027', 'resource', jsonb_build_object('resourceType', 'Observation', 'status', 'final',
            'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', 'http://loinc.org', 'code', '8310-5'))),
            'valueQuantity', jsonb_build_object('value', 38.3, 'code', 'Cel')))))));
\c - postgres
SELECT 'ingest/stored ' || ct.norm((SELECT jsonb_agg(x ORDER BY x->>'t', x->>'source_id', x->>'version')::text FROM (
    SELECT jsonb_build_object('t', 'm', 'source_id', m.source_id, 'version', m.version, 'status', m.status, 'score', m.score,
                              'resp_rate', m.resp_rate, 'kommune_nr', m.kommune_nr) AS x
    FROM deling.news2_measurement m WHERE m.source_system IN ('ct', 'dips-arena')
    UNION ALL
    SELECT jsonb_build_object('t', 'mh', 'source_id', h.source_id, 'version', h.version, 'status', h.status, 'resp_rate', h.resp_rate)
    FROM deling.news2_measurement_history h WHERE h.source_system IN ('ct', 'dips-arena')
    UNION ALL
    SELECT jsonb_build_object('t', 's', 'source_id', s.source_id, 'version', s.version, 'weekly_hours', s.weekly_hours, 'stops', s.stops)
    FROM deling.municipal_service s WHERE s.source_system = 'ct'
    UNION ALL
    SELECT jsonb_build_object('t', 'sh', 'source_id', h.source_id, 'version', h.version, 'weekly_hours', h.weekly_hours)
    FROM deling.municipal_service_history h WHERE h.source_system = 'ct'
    UNION ALL
    SELECT jsonb_build_object('t', 'c', 'source_id', c.kommune_nr, 'version', 0, 'pid', c.pid)
    FROM deling.citizen c WHERE c.pid = :'new_pid'
    UNION ALL
    SELECT jsonb_build_object('t', 'p', 'source_id', i.kommune_nr, 'version', 0, 'pid', i.pid)
    FROM deling.patient_index i WHERE i.pid = :'new_pid') y));
\c - sec_lege
SELECT sec.claims('lege_bodo') AS claims \gset
\set tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT format('after-ingest/%s/%s %s', s.code, p, ct.answer(format('SELECT api.%I(%L)::text', s.read_fn, p)))
FROM unnest(ARRAY[:'new_pid', :'bodo_pid', :'bodo_pid2']) p, sec.services() s ORDER BY 1;
SELECT format('after-ingest/summary/%s %s', p, ct.answer(format('SELECT api.legevakt_summary(%L)::text', p)))
FROM unnest(ARRAY[:'new_pid', :'bodo_pid', :'bodo_pid2']) p ORDER BY 1;
SELECT format('after-ingest/history/%s %s', p, ct.answer(format('SELECT api.municipal_services(%L, include_history => true)::text', p)))
FROM unnest(ARRAY[:'new_pid', :'bodo_pid2']) p ORDER BY 1;

-- every declared service with a synthetic generator: its items for a new
-- citizen, ingested by Bodø's integration (the batch, then the same batch
-- again), stored, and read by Bodø legevakt
\c - postgres
SELECT deling.synthetic_fnr('1972-03-04', 1) AS svc_pid \gset
\c - sec_epj_bodo
SELECT format('ingest/synthetic/%s %s', s.code, ct.answer(format('SELECT api.%I(%L)::text', s.ingest_fn || '_batch', i.items)))
FROM sec.services() s, LATERAL (SELECT ct.synthetic_items(s.code, '1804', ARRAY[:'svc_pid'], 7) AS items) i
WHERE i.items IS NOT NULL ORDER BY 1;
SELECT format('ingest/synthetic-again/%s %s', s.code, ct.answer(format('SELECT api.%I(%L)::text', s.ingest_fn || '_batch', i.items)))
FROM sec.services() s, LATERAL (SELECT ct.synthetic_items(s.code, '1804', ARRAY[:'svc_pid'], 7) AS items) i
WHERE i.items IS NOT NULL ORDER BY 1;
\c - sec_lege
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT format('after-ingest/synthetic/%s %s', s.code, ct.answer(format('SELECT api.%I(%L)::text', s.read_fn, :'svc_pid')))
FROM sec.services() s ORDER BY 1;
SELECT 'after-ingest/synthetic/summary ' || ct.answer(format('SELECT api.legevakt_summary(%L)::text', :'svc_pid'));

-- blocks ------------------------------------------------------------------------
-- the kommune blocks one service type of a citizen, and everything towards Bodø legevakt for another
\c - sec_epj_bodo
SELECT 'blocks/kommune-code ' || ct.answer(format('SELECT api.block_sharing(%L, service_codes => ARRAY[''15''])::text', :'new_pid'));
SELECT 'blocks/kommune-organisation ' || ct.answer(format('SELECT api.block_sharing(%L, organisations => ARRAY[%L])::text',
                                                         :'bodo_pid2', sec.orgnr('Bodø legevakt')));
SELECT 'blocks/kommune-list ' || ct.answer(format('SELECT api.sharing_blocks(%L)::text', :'new_pid'));
-- the citizen blocks everything, everywhere
\c - sec_innbygger
SELECT sec.claims('innbygger') AS claims \gset
\set citizen_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'citizen_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT (:'claims')::jsonb->>'helseid://claims/identity/pid' AS citizen_pid \gset
SELECT (api.block_sharing(:'citizen_pid'))->>'block_id' AS block_id \gset
SELECT 'blocks/citizen-list ' || ct.answer(format('SELECT api.sharing_blocks(%L)::text', :'citizen_pid'));
SELECT 'blocks/citizen-other ' || ct.answer(format('SELECT api.sharing_blocks(%L)::text', :'bodo_pid'));
SELECT 'blocks/citizen-read ' || ct.answer(format('SELECT api.news2_observations(%L)::text', :'citizen_pid'));
\c - sec_lege
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT format('blocks/withheld/%s/%s %s', s.code, p, ct.answer(format('SELECT api.%I(%L)::text', s.read_fn, p)))
FROM unnest(ARRAY[:'new_pid', :'bodo_pid2', :'citizen_pid']) p, sec.services() s ORDER BY 1;
SELECT format('blocks/withheld/summary/%s %s', p, ct.answer(format('SELECT api.legevakt_summary(%L)::text', p)))
FROM unnest(ARRAY[:'new_pid', :'bodo_pid2', :'citizen_pid']) p ORDER BY 1;
-- an emergency opens them, and says so
SELECT sec.claims('lege_bodo', '{"authorization_details": null}') AS claims \gset
\set unattested_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'unattested_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT format('blocks/emergency/%s/%s %s', s.code, p, ct.answer(format('SELECT api.%I(%L, purpose => %L, reason => %L)::text',
              s.read_fn, p, 'ETREAT', 'bevisstløs pasient')))
FROM unnest(ARRAY[:'new_pid', :'bodo_pid2', :'citizen_pid']) p, sec.services() s ORDER BY 1;
SELECT sec.claims('lege_bodo', jsonb_build_object('authorization_details', jsonb_build_array(jsonb_build_object(
       'type', 'nhn:tillitsrammeverk:parameters', 'toa', extract(epoch FROM now())::bigint - 60,
       'care_relationship', jsonb_build_object('purpose_of_use', jsonb_build_object('code', 'ETREAT'),
                                               'decision_ref', jsonb_build_object('id', 'akutt-1', 'description', 'akutt')))))) AS claims \gset
\set etreat_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'etreat_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT 'blocks/emergency-token ' || ct.answer(format('SELECT api.legevakt_summary(%L)::text', :'citizen_pid'));
-- a kommune that joins later is covered by the citizen's block at once
\c - postgres
SELECT deling.add_kommune('1833', 'Rana', deling.synthetic_orgnr(1833)) IS NOT NULL AS added \gset
SELECT deling.enable_service('1833', 'news2') IS NULL AS enabled \gset
SELECT deling.add_organisation(deling.synthetic_orgnr(183301), 'Rana legevakt', 'legevakt', '1833') IS NOT NULL AS added \gset
SELECT deling.bind_integration('sec_epj_baerum', '1833') IS NULL AS bound \gset
\c - sec_epj_baerum
SELECT 'blocks/later-kommune-ingest ' || ct.answer(format('SELECT api.news2_ingest(%L)::text',
    jsonb_build_object('pid', :'citizen_pid', 'measured_at', '2026-11-20T08:15:00+01:00', 'resp_rate', 18, 'spo2', 96,
                       'on_oxygen', false, 'systolic_bp', 120, 'pulse', 80, 'consciousness', 'A', 'temperature', 37.5,
                       'source_system', 'ct', 'source_id', 'rana-1')));
\c - postgres
SELECT 'blocks/later-kommune ' || (SELECT string_agg(b.kommune_nr || ':' || b.everywhere, ',' ORDER BY b.kommune_nr)
                                   FROM deling.citizen_block b WHERE b.block_id = :'block_id');
\c - sec_lege
SELECT sec.claims('lege_bodo', jsonb_build_object(
       'helseid://claims/client/claims/orgnr_parent', sec.orgnr('1833'),
       'helseid://claims/client/claims/orgnr_child', sec.orgnr('Rana legevakt'))) AS claims \gset
\set rana_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'rana_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT 'blocks/later-kommune-read ' || ct.answer(format('SELECT api.news2_observations(%L)::text', :'citizen_pid'));
-- lifted: everywhere
\c - sec_innbygger
SELECT deling.authenticate(:'citizen_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT 'blocks/lift ' || ct.answer(format('SELECT api.unblock_sharing(%L)::text', :'block_id'));
SELECT 'blocks/lift-again ' || ct.answer(format('SELECT api.unblock_sharing(%L)::text', :'block_id'));
\c - sec_lege
SELECT deling.authenticate(:'rana_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT 'blocks/lifted-read ' || ct.answer(format('SELECT api.news2_observations(%L)::text', :'citizen_pid'));
-- Bærum's integration may not lift Bodø's blocks
\c - sec_epj_baerum
SELECT 'blocks/other-kommune-lift ' || ct.answer(format('SELECT api.unblock_sharing(%L)::text',
       (SELECT b->>'block_id' FROM jsonb_array_elements(ct.blocks_of(:'new_pid')) b LIMIT 1)));

-- KPR -----------------------------------------------------------------------------
\c - sec_kpr
SELECT 'kpr/message ' || ct.answer('SELECT replace(kpr.xpr_ipl_message(''1804''), chr(10), '' '')');
SELECT 'kpr/message-next ' || ct.answer('SELECT replace(kpr.xpr_ipl_message(''1804''), chr(10), '' '')');
SELECT 'kpr/messages ' || ct.answer('SELECT jsonb_agg(to_jsonb(m) - ''built_at'' ORDER BY m.message_id)::text FROM kpr.messages(''1804'') m');
SELECT 'kpr/resend ' || ct.answer('SELECT replace(kpr.xpr_ipl_message(''1804'', 1::bigint), chr(10), '' '')');
SELECT 'kpr/notifications ' || ct.answer('SELECT jsonb_agg(to_jsonb(n) ORDER BY n.lopenr)::text
                                          FROM kpr.message_notifications((SELECT min(m.message_id) FROM kpr.messages(''1804'') m)) n');
SELECT 'kpr/refused-lege ' || ct.answer('SELECT kpr.xpr_ipl_message(''9999'')');

