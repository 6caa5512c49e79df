-- The batch check and the pilots' item checks in C (src/ingest.c): every
-- rule of deling.news2_item_problem and deling.municipal_service_item_problem
-- named at its boundary (the message, or NULL where the value just passes),
-- caller values bounded in messages as deling.clip bounds them, and
-- deling.ingest_problems: the batch's shape and size, another kommune,
-- repeated source keys, the report, a service's own (SQL) item check.
\set VERBOSITY terse
SELECT deling.synthetic_fnr('1980-05-17', 0) AS pid \gset

-- NEWS2: a valid item, and each variant of it
CREATE TEMP TABLE n2 AS SELECT jsonb_build_object(
    'pid', :'pid', 'measured_at', '2026-11-20T08:00:00+01:00', 'resp_rate', 16, 'spo2', 98, 'on_oxygen', false,
    'systolic_bp', 120, 'pulse', 70, 'consciousness', 'A', 'temperature', 37.0, 'recorded_by', '9144889',
    'unit_name', 'Hjemmetjenesten', 'source_system', 'test-epj', 'source_id', 'x1') AS b;
SELECT label, deling.news2_item_problem(CASE WHEN e IS NULL OR jsonb_typeof(e) <> 'object' THEN e ELSE b || e END) AS problem
FROM n2, (VALUES
    ('valid',                      '{}'::jsonb),
    ('not an object: a string',    '"x"'),
    ('not an object: an array',    '[1]'),
    ('not an object: NULL',        NULL),
    ('an unresolved reference',    '{"_unresolved": "urn:uuid:1"}'),
    ('a parser''s problem',        '{"_problem": "vital signs disagree"}'),
    ('unknown fields, in order',   '{"zeta": 1, "Alpha": 2, "beta": 3, "_private": 4}'),
    ('kommune_nr is allowed',      '{"kommune_nr": "1804"}'),
    ('missing: null or absent',    '{"pid": null, "pulse": null, "spo2_scale": null}'),
    ('whole number: a fraction',   '{"pulse": 70.5}'),
    ('whole number: a string',     '{"spo2": "98"}'),
    ('whole number: 2147483648',   '{"systolic_bp": 2147483648}'),
    ('whole number: -2147483649',  '{"resp_rate": -2147483649}'),
    ('whole number: 2147483647',   '{"resp_rate": 2147483647}'),
    ('whole number: 1e0 is 1',     '{"spo2_scale": 1e0}'),
    ('number: a string',           '{"temperature": "37"}'),
    ('number: a boolean',          '{"oxygen_flow": true}'),
    ('on_oxygen: a string',        '{"on_oxygen": "yes"}'),
    ('string: a number',           '{"source_id": 17}'),
    ('string: an object, clipped', jsonb_build_object('unit_name', (SELECT jsonb_object_agg('k' || i, i) FROM generate_series(1, 20) i))),
    ('pid: check digit',           '{"pid": "02013299998"}'),
    ('pid: long, clipped',         jsonb_build_object('pid', repeat('1', 30))),
    ('measured_at: no offset',     '{"measured_at": "2026-11-20T08:00:00"}'),
    ('measured_at: a date',        '{"measured_at": "2026-11-20"}'),
    ('measured_at: offset "+01:"', '{"measured_at": "2026-11-20T08:00:00+01:"}'),
    ('measured_at: CET',           '{"measured_at": "2026-11-20T08:00:00 CET"}'),
    ('measured_at: space, +0100',  '{"measured_at": "2026-11-20 08:00+0100"}'),
    ('measured_at: fraction, Z',   '{"measured_at": "2026-11-20T07:00:00.123456789Z"}'),
    ('measured_at: month 13',      '{"measured_at": "2026-13-20T08:00:00+01:00"}'),
    ('measured_at: before 1900',   '{"measured_at": "1899-12-31T23:59:59Z"}'),
    ('measured_at: 1900 in UTC',   '{"measured_at": "1900-01-01T00:00:00Z"}'),
    ('oxygen_flow: 61',            '{"on_oxygen": true, "oxygen_flow": 61}'),
    ('oxygen_flow: -1',            '{"on_oxygen": true, "oxygen_flow": -1}'),
    ('oxygen_flow: 60',            '{"on_oxygen": true, "oxygen_flow": 60}'),
    ('oxygen_flow on air',         '{"oxygen_flow": 0.5}'),
    ('oxygen_flow 0 on air',       '{"oxygen_flow": 0}'),
    ('status: amended',            '{"status": "amended"}'),
    ('status: entered-in-error',   '{"status": "entered-in-error"}'),
    ('recorded_by: 10 digits',     '{"recorded_by": "1234567890"}'),
    ('recorded_by: LE-12',         '{"recorded_by": "LE-12"}'),
    ('unit_orgnr: check digit',    '{"unit_orgnr": "974760674"}'),
    ('unit_orgnr: valid',          '{"unit_orgnr": "974760673"}'),
    ('source_system: a space',     '{"source_system": "dips arena"}'),
    ('source_system: 101, clipped', jsonb_build_object('source_system', repeat('s', 101))),
    ('source_system: 100',         jsonb_build_object('source_system', repeat('s', 100))),
    ('source_id: empty',           '{"source_id": ""}'),
    ('source_id: 201',             jsonb_build_object('source_id', repeat('i', 201))),
    ('source_id: 200 characters',  jsonb_build_object('source_id', repeat('é', 200))),
    ('chart: spo2_scale 3',        '{"spo2_scale": 3}'),
    ('chart: temperature 46',      '{"temperature": 46}'),
    ('chart: consciousness',       '{"consciousness": "asleep"}'),
    ('chart: a word',              '{"consciousness": " New confusion "}')
) v(label, e);
-- a whole number written with a fraction is that number (JSON has one number type): 70.0 is 70
SELECT deling.news2_item_problem(b || '{"pulse": 70.0, "resp_rate": 16.000}') AS whole_with_fraction,
       deling.news2_item_problem(b || '{"pulse": 70.5}') AS not_whole,
       deling.news2_item_problem(b || '{"pulse": 2147483647.0}') AS largest,
       deling.news2_item_problem(b || '{"pulse": 2147483648.0}') AS too_large FROM n2;
