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

-- PostgREST (13 and later) takes the role from the token's scope of the
-- HelseID API resource nhn:deling (jwt-role-claim-key
-- .scope[?(@ ^== "nhn:deling/")]) and switches to the login-less role named
-- exactly after it; each is a member of the deling_* role it stands for
-- (deling.scope_role).  The authenticator may switch to them and to the
-- deling_* roles themselves (direct SQL and replays), never further.
DO $$
DECLARE
    s text[];
BEGIN
    FOREACH s SLICE 1 IN ARRAY ARRAY[['nhn:deling/helsepersonell', 'deling_helsepersonell'],
                                     ['nhn:deling/integrasjon', 'deling_integrasjon'],
                                     ['nhn:deling/innbygger', 'deling_innbygger'],
                                     ['nhn:deling/kpr', 'deling_kpr']] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = s[1]) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', s[1]);
        END IF;
        EXECUTE format('GRANT %I TO %I', s[2], s[1]);
        EXECUTE format('GRANT %I TO deling_authenticator', s[1]);
    END LOOP;
END
$$;
GRANT deling_anon, deling_helsepersonell, deling_integrasjon, deling_innbygger TO deling_authenticator;

CREATE SCHEMA api;
CREATE SCHEMA kpr;
COMMENT ON SCHEMA api IS 'deling: the only schema PostgREST exposes (sharing services and integration endpoints)';
COMMENT ON SCHEMA kpr IS 'deling: KPR reporting views (deling_kpr and deling_admin only)';
REVOKE ALL ON SCHEMA deling, api, kpr FROM PUBLIC;
