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
