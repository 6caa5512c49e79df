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
-- aggregates: synthetic persons only count in test mode
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
SELECT entry->'report' AS report, count(*) FROM deling.access_log WHERE entry->>'service' = 'kpr' GROUP BY 1 ORDER BY 1;
SET SESSION AUTHORIZATION regress_epj_asker;
SELECT deling_test.try($$SELECT count(*) FROM kpr.service_events('3203', '2026-01-01', '2026-12-31')$$);
RESET SESSION AUTHORIZATION;

-- pseudonymised research export: HMAC-SHA256 under the DBA's key
SELECT deling.add_pseudonym_key('forskning-2026', 'Studie av hjemmetjenester 2026');
SELECT deling_test.try($$SELECT deling.add_pseudonym_key('forskning-2026', 'again')$$);
SET deling.kpr_test_mode = on;
SET SESSION AUTHORIZATION regress_kpr;
CREATE TEMP TABLE p1 AS SELECT * FROM kpr.pseudonymised_services('3203', 'forskning-2026');
CREATE TEMP TABLE p2 AS SELECT * FROM kpr.pseudonymised_services('3203', 'forskning-2026');
SELECT count(*) AS services, count(DISTINCT pseudonym) AS persons,
       bool_and(pseudonym ~ '^[0-9a-f]{64}$') AS hex_sha256,
       (SELECT array_agg(pseudonym ORDER BY pseudonym, period_start, service_code) FROM p1)
         = (SELECT array_agg(pseudonym ORDER BY pseudonym, period_start, service_code) FROM p2) AS stable_under_the_same_key
FROM p1;
SELECT deling_test.try($$SELECT * FROM kpr.pseudonymised_services('3203', 'no-such-key')$$);
SELECT deling_test.try('SELECT secret FROM deling.pseudonym_key');
RESET SESSION AUTHORIZATION;
SELECT count(*) AS pseudonyms_that_are_identity_numbers,
       count(*) FILTER (WHERE p1.pseudonym IN (SELECT pid FROM deling.citizen)) AS pseudonyms_matching_a_citizen
FROM p1 WHERE deling.fnr_valid(p1.pseudonym);
-- another key gives unrelated pseudonyms; the HMAC agrees with the openssl command line
SELECT deling.add_pseudonym_key('forskning-annen', 'Annen studie');
SET SESSION AUTHORIZATION regress_kpr;
SELECT count(*) AS shared_pseudonyms FROM p1 JOIN kpr.pseudonymised_services('3203', 'forskning-annen') x USING (pseudonym);
RESET SESSION AUTHORIZATION;
RESET deling.kpr_test_mode;
\set hmac_ref `printf 'what do ya want for nothing?' | openssl dgst -sha256 -mac HMAC -macopt hexkey:4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665 | awk '{print $NF}'`
SELECT encode(deling.hmac_sha256(convert_to('what do ya want for nothing?', 'UTF8'),
                                 decode(repeat('4a656665', 8), 'hex')), 'hex') = :'hmac_ref' AS hmac_matches_openssl;
SELECT deling_test.try($$SELECT deling.hmac_sha256('x', 'short key')$$);
SET SESSION AUTHORIZATION regress_dba;
SELECT key_id, purpose FROM deling.pseudonym_key ORDER BY 1;
SELECT deling_test.try('SELECT secret FROM deling.pseudonym_key');
RESET SESSION AUTHORIZATION;

-- the continuous XPR(ipl) message ------------------------------------------------
SET SESSION AUTHORIZATION regress_kpr;
SELECT deling_test.try($$SELECT kpr.xpr_ipl_message('3203')$$);      -- no contact person yet
RESET SESSION AUTHORIZATION;
SELECT kpr.set_contact('3203', 'Kari Rapportør', 'kpr@asker.kommune.no', '+47 66 90 00 00');
CREATE FUNCTION pg_temp.notifications(m text) RETURNS TABLE (lopenr int, guid text, forrige text, status text, event text)
LANGUAGE sql AS $$
    SELECT (xpath('/*/@notifikasjonLopeNr', n))[1]::text::int, (xpath('/*/@notifikasjonGUID', n))[1]::text,
           (xpath('/*/@notifikasjonForrigeGUID', n))[1]::text, (xpath('/*/@statusNotifikasjon', n))[1]::text,
           (xpath('local-name(/*/*)', n))[1]::text
    FROM unnest(xpath('/npr:Melding/npr:Notifikasjon', m::xml, ARRAY[ARRAY['npr', 'http://www.npr.no/xmlstds/56_0_0_ipl']])) n;
