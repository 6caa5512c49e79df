-- Tenant isolation: an integration for Bodø cannot read, insert, update or
-- delete Bærum rows; the context cannot be forged; role tricks gain nothing;
-- the structure (forced RLS, keys leading with kommune_nr, no PUBLIC
-- execute, pinned search_path) holds for every object.
\set VERBOSITY terse
SELECT min(pid) AS bodo_pid FROM deling.citizen WHERE kommune_nr = '1804' \gset
SELECT min(pid) AS baerum_pid FROM deling.citizen WHERE kommune_nr = '3201' \gset
SELECT deling.synthetic_fnr('1990-05-17', 40) AS new_pid \gset
SELECT current_database() AS "TEST_DB" \gset
-- the read-only settings the integrations' policies of NEWS2 and of the
-- municipal services compare with
SELECT 'deling.caller_kommune_for_' || rls_slot AS news2_setting FROM deling.service WHERE service_code = 'news2' \gset
SELECT 'deling.caller_kommune_for_' || rls_slot AS services_setting FROM deling.service WHERE service_code = 'municipal-services' \gset

SET SESSION AUTHORIZATION regress_epj_bodo;
SELECT deling.current_kommune();
SELECT kommune_nr, count(*) FROM api.citizens GROUP BY 1;
SELECT count(*) AS baerum_rows_seen FROM deling.citizen WHERE kommune_nr = '3201';
SELECT count(*) AS baerum_pid_seen FROM api.citizens WHERE pid = :'baerum_pid';
UPDATE api.citizens SET given_name = 'Hacked' WHERE kommune_nr = '3201';
DELETE FROM api.citizens WHERE kommune_nr = '3201';
DELETE FROM deling.citizen WHERE pid = :'baerum_pid';
INSERT INTO api.citizens (kommune_nr, pid) VALUES ('3201', :'new_pid');
-- inserting Bærum's existing key is refused by RLS, not by a duplicate-key
-- error that would confirm the Bærum row exists
INSERT INTO api.citizens (kommune_nr, pid) VALUES ('3201', :'baerum_pid');
UPDATE api.citizens SET kommune_nr = '3201' WHERE pid = :'bodo_pid';
-- the same person may also be a citizen of Bodø: keys are per kommune
INSERT INTO api.citizens (pid, given_name) VALUES (:'baerum_pid', 'Flyttet') RETURNING kommune_nr, given_name;
-- a duplicate within the own kommune names only the own key
INSERT INTO api.citizens (pid) VALUES (:'bodo_pid');
INSERT INTO api.citizens (pid) VALUES ('02013299998');
INSERT INTO api.citizens (pid, sex) VALUES (:'new_pid', 'x');
-- the context cannot be forged
SET deling.ctx_kommune_nr = '3201';
SET LOCAL deling.ctx_kind = 'integration';
SELECT set_config('deling.ctx_kommune_nr', '3201', false);
RESET deling.ctx_kommune_nr;
ALTER ROLE regress_epj_bodo SET deling.ctx_kommune_nr = '3201';
SELECT deling.set_context_value('deling.ctx_kommune_nr', '3201', false);
SELECT deling.apply_context('{"kind": "integration", "kommune_nr": "3201"}', false);
CREATE FUNCTION pg_temp.forge() RETURNS int LANGUAGE sql SET deling.ctx_kommune_nr = '3201' AS 'SELECT 1';
-- nor the read-only settings the integrations' policies compare with
SET deling.caller_kommune = '3201';
SELECT set_config(:'news2_setting', '3201', false);
ALTER ROLE regress_epj_bodo SET deling.caller_kommune = '3201';
CREATE FUNCTION pg_temp.forge_caller() RETURNS int LANGUAGE sql SET deling.caller_kommune_for_1 = '3201' AS 'SELECT 1';
SET ROLE deling_owner;
SET ROLE deling_admin;
SELECT deling.current_kommune() AS still_bodo, current_setting('deling.caller_kommune') AS caller_kommune,
       current_setting(:'news2_setting') AS for_news2, current_setting(:'services_setting') AS for_services;
RESET SESSION AUTHORIZATION;
-- not even by the superuser
SET deling.caller_kommune = '3201';
ALTER SYSTEM SET deling.caller_kommune_for_1 = '3201';
-- outside any caller context, and for the superuser, they are empty
SELECT current_setting('deling.caller_kommune') AS caller_kommune,
       current_setting('deling.caller_kommune_for_1') AS caller_kommune_for_1;
