-- deling.authenticate(): RS256 tokens verified with OpenSSL against the
-- DBA's trusted keys; every bad token is refused with 28000 and a message
-- naming what failed.  Tokens are minted here with the openssl CLI.
\set VERBOSITY default
SET SESSION AUTHORIZATION regress_epj_unbound;

-- a good integration token for Bodø
SELECT deling_test.claims('epj_bodo') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
BEGIN;
SELECT deling.authenticate(:'tok') - 'session_user' - 'current_role' AS context;
SELECT deling.current_kommune();
COMMIT;
-- transaction scope by default: gone after COMMIT
SELECT deling.whoami() - 'session_user' - 'current_role' AS after_commit;

-- a good person token: legevakt doctor at Asker og Bærum legevakt
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_lege;
SELECT deling_test.claims('lege_ab') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling.authenticate(:'tok', for_session => true) - 'session_user' - 'current_role' AS context;
SELECT deling.whoami()->>'hpr' AS session_scoped_hpr, deling.current_kommune() AS writes_for;
-- a session context never outlives its session user
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_epj_bodo;
SELECT deling.whoami() - 'session_user' - 'current_role' AS other_session_user, deling.ctx_kind() AS kind;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_lege;
SELECT deling.whoami()->>'hpr' AS back_again;
SELECT deling.logout();
SELECT deling.whoami() - 'session_user' - 'current_role' AS after_logout;
-- a person token is not for an integration login, and vice versa
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_epj_unbound;
SELECT deling_test.try_auth(:'tok');