$$;
-- production mode: the synthetic persons are never reported
SET SESSION AUTHORIZATION regress_kpr;
SELECT kpr.xpr_ipl_message('3203') AS m \gset
RESET SESSION AUTHORIZATION;
SELECT kpr.validate_xpr_ipl(:'m') AS errors, (SELECT count(*) FROM pg_temp.notifications(:'m')) AS notifications;
-- test mode: every event up to today, numbered 1.. and chained
SET deling.kpr_test_mode = on;
SET SESSION AUTHORIZATION regress_kpr;
SELECT kpr.xpr_ipl_message('3203') AS m1 \gset
RESET SESSION AUTHORIZATION;
SELECT kpr.validate_xpr_ipl(:'m1') AS errors;
SELECT lopenr, status, event FROM pg_temp.notifications(:'m1') ORDER BY lopenr;
SELECT bool_and(n.forrige = coalesce(p.guid, '00000000-0000-0000-0000-000000000000')) AS chained
FROM pg_temp.notifications(:'m1') n LEFT JOIN pg_temp.notifications(:'m1') p ON p.lopenr = n.lopenr - 1;
SELECT count(*) = (SELECT count(*) FROM kpr.service_events('3203', '-infinity', (now() AT TIME ZONE 'Europe/Oslo')::date)) AS every_event_once
FROM pg_temp.notifications(:'m1');
-- nothing new: an empty (still valid) message, and the state is unchanged
SET SESSION AUTHORIZATION regress_kpr;
SELECT kpr.xpr_ipl_message('3203') AS m2 \gset
RESET SESSION AUTHORIZATION;
SELECT kpr.validate_xpr_ipl(:'m2') AS errors, (SELECT count(*) FROM pg_temp.notifications(:'m2')) AS notifications;
-- a new service: the next message continues the numbering and the chain
SET SESSION AUTHORIZATION regress_epj_asker;
SELECT (api.municipal_services_ingest(jsonb_build_object('pid', '01814512319', 'service_code', '5',
    'status', 'active', 'period_start', '2026-11-02', 'unit_name', 'Matombringing Asker', 'unit_orgnr', '944382038',
    'source_system', 'gerica', 'source_id', 'a-5')))->>'result' AS new_service;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_kpr;
SELECT kpr.xpr_ipl_message('3203') AS m3 \gset
RESET SESSION AUTHORIZATION;
SELECT kpr.validate_xpr_ipl(:'m3') AS errors;
SELECT n.lopenr = (SELECT max(lopenr) FROM pg_temp.notifications(:'m1')) + 1 AS continues_numbering,
       n.forrige = (SELECT guid FROM pg_temp.notifications(:'m1') ORDER BY lopenr DESC LIMIT 1) AS continues_chain,
       n.event, (xpath('//npr:TjenesteStart/@tjenesteType', :'m3'::xml, ARRAY[ARRAY['npr', 'http://www.npr.no/xmlstds/56_0_0_ipl']]))[1]::text AS service_type
FROM pg_temp.notifications(:'m3') n;
SELECT kommune_nr, last_lopenr = (SELECT count(*) FROM deling.kpr_reported_event WHERE kommune_nr = '3203') AS state_matches_sent
FROM deling.kpr_report_state;
RESET deling.kpr_test_mode;

