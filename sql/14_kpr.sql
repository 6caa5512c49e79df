-- KPR: XPR(ipl) 56.0.0 messages are validated against the official XSD
-- with libxml2; each kind of schema error is reported, every one at once.
\set VERBOSITY terse
\set good '<?xml version="1.0" encoding="UTF-8"?><Melding xmlns="http://www.npr.no/xmlstds/56_0_0_ipl" versjon="56.0.0" meldingstype="K" leverandor="Norsk helsenett" navnEPJ="deling" versjonEPJ="0.1.0" versjonUt="0.1.0"><Notifikasjon statusNotifikasjon="N" notifikasjonTid="2026-11-20T10:00:00" notifikasjonGUID="6f1c2a52-8a3e-4c1b-9a55-3f1b2c3d4e5f" notifikasjonForrigeGUID="00000000-0000-0000-0000-000000000000" notifikasjonLopeNr="1"><TjenesteStart tjenesteType="21" hendelseRegTid="2026-11-20T09:00:00" hendelseDato="2026-11-20" tjenesteID="9d9c1c7e-2c1a-4f7e-8a3b-1e2d3c4b5a69" hendelseGUID="0b7f9a10-5d2c-4e8f-9b1a-2c3d4e5f6a7b"><Bruker pasientGUID="3c2b1a09-8f7e-4d6c-5b4a-392817161514" brukerNr="1" fid="01814512319" typeID="1"/></TjenesteStart></Notifikasjon><Kontaktperson kontPerson="Kari Nordmann" meldEpost1="kpr@bodo.kommune.no" typeKontaktperson="1"/><Kommune kommuneNr="1804"/></Melding>'
SELECT kpr.validate_xpr_ipl(:'good') AS valid_message_errors;
-- a message that breaks the schema in several ways at once
SELECT unnest(kpr.validate_xpr_ipl(replace(replace(:'good',
    'notifikasjonForrigeGUID="00000000-0000-0000-0000-000000000000" ', ''),     -- required attribute missing
    '<Kommune kommuneNr="1804"/>', ''))) AS error;                                -- required element missing
-- the XSD does not enumerate statusNotifikasjon (N, M, C): a message builder must check it itself
SELECT kpr.validate_xpr_ipl(replace(:'good', 'statusNotifikasjon="N"', 'statusNotifikasjon="X"')) AS not_checked_by_the_xsd;
SELECT unnest(kpr.validate_xpr_ipl(replace(:'good', 'versjon="56.0.0"', 'versjon="55.0.0"'))) AS wrong_version;
SELECT unnest(kpr.validate_xpr_ipl(replace(:'good', 'hendelseGUID="0b7f9a10', 'hendelseGUID="zz7f9a10'))) AS bad_guid;
SELECT unnest(kpr.validate_xpr_ipl(replace(:'good', 'hendelseDato="2026-11-20"', 'hendelseDato="20.11.2026"'))) AS bad_date;
-- not XML at all, and an external entity that must not be fetched
SELECT kpr.validate_xpr_ipl('<Melding');
SELECT NOT EXISTS (SELECT FROM unnest(kpr.validate_xpr_ipl('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')) e
                   WHERE e LIKE '%root:%') AS external_entity_not_loaded;
-- who may validate
SET SESSION AUTHORIZATION regress_kpr;
SELECT cardinality(kpr.validate_xpr_ipl(:'good')) AS kpr_role_can_validate;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_lege;
SELECT kpr.validate_xpr_ipl(:'good');
RESET SESSION AUTHORIZATION;

-- the person-level events of Asker's services (fixed period: the rest depend on today)
SET SESSION AUTHORIZATION regress_kpr;
SELECT event, event_date, service_code, provider_orgnr, stop_id IS NOT NULL AS has_stop_id, type_id, test_person,
       bruker_nr IS NOT NULL AS has_bruker_nr
FROM kpr.service_events('3203', '2019-01-01', '2026-11-15') ORDER BY event_date, service_code, event;
-- brukerNr is stable: the same person has the same number in every event
SELECT count(DISTINCT bruker_nr) = count(DISTINCT pid) AS one_bruker_nr_per_person
FROM kpr.service_events('3203', '2019-01-01', '2026-11-15');
-- what KPR would reject or statistics would drop
SELECT source_id, service_code, problem FROM kpr.data_quality('3203') WHERE problem NOT LIKE 'test person%';
SELECT count(*) AS test_person_services FROM kpr.data_quality('3203') WHERE problem LIKE 'test person%';
-- aggregates: synthetic persons only count in test mode (Asker's few
-- persons are all in cells under 5, so every figure is suppressed)
SELECT count(*) AS rows_in_production_mode FROM kpr.service_statistics('3203', '2026-09-01', '2026-10-01');
RESET SESSION AUTHORIZATION;
SET deling.kpr_test_mode = on;
SET SESSION AUTHORIZATION regress_kpr;
SELECT * FROM kpr.service_statistics('3203', '2026-09-01', '2026-10-01');
RESET SESSION AUTHORIZATION;
RESET deling.kpr_test_mode;
SELECT deling_test.try($$SELECT kpr.service_events('5001', '2026-01-01', '2026-12-31')$$);
-- KPR reads are in the access log; other roles are refused
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT entry->'report' AS report, entry->>'decision' AS decision, count(*) FROM deling.access_log WHERE entry->>'service' = 'kpr'
GROUP BY 1, 2 ORDER BY 1, 2;
SET SESSION AUTHORIZATION regress_epj_asker;
SELECT deling_test.try($$SELECT count(*) FROM kpr.service_events('3203', '2026-01-01', '2026-12-31')$$);
RESET SESSION AUTHORIZATION;


