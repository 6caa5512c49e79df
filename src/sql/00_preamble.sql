-- deling extension script, assembled by the Makefile from src/sql/*.sql.
\echo Use "CREATE EXTENSION deling" to load this file. \quit

-- ---------------------------------------------------------------------------
-- 00 preamble: preload check, roles, schemas
-- ---------------------------------------------------------------------------

DO $$
BEGIN
    IF NOT 'deling' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')) THEN
        RAISE EXCEPTION 'deling must be loaded at server start'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Set shared_preload_libraries = ''deling'' and wal_level = logical in postgresql.conf, then restart the server.';
    END IF;
END
$$;

-- Roles are cluster-wide: created when absent, never dropped by the extension.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['deling_owner', 'deling_anon', 'deling_helsepersonell',
                             'deling_integrasjon', 'deling_innbygger', 'deling_kpr', 'deling_admin'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'deling_authenticator') THEN
        CREATE ROLE deling_authenticator LOGIN NOINHERIT;
    END IF;
END
$$;

GRANT deling_anon, deling_helsepersonell, deling_integrasjon, deling_innbygger TO deling_authenticator;

CREATE SCHEMA api;
CREATE SCHEMA kpr;
COMMENT ON SCHEMA api IS 'deling: the only schema PostgREST exposes (sharing services and integration endpoints)';
COMMENT ON SCHEMA kpr IS 'deling: KPR reporting views (deling_kpr and deling_admin only)';
REVOKE ALL ON SCHEMA deling, api, kpr FROM PUBLIC;
