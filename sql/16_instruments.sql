-- Instruments (kartlegginger) scored natively (src/score.c) by their
-- definitions in deling.instrument: every combination of answers of
-- Braden, MNA-SF and Morse against totals and bands computed here in SQL
-- (so every band edge), the MNA-SF measurement ranges at their edges,
-- answer codes, every refusal, the definition checker, the LOINC check
-- digits of every code the definitions carry, and the table's constraints.
CREATE FUNCTION pg_temp.d(c text) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT i.definition FROM deling.instrument i WHERE i.code = c
$$;

-- the instruments and the FHIR codes of their assessments
SELECT code, name, loinc_panel, loinc_total, snomed_scale, jsonb_array_length(definition->'items') AS items,
       (SELECT string_agg(format('%s %s-%s', b->>'band', b->>'min', b->>'max'), ', ') FROM jsonb_array_elements(definition->'bands') b) AS bands
FROM deling.instrument ORDER BY code;

-- LOINC check digits, computed here independently of the C code (LOINC
-- Users' Guide mod 10: from the right, the odd-position digits joined and
-- doubled, the even-position digits written in front, the digits summed;
-- the check digit brings the sum to the next multiple of ten)
CREATE FUNCTION pg_temp.loinc_check(body text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    WITH r AS (SELECT reverse(body) AS r),
    o AS (SELECT string_agg(substr(r, i, 1), '' ORDER BY i DESC) AS o FROM r, generate_series(1, length(r), 2) i),
    e AS (SELECT coalesce(string_agg(substr(r, i, 1), '' ORDER BY i DESC), '') AS e FROM r, generate_series(2, length(r), 2) i),
    s AS (SELECT e || (o::numeric * 2)::text AS s FROM o, e)
    SELECT (10 - sum(substr(s, k, 1)::integer) % 10) % 10 FROM s, generate_series(1, length(s)) k
$$;
SELECT pg_temp.loinc_check('38227') AS braden_total_5, pg_temp.loinc_check('9017') AS not_7_so_9017_7_is_no_loinc_code,
       pg_temp.loinc_check('107107') AS mna_sf_panel_5;
CREATE TEMP TABLE loinc_codes AS
SELECT DISTINCT i.code AS instrument, c->>'code' AS loinc
FROM deling.instrument i, jsonb_path_query(i.definition, '$.** ? (@.system == "http://loinc.org")') c;
-- every LOINC term code of every definition, with its check digit
SELECT instrument, loinc, split_part(loinc, '-', 2)::integer = pg_temp.loinc_check(split_part(loinc, '-', 1)) AS check_digit_ok
FROM loinc_codes WHERE loinc ~ '^[0-9]+-[0-9]$' ORDER BY instrument, loinc;
-- answer codes (LA...): their form (LOINC documents no check-digit scheme for them that we found)
SELECT instrument, count(*) AS answer_codes, bool_and(loinc ~ '^LA[0-9]{1,7}-[0-9]$') AS all_answer_codes_well_formed
FROM loinc_codes WHERE loinc !~ '^[0-9]+-[0-9]$' GROUP BY instrument ORDER BY instrument;
SELECT count(*) AS loinc_codes_neither_term_nor_answer FROM loinc_codes WHERE loinc !~ '^(LA)?[0-9]{1,7}-[0-9]$';

-- Braden: every combination of answers (4^5 x 3), the total their sum,
-- the band by the VA cut-offs (<= 9, 10-12, 13-14, 15-18, >= 19)
WITH combos AS (
    SELECT jsonb_build_object('sensory_perception', a, 'moisture', b, 'activity', c, 'mobility', m,
                              'nutrition', n, 'friction_shear', f) AS items, a + b + c + m + n + f AS expected
    FROM generate_series(1, 4) a, generate_series(1, 4) b, generate_series(1, 4) c, generate_series(1, 4) m,
         generate_series(1, 4) n, generate_series(1, 3) f),
scored AS (SELECT expected, (deling.instrument_score(pg_temp.d('braden'), items)).* FROM combos)
SELECT total, band, band_code, band_display, count(*) AS combinations,
       bool_and(total = expected AND band = CASE WHEN expected <= 9 THEN 'very-high' WHEN expected <= 12 THEN 'high'
                                                 WHEN expected <= 14 THEN 'moderate' WHEN expected <= 18 THEN 'mild' ELSE 'none' END
                AND band_system = 'http://loinc.org') AS as_expected
FROM scored GROUP BY 1, 2, 3, 4 ORDER BY 1;

-- MNA-SF: every combination of A-E with F1 (BMI) or F2 (calf
-- circumference) at and around each range edge; F's points computed here
CREATE TEMP TABLE mna_f (item text, value numeric, points integer);
INSERT INTO mna_f VALUES
    ('F1', 5, 0), ('F1', 18.99, 0), ('F1', 18.999999999999999999999, 0), ('F1', 19, 1), ('F1', 19.0, 1), ('F1', 20.99, 1),
    ('F1', 21, 2), ('F1', 22.99, 2), ('F1', 23, 3), ('F1', 35.5, 3), ('F1', 100, 3),
    ('F2', 5, 0), ('F2', 30.9, 0), ('F2', 30.99999, 0), ('F2', 31, 3), ('F2', 31.0, 3), ('F2', 100, 3);
WITH combos AS (
    SELECT jsonb_build_object('A', a, 'B', b, 'C', c, 'D', d, 'E', e, f.item, f.value) AS items,
           a + b + c + d + e + f.points AS expected
    FROM generate_series(0, 2) a, generate_series(0, 3) b, generate_series(0, 2) c, unnest(ARRAY[0, 2]) d,
         generate_series(0, 2) e, mna_f f),
scored AS (SELECT expected, (deling.instrument_score(pg_temp.d('mna-sf'), items)).* FROM combos)
SELECT total, band, band_code, band_display, count(*) AS combinations,
       bool_and(total = expected AND band = CASE WHEN expected <= 7 THEN 'malnourished' WHEN expected <= 11 THEN 'at-risk'
                                                 ELSE 'normal' END) AS as_expected
FROM scored GROUP BY 1, 2, 3, 4 ORDER BY 1;
-- each F value's points and range, as the FHIR component shows them
SELECT f.item, f.value, c->'points' AS points, c->'answer'->>'display' AS range, (c->>'points')::integer = f.points AS as_expected
FROM mna_f f, jsonb_array_elements(deling.instrument_items(pg_temp.d('mna-sf'),
                                   jsonb_build_object('A', 2, 'B', 3, 'C', 2, 'D', 2, 'E', 2, f.item, f.value))) c
WHERE c->>'item' = f.item ORDER BY f.item, f.value;

-- Morse: every combination of answers (2 x 2 x 3 x 2 x 3 x 2); bands are
-- LOINC's: 0-24 low, 25-45 moderate, 50+ high (every total a multiple of 5)
WITH combos AS (
    SELECT jsonb_build_object('history_of_falling', h, 'secondary_diagnosis', s, 'ambulatory_aid', a, 'iv_access', iv,
                              'gait', g, 'mental_status', m) AS items, h + s + a + iv + g + m AS expected
    FROM unnest(ARRAY[0, 25]) h, unnest(ARRAY[0, 15]) s, unnest(ARRAY[0, 15, 30]) a, unnest(ARRAY[0, 20]) iv,
         unnest(ARRAY[0, 10, 20]) g, unnest(ARRAY[0, 15]) m),
scored AS (SELECT expected, (deling.instrument_score(pg_temp.d('morse'), items)).* FROM combos)
SELECT total, band, band_code, band_display, count(*) AS combinations,
       bool_and(total = expected AND band = CASE WHEN expected <= 24 THEN 'low' WHEN expected <= 45 THEN 'moderate' ELSE 'high' END)
           AS as_expected
FROM scored GROUP BY 1, 2, 3, 4 ORDER BY 1;

-- answers given as their LOINC answer codes score like their points
SELECT (deling.instrument_score(pg_temp.d('braden'),
        '{"sensory_perception": "LA9603-7", "moisture": "LA9608-6", "activity": "LA9612-8", "mobility": "LA120-8",
          "nutrition": "LA9616-9", "friction_shear": "LA9619-3"}')).total AS braden_by_codes,
       (deling.instrument_score(pg_temp.d('braden'),
        '{"sensory_perception": 1, "moisture": 2, "activity": 3, "mobility": 4, "nutrition": 2, "friction_shear": 3}')).total AS braden_by_points,
       (deling.instrument_score(pg_temp.d('morse'),
        '{"history_of_falling": "LA33-6", "secondary_diagnosis": "LA32-8", "ambulatory_aid": "LA13032-0", "iv_access": "LA33-6",
          "gait": "LA13034-6", "mental_status": "LA13037-9"}')).* ;
-- numbers are compared as numbers: 3.0 is 3
SELECT (deling.instrument_score(pg_temp.d('braden'),
        '{"sensory_perception": 3.0, "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 3.00}')).total;

-- the sender's total: agreeing is scored, disagreeing is refused
SELECT (deling.instrument_score(pg_temp.d('braden'),
        '{"sensory_perception": 3, "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 2}', 17)).*;
SELECT deling_test.try($$SELECT deling.instrument_score(pg_temp.d('braden'),
        '{"sensory_perception": 3, "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 2}', 18)$$);
SELECT deling.instrument_problem(pg_temp.d('mna-sf'), '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F2": 31}', 14) IS NULL AS agreeing,
       deling.instrument_problem(pg_temp.d('mna-sf'), '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F2": 30}', 14) AS disagreeing,
       deling.instrument_problem(pg_temp.d('mna-sf'), '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F2": 30}', NULL) IS NULL AS no_total_given;

-- IPLOS: each variable stands alone, no total and no band
SELECT (deling.instrument_score(pg_temp.d('iplos'), '{"syn": 2, "alminnelig_husarbeid": 9}')).*;
SELECT jsonb_pretty(deling.instrument_items(pg_temp.d('iplos'), '{"alminnelig_husarbeid": 4}'));

-- every refusal: the problem, and instrument_score's error (22023)
SELECT label, deling.instrument_problem(pg_temp.d(instrument), items::jsonb, total) AS problem,
       deling_test.try(format('SELECT deling.instrument_score(pg_temp.d(%L), %L, %s)', instrument, items, coalesce(total::text, 'NULL'))) AS score
FROM (VALUES
    ('unknown item',              'braden', '{"sensory_perception": 3, "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 2, "turning": 1}', NULL),
    ('item in another case',      'braden', '{"Sensory_perception": 3, "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 2}', NULL),
    ('points not an answer',      'braden', '{"sensory_perception": 3, "moisture": 5, "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 2}', NULL),
    ('friction_shear has no 4',   'braden', '{"sensory_perception": 3, "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 4}', NULL),
    ('zero',                      'braden', '{"sensory_perception": 0, "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 2}', NULL),
    ('not a whole number',        'braden', '{"sensory_perception": 2.5, "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 2}', NULL),
    ('a digit as a string',       'braden', '{"sensory_perception": "3", "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 2}', NULL),
    ('another item''s code',      'braden', '{"sensory_perception": 3, "moisture": "LA9603-7", "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 2}', NULL),
    ('a boolean',                 'morse', '{"history_of_falling": true, "secondary_diagnosis": 0, "ambulatory_aid": 0, "iv_access": 0, "gait": 0, "mental_status": 0}', NULL),
    ('an object',                 'morse', '{"history_of_falling": {"points": 25}, "secondary_diagnosis": 0, "ambulatory_aid": 0, "iv_access": 0, "gait": 0, "mental_status": 0}', NULL),
    ('missing item',              'braden', '{"sensory_perception": 3, "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3}', NULL),
    ('null is not given',         'braden', '{"sensory_perception": 3, "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": null}', NULL),
    ('F1 and F2 both',            'mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F1": 22.5, "F2": 33}', NULL),
    ('neither F1 nor F2',         'mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2}', NULL),
    ('F2 null, F1 given',         'mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F1": 22.5, "F2": null}', NULL),
    ('D has no 1',                'mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 1, "E": 2, "F2": 33}', NULL),
    ('BMI below the limits',      'mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F1": 4.99}', NULL),
    ('BMI above the limits',      'mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F1": 100.01}', NULL),
    ('BMI as a string',           'mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F1": "22,5"}', NULL),
    ('sender''s total disagrees', 'morse', '{"history_of_falling": 25, "secondary_diagnosis": 15, "ambulatory_aid": 0, "iv_access": 20, "gait": 0, "mental_status": 0}', 45),
    ('IPLOS has no total',        'iplos', '{"syn": 1}', 1),
    ('IPLOS: 6 is no score',      'iplos', '{"syn": 6}', NULL),
    ('IPLOS: no variables',       'iplos', '{}', NULL),
    ('IPLOS: only nulls',         'iplos', '{"syn": null}', NULL),
    ('items not an object',       'braden', '[3, 3, 3, 3, 3, 2]', NULL),
    ('items a number',            'braden', '17', NULL)
) t(label, instrument, items, total);
-- NULL: an unknown instrument or no items are problems; scoring gives NULL
SELECT deling.instrument_problem(pg_temp.d('no-such-instrument'), '{"a": 1}') AS unknown_instrument,
       deling.instrument_problem(pg_temp.d('braden'), NULL) AS no_items,
       deling.instrument_score(NULL, '{"a": 1}') IS NULL AS score_of_null_definition,
       deling.instrument_score(pg_temp.d('braden'), NULL) IS NULL AS score_of_null_items,
       deling.instrument_items(pg_temp.d('braden'), NULL) IS NULL AS items_of_null;
-- the FHIR components of a Braden assessment
SELECT jsonb_pretty(deling.instrument_items(pg_temp.d('braden'),
    '{"friction_shear": "LA9618-5", "nutrition": 3, "mobility": 2, "activity": 2, "moisture": 4, "sensory_perception": 3}'));
SELECT deling_test.try($$SELECT deling.instrument_items(pg_temp.d('braden'), '{"moisture": 9}')$$);

-- The definition checker: the seeds are valid; each kind of mistake is named
SELECT code, deling.instrument_check(definition) AS problem FROM deling.instrument ORDER BY code;
CREATE TEMP TABLE base AS SELECT '{"code": "t", "name": "Test",
    "total": {"system": "http://loinc.org", "code": "38227-5"},
    "items": [{"code": "a", "name": "A", "coding": {"system": "urn:x", "code": "a"},
               "answers": [{"points": 0, "display": "no"}, {"points": 1, "display": "yes"}]},
              {"code": "b", "name": "B", "coding": {"system": "urn:x", "code": "b"}, "unit": "cm", "min": 0, "max": 100,
               "ranges": [{"below": 10, "points": 0}, {"points": 2}]}],
    "bands": [{"band": "low", "min": 0, "max": 1, "display": "Low"}, {"band": "high", "min": 2, "max": 3, "display": "High"}]}'::jsonb AS d;
SELECT deling.instrument_check(d) AS base_is_valid, (deling.instrument_score(d, '{"a": 1, "b": 12.5}')).* FROM base;
SELECT label, deling.instrument_check(jsonb_set(d, path::text[], value::jsonb)) AS problem
FROM base, (VALUES
    ('unknown top-level key',     '{bandz}', '[]'),
    ('code with a space',         '{code}', '"t t"'),
    ('no items',                  '{items}', '[]'),
    ('item key misspelt',         '{items,0,requried}', 'false'),
    ('item without coding',       '{items,0,coding}', 'null'),
    ('wrong LOINC check digit',   '{items,0,coding}', '{"system": "http://loinc.org", "code": "9017-7"}'),
    ('not a LOINC code',          '{items,0,coding}', '{"system": "http://loinc.org", "code": "LA9603-7"}'),
    ('total''s check digit',      '{total,code}', '"38227-4"'),
    ('malformed answer code',     '{items,0,answers,0}', '{"points": 0, "display": "no", "system": "http://loinc.org", "code": "LA-1"}'),
    ('answer code without system','{items,0,answers,0}', '{"points": 0, "display": "no", "code": "x"}'),
    ('points not whole',          '{items,0,answers,0,points}', '0.5'),
    ('points out of range',       '{items,0,answers,0,points}', '1001'),
    ('two answers, same points',  '{items,0,answers,1,points}', '0'),
    ('answer without display',    '{items,0,answers,1}', '{"points": 1}'),
    ('answers and ranges',        '{items,0,ranges}', '[{"points": 0}]'),
    ('measured without unit',     '{items,1,unit}', 'null'),
    ('range without below',       '{items,1,ranges,0}', '{"points": 0}'),
    ('last range bounded',        '{items,1,ranges,1}', '{"below": 20, "points": 2}'),
    ('ranges not increasing',     '{items,1,ranges}', '[{"below": 10, "points": 0}, {"below": 5, "points": 1}, {"points": 2}]'),
    ('min above max',             '{items,1,min}', '150'),
    ('min not a number',          '{items,1,min}', '"0"'),
    ('unit on an answer item',    '{items,0,unit}', '"cm"'),
    ('two items, one code',       '{items,1,code}', '"a"'),
    ('unknown alternative',       '{alternatives}', '[["a", "c"]]'),
    ('alternatives of one',       '{alternatives}', '[["a"]]'),
    ('bands with a gap',          '{bands,1,min}', '3'),
    ('bands overlapping',         '{bands,1,min}', '1'),
    ('bands too short',           '{bands,1,max}', '2'),
    ('band min above max',        '{bands,0,max}', '-1'),
    ('two bands, one name',       '{bands,1,band}', '"low"'),
    ('bands without a total',     '{total}', 'null'),
    ('band_coding''s check digit', '{band_coding}', '{"system": "http://loinc.org", "code": "81636-4"}'),
    ('a scale that is no coding', '{scale}', '"781128005"')
) t(label, path, value)
ORDER BY label;
SELECT deling.instrument_check((d - 'bands') || '{"band_coding": {"system": "http://loinc.org", "code": "81636-3"}}') AS band_coding_without_bands,
       deling.instrument_check(jsonb_set(d, '{band_coding}', '{"system": "http://loinc.org", "code": "81636-3"}')) AS band_coding_with_bands
FROM base;
SELECT deling.instrument_check('[1]') AS not_an_object, deling.instrument_check('{"name": "x"}') AS no_code,
       deling_test.try($$SELECT deling.instrument_score('{"code": "x"}', '{}')$$) AS scoring_by_it;
-- alternatives make both required: the total runs over the group's least and greatest
SELECT deling.instrument_check(jsonb_set(d, '{alternatives}', '[["a", "b"]]')) AS with_alternatives,
       deling.instrument_check(jsonb_set(jsonb_set(d, '{alternatives}', '[["a", "b"]]'), '{bands,1,max}', '2')) AS bands_cover_0_2_enough
FROM base;

-- many definitions in one statement (more than the backend's cache holds,
-- and changing from row to row): each row is scored by its own
SELECT count(*) AS scored, bool_and((deling.instrument_score(jsonb_set(d, '{name}', to_jsonb('Test ' || n)),
                                     jsonb_build_object('a', n % 2, 'b', n))).total = n % 2 + CASE WHEN n < 10 THEN 0 ELSE 2 END) AS each_by_its_own
FROM base, generate_series(1, 30) n, generate_series(1, 2) pass;
SELECT count(*) AS scored, bool_and((deling.instrument_score(i.definition, '{"syn": 3}')).total IS NULL) AS iplos_no_total
FROM deling.instrument i, generate_series(1, 3) WHERE i.code = 'iplos';

-- The table: invalid definitions are refused; the DBA may add an instrument
SELECT deling_test.try($$INSERT INTO deling.instrument (code, name, definition) VALUES ('t', 'Test', '{"code": "t", "name": "Test", "items": []}')$$);
SELECT deling_test.try($$INSERT INTO deling.instrument (code, name, definition) SELECT 'u', 'Test', d FROM base$$);
SELECT deling_test.try($$UPDATE deling.instrument SET definition = jsonb_set(definition, '{bands,0,max}', '8') WHERE code = 'braden'$$);
SELECT deling_test.try($$UPDATE deling.instrument SET loinc_total = '1-8' WHERE code = 'braden'$$);
BEGIN;
INSERT INTO deling.instrument (code, name, definition) SELECT 't', 'Test', d FROM base;
SELECT code, loinc_total, (deling.instrument_score(definition, '{"a": 1, "b": 9}')).* FROM deling.instrument WHERE code = 't';
ROLLBACK;

-- declared properties
SELECT p.oid::regprocedure, p.provolatile, p.proisstrict, p.proparallel FROM pg_proc p
WHERE p.pronamespace = 'deling'::regnamespace AND p.proname LIKE 'instrument\_%' ORDER BY 1;