-- a bare SHOW looks nothing up (it takes no snapshot: SET TRANSACTION still
-- works after it); it shows what a statement of the transaction looked up
SET SESSION AUTHORIZATION regress_epj_bodo;
BEGIN;
SHOW deling.caller_kommune;
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;
SELECT current_setting('deling.caller_kommune') AS caller_kommune;
SHOW deling.caller_kommune;
COMMIT;
RESET SESSION AUTHORIZATION;
-- every service has its slot: a service inserted again (a restore, a
-- declaration) keeps it; a new one takes the lowest free one, up to 32
BEGIN;
INSERT INTO deling.service (service_code, name, description, available, rls_slot)
VALUES ('news2', 'NEWS2-målinger', 'restored', true, 9);
SELECT 'deling.caller_kommune_for_' || rls_slot = :'news2_setting' AS news2_keeps_its_slot, description
FROM deling.service WHERE service_code = 'news2';
INSERT INTO deling.service (service_code, name, description, available)
SELECT 'regress-' || n, 'x', 'x', false FROM generate_series(1, 32 - (SELECT count(*) FROM deling.service)) n;
SELECT count(*) AS services, count(DISTINCT rls_slot) AS slots, max(rls_slot) AS highest_slot FROM deling.service;
-- a full platform still takes a service's row again (its slot is kept)
INSERT INTO deling.service (service_code, name, description, available)
VALUES ('news2', 'NEWS2-målinger', 'again', true);
SELECT 'deling.caller_kommune_for_' || rls_slot = :'news2_setting' AS news2_keeps_its_slot FROM deling.service WHERE service_code = 'news2';
INSERT INTO deling.service (service_code, name, description, available) VALUES ('regress-full', 'x', 'x', false);
ROLLBACK;
-- a service deleted and added again takes the slot its tables' policies name
BEGIN;
SELECT rls_slot AS tiltaksplan_slot FROM deling.service WHERE service_code = 'tiltaksplan' \gset
DELETE FROM deling.service WHERE service_code = 'tiltaksplan';
INSERT INTO deling.service (service_code, name, description, available) VALUES ('tiltaksplan', 'Tiltaksplan', 'again', true);
SELECT rls_slot = :tiltaksplan_slot AS same_slot FROM deling.service WHERE service_code = 'tiltaksplan';
ROLLBACK;
-- the DBA's role adds a service
BEGIN;
SET LOCAL SESSION AUTHORIZATION regress_dba;
INSERT INTO deling.service (service_code, name, description, available) VALUES ('regress-dba', 'x', 'x', false)
RETURNING rls_slot;
ROLLBACK;
-- a slot never changes, and a slot a policy names is never given again
UPDATE deling.service SET rls_slot = rls_slot + 10 WHERE service_code = 'news2';
BEGIN;
CREATE TABLE deling.regress_slot (kommune_nr text);
CREATE POLICY regress_slot ON deling.regress_slot USING (kommune_nr = current_setting('deling.caller_kommune_for_6'));
SELECT deling.free_rls_slot() AS free_slot;
INSERT INTO deling.service (service_code, name, description, available, rls_slot)
VALUES ('regress-six', 'x', 'x', false, 6) RETURNING rls_slot;
ROLLBACK;
-- every integration policy of a sharing table reads its own service's
-- setting (its WITH CHECK names the service), and names deling.preloaded()
SELECT c.oid::regclass, pg_get_expr(p.polqual, p.polrelid)
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
WHERE c.relnamespace = 'deling'::regnamespace AND p.polname = c.relname || '_integrasjon' AND c.relname <> 'citizen'
  AND pg_get_expr(p.polqual, p.polrelid) IS DISTINCT FROM
      (SELECT format('((kommune_nr = current_setting(%L::text)) AND deling.preloaded())', 'deling.caller_kommune_for_' || s.rls_slot)
       FROM deling.service s
       WHERE s.service_code = substring(pg_get_expr(p.polwithcheck, p.polrelid) FROM 'current_kommune_for\(''([^'']+)'''));
-- a database without deling: the settings are empty, and no function a
-- database owner named like deling's lookups runs for whoever reads them
CREATE DATABASE regress_no_deling;
\c regress_no_deling
CREATE SCHEMA deling;
CREATE FUNCTION deling.current_kommune_lookup() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a look-alike of deling''s lookup ran';
END
$$;
SELECT current_setting('deling.caller_kommune') AS caller_kommune,
       current_setting('deling.caller_kommune_for_1') AS caller_kommune_for_1,
       (SELECT count(*) > 300 FROM pg_settings) AS settings_listed;
