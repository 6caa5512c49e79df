-- ---------------------------------------------------------------------------
-- 43 hot SQL functions as PL/pgSQL.  A LANGUAGE sql function that pins its
-- search_path is never inlined, and PostgreSQL 15 parses, plans and starts
-- an executor for it at every call.  These run several times in every
-- sharing read (each service's gate and blocks, each services row); as
-- PL/pgSQL their expressions are planned once per session.  Same bodies,
-- same answers (docs/benchmarks.md, issue 20).
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION deling.is_emergency(purpose text) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN deling.ctx_kind() = 'person'
       AND coalesce(nullif(current_setting('deling.ctx_purpose'), ''), purpose) = 'ETREAT';
END
$$;

CREATE OR REPLACE FUNCTION deling.sharing_outcome(withheld boolean, opened boolean) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN CASE
        WHEN opened THEN jsonb_build_object('resourceType', 'OperationOutcome', 'id', gen_random_uuid(),
            'issue', jsonb_build_array(jsonb_build_object('severity', 'warning', 'code', 'informational',
                'diagnostics', 'Information the citizen has blocked is shown because of emergency access (ETREAT); this access is flagged for review.')))
        WHEN withheld THEN jsonb_build_object('resourceType', 'OperationOutcome', 'id', gen_random_uuid(),
            'issue', jsonb_build_array(jsonb_build_object('severity', 'information', 'code', 'suppressed',
                'diagnostics', 'Some information about this citizen is withheld at the citizen''s request (sperring).')))
        END;
END
$$;

CREATE OR REPLACE FUNCTION deling.token_organisation(parent text, child text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT o.orgnr::text FROM deling.organisation o
            WHERE o.active
              AND CASE WHEN child IS NULL OR child = parent THEN o.orgnr = parent
                       ELSE o.orgnr = child AND o.parent_orgnr = parent END);
END
$$;

CREATE OR REPLACE FUNCTION deling.municipal_service_fhir_status(s deling.municipal_service, day date) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN CASE
        WHEN s.status = 'entered-in-error' THEN 'entered-in-error'
        WHEN s.status = 'cancelled' THEN 'cancelled'
        WHEN s.status = 'ended' OR s.period_end < day THEN 'finished'
        WHEN s.status = 'applied' THEN 'waitlist'
        WHEN s.period_start > day THEN 'planned'
        WHEN s.status = 'on-hold' OR day <@ ANY (s.stops) THEN 'onhold'
        ELSE 'active' END;
END
$$;

-- the helpers every generated read and template renderer calls: a Patient's
-- identifier (per entry of a template), the links of a searchset, its page
-- token, and the research reach of fhir_patient_id
CREATE OR REPLACE FUNCTION deling.fhir_pid_identifier(pid text) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k text := deling.fnr_kind(pid);
BEGIN
    RETURN CASE WHEN pid IS NOT NULL THEN
        jsonb_build_object('system', deling.fhir_constant(CASE WHEN k IN ('fnr', 'dnr', 'fhnr') THEN 'system.' || k ELSE 'system.hnr' END),
                           'value', pid)
        || CASE WHEN k = 'hnr' THEN jsonb_build_object('type', jsonb_build_object('coding', jsonb_build_array(
               jsonb_build_object('system', deling.fhir_constant('codesystem.8327'), 'code', 'HNR')))) ELSE '{}' END END;
END
$$;

CREATE OR REPLACE FUNCTION deling.url_encode(v text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- most values need no escape
    IF v ~ '^[A-Za-z0-9._~-]*$' THEN
        RETURN v;
    END IF;
    RETURN (SELECT coalesce(string_agg(CASE WHEN c ~ '^[A-Za-z0-9._~-]$' THEN c
                                            ELSE regexp_replace(upper(encode(convert_to(c, 'UTF8'), 'hex')), '(..)', '%\1', 'g') END,
                                       '' ORDER BY o), '')
            FROM regexp_split_to_table(v, '') WITH ORDINALITY AS t(c, o));
END
$$;

CREATE OR REPLACE FUNCTION deling.fhir_link(relation text, fn text, args text[]) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT jsonb_build_object('relation', relation, 'url', 'rpc/' || fn || coalesce('?' || string_agg(
                       args[i] || '=' || deling.url_encode(args[i + 1]), '&' ORDER BY i), ''))
            FROM generate_series(1, coalesce(cardinality(args), 0), 2) i
            WHERE args[i + 1] IS NOT NULL);
END
$$;

CREATE OR REPLACE FUNCTION deling.page_after(page text, OUT after_at timestamptz, OUT after_id uuid)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF page ~ '^-?[0-9]{1,16}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        after_at := timestamptz 'epoch' + split_part(page, '.', 1)::bigint * interval '1 microsecond';
        after_id := split_part(page, '.', 2)::uuid;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION deling.research_kommuner() RETURNS text[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(DISTINCT k), '{}')
            FROM deling.research_study s, unnest(s.kommuner) k
            WHERE s.researcher = deling.outer_role() AND s.revoked_at IS NULL
              AND (s.expires_on IS NULL OR s.expires_on >= (now() AT TIME ZONE 'Europe/Oslo')::date)
              AND deling.pure_researcher(s.researcher));
END
$$;