-- the clock: five minutes of skew are allowed
SELECT deling.news2_item_problem(b || jsonb_build_object('measured_at', to_char(now() + interval '4 minutes', 'YYYY-MM-DD"T"HH24:MI:SSOF'))) AS four_minutes_ahead,
       deling.news2_item_problem(b || jsonb_build_object('measured_at', to_char(now() + interval '10 minutes', 'YYYY-MM-DD"T"HH24:MI:SSOF'))) LIKE 'measured_at % is in the future' AS ten_minutes_ahead
FROM n2;

-- municipal services: a valid item, and each variant of it
CREATE TEMP TABLE ms AS SELECT jsonb_build_object(
    'pid', :'pid', 'service_code', '15', 'status', 'active', 'vedtak_date', '2026-10-01', 'period_start', '2026-10-15',
    'period_end', '2026-12-31', 'weekly_hours', 5, 'stay_type', 'dagopphold', 'unit_name', 'Hjemmetjenesten',
    'unit_orgnr', '974760673', 'unit_phone', '+47 75555555', 'description', 'd',
    'registered_at', '2026-11-01T08:00:00+01:00', 'stops', '[{"from": "2026-11-01", "to": "2026-11-05"}]'::jsonb,
    'source_system', 'test-epj', 'source_id', 's1') AS b;