\c :TEST_DB
DROP DATABASE regress_no_deling;
-- a new session's first read of pg_settings lists every setting
SELECT (SELECT count(*) FROM pg_settings) = (SELECT count(*) FROM pg_settings) AS same_count,
       (SELECT bool_or(name = 'work_mem') FROM pg_settings) AS work_mem_listed;
SELECT count(*) AS baerum_rows_intact FROM deling.citizen WHERE kommune_nr = '3201' AND given_name <> 'Hacked';

-- a login role without binding or token acts for no kommune
SET SESSION AUTHORIZATION regress_epj_unbound;
SELECT count(*) FROM api.citizens;
INSERT INTO api.citizens (pid) VALUES (:'new_pid');
RESET SESSION AUTHORIZATION;

-- health personnel, KPR and anonymous have no direct table access
SET SESSION AUTHORIZATION regress_lege;
SELECT count(*) FROM api.citizens;
SELECT count(*) FROM deling.citizen;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_kpr;
SELECT count(*) FROM deling.citizen;
RESET SESSION AUTHORIZATION;

-- PostgREST's connection role: NOINHERIT, so nothing of its own; SET ROLE
-- to a member role without a context gives an empty tenant; no way up
SET SESSION AUTHORIZATION deling_authenticator;
SELECT count(*) FROM api.citizens;
SET ROLE deling_integrasjon;
SELECT count(*) AS rows_without_context FROM api.citizens;
SELECT deling.current_kommune() AS no_kommune;
SET ROLE deling_admin;
SET ROLE deling_owner;
SET ROLE regress_epj_bodo;
RESET ROLE;
SET ROLE deling_anon;
SELECT count(*) FROM api.citizens;
RESET SESSION AUTHORIZATION;

-- a deactivated kommune is neither read nor written
SELECT deling.set_kommune_active('1804', false);
SET SESSION AUTHORIZATION regress_epj_bodo;
SELECT count(*) AS rows_while_inactive FROM api.citizens;
INSERT INTO api.citizens (pid) VALUES (:'new_pid');
RESET SESSION AUTHORIZATION;
SELECT deling.set_kommune_active('1804', true);

-- the DBA's role sees every kommune
SET SESSION AUTHORIZATION regress_dba;
SELECT kommune_nr, count(*) FROM api.citizens GROUP BY 1 ORDER BY 1;
RESET SESSION AUTHORIZATION;

-- the policy is index-friendly: kommune_nr is an Index Cond compared with
-- a value computed once per statement (an InitPlan), no per-row function
SET SESSION AUTHORIZATION regress_epj_bodo;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM api.citizens WHERE pid = '01019012345';
EXPLAIN (COSTS OFF) SELECT count(*) FROM api.citizens;
RESET enable_seqscan;
RESET SESSION AUTHORIZATION;

-- structure -----------------------------------------------------------------
-- every table holding citizen data (a pid column) has RLS enabled and forced
SELECT c.oid::regclass AS citizen_table, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
       pg_get_userbyid(c.relowner) AS owner
FROM pg_class c
WHERE c.relnamespace = 'deling'::regnamespace AND c.relkind = 'r'
  AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'pid' AND NOT a.attisdropped)
ORDER BY 1;
-- ... and each of its primary, unique and foreign keys leads with kommune_nr
-- (foreign keys into shared code lists, tables without kommune_nr, excepted)
SELECT con.conrelid::regclass, con.conname, con.contype
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
WHERE c.relnamespace = 'deling'::regnamespace AND con.contype IN ('p', 'u', 'f')
  AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'pid')
  AND (SELECT attname FROM pg_attribute WHERE attrelid = con.conrelid AND attnum = con.conkey[1]) <> 'kommune_nr'
  AND NOT (con.contype = 'f' AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = con.confrelid AND a.attname = 'kommune_nr'));
-- the shared code lists those foreign keys point at
SELECT DISTINCT con.confrelid::regclass AS reference_table
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
WHERE c.relnamespace = 'deling'::regnamespace AND con.contype = 'f'
  AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'pid')
  AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = con.confrelid AND a.attname = 'kommune_nr')
ORDER BY 1;
-- no table or view of deling, api or kpr is owned by anyone but deling_owner
SELECT c.oid::regclass FROM pg_class c
WHERE c.relnamespace IN ('deling'::regnamespace, 'api'::regnamespace, 'kpr'::regnamespace)
  AND c.relkind IN ('r', 'v', 'm', 'p') AND pg_get_userbyid(c.relowner) <> 'deling_owner';