-- statistics must not identify people: cells of fewer than 5 persons are
-- suppressed, and secondary suppression hides another cell wherever a row or
-- column (with its total) would otherwise give a suppressed one away.
-- March 2015 in Bærum, Omsorgsstønad (11): 7 women and 2 men aged 80-89,
-- 6 women and 1 man aged 90+ (one man over 90: the case in the issue).
CREATE FUNCTION pg_temp.stat_person(birth date, seq int, sex text) RETURNS text
LANGUAGE sql AS $$
    INSERT INTO deling.citizen (kommune_nr, pid, sex, birth_date)
    VALUES ('3201', deling.synthetic_fnr(birth, seq + 20), sex, birth) RETURNING pid;
$$;
INSERT INTO deling.municipal_service (kommune_nr, pid, service_code, status, period_start, period_end, weekly_hours,
                                      source_system, source_id)
SELECT '3201', pg_temp.stat_person(b, s, x), '11', 'ended', date '2015-03-02' + s, date '2015-03-20', h, 'stat', 'st-' || x || b || s
FROM (VALUES (date '1931-05-05', 7, 'female', 10.0), (date '1932-06-06', 2, 'male', 32.5),
             (date '1922-07-07', 6, 'female', 5.0), (date '1923-08-08', 1, 'male', 32.5)) v(b, n, x, h),
     generate_series(0, v.n - 1) s;
SET deling.kpr_test_mode = on;
SET SESSION AUTHORIZATION regress_kpr;
SELECT age_band, sex, persons, services, weekly_hours, suppressed
FROM kpr.service_statistics('3201', '2015-03-01', '2015-03-01') WHERE service_code = '11';
-- no figure shown for fewer than 5 persons; no row or column with exactly one suppressed cell
SELECT count(*) FILTER (WHERE NOT suppressed AND persons < 5) AS shown_under_5,
       count(*) FILTER (WHERE suppressed AND persons IS NOT NULL) AS suppressed_but_shown
FROM kpr.service_statistics('3201', '2015-03-01', '2015-03-01');
SELECT line, count(*) FILTER (WHERE suppressed) AS suppressed_in_line
FROM (SELECT 'band ' || age_band AS line, suppressed FROM kpr.service_statistics('3201', '2015-03-01', '2015-03-01')
      UNION ALL SELECT 'sex ' || sex, suppressed FROM kpr.service_statistics('3201', '2015-03-01', '2015-03-01')) x
GROUP BY line HAVING count(*) FILTER (WHERE suppressed) = 1;
SELECT deling_test.try($$SELECT * FROM kpr.service_statistics('3201', '2015-04-01', '2015-03-01')$$);
RESET SESSION AUTHORIZATION;
RESET deling.kpr_test_mode;

-- pseudonymised research export -----------------------------------------------
-- a study: purpose, kommuner, the researcher's own login role (deling_forskning only)
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_forsker') THEN
        CREATE ROLE regress_forsker LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_forsker_kpr') THEN
        CREATE ROLE regress_forsker_kpr LOGIN;
    END IF;
END $$;
GRANT deling_forskning TO regress_forsker, regress_forsker_kpr;
GRANT deling_kpr TO regress_forsker_kpr;
SET SESSION AUTHORIZATION regress_dba;
SELECT deling_test.try($$SELECT kpr.add_research_study('omsorg-2015', 'Omsorgsstønad 2015', ARRAY['3201'], 'regress_forsker_kpr')$$);
SELECT deling_test.try($$SELECT kpr.add_research_study('omsorg-2015', 'Omsorgsstønad 2015', ARRAY['3201', '5001'], 'regress_forsker')$$);
SELECT kpr.add_research_study('omsorg-2015', 'Omsorgsstønad 2015', ARRAY['3201'], 'regress_forsker');
SELECT kpr.add_research_study('annen-studie', 'Annen studie', ARRAY['3201'], 'regress_forsker');
SELECT study_id, kommuner, researcher, key_version FROM kpr.research_studies();
-- the DBA sees the keys' ids, never their secrets, and cannot write one
SELECT study_id, key_version, retired_at IS NULL AS current FROM deling.pseudonym_key ORDER BY 1, 2;
SELECT deling_test.try('SELECT secret FROM deling.pseudonym_key');
SELECT deling_test.try($$UPDATE deling.pseudonym_key SET secret = decode(repeat('00', 32), 'hex')$$);
SELECT deling_test.try($$UPDATE deling.research_study SET researcher = 'regress_dba'$$);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_kpr;
SELECT deling_test.try($$SELECT kpr.add_research_study('x', 'x', ARRAY['3201'], 'regress_forsker')$$);
RESET SESSION AUTHORIZATION;

SET deling.kpr_test_mode = on;
SET SESSION AUTHORIZATION regress_forsker;
SELECT kommune_nr, age_band, sex, service_code, period_from, period_to, weekly_hours, generalised_to, count(*)
FROM kpr.pseudonymised_services('omsorg-2015') WHERE service_code = '11' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3;
-- no released combination is rarer than 5, over the whole export
SELECT count(*) AS combinations_rarer_than_5
FROM (SELECT 1 FROM kpr.pseudonymised_services('omsorg-2015')
      GROUP BY kommune_nr, age_band, sex, service_code, period_from, period_to, weekly_hours HAVING count(*) < 5) x;
