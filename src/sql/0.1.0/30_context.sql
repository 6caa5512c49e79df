-- ---------------------------------------------------------------------------
-- 30 context: token verification (RS256 in C), the caller context and the
-- two ways to set it: deling.authenticate() and deling.pre_request().
-- ---------------------------------------------------------------------------

-- clip: a caller-supplied text as it may appear in a message or the access
-- log: whole when short, else its first max characters and a marker saying
-- how long it was.  Every value a caller sends is bounded before it is
-- shown back or logged.
CREATE FUNCTION deling.clip(v text, max integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN length(v) <= max THEN v
                ELSE left(v, max) || '…[truncated, ' || length(v) || ' characters]' END;
$$;
COMMENT ON FUNCTION deling.clip(text, integer) IS
    'A caller-supplied text bounded for messages and the access log: its first max characters and a marker when longer';

CREATE FUNCTION deling.set_context_value(name text, value text, is_local boolean) RETURNS void
    AS 'MODULE_PATHNAME', 'deling_set_context_value' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.set_context_value(text, text, boolean) IS
    'Internal: assign one deling.ctx_* setting; executable only by deling_owner';

CREATE FUNCTION deling.outer_role() RETURNS text
    AS 'MODULE_PATHNAME', 'deling_outer_role' LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.outer_role() IS
    'The role the caller runs as outside SECURITY DEFINER functions (the role PostgREST switched to)';

CREATE FUNCTION deling.jwt_header(token text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'deling_jwt_header' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.jwt_header(text) IS 'The decoded, unverified JOSE header of a compact JWT';

CREATE FUNCTION deling.jwt_verify_rs256(token text, key_pem text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'deling_jwt_verify_rs256' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.jwt_verify_rs256(text, text) IS
    'Verify an RS256 JWT signature with OpenSSL and return its payload; any other alg raises 28000';

CREATE FUNCTION deling.jwk_to_pem(jwk jsonb) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_jwk_to_pem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.jwk_to_pem(jsonb) IS 'Convert an RSA signing JWK to a PEM public key';

CREATE FUNCTION deling.public_key_check(pem text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_public_key_check' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.public_key_check(text) IS
    'Normalise a PEM public key; refuses anything but RSA of at least 2048 bits';

-- DBA: trusted signing keys -------------------------------------------------

CREATE FUNCTION deling.add_trusted_key(kid text, key text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    pem text;
    existing text;
BEGIN
    IF btrim(key) LIKE '{%' THEN
        IF key::jsonb ? 'kid' AND key::jsonb->>'kid' IS DISTINCT FROM kid THEN
            RAISE EXCEPTION 'JWK has kid "%" but was registered as "%"', key::jsonb->>'kid', kid USING ERRCODE = '22023';
        END IF;
        pem := deling.jwk_to_pem(key::jsonb);
    ELSE
        pem := deling.public_key_check(key);
    END IF;
    SELECT public_key_pem INTO existing FROM deling.trusted_key t WHERE t.kid = add_trusted_key.kid;
    IF existing IS NOT NULL AND existing <> pem THEN
        RAISE EXCEPTION 'key id "%" is already registered with a different key', kid
            USING ERRCODE = '23505', HINT = 'Revoke the old key with deling.revoke_trusted_key first; key ids must not be reused.';
    END IF;
    INSERT INTO deling.trusted_key (kid, public_key_pem) VALUES (kid, pem)
        ON CONFLICT ON CONSTRAINT trusted_key_pkey DO UPDATE SET revoked_at = NULL;
END
$$;
COMMENT ON FUNCTION deling.add_trusted_key(text, text) IS
    'DBA: trust an RSA public key (PEM or JWK JSON) for verifying access tokens with this kid';

CREATE FUNCTION deling.import_jwks(jwks jsonb) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k jsonb;
    n integer := 0;
BEGIN
    IF jsonb_typeof(jwks->'keys') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'a JWKS is an object with a "keys" array' USING ERRCODE = '22023';
    END IF;
    FOR k IN SELECT * FROM jsonb_array_elements(jwks->'keys') LOOP
        IF k->>'kty' IS DISTINCT FROM 'RSA' OR coalesce(k->>'use', 'sig') <> 'sig' THEN
            RAISE NOTICE 'skipping key "%": not an RSA signing key', k->>'kid';
            CONTINUE;
        END IF;
        IF k->>'kid' IS NULL THEN
            RAISE EXCEPTION 'JWKS key without "kid"' USING ERRCODE = '22023';
        END IF;
        PERFORM deling.add_trusted_key(k->>'kid', k::text);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION deling.import_jwks(jsonb) IS
    'DBA: import the RSA signing keys of a JWKS document (e.g. HelseID''s jwks_uri); returns how many';

CREATE FUNCTION deling.revoke_trusted_key(kid text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE deling.trusted_key t SET revoked_at = now() WHERE t.kid = revoke_trusted_key.kid AND revoked_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no active trusted key "%"', kid USING ERRCODE = '22023';
    END IF;
END
$$;
COMMENT ON FUNCTION deling.revoke_trusted_key(text) IS 'DBA: stop trusting a signing key';

-- Verification ----------------------------------------------------------------

-- scope_role: the platform role a scope of the HelseID API resource
-- nhn:deling stands for (NULL for any other scope).  PostgREST switches to
-- the login-less role named exactly after the scope (jwt-role-claim-key
-- .scope[?(@ ^== "nhn:deling/")]); that role is a member of this one.
CREATE FUNCTION deling.scope_role(scope text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE scope WHEN 'nhn:deling/helsepersonell' THEN 'deling_helsepersonell'
                      WHEN 'nhn:deling/integrasjon' THEN 'deling_integrasjon'
                      WHEN 'nhn:deling/innbygger' THEN 'deling_innbygger'
                      WHEN 'nhn:deling/kpr' THEN 'deling_kpr' END;
$$;
COMMENT ON FUNCTION deling.scope_role(text) IS
    'The deling_* role a scope of the HelseID API resource nhn:deling stands for (NULL for any other scope)';

-- verify_token: verify signature and claims; return the caller context it
-- grants.  Raises 28000 naming what failed, 42501 when the token is valid
-- but its organisation may not act here.
CREATE FUNCTION deling.verify_token(token text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    now_s   numeric := extract(epoch FROM now());
    leeway  numeric := extract(epoch FROM current_setting('deling.jwt_leeway')::interval);
    max_age numeric := extract(epoch FROM current_setting('deling.attestation_max_age')::interval);
    hdr     jsonb;
    pem     text;
    c       jsonb;
    aud     jsonb;
    ad      jsonb;
    att     jsonb;
    role    text;
    hpr     text;
    pid     text;
    parent  text;
    child   text;
    purpose text;
    kommune text;
    scopes  text[];
BEGIN
    IF token IS NULL OR token = '' THEN
        RAISE EXCEPTION 'invalid token: empty' USING ERRCODE = '28000';
    END IF;
    hdr := deling.jwt_header(token);
    IF hdr->>'kid' IS NULL THEN
        RAISE EXCEPTION 'invalid token: header has no "kid"' USING ERRCODE = '28000';
    END IF;
    SELECT public_key_pem INTO pem FROM deling.trusted_key WHERE kid = hdr->>'kid' AND revoked_at IS NULL;
    IF pem IS NULL THEN
        RAISE EXCEPTION 'invalid token: key id "%" is not a trusted key', deling.clip(hdr->>'kid', 64) USING ERRCODE = '28000';
    END IF;
    c := deling.jwt_verify_rs256(token, pem);

    -- registered claims
    IF c->>'iss' IS DISTINCT FROM current_setting('deling.jwt_issuer') THEN
        RAISE EXCEPTION 'invalid token: issuer "%" is not trusted', deling.clip(coalesce(c->>'iss', '(none)'), 100) USING ERRCODE = '28000';
    END IF;
    aud := CASE jsonb_typeof(c->'aud')
               WHEN 'string' THEN c->'aud'
               WHEN 'array' THEN CASE WHEN jsonb_array_length(c->'aud') = 1 THEN c->'aud'->0 END
           END;
    IF aud IS NULL OR aud #>> '{}' IS DISTINCT FROM current_setting('deling.jwt_audience') THEN
        RAISE EXCEPTION 'invalid token: "aud" must be the single audience "%"', current_setting('deling.jwt_audience')
            USING ERRCODE = '28000';
    END IF;
    IF jsonb_typeof(c->'exp') IS DISTINCT FROM 'number' THEN
        RAISE EXCEPTION 'invalid token: missing claim "exp"' USING ERRCODE = '28000';
    END IF;
    IF (c->>'exp')::numeric + leeway <= now_s THEN
        RAISE EXCEPTION 'invalid token: expired' USING ERRCODE = '28000',
            DETAIL = format('exp is %s; the server allows %s s of clock skew', to_timestamp((c->>'exp')::numeric), leeway);
    END IF;
    IF c ? 'nbf' AND (jsonb_typeof(c->'nbf') <> 'number' OR (c->>'nbf')::numeric - leeway > now_s) THEN
        RAISE EXCEPTION 'invalid token: not yet valid ("nbf")' USING ERRCODE = '28000',
            DETAIL = format('nbf is %s', deling.clip(c->>'nbf', 30));
    END IF;
    IF jsonb_typeof(c->'iat') IS DISTINCT FROM 'number' THEN
        RAISE EXCEPTION 'invalid token: missing claim "iat"' USING ERRCODE = '28000';
    END IF;
    IF (c->>'iat')::numeric - leeway > now_s THEN
        RAISE EXCEPTION 'invalid token: issued in the future' USING ERRCODE = '28000';
    END IF;

    -- the role: from the one scope of the platform's API resource the token
    -- carries (HelseID issues "scope" as a JSON array and no "role" claim)
    scopes := ARRAY(SELECT s FROM jsonb_array_elements_text(CASE jsonb_typeof(c->'scope')
                                  WHEN 'array' THEN c->'scope'
                                  WHEN 'string' THEN to_jsonb(string_to_array(c->>'scope', ' '))
                                  ELSE '[]' END) s
                    WHERE s LIKE 'nhn:deling/%');
    IF cardinality(scopes) = 0 THEN
        RAISE EXCEPTION 'invalid token: it carries no scope of the API resource nhn:deling'
            USING ERRCODE = '28000',
                  HINT = 'Request one of nhn:deling/helsepersonell, nhn:deling/integrasjon, nhn:deling/innbygger or nhn:deling/kpr from HelseID.';
    END IF;
    IF cardinality(scopes) > 1 THEN
        RAISE EXCEPTION 'invalid token: it carries more than one scope of nhn:deling (%); a token acts in one role',
            deling.clip(array_to_string(scopes, ', '), 200) USING ERRCODE = '28000';
    END IF;
    role := deling.scope_role(scopes[1]);
    IF role IS NULL THEN
        RAISE EXCEPTION 'invalid token: scope "%" is not a role of the platform', deling.clip(scopes[1], 64) USING ERRCODE = '28000';
    END IF;
    IF c ? 'role' AND c->>'role' IS DISTINCT FROM scopes[1] AND c->>'role' IS DISTINCT FROM role THEN
        RAISE EXCEPTION 'invalid token: claim "role" does not match its scope %', scopes[1] USING ERRCODE = '28000';
    END IF;

    -- HelseID claims
    pid := c->>'helseid://claims/identity/pid';
    hpr := c->>'helseid://claims/hpr/hpr_number';
    IF role = 'deling_helsepersonell' AND (hpr IS NULL OR hpr !~ '^[0-9]{1,9}$') THEN
        RAISE EXCEPTION 'invalid token: missing or malformed claim "helseid://claims/hpr/hpr_number"' USING ERRCODE = '28000';
    END IF;
    IF role = 'deling_innbygger' AND pid IS NULL THEN
        RAISE EXCEPTION 'invalid token: a citizen token needs the claim "helseid://claims/identity/pid"' USING ERRCODE = '28000';
    END IF;
    IF role IN ('deling_helsepersonell', 'deling_innbygger') THEN
        IF c->>'helseid://claims/identity/security_level' IS DISTINCT FROM '4' THEN
            RAISE EXCEPTION 'invalid token: claim "helseid://claims/identity/security_level" must be "4"' USING ERRCODE = '28000';
        END IF;
        IF c->>'helseid://claims/identity/assurance_level' IS DISTINCT FROM 'high' THEN
            RAISE EXCEPTION 'invalid token: claim "helseid://claims/identity/assurance_level" must be "high"' USING ERRCODE = '28000';
        END IF;
    END IF;
    IF pid IS NOT NULL AND NOT deling.fnr_valid(pid) THEN
        RAISE EXCEPTION 'invalid token: claim "helseid://claims/identity/pid" is not a valid identity number' USING ERRCODE = '28000';
    END IF;
    -- claims that reach the log and the context are bounded
    IF length(c->>'name') > 200 OR length(c->>'jti') > 200 OR length(c->>'helseid://claims/client/client_id') > 200
       OR length(c->>'client_id') > 200 THEN
        RAISE EXCEPTION 'invalid token: claim "name", "jti" or "client_id" is longer than 200 characters' USING ERRCODE = '28000';
    END IF;
    parent := c->>'helseid://claims/client/claims/orgnr_parent';
    child := c->>'helseid://claims/client/claims/orgnr_child';
    IF parent IS NULL OR NOT deling.orgnr_valid(parent) THEN
        RAISE EXCEPTION 'invalid token: missing or invalid claim "helseid://claims/client/claims/orgnr_parent"' USING ERRCODE = '28000';
    END IF;
    IF child IS NOT NULL AND NOT deling.orgnr_valid(child) THEN
        RAISE EXCEPTION 'invalid token: invalid claim "helseid://claims/client/claims/orgnr_child"' USING ERRCODE = '28000';
    END IF;

    -- Tillitsrammeverk attestation: purpose of use and decision_ref
    ad := c->'authorization_details';
    IF jsonb_typeof(ad) = 'object' THEN
        ad := jsonb_build_array(ad);
    END IF;
    IF jsonb_typeof(ad) = 'array' THEN
        SELECT e INTO att FROM jsonb_array_elements(ad) AS e
            WHERE e->>'type' = 'nhn:tillitsrammeverk:parameters' LIMIT 1;
    END IF;
    IF att IS NOT NULL THEN
        IF jsonb_typeof(att->'toa') IS DISTINCT FROM 'number' THEN
            RAISE EXCEPTION 'invalid token: attestation has no time of attestation ("toa")' USING ERRCODE = '28000';
        END IF;
        IF now_s - (att->>'toa')::numeric > max_age THEN
            RAISE EXCEPTION 'invalid token: attestation ("toa") is older than % minutes', round(max_age / 60)
                USING ERRCODE = '28000';
        END IF;
        IF (att->>'toa')::numeric - leeway > now_s THEN
            RAISE EXCEPTION 'invalid token: attestation ("toa") is in the future' USING ERRCODE = '28000';
        END IF;
        IF length((att #> '{care_relationship,decision_ref}')::text) > 2000 THEN
            RAISE EXCEPTION 'invalid token: the attestation''s decision_ref is longer than 2000 characters' USING ERRCODE = '28000';
        END IF;
        purpose := att #>> '{care_relationship,purpose_of_use,code}';
        IF purpose IS NOT NULL AND purpose NOT IN ('TREAT', 'ETREAT', 'COC') THEN
            RAISE EXCEPTION 'invalid token: purpose of use "%" is not TREAT, ETREAT or COC', deling.clip(purpose, 20) USING ERRCODE = '28000';
        END IF;
    END IF;

    -- an integration acts for the kommune that runs its organisation: its
    -- orgnr_child only when registered under its orgnr_parent
    IF role = 'deling_integrasjon' THEN
        IF child IS NOT NULL AND child <> parent AND deling.token_organisation(parent, child) IS NULL THEN
            RAISE EXCEPTION 'organisation % (orgnr_child) is not registered under % (orgnr_parent)', child, parent
                USING ERRCODE = '42501', HINT = 'The DBA registers a unit under its legal entity with deling.add_organisation or deling.set_organisation_parent.';
        END IF;
        SELECT o.host_kommune_nr INTO kommune
            FROM deling.organisation o JOIN deling.kommune k ON k.kommune_nr = o.host_kommune_nr
            WHERE o.orgnr = deling.token_organisation(parent, child) AND k.active;
        IF kommune IS NULL THEN
            RAISE EXCEPTION 'organisation % does not act for an active kommune on this platform', coalesce(child, parent)
                USING ERRCODE = '42501', HINT = 'The DBA registers organisations with deling.add_kommune or deling.add_organisation.';
        END IF;
    END IF;

    RETURN jsonb_build_object(
        'kind', CASE role WHEN 'deling_helsepersonell' THEN 'person' WHEN 'deling_innbygger' THEN 'citizen'
                          WHEN 'deling_kpr' THEN 'kpr' ELSE 'integration' END,
        'role', role, 'scope', scopes[1], 'pid', pid, 'hpr', hpr, 'name', c->>'name',
        'orgnr_parent', parent, 'orgnr_child', child, 'kommune_nr', kommune,
        'purpose', purpose, 'decision_ref', att #> '{care_relationship,decision_ref}',
        'token_id', c->>'jti',
        'client_id', coalesce(c->>'helseid://claims/client/client_id', c->>'client_id'));
END
$$;
COMMENT ON FUNCTION deling.verify_token(text) IS
    'Verify an access token (RS256 signature, iss, aud, exp/nbf/iat, HelseID claims, attestation) and return the context it grants';

-- apply_context: write a context (from verify_token) into the deling.ctx_*
-- settings; an empty object clears them.  Runs only inside deling_owner's
-- SECURITY DEFINER functions (nobody else may execute it).
CREATE FUNCTION deling.apply_context(ctx jsonb, is_local boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k text;
BEGIN
    FOREACH k IN ARRAY ARRAY['kind', 'role', 'pid', 'hpr', 'name', 'orgnr_parent', 'orgnr_child', 'kommune_nr',
                             'purpose', 'decision_ref', 'token_id', 'client_id', 'session_user', 'request_id'] LOOP
        PERFORM deling.set_context_value('deling.ctx_' || k,
                    CASE jsonb_typeof(ctx->k) WHEN 'string' THEN ctx->>k WHEN 'null' THEN '' ELSE (ctx->k)::text END,
                    is_local);
    END LOOP;
END
$$;

-- The kommune an integration acts for: from its token, or from the DBA's
-- binding of its direct-SQL login role; NULL for anyone else, and for an
-- inactive kommune.  Policies call it once per statement via (SELECT ...).
CREATE FUNCTION deling.current_kommune_lookup() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kind text := deling.ctx_kind();
    k text;
BEGIN
    -- PL/pgSQL, so its two small plans are cached per session (every policy asks)
    IF kind = 'integration' THEN
        k := nullif(current_setting('deling.ctx_kommune_nr'), '');
    ELSIF kind = '' THEN
        SELECT b.kommune_nr INTO k FROM deling.integration_binding b WHERE b.role_name = session_user;
    END IF;
    IF k IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT x.kommune_nr::text FROM deling.kommune x WHERE x.kommune_nr = k AND x.active);
END
$$;
-- current_kommune: current_kommune_lookup, looked up once per transaction
-- and caller context (C): every integration table's policy asks for it.
CREATE FUNCTION deling.current_kommune() RETURNS text
    AS 'MODULE_PATHNAME', 'deling_current_kommune' LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.current_kommune() IS
    'The kommune the calling integration acts for (NULL for other callers)';

-- current_kommune_for: current_kommune() when it has enabled the service.
CREATE FUNCTION deling.current_kommune_for_lookup(service text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT ks.kommune_nr::text FROM deling.kommune_service ks
    WHERE ks.kommune_nr = deling.current_kommune() AND ks.service_code = service;
$$;
-- current_kommune_for: current_kommune_for_lookup, once per transaction and
-- caller context (C): the policy of every sharing table asks for it.
CREATE FUNCTION deling.current_kommune_for(service text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_current_kommune_for' LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.current_kommune_for(text) IS
    'The calling integration''s kommune if it has enabled the sharing service, else NULL';

-- reach_lookup: the active kommuner the caller may read through a sharing
-- service (all services when NULL): for a person, those its organisation
-- reaches; for an integration, its own kommune; only those that enabled
-- the service.  Called through deling.reach_for, which remembers it.
CREATE FUNCTION deling.reach_lookup(service text) RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    org text;
    own text := deling.current_kommune();
BEGIN
    -- PL/pgSQL, so its plans are cached per session (every policy asks)
    IF deling.ctx_kind() = 'person' THEN
        -- the child organisation (the legevakt) when registered under the
        -- parent; the parent when the token names no other child
        org := deling.token_organisation(nullif(current_setting('deling.ctx_orgnr_parent'), ''),
                                         nullif(current_setting('deling.ctx_orgnr_child'), ''));
    END IF;
    RETURN (SELECT coalesce(array_agg(k.kommune_nr::text ORDER BY k.kommune_nr), '{}')
            FROM deling.kommune k
            WHERE k.active
              AND (k.kommune_nr = own
                   OR EXISTS (SELECT FROM deling.organisation_reach r WHERE r.orgnr = org AND r.kommune_nr = k.kommune_nr))
              AND (service IS NULL
                   OR EXISTS (SELECT FROM deling.kommune_service ks
                              WHERE ks.kommune_nr = k.kommune_nr AND ks.service_code = service)));
END
$$;
-- reach_for: reach_lookup, looked up once per transaction and caller
-- context (C).  Policies call it once per statement via (SELECT ...), and a
-- sharing read would otherwise repeat the lookup for every table it reads.
CREATE FUNCTION deling.reach_for(service text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'deling_reach_for' LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.reach_for(text) IS
    'Kommuner the caller may read through a sharing service: its organisation''s reach (persons) or its own kommune (integrations); looked up once per transaction and caller context';

-- ctx_kind: the kind of the verified context ('person', 'integration',
-- 'citizen'), or
-- '' when there is none or it was verified for another session user (a
-- context never outlives SET SESSION AUTHORIZATION).  Every reader of the
-- context goes through it.
CREATE FUNCTION deling.ctx_kind() RETURNS text
    AS 'MODULE_PATHNAME', 'deling_ctx_kind' LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.ctx_kind() IS
    'Kind of the verified caller context (person, integration, citizen) for this session user, or empty';

-- ctx_citizen_pid: the identity number of a citizen acting through the
-- citizen's channel, else NULL.  Policies call it once per statement.
CREATE FUNCTION deling.ctx_citizen_pid() RETURNS text
    AS 'MODULE_PATHNAME', 'deling_ctx_citizen_pid' LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.ctx_citizen_pid() IS 'The pid of the citizen calling through the citizen''s channel, else NULL';

CREATE FUNCTION deling.whoami() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_strip_nulls(
        CASE WHEN deling.ctx_kind() <> '' THEN jsonb_build_object(
            'kind', current_setting('deling.ctx_kind'),
            'role', nullif(current_setting('deling.ctx_role'), ''),
            'pid', nullif(current_setting('deling.ctx_pid'), ''),
            'hpr', nullif(current_setting('deling.ctx_hpr'), ''),
            'name', nullif(current_setting('deling.ctx_name'), ''),
            'orgnr_parent', nullif(current_setting('deling.ctx_orgnr_parent'), ''),
            'orgnr_child', nullif(current_setting('deling.ctx_orgnr_child'), ''),
            'purpose', nullif(current_setting('deling.ctx_purpose'), ''),
            'decision_ref', nullif(current_setting('deling.ctx_decision_ref'), '')::jsonb,
            'token_id', nullif(current_setting('deling.ctx_token_id'), ''),
            'client_id', nullif(current_setting('deling.ctx_client_id'), ''))
        ELSE '{}' END
        || jsonb_build_object(
            'kommune_nr', deling.current_kommune(),
            'reach', nullif(deling.reach_for(NULL), '{}'),
            'session_user', session_user::text,
            'current_role', deling.outer_role()));
$$;
COMMENT ON FUNCTION deling.whoami() IS
    'The caller context of this transaction or session as JSON: who, which organisation and kommune, reach, purpose';

-- kpr_reading: the caller outside the SECURITY DEFINER function is a KPR
-- reader (deling_kpr or deling_admin); KPR's reporting functions then read
-- every kommune's services (and log it).  Policies call it once per statement.
CREATE FUNCTION deling.kpr_reading() RETURNS boolean
    AS 'MODULE_PATHNAME', 'deling_kpr_reading' LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;

-- The two ways in ---------------------------------------------------------------

CREATE FUNCTION deling.authenticate(token text, for_session boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ctx   jsonb := deling.verify_token(token);
    outer_role text := deling.outer_role();
    bound text;
BEGIN
    SELECT b.kommune_nr INTO bound FROM deling.integration_binding b WHERE b.role_name = session_user;
    IF bound IS NOT NULL AND ctx->>'kommune_nr' IS DISTINCT FROM bound THEN
        RAISE EXCEPTION 'login role % is bound to kommune %; this token does not act for it', session_user, bound
            USING ERRCODE = '42501';
    END IF;
    IF NOT pg_has_role(outer_role, ctx->>'role', 'MEMBER') THEN
        RAISE EXCEPTION 'token is for role %, which role % is not a member of', ctx->>'role', outer_role
            USING ERRCODE = '42501';
    END IF;
    PERFORM deling.apply_context(ctx || jsonb_build_object('session_user', session_user), NOT for_session);
    RETURN deling.whoami();
END
$$;
COMMENT ON FUNCTION deling.authenticate(text, boolean) IS
    'Direct-SQL integrators: verify an access token and set the caller context for this transaction (or the session)';

CREATE FUNCTION deling.logout() RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.apply_context('{}', false);
$$;
COMMENT ON FUNCTION deling.logout() IS 'Clear the caller context (before a pooled connection is reused)';

CREATE FUNCTION deling.pre_request() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    outer_role text := deling.outer_role();
    headers jsonb;
    auth text;
    ctx jsonb;
BEGIN
    PERFORM deling.apply_context('{}', true);
    BEGIN
        headers := coalesce(nullif(current_setting('request.headers', true), ''), '{}')::jsonb;
    EXCEPTION WHEN invalid_text_representation THEN
        RAISE EXCEPTION 'request.headers is not JSON' USING ERRCODE = '28000';
    END;
    auth := headers->>'authorization';
    IF auth IS NULL THEN
        IF outer_role <> 'deling_anon' THEN
            RAISE EXCEPTION 'request runs as % but carries no bearer token', outer_role USING ERRCODE = '28000';
        END IF;
        RETURN;
    END IF;
    IF auth !~* '^bearer [A-Za-z0-9_.-]+$' THEN
        RAISE EXCEPTION 'Authorization header is not "Bearer <token>"' USING ERRCODE = '28000';
    END IF;
    ctx := deling.verify_token(substr(auth, 8));
    -- PostgREST switched to the role named after the token's scope (or, for
    -- a direct replay, to the deling_* role itself): nothing else
    IF outer_role IS DISTINCT FROM ctx->>'scope' AND outer_role IS DISTINCT FROM ctx->>'role' THEN
        RAISE EXCEPTION 'token is for role % (scope %), but the request runs as %', ctx->>'role', ctx->>'scope', outer_role
            USING ERRCODE = '42501',
                  HINT = 'PostgREST takes the role from the scope: jwt-role-claim-key = .scope[?(@ ^== "nhn:deling/")] (PostgREST 13).';
    END IF;
    PERFORM deling.apply_context(ctx || jsonb_build_object('session_user', session_user,
                                                           'request_id', left(headers->>'x-request-id', 200)), true);
END
$$;
COMMENT ON FUNCTION deling.pre_request() IS
    'PostgREST db-pre-request: re-verify the bearer token from request.headers and set the caller context for the transaction';
