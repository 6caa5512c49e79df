-- Code systems for diagnoses (src/codes.c): ICPC-2, ICD-10 as Norway writes
-- it, SNOMED CT concept ids; canonical forms, chapters, system URIs, and a
-- citizen's block on a code or a chapter of codes.

-- verhoeff(body): the body with its Verhoeff check digit appended, computed
-- here in SQL, independently of the C code under test.
CREATE FUNCTION deling_test.verhoeff(body text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    d int[] := '{{0,1,2,3,4,5,6,7,8,9},{1,2,3,4,0,6,7,8,9,5},{2,3,4,0,1,7,8,9,5,6},{3,4,0,1,2,8,9,5,6,7},{4,0,1,2,3,9,5,6,7,8},
                 {5,9,8,7,6,0,4,3,2,1},{6,5,9,8,7,1,0,4,3,2},{7,6,5,9,8,2,1,0,4,3},{8,7,6,5,9,3,2,1,0,4},{9,8,7,6,5,4,3,2,1,0}}';
    p int[] := '{{0,1,2,3,4,5,6,7,8,9},{1,5,7,6,2,8,3,0,9,4},{5,8,0,3,7,9,6,1,4,2},{8,9,1,6,0,4,3,5,2,7},
                 {9,4,5,3,1,2,6,8,7,0},{4,2,8,6,5,7,3,9,0,1},{2,7,9,3,8,0,6,4,1,5},{7,0,4,6,9,1,3,2,5,8}}';
    inv int[] := '{0,4,3,2,1,5,6,7,8,9}';
    c int := 0;
BEGIN
    FOR i IN 1..length(body) LOOP
        c := d[c + 1][p[i % 8 + 1][substr(body, length(body) - i + 1, 1)::int + 1] + 1];
    END LOOP;
    RETURN body || inv[c + 1];
END
$$;

-- ICPC-2: 17 chapter letters, rubrics 01-99, a Norwegian fourth digit,
-- process codes with a chapter (K30) or without (-30)
SELECT v, coalesce(deling.icpc2_problem(v), 'well-formed') AS problem, deling.code_canonical('icpc-2', v) AS canonical,
       deling.icpc2_component(v) AS component
FROM unnest(ARRAY[
    'K86', 'k86', 'A01', 'A29', 'A30', 'A49', 'A50', 'A59', 'A60', 'A61', 'A62', 'A63', 'A69', 'A70', 'Z99', 'P76',
    'A191', 'A981', 'R991', 'W781', 'U891', '-30', '-69',
    '', 'K', 'K8', 'K00', 'K8a', 'C86', 'E11', 'V01', 'M54', '1K86', ' K86', 'K86 ', 'K8666', 'K301', 'K691',
    '-29', '-70', '-3', '-300', '--30', 'æ86']) v;

-- every letter with every two-digit number: 17 chapters of 99 rubrics
SELECT count(*) FILTER (WHERE deling.icpc2_problem(chr(l) || lpad(n::text, 2, '0')) IS NULL) AS well_formed,
       string_agg(DISTINCT chr(l), '') FILTER (WHERE deling.icpc2_problem(chr(l) || lpad(n::text, 2, '0')) IS NULL) AS chapters
FROM generate_series(ascii('A'), ascii('Z')) l, generate_series(0, 99) n;

-- ICD-10: with or without the dot, the Norwegian edition's letters,
-- canonical with the dot; the examples FHI's LMDI guide uses (R63.3, F40.2)
SELECT v, coalesce(deling.icd10_problem(v), 'well-formed') AS problem, deling.icd10_canonical(v) AS canonical,
       deling.code_chapter('icd-10', v) AS chapter