SELECT string_agg(pseudonym, ',' ORDER BY pseudonym) AS before_rotation
FROM kpr.pseudonymised_services('omsorg-2015') WHERE service_code = '11' \gset
SELECT count(*) AS services, count(DISTINCT pseudonym) AS persons, bool_and(pseudonym ~ '^[0-9a-f]{64}$') AS hex_sha256,
       string_agg(pseudonym, ',' ORDER BY pseudonym) = :'before_rotation' AS stable_under_the_same_key
FROM kpr.pseudonymised_services('omsorg-2015') WHERE service_code = '11';
-- another study's key gives unrelated pseudonyms
SELECT count(*) AS shared_with_another_study
FROM unnest(string_to_array(:'before_rotation', ',')) p JOIN kpr.pseudonymised_services('annen-studie') x ON x.pseudonym = p;
-- the researcher cannot read identified events, so cannot join them to the export
SELECT deling_test.try($$SELECT * FROM kpr.service_events('3201', '2015-01-01', '2015-12-31')$$);
SELECT deling_test.try('SELECT * FROM deling.citizen');
RESET SESSION AUTHORIZATION;
-- ... and the KPR reporter, who can, cannot read the export; nor a researcher who is also a KPR reporter
SET SESSION AUTHORIZATION regress_kpr;
SELECT deling_test.try($$SELECT * FROM kpr.pseudonymised_services('omsorg-2015')$$);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_forsker_kpr;
SELECT deling_test.try($$SELECT * FROM kpr.pseudonymised_services('omsorg-2015')$$);
RESET SESSION AUTHORIZATION;
-- the attack from the issue: the DBA inserts a chosen identity number with a
-- service, reads the export, and rolls back -- refused: the DBA is not the
-- researcher; and the export never runs in a transaction that wrote citizen
-- or service data, whoever runs it
SET SESSION AUTHORIZATION regress_dba;
SELECT deling.synthetic_fnr('1944-02-29', 30) AS chosen \gset
BEGIN;
INSERT INTO deling.citizen (kommune_nr, pid, sex, birth_date) VALUES ('3201', :'chosen', 'female', '1944-02-29');
INSERT INTO deling.municipal_service (kommune_nr, pid, service_code, status, period_start, source_system, source_id)
VALUES ('3201', :'chosen', '11', 'active', '2015-03-02', 'x', 'chosen');
SELECT deling_test.try($$SELECT * FROM kpr.pseudonymised_services('omsorg-2015')$$);
ROLLBACK;
RESET SESSION AUTHORIZATION;
BEGIN;
INSERT INTO deling.citizen (kommune_nr, pid, sex, birth_date) VALUES ('3201', :'chosen', 'female', '1944-02-29');
SET LOCAL SESSION AUTHORIZATION regress_forsker;
SELECT deling_test.try($$SELECT * FROM kpr.pseudonymised_services('omsorg-2015')$$);
ROLLBACK;
SELECT deling_test.try($$SELECT * FROM kpr.pseudonymised_services('no-such-study')$$);
-- the refusals are in the access log, before anything was raised
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT CASE WHEN entry->>'role' LIKE 'regress%' THEN entry->>'role' ELSE 'superuser' END AS role, entry->>'why' AS why
FROM deling.access_log WHERE entry->>'service' = 'kpr' AND entry->>'report' LIKE 'pseudonymised_services%'
  AND entry->>'decision' = 'denied' ORDER BY seq;
-- rotation: new pseudonyms, the old secret erased; revocation: no more export
SET SESSION AUTHORIZATION regress_dba;
SELECT kpr.rotate_study_key('omsorg-2015') AS new_version;
RESET SESSION AUTHORIZATION;
SELECT count(*) FILTER (WHERE secret IS NULL) AS erased, count(*) FILTER (WHERE secret IS NOT NULL) AS live
FROM deling.pseudonym_key WHERE study_id = 'omsorg-2015';
SET SESSION AUTHORIZATION regress_forsker;
SELECT count(*) AS shared_after_rotation
FROM unnest(string_to_array(:'before_rotation', ',')) p JOIN kpr.pseudonymised_services('omsorg-2015') x ON x.pseudonym = p;
SELECT DISTINCT key_version FROM kpr.pseudonymised_services('omsorg-2015');
SELECT count(*) AS rows_after_rotation FROM kpr.pseudonymised_services('omsorg-2015') WHERE service_code = '11';
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_dba;
SELECT kpr.revoke_research_study('annen-studie', 'Studien er avsluttet');
SELECT deling_test.try($$SELECT kpr.revoke_research_study('annen-studie', 'again')$$);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_forsker;
SELECT regexp_replace(deling_test.try($$SELECT * FROM kpr.pseudonymised_services('annen-studie')$$), '[0-9]{4}-[0-9]{2}-[0-9]{2}', '<date>');
RESET SESSION AUTHORIZATION;
RESET deling.kpr_test_mode;
-- the study's kommuner only: Asker is not in it
SET SESSION AUTHORIZATION regress_forsker;
SELECT count(*) FILTER (WHERE kommune_nr <> '3201') AS rows_outside_the_study FROM kpr.pseudonymised_services('omsorg-2015');
RESET SESSION AUTHORIZATION;
\set hmac_ref `printf 'what do ya want for nothing?' | openssl dgst -sha256 -mac HMAC -macopt hexkey:4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665 | awk '{print $NF}'`
SELECT encode(deling.hmac_sha256(convert_to('what do ya want for nothing?', 'UTF8'),
                                 decode(repeat('4a656665', 8), 'hex')), 'hex') = :'hmac_ref' AS hmac_matches_openssl;
SELECT deling_test.try($$SELECT deling.hmac_sha256('x', 'short key')$$);

