-- ---------------------------------------------------------------------------
-- 42 verified tokens, remembered (src/token_cache.c).  Every PostgREST
-- request verifies its bearer token again; a client sends the same token
-- for its lifetime.  deling.verify_token now answers from a per-backend
-- cache keyed by the token's SHA-256 while the verification would answer
-- the same: inside the window of the token's time claims, under the same
-- token settings, and while no change to deling.trusted_key (a key added,
-- revoked, removed), deling.organisation or deling.kommune has begun to
-- commit since (a word in shared memory, moved before and after such a
-- commit by the triggers below; docs/tenancy.md, "Verified tokens,
-- remembered").  The checks themselves are 0.1.0's function, renamed
-- verify_token_claims.
-- ---------------------------------------------------------------------------

ALTER FUNCTION deling.verify_token(text) RENAME TO verify_token_claims;
COMMENT ON FUNCTION deling.verify_token_claims(text) IS
    'Verify an access token (RS256 signature, iss, aud, exp/nbf/iat, HelseID claims, attestation) and return the context it grants; deling.verify_token answers from the cache of verified tokens';

CREATE FUNCTION deling.verify_token(token text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'deling_verify_token' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.verify_token(text) IS
    'The context an access token grants (deling.verify_token_claims), remembered per backend by the token''s SHA-256 while that would answer the same: inside its time claims'' window, under the same settings, with no trusted key, organisation or kommune changed since';
GRANT EXECUTE ON FUNCTION deling.verify_token(text) TO deling_admin;

CREATE FUNCTION deling.token_cache_invalidate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'deling_token_cache_invalidate' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.token_cache_invalidate() IS
    'Trigger: when this transaction ends, every session''s remembered tokens go stale (trusted keys, organisations, kommuner changed)';
CREATE TRIGGER trusted_key_token_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON deling.trusted_key
    FOR EACH STATEMENT EXECUTE FUNCTION deling.token_cache_invalidate();
CREATE TRIGGER organisation_token_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON deling.organisation
    FOR EACH STATEMENT EXECUTE FUNCTION deling.token_cache_invalidate();
CREATE TRIGGER kommune_token_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON deling.kommune
    FOR EACH STATEMENT EXECUTE FUNCTION deling.token_cache_invalidate();

CREATE FUNCTION deling.token_cache_status() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'deling_token_cache_status' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.token_cache_status() IS
    'This session''s cache of verified tokens: entries, capacity, hits, misses, and the shared generation';
GRANT EXECUTE ON FUNCTION deling.token_cache_status() TO deling_admin;
