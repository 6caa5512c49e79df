-- NEWS2 scoring in C against the RCP 2017 chart (shared/domain/news2.md):
-- every band edge of every parameter on both sides, both SpO2 scales on air
-- and on oxygen, each risk level, NULLs, and each kind of bad input.
-- Each case varies one parameter from a baseline that scores 0 everywhere
-- (resp 16, SpO2 98 scale 1 on air, systolic 120, pulse 70, A, 37.0 °C).
CREATE TEMP TABLE cases (param text, resp int, spo2 int, scale int, o2 boolean, sbp int, pulse int,
                         avpu text, temp numeric, expected int);
INSERT INTO cases
SELECT 'resp', v, 98, 1, false, 120, 70, 'A', 37.0, e FROM (VALUES
    (0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (80, 3)) t(v, e)
UNION ALL SELECT 'spo2 scale 1 air', 16, v, 1, false, 120, 70, 'A', 37.0, e FROM (VALUES
    (0, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)) t(v, e)
UNION ALL SELECT 'spo2 scale 1 oxygen (+2 for oxygen)', 16, v, 1, true, 120, 70, 'A', 37.0, e + 2 FROM (VALUES
    (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (97, 0), (100, 0)) t(v, e)
UNION ALL SELECT 'spo2 scale 2 air', 16, v, 2, false, 120, 70, 'A', 37.0, e FROM (VALUES
    (0, 3), (83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0), (93, 0), (94, 0), (96, 0), (97, 0), (100, 0)) t(v, e)
UNION ALL SELECT 'spo2 scale 2 oxygen (+2 for oxygen)', 16, v, 2, true, 120, 70, 'A', 37.0, e + 2 FROM (VALUES
    (83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0), (93, 1), (94, 1), (95, 2), (96, 2), (97, 3), (100, 3)) t(v, e)
UNION ALL SELECT 'systolic', 16, 98, 1, false, v, 70, 'A', 37.0, e FROM (VALUES
    (0, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3), (350, 3)) t(v, e)
UNION ALL SELECT 'pulse', 16, 98, 1, false, 120, v, 'A', 37.0, e FROM (VALUES
    (0, 3), (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2), (131, 3), (300, 3)) t(v, e)
UNION ALL SELECT 'consciousness', 16, 98, 1, false, 120, 70, v, 37.0, e FROM (VALUES
    ('A', 0), ('a', 0), ('alert', 0), (' Alert ', 0), ('C', 3), ('c', 3), ('confusion', 3), ('New Confusion', 3),
    ('V', 3), ('voice', 3), ('P', 3), ('PAIN', 3), ('U', 3), ('unresponsive', 3)) t(v, e)
UNION ALL SELECT 'temperature', 16, 98, 1, false, 120, 70, 'A', v, e FROM (VALUES
    (25.0, 3), (35, 3), (35.0, 3), (35.05, 1), (35.1, 1), (36.0, 1), (36.01, 0), (36.1, 0), (37.5, 0), (38.0, 0),
    (38.05, 1), (38.1, 1), (39.0, 1), (39.05, 2), (39.1, 2), (45.0, 2)) t(v, e);

-- every case scores as the chart says (no rows = no disagreement)
SELECT param, resp, spo2, scale, o2, sbp, pulse, avpu, temp, expected,
       deling.news2_score(resp, spo2, scale, o2, sbp, pulse, avpu, temp) AS got
FROM cases WHERE deling.news2_score(resp, spo2, scale, o2, sbp, pulse, avpu, temp) <> expected;
SELECT param, count(*) AS cases_checked FROM cases GROUP BY param ORDER BY param;

-- sub-scores land in the right component
SELECT (deling.news2_subscores(22, 94, 2, true, 105, 95, 'new confusion', 38.5)).*;
SELECT (deling.news2_subscores(16, 98, 1, false, 120, 70, 'A', 37.0)).*;
SELECT (deling.news2_subscores(8, 91, 1, true, 90, 131, 'U', 35.0)).*;   -- every parameter at its worst

-- risk: each level, and the low-medium boundary (a single 3 with total <= 4)
SELECT label, deling.news2_score(resp, spo2, 1, o2, sbp, pulse, avpu, temp) AS score,
       deling.news2_risk(resp, spo2, 1, o2, sbp, pulse, avpu, temp) AS risk,
       (deling.news2_response(deling.news2_score(resp, spo2, 1, o2, sbp, pulse, avpu, temp),
                              deling.news2_risk(resp, spo2, 1, o2, sbp, pulse, avpu, temp))).monitoring
FROM (VALUES
    ('all normal',                           16, 98, false, 120, 70, 'A', 37.0),
    ('total 4, no single 3',                 21, 94, false, 120, 70, 'A', 38.5),
    ('single 3 alone (total 3)',             16, 98, false, 120, 70, 'C', 37.0),
    ('single 3 plus 1 (total 4)',            16, 95, false, 120, 70, 'C', 37.0),
    ('total 5 with a single 3 -> medium',    16, 94, false, 120, 91, 'C', 37.0),
    ('total 5 without a 3',                  22, 94, false, 120, 91, 'A', 38.5),
    ('total 6',                              22, 94, false, 105, 95, 'A', 38.5),
    ('total 7 -> high',                      22, 93, false, 105, 95, 'A', 38.5),
    ('maximum total 20',                      8, 91, true,   90, 131, 'U', 35.0)
) t(label, resp, spo2, o2, sbp, pulse, avpu, temp);

-- Chart 3 for each band, and a total that does not go with its risk
SELECT * FROM deling.news2_response(0, 'low');
SELECT * FROM deling.news2_response(4, 'low');
SELECT * FROM deling.news2_response(3, 'low-medium');
SELECT * FROM deling.news2_response(6, 'medium');
SELECT * FROM deling.news2_response(12, 'high');
SELECT deling_test.try($$SELECT deling.news2_response(7, 'low')$$);
SELECT deling_test.try($$SELECT deling.news2_response(5, 'low-medium')$$);

-- NULL in, NULL out (STRICT), for every argument
SELECT deling.news2_score(NULL, 98, 1, false, 120, 70, 'A', 37.0) IS NULL AS n1,
       deling.news2_score(16, NULL, 1, false, 120, 70, 'A', 37.0) IS NULL AS n2,
       deling.news2_score(16, 98, NULL, false, 120, 70, 'A', 37.0) IS NULL AS n3,
       deling.news2_score(16, 98, 1, NULL, 120, 70, 'A', 37.0) IS NULL AS n4,
       deling.news2_score(16, 98, 1, false, NULL, 70, 'A', 37.0) IS NULL AS n5,
       deling.news2_score(16, 98, 1, false, 120, NULL, 'A', 37.0) IS NULL AS n6,
       deling.news2_score(16, 98, 1, false, 120, 70, NULL, 37.0) IS NULL AS n7,
       deling.news2_score(16, 98, 1, false, 120, 70, 'A', NULL) IS NULL AS n8,
       deling.news2_risk(16, 98, 1, false, 120, 70, 'A', NULL) IS NULL AS r8;

-- impossible input: 22003 for a number out of range, 22023 for a value not allowed
SELECT label, deling_test.try(format('SELECT deling.news2_score(%s)', args)) AS result FROM (VALUES
    ('spo2 101',            $$16, 101, 1, false, 120, 70, 'A', 37.0$$),
    ('spo2 -1',             $$16, -1, 1, false, 120, 70, 'A', 37.0$$),
    ('resp -1',             $$-1, 98, 1, false, 120, 70, 'A', 37.0$$),
    ('resp 81',             $$81, 98, 1, false, 120, 70, 'A', 37.0$$),
    ('systolic 351',        $$16, 98, 1, false, 351, 70, 'A', 37.0$$),
    ('systolic -5',         $$16, 98, 1, false, -5, 70, 'A', 37.0$$),
    ('pulse 301',           $$16, 98, 1, false, 120, 301, 'A', 37.0$$),
    ('temperature 24.9',    $$16, 98, 1, false, 120, 70, 'A', 24.9$$),
    ('temperature 45.01',   $$16, 98, 1, false, 120, 70, 'A', 45.01$$),
    ('temperature NaN',     $$16, 98, 1, false, 120, 70, 'A', 'NaN'$$),
    ('temperature -Inf',    $$16, 98, 1, false, 120, 70, 'A', '-Infinity'$$),
    ('scale 0',             $$16, 98, 0, false, 120, 70, 'A', 37.0$$),
    ('scale 3',             $$16, 98, 3, false, 120, 70, 'A', 37.0$$),
    ('consciousness X',     $$16, 98, 1, false, 120, 70, 'X', 37.0$$),
    ('consciousness empty', $$16, 98, 1, false, 120, 70, '', 37.0$$),
    ('consciousness asleep',$$16, 98, 1, false, 120, 70, 'asleep', 37.0$$)
) t(label, args);
SELECT deling.news2_problem(16, 101, 1, false, 120, 70, 'A', 37.0) AS problem,
       deling.news2_problem(16, 98, 1, false, 120, 70, 'A', 37.0) IS NULL AS valid_has_no_problem;
SELECT deling.news2_acvpu(v) FROM (VALUES ('alert'), ('New confusion'), ('x')) t(v);

-- declared properties
SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel FROM pg_proc p
WHERE p.pronamespace = 'deling'::regnamespace AND p.proname IN ('news2_score', 'news2_risk', 'news2_subscores')
ORDER BY 1;
-- stored temperatures (short packed numerics, scored through the memo of
-- their bytes) score exactly like the same values given as constants,
-- twice over so that the second pass hits the memo; problems too
CREATE TEMP TABLE stored_t AS
SELECT t, deling.news2_problem(16, 98, 1, false, 120, 70, 'A', t) AS problem_constant
FROM unnest(ARRAY[24.9, 25.0, 34.9, 35.0, 35.00, 35.05, 35.1, 36.0, 36.1, 37.95, 38.0, 38.000, 38.1, 39.0, 39.1, 44.99, 45.0, 45.1, 'NaN']::numeric[]) t;
SELECT t, deling.news2_subscores(16, 98, 1, false, 120, 70, 'A', t) AS stored,
       (SELECT deling.news2_subscores(16, 98, 1, false, 120, 70, 'A', t + 0)) AS constant
FROM stored_t, generate_series(1, 2) pass WHERE problem_constant IS NULL AND pass = 2 ORDER BY t;
SELECT count(*) AS disagreements FROM stored_t, generate_series(1, 2)
WHERE deling.news2_problem(16, 98, 1, false, 120, 70, 'A', t) IS DISTINCT FROM problem_constant;