-- the continuous XPR(ipl) message ------------------------------------------------
SELECT (now() AT TIME ZONE 'Europe/Oslo')::date AS today \gset
CREATE TEMP TABLE msgs (n serial PRIMARY KEY, m text NOT NULL);
GRANT ALL ON msgs, msgs_n_seq TO PUBLIC;
-- the notifications of a message, with their event's attributes and the
-- source id of the service they concern
CREATE FUNCTION pg_temp.n(m text) RETURNS TABLE (lopenr int, status text, event text, dato date, type text, orgnr text,
    ref text, guid text, forrige text, regtid text, src text, stopp text, fid text)
LANGUAGE sql AS $$
    SELECT (xpath('/*/@notifikasjonLopeNr', x))[1]::text::int, (xpath('/*/@statusNotifikasjon', x))[1]::text,
           (xpath('local-name(/*/*)', x))[1]::text, (xpath('/*/*/@hendelseDato', x))[1]::text::date,
           (xpath('/*/*/@tjenesteType', x))[1]::text, (xpath('/*/*/@tjenesteOrgNr', x))[1]::text,
           (xpath('/*/@notifikasjonRef', x))[1]::text, (xpath('/*/@notifikasjonGUID', x))[1]::text,
           (xpath('/*/@notifikasjonForrigeGUID', x))[1]::text, (xpath('/*/*/@hendelseRegTid', x))[1]::text,
           (SELECT s.source_id FROM deling.municipal_service s WHERE s.service_id::text = (xpath('/*/*/@tjenesteID', x))[1]::text),
           (xpath('/*/*/@midlertidigStoppID', x))[1]::text, (xpath('/*/*/*/@fid', x))[1]::text
    FROM unnest(xpath('/npr:Melding/npr:Notifikasjon', m::xml, ARRAY[ARRAY['npr', 'http://www.npr.no/xmlstds/56_0_0_ipl']])) x;
$$;
-- the last message taken, and every notification sent so far
CREATE FUNCTION pg_temp.last() RETURNS text LANGUAGE sql AS $$ SELECT m FROM msgs ORDER BY n DESC LIMIT 1 $$;
CREATE VIEW pg_temp.all_sent AS SELECT msgs.n AS msg, x.* FROM msgs, pg_temp.n(msgs.m) x;
-- ingest as Asker's EPJ: one service (registered_at optional)
CREATE FUNCTION pg_temp.svc(src text, pid text, code text, status text, s date, e date, org text DEFAULT NULL,
                            stops jsonb DEFAULT '[]', reg text DEFAULT NULL) RETURNS text
LANGUAGE sql AS $$
    SELECT api.municipal_services_ingest(jsonb_strip_nulls(jsonb_build_object(
        'pid', pid, 'service_code', code, 'status', status, 'period_start', to_char(s, 'YYYY-MM-DD'),
        'period_end', to_char(e, 'YYYY-MM-DD'), 'unit_orgnr', org, 'stops', stops, 'registered_at', reg,
        'source_system', 'kpr-test', 'source_id', src)))->>'result';
$$;
GRANT EXECUTE ON FUNCTION pg_temp.svc(text, text, text, text, date, date, text, jsonb, text) TO PUBLIC;
\set take 'SET SESSION AUTHORIZATION regress_kpr; INSERT INTO msgs (m) SELECT kpr.xpr_ipl_message(''3203''); RESET SESSION AUTHORIZATION;'
\set epj 'SET SESSION AUTHORIZATION regress_epj_asker;'
\set su 'RESET SESSION AUTHORIZATION;'
SELECT deling.synthetic_fnr('1938-03-03', 40) AS p1, deling.synthetic_fnr('1941-05-05', 40) AS p2,
       deling.synthetic_fnr('1929-09-09', 40) AS p3, deling.synthetic_fnr('1950-10-10', 40) AS p4,
       deling.synthetic_orgnr(301) AS org_a, deling.synthetic_orgnr(302) AS org_b, deling.synthetic_orgnr(303) AS org_c \gset
SET deling.kpr_test_mode = on;    -- every person here is a synthetic Tenor number

-- onboarding: no message before the DBA starts reporting, none without the contact persons
SET SESSION AUTHORIZATION regress_kpr;
SELECT deling_test.try($$SELECT kpr.xpr_ipl_message('3203')$$);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_dba;
SELECT kpr.start_reporting('3203', :'today'::date - 60);
SELECT deling_test.try($$SELECT kpr.start_reporting('5001', '2026-01-01')$$);
SELECT kpr.add_contact('3203', 1, 'Kari Rapportør', 'kpr@asker.kommune.no', '+47 66 90 00 00') > 0 AS added;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_kpr;
SELECT deling_test.try($$SELECT kpr.xpr_ipl_message('3203')$$);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_dba;
SELECT kpr.add_contact(NULL, 15, 'deling drift', 'deling@nhn.no') > 0 AS platform_contact,
       kpr.add_contact('3203', 16, 'Ola IPLOS', 'iplos@asker.kommune.no', '+47 900 00 001') > 0 AS iplos_contact,
       kpr.add_contact('3203', 16, 'Ingrid IPLOS', 'iplos2@asker.kommune.no') > 0 AS second_of_a_type,
       kpr.add_contact('3203', 17, 'Per Innsender', 'innsending@asker.kommune.no', NULL, 'per@asker.kommune.no') > 0 AS sender;
SELECT deling_test.try($$SELECT kpr.add_contact('3203', 20, 'x', 'x@y.no')$$);
SELECT deling_test.try($$SELECT kpr.add_contact('3203', 16, 'x', 'not-an-address')$$);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_kpr;
SELECT kommune, contact_type, type_name, name FROM kpr.contacts('3203');
RESET SESSION AUTHORIZATION;

