-- Object shadowing: a caller's temporary objects must never run as the
-- extension's owner.  Every function pins search_path = pg_catalog, pg_temp
-- (pg_temp last), and no SECURITY DEFINER function uses an object a caller
-- could create first.
SELECT sec.ok(NOT EXISTS (
    SELECT FROM pg_proc p
    WHERE p.pronamespace IN ('deling'::regnamespace, 'api'::regnamespace, 'kpr'::regnamespace)
      AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)),
    'every function of deling, api and kpr runs with search_path = pg_catalog, pg_temp');
SELECT sec.ok(NOT EXISTS (
    SELECT FROM pg_proc p
    WHERE p.pronamespace IN ('deling'::regnamespace, 'api'::regnamespace, 'kpr'::regnamespace)
      AND p.prosecdef AND p.prosrc ~* '\mtemp(orary)?\s+table|pg_temp\.'),
    'no SECURITY DEFINER function of the extension creates or names a temporary object');

-- the attack, as each kind of login
\set who integration
\c - sec_epj_bodo
\ir include/shadow_attack.psql
SELECT sec.ok(NOT EXISTS (SELECT FROM deling.citizen WHERE kommune_nr <> '1804'),
              'integration: still sees its own kommune''s citizens only');

\set who doctor
\c - sec_lege
SELECT sec.claims('lege_baerum') AS claims \gset
\set tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
\ir include/shadow_attack.psql

\set who citizen
\c - sec_innbygger
SELECT sec.claims('innbygger') AS claims \gset
\set tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
\ir include/shadow_attack.psql

\set who kpr
\c - sec_kpr
\ir include/shadow_attack.psql

\set who anonymous
\c - deling_authenticator
SET ROLE deling_anon;
\ir include/shadow_attack.psql
RESET ROLE;

\c - postgres
SELECT sec.ok((SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'deling.citizen'::regclass),
              'row-level security on deling.citizen is still enabled and forced');
SELECT deling.access_log_drain() IS NOT NULL AS drained \gset
SELECT sec.ok(NOT EXISTS (SELECT FROM deling.access_log l WHERE l.entry ? 'forged'),
              'no forged entry reached the access log');

-- KPR: a view pg_temp.pg_extension does not shadow the catalog the message
-- builder reads, and a temporary kpr_current table created first (granted
-- to everybody, with a trigger) is never written as deling_owner
\c - sec_kpr
CREATE TEMP VIEW pg_extension AS SELECT 'deling'::name AS extname, '6.6.6-shadowed'::text AS extversion;
CREATE TEMP TABLE kpr_current (event_key text PRIMARY KEY, event_date date, payload jsonb);
CREATE FUNCTION pg_temp.kpr_trap() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM pg_catalog.set_config('sec.kpr_trap_ran_as', current_user::pg_catalog.text, false);
    RETURN NEW;
END
$f$;
CREATE TRIGGER kpr_trap BEFORE INSERT OR UPDATE ON pg_temp.kpr_current FOR EACH ROW EXECUTE FUNCTION pg_temp.kpr_trap();
GRANT ALL ON pg_temp.kpr_current TO PUBLIC;
SELECT sec.value('SELECT kpr.xpr_ipl_message(''1804'')') AS message \gset
SELECT sec.ok(position('6.6.6-shadowed' IN :'message') = 0 AND position('versjonEPJ="' || (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'deling') || '"' IN :'message') > 0,
              'kpr: the message names the installed version, not a pg_temp.pg_extension view''s');
SELECT sec.ok(current_setting('sec.kpr_trap_ran_as', true) IS NULL,
              'kpr: the message builder never touched a pg_temp.kpr_current the caller created first');