FROM unnest(ARRAY[
    'F32', 'F32.1', 'F321', 'f32.1', 'f321', 'F10.00', 'F1000', 'S72.00', 'R63.3', 'F40.2', 'U07.1', 'Z00.0',
    'I21.0a', 'I210a', 'I21.0A', 'V0n.0a', 'V0N0A', 'v0n0a', 'V2s.1b', 'V2t.xy', 'T4n', 'X6n.x', 'V80.xa',
    'C00', 'D48.9', 'D50', 'H59', 'H60', 'H95.9', 'K93', 'P96', 'T98', 'V01', 'Y98', 'U85',
    '', 'F', 'F3', '32.1', 'F3.21', 'F32.', 'F32..1', '.F32', 'F32.123', 'F321234', 'F32.1 ', ' F32', 'F32-1',
    'J21.8 B95.6', 'F32.a', 'F32.1-', 'Fa2', 'F3a', 'F32.ab', 'F32.1.',
    'D49', 'E91', 'H96', 'K94', 'P97', 'T99', 'V00', 'Y99', 'U86', 'U99', 'D4n']) v;

-- every letter with every two-digit number: the categories inside WHO's 22 chapters
SELECT chr(l) AS letter, count(*) FILTER (WHERE deling.icd10_problem(chr(l) || lpad(n::text, 2, '0')) IS NULL) AS categories,
       string_agg(DISTINCT deling.code_chapter('icd-10', chr(l) || lpad(n::text, 2, '0')), ' ') AS chapters
FROM generate_series(ascii('A'), ascii('Z')) l, generate_series(0, 99) n
GROUP BY l ORDER BY l;

-- SNOMED CT concept ids: real ones from the FHIR research notes (international,
-- partition 00; the UK and Norwegian extensions, partition 10), then wrong ones
SELECT v, coalesce(deling.snomed_problem(v), 'well-formed') AS problem
FROM unnest(ARRAY[
    '722742002',            -- Breathing room air
    '371825009',            -- Patient on oxygen
    '426938003',            -- Morse falls risk assessment
    '781128005',            -- Braden Scale
    '86290005',             -- Respiratory rate
    '248234008',            -- Mentally alert
    '1104051000000101',     -- NEWS2 total score (UK extension, namespace 1000000)
    '1363261000000104',     -- NPEWS total (UK extension)
    '8921000202108',        -- Norwegian extension (namespace 1000202)
    '900000000000003001',   -- 18 digits
    '722742003', '722742012', '1104051000000102', '12345', '1234567890123456789', '0722742002', '72274200a', '',
    ' 722742002', '72274-2002', '7227420021']) v;

-- partitions, check digits computed here: a description id (01, 11), a
-- relationship id (02, 12), a postcoordinated expression (16), an undefined
-- partition, and a long-format id too short for its namespace
SELECT what, v, coalesce(deling.snomed_problem(v), 'well-formed') AS problem
FROM (VALUES
    ('concept, international', deling_test.verhoeff('12345600')),
    ('description, international', deling_test.verhoeff('12345601')),
    ('relationship, international', deling_test.verhoeff('12345602')),
    ('concept, Norwegian extension', deling_test.verhoeff('892100020210')),
    ('description, Norwegian extension', deling_test.verhoeff('892100020211')),
    ('relationship, Norwegian extension', deling_test.verhoeff('892100020212')),
    ('postcoordinated expression', deling_test.verhoeff('892100020216')),
    ('partition 05', deling_test.verhoeff('12345605')),
    ('partition 10 without a namespace', deling_test.verhoeff('12345610')),
    ('partition 10, 1-digit item, namespace', deling_test.verhoeff('1100020210')),
    ('6 digits', deling_test.verhoeff('10000')),
    ('the SQL check digit agrees with C on a real id', deling_test.verhoeff('72274200'))
) t(what, v);

-- every single-digit error in a real id is caught by the check digit
SELECT count(*) AS altered, count(*) FILTER (WHERE deling.snomed_problem(v) IS NULL) AS accepted
FROM (SELECT overlay('1104051000000101' PLACING d::text FROM i FOR 1) AS v
      FROM generate_series(1, 16) i, generate_series(0, 9) d
      WHERE substr('1104051000000101', i, 1) <> d::text) t;