-- corrections: the service type of the new service was wrong -> M, referring to the original
SELECT (SELECT guid FROM pg_temp.notifications(:'m3')) AS original_guid \gset
SET SESSION AUTHORIZATION regress_epj_asker;
SELECT (api.municipal_services_ingest(jsonb_build_object('pid', '01814512319', 'service_code', '4',
    'status', 'active', 'period_start', '2026-11-02', 'unit_name', 'Matombringing Asker', 'unit_orgnr', '944382038',
    'source_system', 'gerica', 'source_id', 'a-5')))->>'result' AS corrected;
RESET SESSION AUTHORIZATION;
SET deling.kpr_test_mode = on;
SET SESSION AUTHORIZATION regress_kpr;
SELECT kpr.xpr_ipl_message('3203') AS m4 \gset
RESET SESSION AUTHORIZATION;
SELECT kpr.validate_xpr_ipl(:'m4') AS errors;
SELECT n.status, n.event, (xpath('/npr:Melding/npr:Notifikasjon/@notifikasjonRef', :'m4'::xml, ARRAY[ARRAY['npr', 'http://www.npr.no/xmlstds/56_0_0_ipl']]))[1]::text = :'original_guid' AS refers_to_original,
       (xpath('//npr:TjenesteStart/@tjenesteType', :'m4'::xml, ARRAY[ARRAY['npr', 'http://www.npr.no/xmlstds/56_0_0_ipl']]))[1]::text AS corrected_type
FROM pg_temp.notifications(:'m4') n;
-- then it was entered in error -> C, referring to the original; then nothing is left to send
SET SESSION AUTHORIZATION regress_epj_asker;
SELECT (api.municipal_services_ingest(jsonb_build_object('pid', '01814512319', 'service_code', '4',
    'status', 'entered-in-error', 'period_start', '2026-11-02', 'unit_name', 'Matombringing Asker', 'unit_orgnr', '944382038',
    'source_system', 'gerica', 'source_id', 'a-5')))->>'result' AS withdrawn;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_kpr;
SELECT kpr.xpr_ipl_message('3203') AS m5 \gset
SELECT kpr.xpr_ipl_message('3203') AS m6 \gset
RESET SESSION AUTHORIZATION;
SELECT kpr.validate_xpr_ipl(:'m5') AS errors;
SELECT n.status, n.event, (xpath('/npr:Melding/npr:Notifikasjon/@notifikasjonRef', :'m5'::xml, ARRAY[ARRAY['npr', 'http://www.npr.no/xmlstds/56_0_0_ipl']]))[1]::text = :'original_guid' AS refers_to_original
FROM pg_temp.notifications(:'m5') n;
SELECT (SELECT count(*) FROM pg_temp.notifications(:'m6')) AS left_to_send,
       (SELECT max(lopenr) FROM deling.kpr_reported_event WHERE kommune_nr = '3203')
         = (SELECT last_lopenr FROM deling.kpr_report_state WHERE kommune_nr = '3203') AS numbering_recorded;
RESET deling.kpr_test_mode;
-- a provider change (from one known orgnr to another) is its own event
SELECT deling.synthetic_fnr('1941-04-09', 0) AS pid, deling.orgnr_complete('99320301') AS new_orgnr \gset
SET SESSION AUTHORIZATION regress_epj_asker;
SELECT (api.municipal_services_ingest(jsonb_build_object('pid', :'pid', 'service_code', '015', 'status', 'active',
    'vedtak_date', '2026-08-25', 'period_start', '2026-09-01', 'weekly_hours', 7.5, 'description', 'Medisiner morgen og kveld; sårstell',
    'unit_name', 'Hjemmesykepleien Asker vest', 'unit_orgnr', :'new_orgnr', 'unit_phone', '+47 66 90 00 00',
    'source_system', 'gerica', 'source_id', 'a-15',
    'stops', jsonb_build_array(jsonb_build_object('from', '2026-10-01', 'to', '2026-10-05')))))->>'result' AS provider_changed;
