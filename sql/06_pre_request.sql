-- deling.pre_request() as PostgREST's db-pre-request: the context comes
-- only from the bearer token in request.headers, re-verified; forged
-- request.jwt.claims, a missing or foreign token, or a role that does not
-- match the token give no context.  Each block is one PostgREST
-- transaction as deling_authenticator.
\set VERBOSITY terse
SELECT deling_test.claims('epj_bodo') AS p \gset
\set bodo_tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.claims('lege_ab') AS p \gset
\set lege_tok `tests/tools/mint-jwt RS256 k1 :'p'`
\set k3_tok `tests/tools/mint-jwt RS256 k3 :'p'`
SELECT jsonb_build_object('authorization', 'Bearer ' || :'bodo_tok')::text AS bodo_headers \gset
SELECT jsonb_build_object('authorization', 'Bearer ' || :'lege_tok')::text AS lege_headers \gset
SELECT jsonb_build_object('authorization', 'Bearer ' || :'k3_tok')::text AS k3_headers \gset
SET SESSION AUTHORIZATION deling_authenticator;

-- anonymous: empty context, and anon can read nothing
BEGIN READ ONLY;
SELECT count(*) AS settings FROM (SELECT set_config('search_path', 'api', true), set_config('role', 'deling_anon', true),
    set_config('request.jwt.claims', '{"role":"deling_anon"}', true), set_config('request.method', 'GET', true),
    set_config('request.path', '/citizens', true), set_config('request.headers', '{"accept":"*/*"}', true)) s;
SELECT deling.pre_request();
SELECT deling.whoami() - 'session_user' AS context;
SELECT count(*) FROM api.citizens;
ROLLBACK;

-- the Bodø EPJ with its token: Bodø's rows only
BEGIN READ ONLY;
SELECT count(*) AS settings FROM (SELECT set_config('search_path', 'api', true), set_config('role', 'deling_integrasjon', true),
    set_config('request.jwt.claims', :'p', true), set_config('request.method', 'GET', true),
    set_config('request.path', '/citizens', true), set_config('request.headers', :'bodo_headers', true)) s;
SELECT deling.pre_request();
SELECT deling.whoami()->>'kommune_nr' AS kommune, deling.whoami()->>'kind' AS kind;
SELECT kommune_nr, count(*) FROM api.citizens GROUP BY 1;
COMMIT;
-- the context was the transaction's only
SET ROLE deling_integrasjon;
SELECT deling.current_kommune() AS after_commit, count(*) AS rows_after_commit FROM api.citizens;
RESET ROLE;

-- forged claims for Bærum without a bearer token: refused
BEGIN;
SELECT count(*) AS settings FROM (SELECT set_config('role', 'deling_integrasjon', true),
    set_config('request.jwt.claims', '{"role":"deling_integrasjon","helseid://claims/client/claims/orgnr_parent":"935478715"}', true),
    set_config('request.headers', '{}', true)) s;
SELECT deling.pre_request();
ROLLBACK;
-- forged claims for Bærum beside Bodø's real token: the token decides
BEGIN;
SELECT count(*) AS settings FROM (SELECT set_config('role', 'deling_integrasjon', true),
    set_config('request.jwt.claims', '{"role":"deling_integrasjon","helseid://claims/client/claims/orgnr_parent":"935478715"}', true),
    set_config('request.headers', :'bodo_headers', true)) s;
SELECT deling.pre_request();
SELECT DISTINCT kommune_nr FROM api.citizens;
ROLLBACK;
-- a token signed by an untrusted key, a non-Bearer header, headers that are not JSON
BEGIN;
SELECT set_config('role', 'deling_helsepersonell', true) IS NOT NULL AS r, set_config('request.headers', :'k3_headers', true) IS NOT NULL AS h;
SELECT deling.pre_request();
ROLLBACK;
BEGIN;
SELECT set_config('role', 'deling_integrasjon', true) IS NOT NULL AS r,
       set_config('request.headers', '{"authorization":"Basic ZXBqOnNlY3JldA=="}', true) IS NOT NULL AS h;
SELECT deling.pre_request();
ROLLBACK;
BEGIN;
SELECT set_config('role', 'deling_integrasjon', true) IS NOT NULL AS r, set_config('request.headers', 'not json', true) IS NOT NULL AS h;
SELECT deling.pre_request();
ROLLBACK;
-- the doctor's token, but the request runs as deling_integrasjon (wrong role)
BEGIN;
SELECT set_config('role', 'deling_integrasjon', true) IS NOT NULL AS r, set_config('request.headers', :'lege_headers', true) IS NOT NULL AS h;
SELECT deling.pre_request();
ROLLBACK;
-- the doctor's token as deling_helsepersonell: a person context, reaching
-- the kommuner Asker og Bærum legevakt serves, and no tenant to write to
BEGIN READ ONLY;
SELECT set_config('role', 'deling_helsepersonell', true) IS NOT NULL AS r, set_config('request.headers', :'lege_headers', true) IS NOT NULL AS h;
SELECT deling.pre_request();
SELECT deling.whoami()->'reach' AS reach, deling.whoami()->>'hpr' AS hpr, deling.current_kommune() AS writes_for;
SELECT count(*) FROM api.citizens;
ROLLBACK;
-- the authenticator cannot set the context itself either
BEGIN;
SELECT set_config('deling.ctx_kind', 'integration', true);
ROLLBACK;
RESET SESSION AUTHORIZATION;