-- the kommune's EPJ records its services (only 18, 19, 20, 21 and 29 are reported)
:epj
SELECT pg_temp.svc('k-old', :'p1', '21', 'ended', :'today'::date - 400, :'today'::date - 100, :'org_a');          -- ended before the cut-off
SELECT pg_temp.svc('k-long', :'p1', '21', 'active', :'today'::date - 300, NULL, :'org_a',                         -- active on the cut-off
    jsonb_build_array(jsonb_build_object('from', :'today'::date - 200, 'to', :'today'::date - 190),              --   a stop closed before it
                      jsonb_build_object('from', :'today'::date - 70, 'to', :'today'::date - 50)),              --   a stop open on it
    to_char(:'today'::date - 10, 'YYYY-MM-DD') || 'T08:00:00+01:00');
SELECT pg_temp.svc('k-home', :'p2', '15', 'active', :'today'::date - 30, NULL, :'org_a');                         -- home nursing: not reported
SELECT pg_temp.svc('k-oneday', :'p2', '18', 'ended', :'today'::date - 20, :'today'::date - 20, :'org_a');         -- a one-day stay
SELECT pg_temp.svc('k-stopday', :'p3', '19', 'active', :'today'::date - 10, NULL, :'org_a',                       -- stopped on its first day
    jsonb_build_array(jsonb_build_object('from', :'today'::date - 10, 'to', :'today'::date - 8)));
SELECT pg_temp.svc('k-onhold', :'p3', '21', 'on-hold', :'today'::date - 40, NULL, :'org_a');                      -- on hold, no stop dates
SELECT pg_temp.svc('k-future', :'p4', '29', 'granted', :'today'::date + 5, NULL, :'org_a');                       -- starts in five days
SELECT pg_temp.svc('k-reg', :'p4', '20', 'active', :'today'::date - 5, NULL, :'org_a', '[]',
                   to_char(:'today'::date - 5, 'YYYY-MM-DD') || 'T09:15:00+01:00');                                -- registered in the source 5 days ago
:su
-- registered_at must be an ISO 8601 timestamp with an offset, not in the future
:epj
SELECT deling_test.try($$SELECT pg_temp.svc('k-bad', '$$ || :'p4' || $$', '20', 'active', '2026-01-01', NULL, NULL, '[]', '2026-01-01 09:15')$$);
SELECT deling_test.try($$SELECT pg_temp.svc('k-bad', '$$ || :'p4' || $$', '20', 'active', '2026-01-01', NULL, NULL, '[]', '2026-02-30T09:15:00Z')$$);
SELECT deling_test.try($$SELECT pg_temp.svc('k-bad', '$$ || :'p4' || $$', '20', 'active', '2026-01-01', NULL, NULL, '[]', '2999-01-01T09:15:00Z')$$);
:su

-- the first message is the initial load: the TjenesteStart of every service
-- active on the cut-off date and the MidlertidigStoppFra of every stop open
-- on it, then every event from that date on, in scope, up to today
:take
SELECT kpr.validate_xpr_ipl(pg_temp.last()) AS errors;
SELECT lopenr, status, event, src, dato - :'today'::date AS day, type, orgnr = :'org_a' AS provider_a
FROM pg_temp.n(pg_temp.last()) WHERE src LIKE 'k-%' ORDER BY lopenr;
SELECT count(*) FILTER (WHERE type NOT IN ('18', '19', '20', '21', '29')) AS out_of_scope,
       count(*) FILTER (WHERE dato < :'today'::date - 60 AND event NOT IN ('TjenesteStart', 'MidlertidigStoppFra')) AS older_than_cutoff,
       count(*) FILTER (WHERE dato > :'today'::date) AS in_the_future
FROM pg_temp.n(pg_temp.last());
-- hendelseRegTid is when the source registered the event (Oslo time), not when the message was built
SELECT left(regtid, 10)::date - :'today'::date AS registered_day, substr(regtid, 12) AS registered_time
FROM pg_temp.n(pg_temp.last()) WHERE src = 'k-reg';
-- several contacts per type, with their 8471 types
SELECT (xpath('/npr:Melding/npr:Kontaktperson/@typeKontaktperson', pg_temp.last()::xml,
              ARRAY[ARRAY['npr', 'http://www.npr.no/xmlstds/56_0_0_ipl']]))::text[] AS contact_types;
-- on hold without stop dates: listed
SET SESSION AUTHORIZATION regress_kpr;
SELECT source_id, problem FROM kpr.data_quality('3203') WHERE source_id LIKE 'k-%' AND problem NOT LIKE 'test person%'
ORDER BY 1, 2;
RESET SESSION AUTHORIZATION;

-- a start date corrected to an earlier day: one M of the start, referring to its N
:epj
SELECT pg_temp.svc('k-stopday', :'p3', '19', 'active', :'today'::date - 12, NULL, :'org_a',
    jsonb_build_array(jsonb_build_object('from', :'today'::date - 10, 'to', :'today'::date - 8)),
    to_char(now(), 'YYYY-MM-DD"T"HH24:MI:SSOF') || ':00');
:su
:take
SELECT n.status, n.event, n.dato - :'today'::date AS day,
       n.ref = (SELECT guid FROM pg_temp.all_sent s WHERE s.src = 'k-stopday' AND s.event = 'TjenesteStart' AND s.status = 'N') AS refers_to_its_n
FROM pg_temp.n(pg_temp.last()) n;

