-- Identity numbers per shared/domain/identifiers.md: checksums (old and
-- 2032 K1 rule), kinds, centuries and real calendar dates; orgnr.

-- the published test vectors
SELECT v, deling.fnr_valid(v) FROM (VALUES
    ('02013299997'),   -- valid, old and new rule
    ('30108299920'),   -- valid, old and new rule
    ('30108299939'),   -- valid only under the 2032 K1 rule
    ('13057444850'),   -- invalid checksum (published example)
    ('19779998080')    -- both checksums pass, month 77 is no month
) t(v);

-- each problem is named
SELECT deling.fnr_check('0201329999');
SELECT deling.fnr_check('020132999970');
SELECT deling.fnr_check('0201329999a');
SELECT deling.fnr_check('02013299947');    -- K1 remainder 6: wrong under both rules
SELECT deling.fnr_check('02013299998');    -- K2 wrong
SELECT deling.fnr_check('19779998080');    -- no such month
SELECT deling.fnr_check('');
SELECT deling.fnr_valid(NULL) IS NULL AS strict;

-- dates and centuries at their edges (numbers built with SQL-side check digits)
SELECT label, n, deling.fnr_valid(n) AS valid,
       CASE WHEN deling.fnr_valid(n) THEN deling.fnr_kind(n) END AS kind,
       CASE WHEN deling.fnr_valid(n) THEN deling.fnr_birth_date(n) END AS born,
       CASE WHEN deling.fnr_valid(n) THEN deling.fnr_synthetic(n) END AS synthetic
FROM (VALUES
    ('29 Feb 1900 (individ 000-499: 1900s, not leap)', '290200123'),
    ('29 Feb 2000 (individ 500-999, yy<=39: leap)',    '290200524'),
    ('28 Feb 1900',                                     '280200123'),
    ('31 Apr',                                          '310445123'),
    ('30 Apr',                                          '300445123'),
    ('day 00',                                          '000145123'),
    ('month 00',                                        '010045123'),
    ('month 13',                                        '011345123'),
    ('individ 500-749, yy 54 -> 1854',                  '010154600'),
    ('individ 500-749, yy 53 -> no century',            '010153601'),
    ('individ 750-899, yy 40 -> no century',            '010140800'),
    ('individ 900-999, yy 40 -> 1940',                  '010140900'),
    ('individ 500-999, yy 39 -> 2039',                  '010139700'),
    ('individ 499, yy 99 -> 1999',                      '311299499'),
    ('D-nummer day 41 -> 1',                            '410145123'),
    ('D-nummer day 71 -> 31',                           '710145100'),
    ('D-nummer day 72 -> 32',                           '720145100'),
    ('H-nummer month 41 -> 1',                          '014145123'),
    ('H-nummer month 52 -> 12',                         '015245123'),
    ('H-nummer month 53 -> 13',                         '015345123'),
    ('Tenor month 81 -> 1',                             '018145123'),
    ('Tenor month 92 -> 12',                            '019245123'),
    ('Tenor month 93 -> 13',                            '019345123'),
    ('Tenor with D-nummer',                             '418145123'),
    ('D-nummer with month + 40',                        '414145100'),
    ('FH-nummer (first digit 8)',                       '812345678'),
    ('FH-nummer (first digit 9)',                       '912345678')
) t(label, d9), LATERAL (SELECT deling_test.with_checks(d9) AS n) c
ORDER BY label;

-- the domain rejects with the problem named, and accepts valid numbers
SELECT '02013299997'::deling.pid;
SELECT '02013299998'::deling.pid;
SELECT '0201329999'::deling.pid;

-- the generator only makes valid Tenor numbers, distinct per birth date
SELECT count(*) AS made,
       count(*) FILTER (WHERE NOT deling.fnr_valid(n)) AS invalid,
       count(*) FILTER (WHERE NOT deling.fnr_synthetic(n)) AS not_tenor,
       count(*) FILTER (WHERE deling.fnr_birth_date(n) <> d) AS wrong_date,
       count(DISTINCT n) AS distinct_numbers
FROM generate_series(date '1900-01-01', date '2039-12-31', interval '13 days') g(d),
     generate_series(0, 2) s, LATERAL (SELECT deling.synthetic_fnr(d::date, s) AS n) x;
SELECT deling.synthetic_fnr('1899-12-31', 0);

-- organisasjonsnummer
SELECT v, deling.orgnr_valid(v) FROM (VALUES ('972418013'), ('935478715'), ('972418014'),
    ('97241801'), ('9724180130'), ('97241801x')) t(v);
SELECT '972418014'::deling.orgnr;
SELECT '97241801'::deling.orgnr;
SELECT deling.orgnr_complete('97241801') AS completes_bodo;
-- kommunenummer
SELECT '1804'::deling.kommunenr;
SELECT '180'::deling.kommunenr;
