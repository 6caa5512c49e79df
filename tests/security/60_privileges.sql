-- Privileges: nothing of the extension is PUBLIC, citizen data sits behind
-- forced row-level security, and the roles a token or a definer runs as
-- have no more power than they need.
SELECT sec.ok(NOT EXISTS (
    SELECT FROM pg_proc p
    WHERE p.pronamespace IN ('deling'::regnamespace, 'api'::regnamespace, 'kpr'::regnamespace)
      AND has_function_privilege('public', p.oid, 'EXECUTE')),
    'no function of deling, api or kpr is executable by PUBLIC');
SELECT sec.ok(NOT EXISTS (
    SELECT FROM pg_class c, aclexplode(c.relacl) a
    WHERE c.relnamespace IN ('deling'::regnamespace, 'api'::regnamespace, 'kpr'::regnamespace) AND a.grantee = 0),
    'no table or view of deling, api or kpr grants anything to PUBLIC');
SELECT sec.ok(NOT EXISTS (
    SELECT FROM pg_class c
    WHERE c.relnamespace = 'deling'::regnamespace AND c.relkind IN ('r', 'p')
      AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname IN ('pid', 'citizen_pid') AND NOT a.attisdropped)
      AND NOT (c.relrowsecurity AND c.relforcerowsecurity)),
    'every table holding identity numbers has row-level security enabled and forced');
SELECT sec.ok(NOT EXISTS (
    SELECT FROM pg_proc p
    WHERE p.pronamespace IN ('deling'::regnamespace, 'api'::regnamespace, 'kpr'::regnamespace)
      AND p.prosecdef AND p.proowner <> 'deling_owner'::regrole),
    'every SECURITY DEFINER function runs as deling_owner');
SELECT sec.ok(NOT rolcanlogin AND NOT rolsuper AND NOT rolbypassrls AND NOT rolcreaterole AND NOT rolcreatedb AND NOT rolreplication,
              'deling_owner cannot log in and has no superuser, BYPASSRLS, CREATEROLE, CREATEDB or REPLICATION')
FROM pg_roles WHERE rolname = 'deling_owner';
SELECT sec.ok(bool_and(NOT rolcanlogin AND NOT rolbypassrls AND NOT rolsuper),
              'the roles requests run as cannot log in and do not bypass RLS')
FROM pg_roles WHERE rolname IN ('deling_anon', 'deling_helsepersonell', 'deling_integrasjon', 'deling_innbygger', 'deling_kpr');
SELECT sec.ok(NOT has_function_privilege('public', 'pg_logical_emit_message(boolean, text, text)', 'EXECUTE')
              AND NOT has_function_privilege('public', 'pg_logical_emit_message(boolean, text, bytea)', 'EXECUTE'),
              'nobody but a superuser writes messages into the WAL');
SELECT sec.ok(NOT has_function_privilege('deling_admin', p, 'EXECUTE'), format('the DBA''s role cannot execute %s', p))
FROM unnest(ARRAY['deling.set_context_value(text, text, boolean)', 'deling.apply_context(jsonb, boolean)',
                  'deling.access_log_emit(jsonb)']::regprocedure[]) p;
SELECT sec.ok(bool_and(context = 'superuser'), 'the caller-context settings are the superuser''s')
FROM pg_settings WHERE name LIKE 'deling.ctx\_%';
SELECT sec.ok(NOT EXISTS (
    SELECT FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL)
    AND NOT EXISTS (SELECT FROM pg_class c WHERE c.relnamespace = 'api'::regnamespace AND obj_description(c.oid, 'pg_class') IS NULL),
    'every object in api has a COMMENT');
-- the DBA's role cannot read an access-log's private parts through the citizen's view or write the log
\c - sec_dba
SELECT sec.ok(sec.affected('DELETE FROM deling.access_log') = '42501', 'the DBA''s role cannot delete access-log entries');
SELECT sec.ok(sec.affected('UPDATE deling.access_log SET entry = entry') = '42501', 'the DBA''s role cannot alter access-log entries');
SELECT sec.ok(sec.affected('TRUNCATE deling.access_log') = '42501', 'the DBA''s role cannot truncate the access log');