-- two provider changes of one service on the same day (a mistyped orgnr
-- corrected): each is its own event, dated when it was registered, with its
-- own new orgnr; the start and stops are not re-sent; reporting goes on
:epj
SELECT pg_temp.svc('k-long', :'p1', '21', 'active', :'today'::date - 300, NULL, :'org_b',
    jsonb_build_array(jsonb_build_object('from', :'today'::date - 200, 'to', :'today'::date - 190),
                      jsonb_build_object('from', :'today'::date - 70, 'to', :'today'::date - 50)),
    to_char(:'today'::date - 3, 'YYYY-MM-DD') || 'T08:00:00+01:00');
SELECT pg_temp.svc('k-long', :'p1', '21', 'active', :'today'::date - 300, NULL, :'org_c',
    jsonb_build_array(jsonb_build_object('from', :'today'::date - 200, 'to', :'today'::date - 190),
                      jsonb_build_object('from', :'today'::date - 70, 'to', :'today'::date - 50)),
    to_char(:'today'::date - 3, 'YYYY-MM-DD') || 'T10:00:00+01:00');
:su
:take
SELECT kpr.validate_xpr_ipl(pg_temp.last()) AS errors;
SELECT status, event, dato - :'today'::date AS day, CASE orgnr WHEN :'org_b' THEN 'B' WHEN :'org_c' THEN 'C' END AS new_provider,
       left(regtid, 10)::date - :'today'::date AS registered_day, substr(regtid, 12) AS registered_time
FROM pg_temp.n(pg_temp.last()) ORDER BY lopenr;
:take
:take
SELECT count(*) AS messages_since, sum((SELECT count(*) FROM pg_temp.n(m))) AS notifications
FROM msgs WHERE n > (SELECT max(n) - 2 FROM msgs);
-- the provider's orgnr removed after the change: nothing to re-send, every message validates, the service is listed
:epj
SELECT pg_temp.svc('k-long', :'p1', '21', 'active', :'today'::date - 300, NULL, NULL,
    jsonb_build_array(jsonb_build_object('from', :'today'::date - 200, 'to', :'today'::date - 190),
                      jsonb_build_object('from', :'today'::date - 70, 'to', :'today'::date - 50)));
:su
:take
SELECT kpr.validate_xpr_ipl(pg_temp.last()) AS errors, (SELECT count(*) FROM pg_temp.n(pg_temp.last())) AS notifications;
SET SESSION AUTHORIZATION regress_kpr;
SELECT source_id, problem FROM kpr.data_quality('3203') WHERE source_id = 'k-long';
RESET SESSION AUTHORIZATION;

-- the end: N; removed: C of it; entered again: a new N, the new original;
-- corrected: M referring to the new original, not the cancelled one.  The
-- end carries the provider of its day (the last change, C).
:epj
SELECT pg_temp.svc('k-long', :'p1', '21', 'ended', :'today'::date - 300, :'today'::date - 1, NULL,
    jsonb_build_array(jsonb_build_object('from', :'today'::date - 200, 'to', :'today'::date - 190),
                      jsonb_build_object('from', :'today'::date - 70, 'to', :'today'::date - 50)));
:su
:take
:epj
SELECT pg_temp.svc('k-long', :'p1', '21', 'active', :'today'::date - 300, NULL, NULL,
    jsonb_build_array(jsonb_build_object('from', :'today'::date - 200, 'to', :'today'::date - 190),
                      jsonb_build_object('from', :'today'::date - 70, 'to', :'today'::date - 50)));
:su
:take
:epj
SELECT pg_temp.svc('k-long', :'p1', '21', 'ended', :'today'::date - 300, :'today'::date - 1, NULL,
    jsonb_build_array(jsonb_build_object('from', :'today'::date - 200, 'to', :'today'::date - 190),
                      jsonb_build_object('from', :'today'::date - 70, 'to', :'today'::date - 50)));
:su
:take
:epj
SELECT pg_temp.svc('k-long', :'p1', '21', 'ended', :'today'::date - 300, :'today'::date - 2, NULL,
    jsonb_build_array(jsonb_build_object('from', :'today'::date - 200, 'to', :'today'::date - 190),
                      jsonb_build_object('from', :'today'::date - 70, 'to', :'today'::date - 50)));
:su
:take
SELECT s.msg - (SELECT max(n) - 4 FROM msgs) AS step, s.status, s.event, s.dato - :'today'::date AS day,
       CASE s.orgnr WHEN :'org_a' THEN 'A' WHEN :'org_b' THEN 'B' WHEN :'org_c' THEN 'C' END AS provider,
       CASE WHEN s.ref IS NULL THEN '' WHEN s.ref = o.guid THEN 'the first N' WHEN s.ref = o2.guid THEN 'the second N' ELSE '?' END AS refers_to
FROM pg_temp.all_sent s
LEFT JOIN pg_temp.all_sent o ON o.src = 'k-long' AND o.event = 'TjenesteSlutt' AND o.status = 'N' AND o.msg = (SELECT max(n) - 3 FROM msgs)
LEFT JOIN pg_temp.all_sent o2 ON o2.src = 'k-long' AND o2.event = 'TjenesteSlutt' AND o2.status = 'N' AND o2.msg = (SELECT max(n) - 1 FROM msgs)
WHERE s.src = 'k-long' AND s.msg > (SELECT max(n) - 4 FROM msgs) ORDER BY s.lopenr;