-- one function for every system, the system by short name (any case) or URI
SELECT s, v, coalesce(deling.code_problem(s, v), 'well-formed') AS problem, deling.code_canonical(s, v) AS canonical,
       deling.code_chapter(s, v) AS chapter
FROM (VALUES ('icpc-2', 'K86'), ('ICPC-2', 'p76'), ('urn:oid:2.16.578.1.12.4.1.1.7170', 'R991'),
             ('http://hl7.org/fhir/sid/icpc-2', '-30'), ('urn:oid:2.16.840.1.113883.6.139', 'A981'),
             ('icd-10', 'F321'), ('Icd-10', 'c509'), ('urn:oid:2.16.578.1.12.4.1.1.7110', 'R63.3'),
             ('http://hl7.org/fhir/sid/icd-10-no', 'F40.2'), ('http://hl7.org/fhir/sid/icd-10', 'I21.9'),
             ('snomed-ct', '722742002'), ('http://snomed.info/sct', '8921000202108'), ('urn:oid:2.16.840.1.113883.6.96', '371825009'),
             ('icd-10', 'K86'), ('icpc-2', 'F32.1'), ('snomed-ct', 'K86'),
             ('icd-11', 'K86'), ('', 'K86'), ('urn:oid:2.16.578.1.12.4.1.1.7170 ', 'K86'), ('HTTP://snomed.info/sct', '722742002'))
     t(s, v);

-- the chapter ranges at both ends of every chapter
SELECT c AS code, deling.code_chapter('icd-10', c) AS chapter
FROM unnest(ARRAY['A00', 'B99', 'C00', 'D48', 'D50', 'D89', 'E00', 'E90', 'F00', 'F99', 'G00', 'G99', 'H00', 'H59', 'H60',
                  'H95', 'I00', 'I99', 'J00', 'J99', 'K00', 'K93', 'L00', 'L99', 'M00', 'M99', 'N00', 'N99', 'O00', 'O99',
                  'P00', 'P96', 'Q00', 'Q99', 'R00', 'R99', 'S00', 'T98', 'V01', 'Y98', 'Z00', 'Z99', 'U00', 'U85']) c;

-- system names and the FHIR system URIs deling sends
SELECT s, deling.code_system_key(s) AS key, CASE WHEN deling.code_system_key(s) IS NOT NULL THEN deling.code_system_uri(s) END AS uri
FROM unnest(ARRAY['icpc-2', 'ICPC-2', 'http://hl7.org/fhir/sid/icpc-2', 'urn:oid:2.16.578.1.12.4.1.1.7170',
                  'urn:oid:2.16.840.1.113883.6.139', 'icd-10', 'http://hl7.org/fhir/sid/icd-10-no',
                  'urn:oid:2.16.578.1.12.4.1.1.7110', 'http://hl7.org/fhir/sid/icd-10', 'snomed-ct', 'http://snomed.info/sct',
                  'urn:oid:2.16.840.1.113883.6.96', 'icpc2', 'icd10', 'sct', 'urn:oid:2.16.578.1.12.4.1.1.7171',
                  'http://hl7.org/fhir/sid/icd-10-cm', '']) s;
SELECT deling_test.try($$SELECT deling.code_system_uri('icd-11')$$) AS unknown_system_uri;

