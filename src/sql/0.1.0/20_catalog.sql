-- ---------------------------------------------------------------------------
-- 20 catalog: kommuner (tenants), organisations and their reach, the
-- sharing-service catalog with per-kommune opt-in; the DBA's API for them.
-- ---------------------------------------------------------------------------

CREATE TABLE deling.kommune (
    kommune_nr  deling.kommunenr PRIMARY KEY,
    name        text NOT NULL CHECK (btrim(name) <> ''),
    orgnr       deling.orgnr NOT NULL UNIQUE,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE deling.kommune IS 'Tenants: one row per kommune on the platform';

CREATE TABLE deling.organisation (
    orgnr           deling.orgnr PRIMARY KEY,
    name            text NOT NULL CHECK (btrim(name) <> ''),
    kind            text NOT NULL CHECK (kind IN ('kommune', 'kommuneenhet', 'legevakt', 'helseforetak', 'fastlege')),
    host_kommune_nr deling.kommunenr REFERENCES deling.kommune,
    parent_orgnr    deling.orgnr REFERENCES deling.organisation,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (kind NOT IN ('kommune', 'kommuneenhet') OR host_kommune_nr IS NOT NULL),
    CHECK (parent_orgnr IS DISTINCT FROM orgnr)
);
COMMENT ON TABLE deling.organisation IS
    'Organisations whose personnel and systems use the platform; host_kommune_nr is the kommune that runs it (an integration of the organisation acts for that kommune)';
COMMENT ON COLUMN deling.organisation.parent_orgnr IS
    'The legal entity (HelseID orgnr_parent) this unit belongs to; a token acts for the unit (orgnr_child) only when the unit is registered under the token''s parent';

CREATE TABLE deling.organisation_reach (
    orgnr       deling.orgnr NOT NULL REFERENCES deling.organisation ON DELETE CASCADE,
    kommune_nr  deling.kommunenr NOT NULL REFERENCES deling.kommune,
    PRIMARY KEY (orgnr, kommune_nr)
);
COMMENT ON TABLE deling.organisation_reach IS 'Kommuner whose citizens an organisation may look up through sharing services';

CREATE TABLE deling.service (
    service_code text PRIMARY KEY CHECK (service_code ~ '^[a-z][a-z0-9-]*$'),
    name         text NOT NULL,
    description  text NOT NULL,
    available    boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE deling.service IS 'Catalog of sharing services; available = false for services announced but not yet built';

INSERT INTO deling.service VALUES
    ('municipal-services', 'Oversikt over kommunale tjenester', 'Which municipal health and care services a citizen has (code list 9151)', true),
    ('news2', 'NEWS2-målinger', 'National Early Warning Score 2 measurements and scores', true),
    ('kartlegginger', 'Kartlegginger', 'Functional assessments (IPLOS)', false),
    ('tiltaksplan', 'Tiltaksplan', 'Care plan measures', false),
    ('diagnoser', 'Diagnoser', 'Diagnoses recorded by the kommune', false);

CREATE TABLE deling.kommune_service (
    kommune_nr   deling.kommunenr NOT NULL REFERENCES deling.kommune,
    service_code text NOT NULL REFERENCES deling.service,
    enabled_at   timestamptz NOT NULL DEFAULT now(),
    enabled_by   name NOT NULL DEFAULT session_user,
    PRIMARY KEY (kommune_nr, service_code)
);
COMMENT ON TABLE deling.kommune_service IS 'Per-kommune opt-in: a kommune shares through a service only while a row exists';

CREATE TABLE deling.trusted_key (
    kid            text PRIMARY KEY CHECK (btrim(kid) <> ''),
    public_key_pem text NOT NULL,
    added_at       timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz
);
COMMENT ON TABLE deling.trusted_key IS 'RSA keys that may sign access tokens (HelseID JWKS), chosen by the token''s kid';

CREATE TABLE deling.integration_binding (
    role_name   name PRIMARY KEY,
    kommune_nr  deling.kommunenr NOT NULL REFERENCES deling.kommune,
    bound_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE deling.integration_binding IS 'Direct-SQL integration login roles bound to the one kommune they act for';

-- Norwegian county prefixes since 2024, plus Svalbard (21) and Jan Mayen (22).
CREATE FUNCTION deling.add_kommune(kommune_nr text, name text, orgnr text, active boolean DEFAULT true)
RETURNS deling.kommune
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    result deling.kommune;
BEGIN
    PERFORM deling.kommunenr_check(kommune_nr);
    IF btrim(coalesce(name, '')) = '' THEN
        RAISE EXCEPTION 'kommune name must not be empty' USING ERRCODE = '22023';
    END IF;
    IF left(kommune_nr, 2) NOT IN ('03', '11', '15', '18', '21', '22', '31', '32', '33', '34',
                                    '39', '40', '42', '46', '50', '55', '56') THEN
        RAISE EXCEPTION 'invalid kommunenummer "%": % is not a county (fylke) number', kommune_nr, left(kommune_nr, 2)
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO deling.kommune (kommune_nr, name, orgnr, active)
        VALUES (kommune_nr, name, orgnr, active)
        RETURNING * INTO result;
    INSERT INTO deling.organisation (orgnr, name, kind, host_kommune_nr)
        VALUES (orgnr, name || ' kommune', 'kommune', kommune_nr);
    INSERT INTO deling.organisation_reach VALUES (orgnr, kommune_nr);
    RETURN result;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'kommune % or organisation % is already registered', kommune_nr, orgnr
        USING ERRCODE = '23505';
END
$$;
COMMENT ON FUNCTION deling.add_kommune(text, text, text, boolean) IS
    'DBA: register a kommune as a tenant (and its own organisation, which reaches it)';

CREATE FUNCTION deling.set_kommune_active(kommune_nr text, active boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE deling.kommune k SET active = set_kommune_active.active WHERE k.kommune_nr = set_kommune_active.kommune_nr;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'kommune % is not registered', kommune_nr USING ERRCODE = '22023';
    END IF;
END
$$;
COMMENT ON FUNCTION deling.set_kommune_active(text, boolean) IS
    'DBA: deactivate (or reactivate) a kommune; an inactive kommune is neither written nor read';

CREATE FUNCTION deling.add_organisation(orgnr text, name text, kind text, host_kommune_nr text DEFAULT NULL,
                                        reaches text[] DEFAULT NULL, parent_orgnr text DEFAULT NULL)
RETURNS deling.organisation
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    result deling.organisation;
    parent text := parent_orgnr;
BEGIN
    IF kind NOT IN ('kommuneenhet', 'legevakt', 'helseforetak', 'fastlege') THEN
        RAISE EXCEPTION 'invalid organisation kind "%"', kind
            USING ERRCODE = '22023',
                  HINT = 'Use kommuneenhet, legevakt, helseforetak or fastlege; kommuner are added with deling.add_kommune.';
    END IF;
    -- a unit a kommune runs belongs to the kommune's legal entity unless told otherwise
    IF parent IS NULL AND host_kommune_nr IS NOT NULL THEN
        SELECT k.orgnr INTO parent FROM deling.kommune k WHERE k.kommune_nr = add_organisation.host_kommune_nr;
    END IF;
    IF parent IS NOT NULL AND NOT EXISTS (SELECT FROM deling.organisation o WHERE o.orgnr = parent) THEN
        RAISE EXCEPTION 'parent organisation % is not registered', parent USING ERRCODE = '22023';
    END IF;
    INSERT INTO deling.organisation (orgnr, name, kind, host_kommune_nr, parent_orgnr)
        VALUES (orgnr, name, kind, host_kommune_nr, parent)
        RETURNING * INTO result;
    PERFORM deling.set_organisation_reach(orgnr, coalesce(reaches, ARRAY[host_kommune_nr]::text[]));
    RETURN result;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'organisation % is already registered', orgnr USING ERRCODE = '23505';
END
$$;
COMMENT ON FUNCTION deling.add_organisation(text, text, text, text, text[], text) IS
    'DBA: register a kommune unit, legevakt, helseforetak or fastlege, the kommuner it may reach (default: its host kommune) and the legal entity it belongs to (default: its host kommune''s)';

CREATE FUNCTION deling.set_organisation_parent(orgnr text, parent_orgnr text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF parent_orgnr IS NOT NULL AND NOT EXISTS (SELECT FROM deling.organisation o WHERE o.orgnr = set_organisation_parent.parent_orgnr) THEN
        RAISE EXCEPTION 'parent organisation % is not registered', parent_orgnr USING ERRCODE = '22023';
    END IF;
    UPDATE deling.organisation o SET parent_orgnr = set_organisation_parent.parent_orgnr
    WHERE o.orgnr = set_organisation_parent.orgnr;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'organisation % is not registered', orgnr USING ERRCODE = '22023';
    END IF;
END
$$;
COMMENT ON FUNCTION deling.set_organisation_parent(text, text) IS
    'DBA: register the legal entity (HelseID orgnr_parent) a unit belongs to; tokens naming the unit as orgnr_child act for it only under that parent';

-- token_organisation: the registered, active organisation a token acts for:
-- its orgnr_child when the DBA registered the child under the token's
-- orgnr_parent, its orgnr_parent when it names no other child; NULL
-- otherwise (a child under another parent, or an unknown one, gets nothing).
CREATE FUNCTION deling.token_organisation(parent text, child text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT o.orgnr::text FROM deling.organisation o
    WHERE o.active
      AND CASE WHEN child IS NULL OR child = parent THEN o.orgnr = parent
               ELSE o.orgnr = child AND o.parent_orgnr = parent END;
$$;
COMMENT ON FUNCTION deling.token_organisation(text, text) IS
    'The registered, active organisation a token with this orgnr_parent and orgnr_child acts for, or NULL';

CREATE FUNCTION deling.set_organisation_reach(orgnr text, kommuner text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    missing text;
BEGIN
    IF NOT EXISTS (SELECT FROM deling.organisation o WHERE o.orgnr = set_organisation_reach.orgnr) THEN
        RAISE EXCEPTION 'organisation % is not registered', orgnr USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(k, ', ') INTO missing
        FROM unnest(kommuner) AS k
        WHERE k IS NULL OR NOT EXISTS (SELECT FROM deling.kommune WHERE kommune_nr = k);
    IF missing IS NOT NULL OR array_position(kommuner, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'cannot reach unregistered kommune(r): %', coalesce(missing, 'NULL') USING ERRCODE = '22023';
    END IF;
    DELETE FROM deling.organisation_reach r WHERE r.orgnr = set_organisation_reach.orgnr;
    INSERT INTO deling.organisation_reach SELECT DISTINCT orgnr, k FROM unnest(kommuner) AS k;
END
$$;
COMMENT ON FUNCTION deling.set_organisation_reach(text, text[]) IS
    'DBA: replace the list of kommuner an organisation may reach';

CREATE FUNCTION deling.enable_service(kommune_nr text, service text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM deling.kommune k WHERE k.kommune_nr = enable_service.kommune_nr) THEN
        RAISE EXCEPTION 'kommune % is not registered', kommune_nr USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT FROM deling.service s WHERE s.service_code = service AND s.available) THEN
        RAISE EXCEPTION 'unknown or unavailable sharing service "%"', service USING ERRCODE = '22023',
            HINT = 'Available services: ' || (SELECT string_agg(service_code, ', ' ORDER BY service_code)
                                              FROM deling.service WHERE available);
    END IF;
    INSERT INTO deling.kommune_service (kommune_nr, service_code) VALUES (kommune_nr, service)
        ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION deling.enable_service(text, text) IS 'DBA: a kommune opts in to a sharing service';

CREATE FUNCTION deling.disable_service(kommune_nr text, service text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    DELETE FROM deling.kommune_service ks WHERE ks.kommune_nr = disable_service.kommune_nr AND ks.service_code = service;
$$;
COMMENT ON FUNCTION deling.disable_service(text, text) IS
    'DBA: a kommune opts out of a sharing service; its data stays but is neither written nor read through it';

CREATE FUNCTION deling.bind_integration(role_name regrole, kommune_nr text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF role_name::text IN ('deling_authenticator', 'deling_integrasjon')
       OR NOT pg_has_role(role_name::oid, 'deling_integrasjon', 'MEMBER') THEN
        RAISE EXCEPTION 'role % cannot be bound: bind a login role that is a member of deling_integrasjon', role_name
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO deling.integration_binding (role_name, kommune_nr) VALUES (role_name::text, kommune_nr)
        ON CONFLICT ON CONSTRAINT integration_binding_pkey
        DO UPDATE SET kommune_nr = excluded.kommune_nr, bound_at = now();
END
$$;
COMMENT ON FUNCTION deling.bind_integration(regrole, text) IS
    'DBA: bind a direct-SQL integration login role to the one kommune it acts for';

CREATE FUNCTION deling.unbind_integration(role_name regrole) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    DELETE FROM deling.integration_binding b WHERE b.role_name = unbind_integration.role_name::text;
$$;
COMMENT ON FUNCTION deling.unbind_integration(regrole) IS 'DBA: remove a direct-SQL integration binding';