SELECT label, deling.municipal_service_item_problem(CASE WHEN e IS NULL OR jsonb_typeof(e) <> 'object' THEN e ELSE b || e END) AS problem
FROM ms, (VALUES
    ('valid',                       '{}'::jsonb),
    ('not an object',               '17'),
    ('an unresolved reference',     '{"_unresolved": "Organization/o1"}'),
    ('a parser''s problem',         '{"_problem": "patient identifier is not a fødselsnummer"}'),
    ('unknown fields',              '{"hours": 5, "code": "15"}'),
    ('missing fields',              '{"status": null, "period_start": null}'),
    ('string: service_code 15',     '{"service_code": 15}'),
    ('string: registered_at',       '{"registered_at": 2026}'),
    ('pid: not 11 digits',          '{"pid": "1234"}'),
    ('service_code: 5 digits',      '{"service_code": "12345"}'),
    ('service_code: zeros',         '{"service_code": "0000"}'),
    ('service_code: 0015',          '{"service_code": "0015"}'),
    ('status: done',                '{"status": "done"}'),
    ('vedtak_date: 2026-1-01',      '{"vedtak_date": "2026-1-01"}'),
    ('period_start: 2026-02-29',    '{"period_start": "2026-02-29"}'),
    ('period_end: 2028-02-29',      '{"period_end": "2028-02-29"}'),
    ('registered_at: no offset',    '{"registered_at": "2026-11-01T08:00:00"}'),
    ('registered_at: a space',      '{"registered_at": "2026-11-01 08:00:00Z"}'),
    ('registered_at: 7 decimals',   '{"registered_at": "2026-11-01T08:00:00.1234567Z"}'),
    ('registered_at: 6 decimals',   '{"registered_at": "2026-11-01T08:00:00.123456Z"}'),
    ('registered_at: 2099',         '{"registered_at": "2099-01-01T00:00:00Z"}'),
    ('registered_at: 1899',         '{"registered_at": "1899-12-31T23:00:00Z"}'),
    ('vedtak_date: 1899',           '{"vedtak_date": "1899-12-31"}'),
    ('vedtak_date: 2099',           '{"vedtak_date": "2099-01-01"}'),
    ('period_start: 2099',          '{"period_start": "2099-01-01", "period_end": null, "stops": []}'),
    ('period_end: 2099',            '{"period_end": "2099-01-01"}'),
    ('period_end before start',     '{"period_end": "2026-10-14", "stops": []}'),
    ('ended without an end',        '{"status": "ended", "period_end": null, "stops": []}'),
    ('weekly_hours: a string',      '{"weekly_hours": "5"}'),
    ('weekly_hours: 168.5',         '{"weekly_hours": 168.5}'),
    ('weekly_hours: -1',            '{"weekly_hours": -1}'),
    ('weekly_hours: 168',           '{"weekly_hours": 168}'),
    ('stay_type: hotell',           '{"stay_type": "hotell"}'),
    ('unit_orgnr: check digit',     '{"unit_orgnr": "974760674"}'),
    ('unit_phone: short',           '{"unit_phone": "755555"}'),
    ('unit_phone: "+ 47..."',       '{"unit_phone": "+ 4775555555"}'),
    ('unit_phone: 7 digits',        '{"unit_phone": "7555555"}'),
    ('description: 4001',           jsonb_build_object('description', repeat('d', 4001))),
    ('description: 4000 characters', jsonb_build_object('description', repeat('é', 4000))),
    ('source_system: a slash ok',   '{"source_system": "dips/arena:1"}'),
    ('source_id: empty',            '{"source_id": ""}'),
    ('stops: an object',            '{"stops": {"from": "2026-11-01"}}'),
    ('stops: null',                 '{"stops": null}'),
    ('stop: not an object',         '{"stops": [1]}'),
    ('stop: no from',               '{"stops": [{"to": "2026-11-05"}]}'),
    ('stop: to not a date',         '{"stops": [{"from": "2026-11-01", "to": "5 Nov"}]}'),
    ('stop: another key',           '{"stops": [{"from": "2026-11-01", "reason": "hospital"}]}'),
    ('stop: to null',               '{"stops": [{"from": "2026-11-01", "to": null}]}'),
    ('stop: ends before it starts', '{"stops": [{"from": "2026-11-05", "to": "2026-11-01"}]}'),
    ('stop: before the period',     '{"stops": [{"from": "2026-10-01", "to": "2026-10-20"}]}'),
    ('stop: after the period',      '{"stops": [{"from": "2027-01-01"}]}'),
    ('stop: past the end',          '{"stops": [{"from": "2026-12-20", "to": "2027-01-05"}]}'),
    ('stop: open, service ended',   '{"status": "ended", "stops": [{"from": "2026-12-20"}]}'),
    ('stop: end in 2099',           '{"period_end": null, "stops": [{"from": "2026-12-20", "to": "2099-01-01"}]}'),
    ('stops: overlap',              '{"stops": [{"from": "2026-11-01", "to": "2026-11-05"}, {"from": "2026-11-05", "to": "2026-11-06"}]}'),
    ('stops: after an open stop',   '{"stops": [{"from": "2026-11-01"}, {"from": "2026-11-10", "to": "2026-11-12"}]}'),
    ('stops: unsorted, apart',      '{"stops": [{"from": "2026-11-10", "to": "2026-11-12"}, {"from": "2026-11-01", "to": "2026-11-05"}]}'),
    ('stops: a long one, clipped',  jsonb_build_object('stops', jsonb_build_array(jsonb_build_object('from', '2026-11-01', 'note', repeat('n', 300)))))
) v(label, e);
SELECT deling.municipal_service_item_problem(b - 'stops') AS stops_absent FROM ms;
-- the bounds ahead are Norway's today plus a year (a service's end: ten)
SELECT deling.municipal_service_item_problem(b || jsonb_build_object('vedtak_date', to_char((now() AT TIME ZONE 'Europe/Oslo')::date + interval '1 year', 'YYYY-MM-DD'))) AS a_year_ahead,
       deling.municipal_service_item_problem(b || jsonb_build_object('vedtak_date', to_char((now() AT TIME ZONE 'Europe/Oslo')::date + interval '1 year 1 day', 'YYYY-MM-DD'))) LIKE 'vedtak_date % is more than a year ahead' AS a_day_more,
       deling.municipal_service_item_problem(b || jsonb_build_object('period_end', to_char((now() AT TIME ZONE 'Europe/Oslo')::date + interval '10 years', 'YYYY-MM-DD'))) AS ten_years_ahead,
       deling.municipal_service_item_problem(b || jsonb_build_object('period_end', to_char((now() AT TIME ZONE 'Europe/Oslo')::date + interval '10 years 1 day', 'YYYY-MM-DD'))) LIKE 'period_end % is more than 10 years ahead' AS a_day_more