-- blocks: what a citizen or a kommune may send, and its stored form
SELECT b, coalesce(deling.code_block_problem(b), 'well-formed') AS problem, deling.code_block_canonical(b) AS canonical
FROM unnest(ARRAY[
    'icd-10:F32.1', 'ICD-10:f321', 'icd-10:F32', 'icd-10:F', 'icd-10:f', 'icd-10:C00-D48', 'icd-10:c00-d48',
    'icd-10:F30-F39', 'icd-10:F32-F32', 'icd-10:V01-Y98', 'icd-10:I21.0a',
    'icpc-2:P', 'icpc-2:p', 'icpc-2:P76', 'icpc-2:A98', 'icpc-2:-30', 'snomed-ct:722742002',
    'urn:oid:2.16.578.1.12.4.1.1.7170:k86', 'http://snomed.info/sct:8921000202108',
    'F32', ':F32', 'icd-10:', 'icd-10', 'icd-11:F32', 'icpc-2:C', 'icpc-2:V', 'icpc-2:1', 'icd-10:1', 'icd-10:D48-C00',
    'icd-10:C0-D48', 'icd-10:C00-D4', 'icd-10:C00-D48.9', 'icd-10:C00_D48', 'icd-10:D49', 'icpc-2:K8666',
    'snomed-ct:A', 'snomed-ct:722742003', 'snomed-ct:' || deling_test.verhoeff('12345601'),
    'icd-10:F32.1 ', ' icd-10:F32.1', 'icd-10: F32.1', 'icd-10:' || repeat('F', 100)]) b;

-- which codes each form of block covers (and which it does not)
SELECT b AS block, s AS system, c AS code, deling.code_block_matches(b, s, c) AS covered
FROM (VALUES
    -- one ICD-10 code: itself, with or without the dot, and its subdivisions
    ('icd-10:F32', 'icd-10', 'F32'), ('icd-10:F32', 'icd-10', 'F32.1'), ('icd-10:F32', 'icd-10', 'F321'),
    ('icd-10:F32', 'icd-10', 'F32.10'), ('icd-10:F32', 'icd-10', 'F33'), ('icd-10:F32', 'icd-10', 'F03.2'),
    ('icd-10:F32.1', 'icd-10', 'F32.1'), ('icd-10:F32.1', 'icd-10', 'F32.11'), ('icd-10:F32.1', 'icd-10', 'F32'),
    ('icd-10:F32.1', 'icd-10', 'F32.2'), ('icd-10:I21.0', 'icd-10', 'I21.0a'), ('icd-10:I21.0a', 'icd-10', 'I21.0b'),
    -- an ICD-10 letter
    ('icd-10:F', 'icd-10', 'F32.1'), ('icd-10:F', 'icd-10', 'F99'), ('icd-10:F', 'icd-10', 'G30.1'),
    -- an ICD-10 chapter range, placeholder groups included
    ('icd-10:C00-D48', 'icd-10', 'C50.9'), ('icd-10:C00-D48', 'icd-10', 'C00'), ('icd-10:C00-D48', 'icd-10', 'D48.9'),
    ('icd-10:C00-D48', 'icd-10', 'D50'), ('icd-10:C00-D48', 'icd-10', 'B99'), ('icd-10:F00-F99', 'icd-10', 'F32.1'),
    ('icd-10:V01-Y98', 'icd-10', 'V0n.0a'), ('icd-10:S00-T98', 'icd-10', 'T4n'), ('icd-10:T50-T98', 'icd-10', 'T4n'),
    ('icd-10:F30-F39', 'icd-10', 'F32.1'), ('icd-10:F30-F39', 'icd-10', 'F40.2'),
    -- the system must be the row's: ICD-10 F (mental) is not ICPC-2 F (eye)
    ('icd-10:F', 'icpc-2', 'F70'), ('icpc-2:F', 'icd-10', 'F32.1'), ('icd-10:K86', 'icpc-2', 'K86'),
    -- the row's system by URI
    ('icd-10:F', 'urn:oid:2.16.578.1.12.4.1.1.7110', 'F32.1'), ('icpc-2:P', 'http://hl7.org/fhir/sid/icpc-2', 'P76'),
    -- an ICPC-2 chapter and codes
    ('icpc-2:P', 'icpc-2', 'P76'), ('icpc-2:P', 'icpc-2', 'p03'), ('icpc-2:P', 'icpc-2', 'K86'), ('icpc-2:P', 'icpc-2', '-30'),
    ('icpc-2:A98', 'icpc-2', 'A98'), ('icpc-2:A98', 'icpc-2', 'A981'), ('icpc-2:A98', 'icpc-2', 'A97'),
    ('icpc-2:A981', 'icpc-2', 'A98'), ('icpc-2:-30', 'icpc-2', '-30'), ('icpc-2:-30', 'icpc-2', 'K30'),
    -- SNOMED CT: exactly the concept
    ('snomed-ct:722742002', 'snomed-ct', '722742002'), ('snomed-ct:722742002', 'http://snomed.info/sct', '722742002'),
    ('snomed-ct:722742002', 'snomed-ct', '371825009'),
    -- a stored code that does not parse is withheld by every block of its system
    ('icd-10:Z', 'icd-10', 'F3'), ('icpc-2:K', 'icpc-2', 'C86'), ('snomed-ct:722742002', 'snomed-ct', '7227420021'),
    ('icd-10:Z', 'icpc-2', 'F3'), ('icd-10:Z', 'icd-11', 'F32')
) t(b, s, c);