-- a deletion (entered in error) cancels what attaches to the start first;
-- its undo sends the start first, each a new original
:epj
SELECT pg_temp.svc('k-oneday', :'p2', '18', 'entered-in-error', :'today'::date - 20, :'today'::date - 20, :'org_a');
:su
:take
:epj
SELECT pg_temp.svc('k-oneday', :'p2', '18', 'ended', :'today'::date - 20, :'today'::date - 20, :'org_a');
:su
:take
SELECT s.msg - (SELECT max(n) - 2 FROM msgs) AS step, s.status, s.event,
       s.ref IS NOT DISTINCT FROM (SELECT o.guid FROM pg_temp.all_sent o WHERE o.src = 'k-oneday' AND o.event = s.event AND o.status = 'N'
                                   ORDER BY o.lopenr LIMIT 1) AS refers_to_first_n,
       s.status <> 'N' OR s.guid <> (SELECT o.guid FROM pg_temp.all_sent o WHERE o.src = 'k-oneday' AND o.event = s.event AND o.status = 'N'
                                     ORDER BY o.lopenr LIMIT 1) AS new_original
FROM pg_temp.all_sent s WHERE s.src = 'k-oneday' AND s.msg > (SELECT max(n) - 2 FROM msgs) ORDER BY s.lopenr;

-- a correction to the withdrawn code 6: nothing goes (no M with code 6, no C),
-- the held changes are listed; corrected back: nothing to send, nothing listed
:epj
SELECT pg_temp.svc('k-stopday', :'p3', '6', 'active', :'today'::date - 12, NULL, :'org_a',
    jsonb_build_array(jsonb_build_object('from', :'today'::date - 10, 'to', :'today'::date - 8)));
:su
:take
SELECT count(*) AS notifications FROM pg_temp.n(pg_temp.last());
SET SESSION AUTHORIZATION regress_kpr;
SELECT source_id, regexp_replace(problem, '[0-9]{4}-[0-9]{2}-[0-9]{2}', '<date>', 'g') AS problem
FROM kpr.data_quality('3203') WHERE source_id = 'k-stopday' ORDER BY problem;
RESET SESSION AUTHORIZATION;
:epj
SELECT pg_temp.svc('k-stopday', :'p3', '19', 'active', :'today'::date - 12, NULL, :'org_a',
    jsonb_build_array(jsonb_build_object('from', :'today'::date - 10, 'to', :'today'::date - 8)));
:su
:take
SELECT count(*) AS notifications FROM pg_temp.n(pg_temp.last());
SET SESSION AUTHORIZATION regress_kpr;
SELECT count(*) AS listed FROM kpr.data_quality('3203') WHERE source_id = 'k-stopday' AND problem NOT LIKE 'test person%';
RESET SESSION AUTHORIZATION;
-- corrected to another, active type that is not reported: what was sent is cancelled
:epj
SELECT pg_temp.svc('k-onhold', :'p3', '15', 'on-hold', :'today'::date - 40, NULL, :'org_a');
:su
:take
SELECT status, event, type FROM pg_temp.n(pg_temp.last());

-- an event that cannot be reported validly (a stop from -infinity, written
-- by hand past the ingest checks) is held back with what attaches to it,
-- listed with the reason, and the rest of the message goes; once fixed, it goes
UPDATE deling.municipal_service SET stops = ARRAY[daterange('-infinity', :'today'::date - 3, '[]')], version = version + 1
WHERE source_id = 'k-reg';
:epj
SELECT pg_temp.svc('k-new', :'p4', '21', 'active', :'today'::date - 2, NULL, :'org_b');
:su
:take
SELECT kpr.validate_xpr_ipl(pg_temp.last()) AS errors;
SELECT status, event, src FROM pg_temp.n(pg_temp.last()) ORDER BY lopenr;
SET SESSION AUTHORIZATION regress_kpr;
SELECT source_id, regexp_replace(regexp_replace(problem, 'line [0-9]+: ', '', 'g'), '[0-9]{4}-[0-9]{2}-[0-9]{2}', '<date>', 'g') AS problem
FROM kpr.data_quality('3203')
WHERE source_id = 'k-reg' AND problem NOT LIKE 'test person%' ORDER BY 2;
SELECT message_id > 0 AS recorded, held_back FROM kpr.messages('3203') ORDER BY message_id DESC LIMIT 1;
RESET SESSION AUTHORIZATION;
UPDATE deling.municipal_service SET stops = ARRAY[daterange(:'today'::date - 4, :'today'::date - 3, '[]')], version = version + 1
WHERE source_id = 'k-reg';
:take
SELECT status, event, src, dato - :'today'::date AS day FROM pg_temp.n(pg_temp.last()) ORDER BY lopenr;
SET SESSION AUTHORIZATION regress_kpr;
SELECT count(*) AS still_listed FROM kpr.data_quality('3203') WHERE source_id = 'k-reg' AND problem LIKE '%held back%';
RESET SESSION AUTHORIZATION;

-- every message so far: numbered 1.. without a gap, chained, each M and C
-- referring to an N of the same event sent before it
CREATE TEMP TABLE sent_so_far AS SELECT * FROM pg_temp.all_sent;
SELECT bool_and(x.lopenr = x.prev_lopenr + 1 AND x.forrige = x.prev_guid) AS numbered_and_chained,
       (SELECT min(lopenr) FROM sent_so_far) AS first,
       (SELECT forrige FROM sent_so_far ORDER BY lopenr LIMIT 1) AS first_forrige
FROM (SELECT s.*, lag(s.lopenr) OVER (ORDER BY s.lopenr) AS prev_lopenr, lag(s.guid) OVER (ORDER BY s.lopenr) AS prev_guid
      FROM sent_so_far s) x