-- refused tokens ---------------------------------------------------------
-- expired (beyond the 60 s leeway)
SELECT deling_test.claims('epj_bodo', '{"exp": 1000000000}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('epj_bodo', jsonb_build_object('exp', extract(epoch FROM now())::int - 61)) AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
-- within the leeway: accepted
SELECT deling_test.claims('epj_bodo', jsonb_build_object('exp', extract(epoch FROM now())::int - 30)) AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling.authenticate(:'tok')->>'kommune_nr' AS accepted_within_leeway;
-- not yet valid, issued in the future, no exp, no iat
SELECT deling_test.claims('epj_bodo', jsonb_build_object('nbf', extract(epoch FROM now())::int + 600)) AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('epj_bodo', jsonb_build_object('iat', extract(epoch FROM now())::int + 600)) AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('epj_bodo', '{"exp": null}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('epj_bodo', '{"exp": "9999999999"}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('epj_bodo', '{"iat": null}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
-- wrong audience, several audiences, wrong issuer
SELECT deling_test.claims('epj_bodo', '{"aud": "nhn:other-api"}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('epj_bodo', '{"aud": ["nhn:deling", "nhn:other-api"]}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('epj_bodo', '{"aud": ["nhn:deling"]}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling.authenticate(:'tok')->>'kommune_nr' AS single_element_aud_array_ok;
SELECT deling_test.claims('epj_bodo', '{"iss": "https://evil.example"}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
-- wrong key: signed by k2, which is not trusted, under k2 and under k1's kid
SELECT deling_test.claims('epj_bodo') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k2 :'p'`
SELECT deling_test.try_auth(:'tok');
\set tok `tests/tools/mint-jwt RS256 k2 :'p' '"kid2":"x"' | sed 's/ImsyIi/ImsxIi/'`
SELECT deling_test.try_auth(:'tok');
-- alg none, HS256 keyed with the public key, a bad signature, a truncated token
\set tok `tests/tools/mint-jwt none k1 :'p'`
SELECT deling_test.try_auth(:'tok');
\set tok `tests/tools/mint-jwt HS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
\set tok `tests/tools/mint-jwt badsig k1 :'p'`
SELECT deling_test.try_auth(:'tok');
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(left(:'tok', length(:'tok') - 10));
SELECT deling_test.try_auth(split_part(:'tok', '.', 1) || '.' || split_part(:'tok', '.', 2));
SELECT deling_test.try_auth(:'tok' || '.x');
SELECT deling_test.try_auth('not a token');
SELECT deling_test.try_auth('');
SELECT deling_test.try_auth(NULL);
SELECT deling_test.try_auth('e30.e30.AAAA');           -- header {} has no alg
SELECT deling_test.try_auth('bm90IGpzb24.e30.AAAA');   -- header is not JSON
SELECT deling_test.try_auth(repeat('a', 20000));
-- crit headers are not understood, so refused
\set tok `tests/tools/mint-jwt RS256 k1 :'p' '"crit":["exp"]'`
SELECT deling_test.try_auth(:'tok');

-- HelseID claims for persons
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_lege;
SELECT deling_test.claims('lege_ab', '{"helseid://claims/identity/security_level": "3"}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('lege_ab', '{"helseid://claims/identity/assurance_level": "substantial"}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('lege_ab', '{"helseid://claims/hpr/hpr_number": null}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('lege_ab', '{"helseid://claims/identity/pid": "02013299998"}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('lege_ab', '{"helseid://claims/client/claims/orgnr_parent": null}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
-- the role comes from the one scope of nhn:deling the token carries (no
-- "role" claim): none, two, or one the platform does not know is refused;
-- a "role" claim cannot pick another role
SELECT deling_test.claims('lege_ab', '{"scope": ["openid", "profile"]}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('lege_ab', '{"scope": ["nhn:deling/helsepersonell", "nhn:deling/integrasjon"]}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('lege_ab', '{"scope": ["nhn:deling/admin"]}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('lege_ab', '{"role": "deling_admin"}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
-- a space-delimited scope string (RFC 8693 style) is read the same way
SELECT deling_test.claims('lege_ab', '{"scope": "openid nhn:deling/helsepersonell"}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
-- the attestation: stale (61 min), missing toa, unknown purpose; ETREAT passes
SELECT deling_test.claims('lege_ab') AS p \gset
SELECT jsonb_set((:'p')::jsonb, '{authorization_details,0,toa}', to_jsonb(extract(epoch FROM now())::int - 3660))::text AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('lege_ab') AS p \gset
SELECT ((:'p')::jsonb #- '{authorization_details,0,toa}')::text AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('lege_ab') AS p \gset
SELECT jsonb_set((:'p')::jsonb, '{authorization_details,0,care_relationship,purpose_of_use,code}', '"SNOOP"')::text AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling_test.claims('lege_ab') AS p \gset
SELECT jsonb_set((:'p')::jsonb, '{authorization_details,0,care_relationship,purpose_of_use,code}', '"ETREAT"')::text AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling.authenticate(:'tok')->>'purpose' AS purpose;
-- an integration of an organisation that is not on the platform
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_epj_unbound;
SELECT deling_test.claims('epj_bodo', '{"helseid://claims/client/claims/orgnr_parent": "974760673"}') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
-- a login bound to Bærum cannot take a Bodø integration token
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_epj_baerum;
SELECT deling_test.claims('epj_bodo') AS p \gset
\set tok `tests/tools/mint-jwt RS256 k1 :'p'`
SELECT deling_test.try_auth(:'tok');
SELECT deling.current_kommune() AS still_baerum;
RESET SESSION AUTHORIZATION;

-- key management ---------------------------------------------------------
\set short `tests/tools/mint-jwt pubkey short1`
SELECT deling.add_trusted_key('short1', :'short');
SELECT deling.add_trusted_key('junk', 'not a key');
\set k2pub `tests/tools/mint-jwt pubkey k2`
SELECT deling.add_trusted_key('k1', :'k2pub');      -- a kid cannot silently change key
SELECT deling.add_trusted_key('k1', '{"kty": "EC", "kid": "k1"}');
-- JWKS import: k2 as a JWK built from its modulus, then its tokens verify
\set k2mod `openssl rsa -pubin -in "$DELING_TEST_KEYS/k2.pub.pem" -noout -modulus | cut -d= -f2`
SELECT jsonb_build_object('keys', jsonb_build_array(
    jsonb_build_object('kty', 'RSA', 'use', 'sig', 'alg', 'RS256', 'kid', 'k2', 'e', 'AQAB',
        'n', rtrim(translate(encode(decode(:'k2mod', 'hex'), 'base64'), E'+/\n', '-_'), '=')),
    jsonb_build_object('kty', 'EC', 'use', 'sig', 'kid', 'ec1', 'crv', 'P-256', 'x', 'AA', 'y', 'AA'),
    jsonb_build_object('kty', 'RSA', 'use', 'enc', 'kid', 'enc1', 'e', 'AQAB', 'n', 'AA'))) AS jwks \gset
SELECT deling.import_jwks(:'jwks');
SELECT public_key_pem = :'k2pub' || E'\n' AS same_key_as_pem FROM deling.trusted_key WHERE kid = 'k2';
SET SESSION AUTHORIZATION regress_epj_unbound;
\set tok `tests/tools/mint-jwt RS256 k2 :'p'`
SELECT deling.authenticate(:'tok')->>'kommune_nr' AS via_jwks_key;
RESET SESSION AUTHORIZATION;
SELECT deling.revoke_trusted_key('k2');
SET SESSION AUTHORIZATION regress_epj_unbound;
SELECT deling_test.try_auth(:'tok');
RESET SESSION AUTHORIZATION;
SELECT deling.import_jwks('{"keys": {}}');
-- nobody but the DBA manages keys
SET SESSION AUTHORIZATION regress_epj_unbound;
SELECT deling.add_trusted_key('k9', :'k2pub');
SELECT count(*) FROM deling.trusted_key;
RESET SESSION AUTHORIZATION;