-- a malformed block stored somehow fails the read instead of being passed over
SELECT deling_test.try($$SELECT deling.code_block_matches('icd-10:F3', 'icd-10', 'F32.1')$$) AS malformed_block;
SELECT deling_test.try($$SELECT deling.code_block_matches('F32', 'icd-10', 'F32.1')$$) AS block_without_system;

-- every block of a citizen at once
SELECT blocks, s, c, deling.code_blocks_match(blocks, s, c) AS covered
FROM (VALUES
    (ARRAY['icpc-2:P', NULL, 'icd-10:F'], 'icd-10', 'F32.1'),
    (ARRAY['icpc-2:P', NULL, 'icd-10:F'], 'icpc-2', 'P76'),
    (ARRAY['icpc-2:P', NULL, 'icd-10:F'], 'icd-10', 'K86'),
    (ARRAY['icpc-2:P', NULL, 'icd-10:F'], 'icpc-2', 'F70'),
    (ARRAY[NULL]::text[], 'icd-10', 'F32.1'),
    ('{}'::text[], 'icd-10', 'F32.1')
) t(blocks, s, c);
SELECT deling_test.try($$SELECT deling.code_blocks_match(ARRAY['icd-10:F', 'icd-10:F3'], 'icd-10', 'K86')$$) AS malformed_in_array;
SELECT deling_test.try($$SELECT deling.code_blocks_match(ARRAY[['icd-10:F'], ['icd-10:G']], 'icd-10', 'K86')$$) AS two_dimensional;

-- NULL in, NULL out
SELECT deling.code_problem(NULL, 'K86') IS NULL AND deling.icd10_problem(NULL) IS NULL
       AND deling.code_block_matches('icd-10:F', 'icd-10', NULL) IS NULL AND deling.code_blocks_match(NULL, 'icd-10', 'F32') IS NULL
       AS strict;

-- cheap and safe per row: C, immutable, strict, parallel safe, search_path pinned
SELECT p.oid::regprocedure AS function, l.lanname, p.provolatile, p.proisstrict, p.proparallel, p.proconfig
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'deling'::regnamespace
  AND p.proname IN ('code_problem', 'icpc2_problem', 'icd10_problem', 'snomed_problem', 'code_canonical', 'icd10_canonical',
                    'code_chapter', 'icpc2_component', 'code_system_key', 'code_system_uri', 'code_block_problem',
                    'code_block_canonical', 'code_block_matches', 'code_blocks_match')
ORDER BY 1::text;

-- the roles a request runs as may call them
SELECT r, bool_and(has_function_privilege(r, 'deling.code_block_matches(text, text, text)', 'EXECUTE')
                   AND has_function_privilege(r, 'deling.code_problem(text, text)', 'EXECUTE')) AS can_execute
FROM unnest(ARRAY['deling_integrasjon', 'deling_helsepersonell', 'deling_innbygger', 'deling_admin', 'deling_owner']) r
GROUP BY r ORDER BY r;

DROP FUNCTION deling_test.verhoeff(text);