-- no function is executable by PUBLIC (a NULL ACL means the PUBLIC default)
SELECT p.oid::regprocedure FROM pg_proc p
WHERE p.pronamespace IN ('deling'::regnamespace, 'api'::regnamespace, 'kpr'::regnamespace)
  AND (p.proacl IS NULL OR EXISTS (SELECT FROM aclexplode(p.proacl) x WHERE x.grantee = 0));
-- every function pins search_path with pg_temp last (a caller's temporary
-- relations and types never shadow the catalog's), and every SECURITY
-- DEFINER function runs as deling_owner
SELECT p.oid::regprocedure, pg_get_userbyid(p.proowner) FROM pg_proc p
WHERE p.pronamespace IN ('deling'::regnamespace, 'api'::regnamespace, 'kpr'::regnamespace)
  AND (NOT coalesce(p.proconfig, '{}') && ARRAY['search_path=pg_catalog, pg_temp']
       OR p.prosecdef AND pg_get_userbyid(p.proowner) <> 'deling_owner');
-- every api view applies the caller's RLS
SELECT c.oid::regclass FROM pg_class c
WHERE c.relnamespace = 'api'::regnamespace AND c.relkind = 'v'
  AND NOT coalesce(c.reloptions, '{}') @> ARRAY['security_invoker=true'];
-- context settings are superuser-only
SELECT name, context FROM pg_settings WHERE name LIKE 'deling.%' ORDER BY name;

-- the caller's kommune and reach are remembered per transaction, but never
-- across contexts: two tokens in one transaction, one rolled back
SET SESSION AUTHORIZATION regress_epj_unbound;
SELECT deling_test.claims('epj_bodo') AS p1 \gset
\set t1 `tests/tools/mint-jwt RS256 k1 :'p1'`
SELECT deling_test.claims('epj_baerum') AS p2 \gset
\set t2 `tests/tools/mint-jwt RS256 k1 :'p2'`
BEGIN;
SELECT deling.authenticate(:'t1')->>'kommune_nr' AS token, deling.current_kommune(), deling.current_kommune_for('news2'),
       deling.reach_for('news2'), current_setting('deling.caller_kommune') AS caller_kommune;
SAVEPOINT s;
SELECT deling.authenticate(:'t2')->>'kommune_nr' AS token, deling.current_kommune(), deling.current_kommune_for('news2'),
       deling.reach_for('news2'), current_setting('deling.caller_kommune') AS caller_kommune;
ROLLBACK TO SAVEPOINT s;
SELECT 'rolled back' AS token, deling.current_kommune(), deling.current_kommune_for('news2'), deling.reach_for('news2'),
       current_setting('deling.caller_kommune') AS caller_kommune;
COMMIT;
SELECT 'committed' AS token, deling.current_kommune(), deling.reach_for('news2');
RESET SESSION AUTHORIZATION;

-- a kommune's opt-out hides the service's rows from its integration from
-- its next context or transaction on, and refuses its writes there
BEGIN;
INSERT INTO deling.news2_measurement (kommune_nr, pid, measured_at, resp_rate, spo2, on_oxygen, systolic_bp, pulse,
                                     consciousness, temperature, source_system, source_id)
VALUES ('1804', :'bodo_pid', now(), 16, 97, false, 120, 70, 'A', 37.0, 'regress', 'opt-out');
SET SESSION AUTHORIZATION regress_epj_unbound;
SELECT deling.authenticate(:'t1')->>'kommune_nr' AS token, current_setting(:'news2_setting') AS for_news2,
       current_setting(:'services_setting') AS for_services,
       (SELECT count(*) FROM deling.news2_measurement WHERE source_id = 'opt-out') AS news2_seen;
RESET SESSION AUTHORIZATION;
SELECT deling.disable_service('1804', 'news2');
SET SESSION AUTHORIZATION regress_epj_unbound;
SELECT deling.authenticate(:'t1')->>'kommune_nr' AS token, current_setting(:'news2_setting') AS for_news2,
       current_setting(:'services_setting') AS for_services,
       (SELECT count(*) FROM deling.news2_measurement WHERE source_id = 'opt-out') AS news2_seen;
INSERT INTO deling.news2_measurement (kommune_nr, pid, measured_at, resp_rate, spo2, on_oxygen, systolic_bp, pulse,
                                     consciousness, temperature, source_system, source_id)
VALUES ('1804', :'bodo_pid', now(), 16, 97, false, 120, 70, 'A', 37.0, 'regress', 'opt-out-2');
ROLLBACK;
RESET SESSION AUTHORIZATION;