WHERE x.prev_lopenr IS NOT NULL;
SELECT count(*) AS references_not_to_an_earlier_n
FROM sent_so_far s
WHERE s.status <> 'N' AND NOT EXISTS (SELECT FROM sent_so_far o WHERE o.guid = s.ref AND o.status = 'N' AND o.lopenr < s.lopenr
                                      AND o.event = s.event AND o.src IS NOT DISTINCT FROM s.src);
SELECT bool_and(cardinality(kpr.validate_xpr_ipl(m)) = 0) AS every_message_valid FROM msgs;

-- hendelseRegTid of a correction: when the correction was registered
SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS corrected_at \gset
:epj
SELECT pg_temp.svc('k-new', :'p4', '21', 'active', :'today'::date - 3, NULL, :'org_b', '[]', :'corrected_at');
:su
:take
SELECT status, event, regtid = to_char(:'corrected_at'::timestamptz AT TIME ZONE 'Europe/Oslo', 'YYYY-MM-DD"T"HH24:MI:SS') AS when_corrected
FROM pg_temp.n(pg_temp.last());

-- administration: the overview, delivered or failed, re-sends
SET SESSION AUTHORIZATION regress_kpr;
SELECT count(*) AS messages, count(*) FILTER (WHERE kind = 'continuous') AS continuous, sum(notifications) AS notifications,
       max(last_lopenr) AS last_lopenr
FROM kpr.messages('3203');
SELECT max(message_id) AS last_message FROM kpr.messages('3203') \gset
SELECT lopenr, status, event, source_system, source_id FROM kpr.message_notifications(:last_message);
SELECT deling_test.try($$SELECT kpr.mark_message($$ || :last_message || $$, 'failed')$$);
SELECT deling_test.try($$SELECT kpr.mark_message($$ || :last_message || $$, 'lost', 'x')$$);
SELECT kpr.mark_message(:last_message, 'failed', 'KPR: 503 Service Unavailable');
SELECT kpr.resend_message(:last_message) = pg_temp.last() AS resent_byte_identical;
SELECT kpr.mark_message(:last_message, 'delivered');
SELECT regexp_replace(deling_test.try($$SELECT kpr.resend_message($$ || :last_message || $$)$$), '\(.*\)', '(<when>)');
SELECT deling_test.try($$SELECT kpr.resend_message(0)$$);
SELECT message_id = :last_message AS same, kind, request, state, state_reason FROM kpr.messages('3203') ORDER BY message_id DESC LIMIT 2;
-- re-send for one patient/user: every notification about the person, exactly as sent
SELECT kpr.xpr_ipl_message_for_person('3203', :'p2') AS person \gset
SELECT deling_test.try($$SELECT kpr.xpr_ipl_message_for_person('3203', '01814512319')$$);
RESET SESSION AUTHORIZATION;
SELECT kpr.validate_xpr_ipl(:'person') AS errors,
       array_agg(n.src || ' ' || n.status || ' ' || n.event ORDER BY n.lopenr) AS notifications,
       bool_and(n.guid IN (SELECT guid FROM pg_temp.all_sent)) AS as_sent
FROM pg_temp.n(:'person') n;
-- re-send from a løpenummer and for a period: exactly as sent
SET SESSION AUTHORIZATION regress_kpr;
SELECT kpr.xpr_ipl_message('3203', 3) AS resent \gset
SELECT kpr.xpr_ipl_message('3203', (:'today'::date - 20)::date, (:'today'::date - 20)::date) AS period \gset
SELECT deling_test.try($$SELECT kpr.xpr_ipl_message('3203', 0)$$);
SELECT deling_test.try($$SELECT kpr.xpr_ipl_message('3203', '2026-10-31', '2026-10-01')$$);
SELECT deling_test.try($$SELECT kpr.xpr_ipl_message('3203', NULL::date, '2026-10-01')$$);
SELECT cardinality(kpr.validate_xpr_ipl(kpr.xpr_ipl_message('3203', '1990-01-01', '1990-01-31'))) AS empty_period_errors;
RESET SESSION AUTHORIZATION;
SELECT kpr.validate_xpr_ipl(:'resent') AS errors,
       (SELECT array_agg(guid ORDER BY lopenr) FROM pg_temp.n(:'resent'))
         = (SELECT array_agg(guid ORDER BY lopenr) FROM pg_temp.all_sent WHERE lopenr >= 3) AS same_as_sent;
SELECT kpr.validate_xpr_ipl(:'period') AS errors,
       array_agg(n.src || ' ' || n.status || ' ' || n.event ORDER BY n.lopenr) AS notifications,
       bool_and(n.guid IN (SELECT guid FROM pg_temp.all_sent)) AS as_sent
FROM pg_temp.n(:'period') n;
-- production mode: test persons are never reported, and what was sent for them is not cancelled
RESET deling.kpr_test_mode;
:take
SELECT count(*) AS notifications_in_production_mode FROM pg_temp.n(pg_temp.last());
-- the cut-off date is fixed once something was sent
SET SESSION AUTHORIZATION regress_dba;
SELECT regexp_replace(deling_test.try($$SELECT kpr.start_reporting('3203', '2020-01-01')$$), '[0-9]{4}-[0-9]{2}-[0-9]{2}', '<date>', 'g');
RESET SESSION AUTHORIZATION;
-- the KPR reads, re-sends and refusals are in the access log
SELECT deling.access_log_drain() >= 0 AS drained;
SELECT entry->>'report' AS report, entry->>'decision' AS decision, count(*) > 0 AS logged
FROM deling.access_log WHERE entry->>'service' = 'kpr' AND entry->>'report' LIKE 'xpr%' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS person_resends_logged_with_the_person FROM deling.access_log
WHERE entry->>'report' = 'xpr_ipl_message_resend_person' AND citizen_pid = :'p2';