RESET SESSION AUTHORIZATION;
SET deling.kpr_test_mode = on;
SET SESSION AUTHORIZATION regress_kpr;
-- dated by the Oslo calendar (the regression session runs in PST8PDT), and sent the same day
SELECT event, event_date = (now() AT TIME ZONE 'Europe/Oslo')::date AS dated_today_in_oslo, provider_orgnr = :'new_orgnr' AS new_provider
FROM kpr.service_events('3203', '-infinity', 'infinity') WHERE event = 'TjenesteutforerEndret';
SELECT kpr.xpr_ipl_message('3203') AS m7 \gset
RESET SESSION AUTHORIZATION;
RESET deling.kpr_test_mode;
SELECT kpr.validate_xpr_ipl(:'m7') AS errors;
SELECT status, event, count(*) FROM pg_temp.notifications(:'m7') GROUP BY 1, 2 ORDER BY 1, 2;
-- re-send from a løpenummer: the notifications exactly as sent, nothing new recorded
SET SESSION AUTHORIZATION regress_kpr;
SELECT kpr.xpr_ipl_message('3203', (SELECT max(lopenr) FROM pg_temp.notifications(:'m1')) + 1) AS resent \gset
SELECT deling_test.try($$SELECT kpr.xpr_ipl_message('3203', 0)$$);
RESET SESSION AUTHORIZATION;
SELECT kpr.validate_xpr_ipl(:'resent') AS errors,
       array_agg(n.status || ' ' || n.lopenr ORDER BY n.lopenr) AS notifications,
       array_agg(n.guid ORDER BY n.lopenr) = (SELECT array_agg(guid ORDER BY lopenr) FROM (
           SELECT * FROM pg_temp.notifications(:'m3') UNION ALL SELECT * FROM pg_temp.notifications(:'m4')
           UNION ALL SELECT * FROM pg_temp.notifications(:'m5') UNION ALL SELECT * FROM pg_temp.notifications(:'m7')) sent) AS same_as_sent
FROM pg_temp.notifications(:'resent') n;
-- re-send by period (KPR asks for October again): every notification sent for
-- an event dated in October, N and the M that followed, exactly as sent
SET SESSION AUTHORIZATION regress_kpr;
SELECT kpr.xpr_ipl_message('3203', '2026-10-01', '2026-10-31') AS october \gset
SELECT deling_test.try($$SELECT kpr.xpr_ipl_message('3203', '2026-10-31', '2026-10-01')$$);
SELECT deling_test.try($$SELECT kpr.xpr_ipl_message('3203', NULL::date, '2026-10-01')$$);
SELECT cardinality(kpr.validate_xpr_ipl(kpr.xpr_ipl_message('3203', '1990-01-01', '1990-01-31'))) AS empty_period_errors;
RESET SESSION AUTHORIZATION;
SELECT kpr.validate_xpr_ipl(:'october') AS errors;
SELECT n.lopenr, n.status, n.event,
       n.guid IN (SELECT guid FROM pg_temp.notifications(:'m1') UNION ALL SELECT guid FROM pg_temp.notifications(:'m7')) AS as_sent,
       d.hendelse_dato
FROM pg_temp.notifications(:'october') n,
     LATERAL (SELECT (xpath('//@hendelseDato', x))[1]::text AS hendelse_dato
              FROM unnest(xpath('/npr:Melding/npr:Notifikasjon', :'october'::xml,
                                ARRAY[ARRAY['npr', 'http://www.npr.no/xmlstds/56_0_0_ipl']])) x
              WHERE (xpath('/*/@notifikasjonLopeNr', x))[1]::text::int = n.lopenr) d
ORDER BY n.lopenr;
-- and what was sent for October in the first message is all there
SELECT (SELECT count(*) FROM pg_temp.notifications(:'m1') m JOIN pg_temp.notifications(:'october') o USING (guid))
     = (SELECT count(*) FROM unnest(xpath('/npr:Melding/npr:Notifikasjon', :'m1'::xml,
                                          ARRAY[ARRAY['npr', 'http://www.npr.no/xmlstds/56_0_0_ipl']])) x
        WHERE (xpath('//@hendelseDato', x))[1]::text BETWEEN '2026-10-01' AND '2026-10-31') AS every_october_original;