FROM ms;

-- the batch check
SELECT deling_test.try($$SELECT deling.ingest_problems('{"a": 1}', '1804', 'deling.news2_item_problem')$$) AS an_object,
       deling_test.try($$SELECT deling.ingest_problems('1', '1804', 'deling.news2_item_problem')$$) AS a_scalar,
       deling_test.try($$SELECT deling.ingest_problems(NULL, '1804', 'deling.news2_item_problem')$$) AS null_batch,
       deling_test.try($$SELECT deling.ingest_problems('[]', '1804', 'deling.news2_item_problem')$$) AS empty,
       deling_test.try($$SELECT deling.ingest_problems('[1, 2, 3]', '1804', 'deling.news2_item_problem', 2)$$) AS too_many,
       deling_test.try($$SELECT deling.ingest_problems('[1]', '1804', NULL)$$) AS no_check;
-- another kommune (the first such item), also as null; the caller's own kommune is fine
SELECT deling_test.try(format('SELECT deling.ingest_problems(%L, %L, %L)', items, '1804', 'deling.news2_item_problem')) AS result
FROM n2, LATERAL (VALUES (jsonb_build_array(b, b || '{"kommune_nr": "0301"}', b || '{"kommune_nr": null}')),
                         (jsonb_build_array(b || '{"kommune_nr": null}', b || '{"kommune_nr": "0301"}')),
                         (jsonb_build_array(b || jsonb_build_object('kommune_nr', repeat('9', 30)))),
                         (jsonb_build_array(b || '{"kommune_nr": "1804"}'))) v(items);
-- the report: each bad item by position, with its source_id (bounded); a
-- source key twice refuses both items unless one has a problem of its own;
-- the same source_id in another source system is another key
SELECT jsonb_pretty(deling.ingest_problems(jsonb_build_array(
    b, '"not an item"', b || '{"source_id": "x2", "pulse": "70"}', b || '{"source_id": "x2"}', b || '{"source_id": "x3"}',
    b || '{"source_id": "x3"}', b || '{"source_id": "x4", "source_system": "other-epj"}', b || '{"source_id": "x4"}',
    b || jsonb_build_object('source_id', repeat('y', 250))),
    '1804', 'deling.news2_item_problem')) AS report
FROM n2;
SELECT deling.ingest_problems(jsonb_build_array(b, b || '{"source_id": "s2"}'), '1804', 'deling.municipal_service_item_problem') AS valid_batch
FROM ms;
-- a service's own item check in SQL runs once per item (NULL: valid)
CREATE FUNCTION deling_test.odd_problem(item jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN (item->>'n')::int % 2 = 0 THEN format('%s is even', item->>'n') END;
$$;
SELECT deling.ingest_problems('[{"n": 1, "source_system": "a", "source_id": "1"}, {"n": 2, "source_system": "a", "source_id": "2"},
                                {"n": 3, "source_system": "a", "source_id": "1"}]', '1804', 'deling_test.odd_problem') AS own_check;

-- news2_acvpu in a session whose first NEWS2 call it is
\c -
SELECT deling.news2_acvpu('A') AS a, deling.news2_acvpu('alert') AS alert, deling.news2_acvpu('x') AS x;
