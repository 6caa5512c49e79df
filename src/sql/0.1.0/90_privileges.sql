-- ---------------------------------------------------------------------------
-- 90 privileges: tables owned by the NOLOGIN deling_owner (RLS forced
-- applies to it too), SECURITY DEFINER functions run as deling_owner,
-- nothing for PUBLIC, then explicit grants per role.
-- ---------------------------------------------------------------------------

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
             WHERE c.relnamespace IN ('deling'::regnamespace, 'api'::regnamespace, 'kpr'::regnamespace)
               AND c.relkind IN ('r', 'v', 'm', 'p') LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO deling_owner', r.rel);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
             WHERE p.pronamespace IN ('deling'::regnamespace, 'api'::regnamespace, 'kpr'::regnamespace)
               AND p.prosecdef LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO deling_owner', r.fn);
    END LOOP;
END
$$;

REVOKE ALL ON ALL TABLES IN SCHEMA deling, api, kpr FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA deling, api, kpr FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA deling, api, kpr FROM PUBLIC;

GRANT USAGE ON SCHEMA deling TO deling_owner, deling_admin, deling_anon, deling_helsepersonell, deling_integrasjon,
    deling_innbygger, deling_kpr;
GRANT USAGE ON SCHEMA api TO deling_owner, deling_admin, deling_anon, deling_helsepersonell, deling_integrasjon,
    deling_innbygger;
GRANT USAGE ON SCHEMA kpr TO deling_owner, deling_admin, deling_kpr;

-- deling_owner: what its SECURITY DEFINER functions call
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA deling TO deling_owner;

-- the DBA's role: everything in deling (RLS policies give it every row)
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA deling TO deling_admin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA deling TO deling_admin;
REVOKE EXECUTE ON FUNCTION deling.set_context_value(text, text, boolean), deling.apply_context(jsonb, boolean)
    FROM deling_admin;

-- everyone who reaches the database: context functions and pure helpers
GRANT EXECUTE ON FUNCTION
    deling.pre_request(), deling.authenticate(text, boolean), deling.logout(), deling.whoami(),
    deling.current_kommune(), deling.current_kommune_for(text), deling.reach_for(text), deling.outer_role(), deling.ctx_kind(),
    deling.ctx_citizen_pid(),
    deling.fnr_valid(text), deling.fnr_check(text), deling.fnr_kind(text), deling.fnr_synthetic(text),
    deling.fnr_birth_date(text), deling.orgnr_valid(text), deling.orgnr_check(text), deling.kommunenr_check(text)
    TO deling_anon, deling_helsepersonell, deling_integrasjon, deling_innbygger, deling_kpr;

-- integrations: their own kommune's citizen data, through RLS
GRANT SELECT, INSERT, UPDATE, DELETE ON deling.citizen TO deling_integrasjon;
GRANT SELECT, INSERT, UPDATE, DELETE ON api.citizens TO deling_integrasjon, deling_admin;

-- NEWS2: scoring helpers for every deling role; integrations write their own
-- kommune's measurements under RLS; reads go through the api functions
GRANT EXECUTE ON FUNCTION
    deling.news2_score(integer, integer, integer, boolean, integer, integer, text, numeric),
    deling.news2_risk(integer, integer, integer, boolean, integer, integer, text, numeric),
    deling.news2_subscores(integer, integer, integer, boolean, integer, integer, text, numeric),
    deling.news2_problem(integer, integer, integer, boolean, integer, integer, text, numeric),
    deling.news2_acvpu(text), deling.news2_response(integer, text)
    TO deling_helsepersonell, deling_integrasjon, deling_kpr;
GRANT EXECUTE ON FUNCTION
    deling.fnr_problem(text), deling.try_timestamptz(text), deling.news2_item_problem(jsonb),
    deling.news2_ingest_items(jsonb), deling.news2_items_from_fhir(jsonb)
    TO deling_integrasjon;
GRANT SELECT, INSERT, UPDATE ON deling.news2_measurement TO deling_integrasjon;
GRANT SELECT, INSERT ON deling.news2_measurement_history TO deling_integrasjon;
GRANT SELECT ON deling.news2_clinical_response TO deling_helsepersonell, deling_integrasjon, deling_kpr;
GRANT EXECUTE ON FUNCTION api.news2_ingest(jsonb), api.news2_ingest_batch(jsonb), api.news2_ingest_fhir(jsonb)
    TO deling_integrasjon, deling_admin;
GRANT EXECUTE ON FUNCTION api.news2_observations(text, text, text, integer, text, text), api.news2_trend(text, text, integer, text)
    TO deling_helsepersonell, deling_integrasjon, deling_admin;

-- shared ingest machinery, run as the calling integration
GRANT EXECUTE ON FUNCTION
    deling.ingest_kommune(text), deling.ingest_problems(jsonb, text, regproc, integer), deling.ingest_reject(text, jsonb, integer),
    deling.item_fields_problem(jsonb, text[], text[]),
    deling.iso_date(text), deling.code_9151(text), deling.fhir_bundle_index(jsonb),
    deling.fhir_identity_number(jsonb), deling.fhir_subject_pid(jsonb, jsonb, text),
    deling.ucum_code(jsonb, text), deling.ucum_quantity(jsonb, text, text), deling.date_bound_problem(text, date, integer)
    TO deling_integrasjon;

-- municipal services
GRANT SELECT ON deling.service_type TO deling_helsepersonell, deling_integrasjon, deling_innbygger, deling_kpr;
GRANT EXECUTE ON FUNCTION
    deling.municipal_service_item_problem(jsonb), deling.municipal_services_ingest_items(jsonb),
    deling.municipal_services_items_from_fhir(jsonb), deling.okt_weekly_hours(jsonb)
    TO deling_integrasjon;
GRANT SELECT, INSERT, UPDATE ON deling.municipal_service TO deling_integrasjon;
GRANT SELECT, INSERT ON deling.municipal_service_history TO deling_integrasjon;
GRANT EXECUTE ON FUNCTION api.municipal_services_ingest(jsonb), api.municipal_services_ingest_batch(jsonb),
    api.municipal_services_ingest_fhir(jsonb)
    TO deling_integrasjon, deling_admin;
GRANT EXECUTE ON FUNCTION api.municipal_services(text, text, boolean, text), api.municipal_services_count(text, text),
    api.legevakt_summary(text, text, text)
    TO deling_helsepersonell, deling_integrasjon, deling_admin;

-- citizens' blocks: the citizen's channel and the kommune
GRANT EXECUTE ON FUNCTION api.block_sharing(text, text, text[], text[], text[]), api.unblock_sharing(uuid),
    api.sharing_blocks(text)
    TO deling_innbygger, deling_integrasjon, deling_admin;

-- access log: the citizen's view, the review; the log itself only through them
GRANT EXECUTE ON FUNCTION api.my_access_log(timestamptz) TO deling_innbygger;
GRANT EXECUTE ON FUNCTION api.access_review(text, timestamptz, timestamptz) TO deling_admin;
GRANT EXECUTE ON FUNCTION deling.access_log_export(text, timestamptz, timestamptz) TO deling_admin;
GRANT SELECT ON deling.access_log, deling.access_log_quarantine, deling.status TO deling_admin;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON deling.access_log, deling.access_log_head, deling.access_log_quarantine
    FROM deling_admin;
REVOKE ALL ON deling.access_log_key FROM deling_admin;
GRANT SELECT (public_key, created_at) ON deling.access_log_key TO deling_admin;
-- the DBA's status, drain, anchor and gap acknowledgement stay granted to
-- deling_admin (above); what writes the log is the worker's alone
REVOKE EXECUTE ON FUNCTION deling.access_log_emit(jsonb), deling.log_access(text, text, text[], text, text, boolean, text, integer, jsonb)
    FROM deling_admin;
REVOKE EXECUTE ON FUNCTION deling.access_log_append(pg_lsn[], bytea[]), deling.access_log_chain(text[], pg_lsn[], jsonb[]),
    deling.access_log_quarantine(pg_lsn, bytea, text), deling.access_log_record_gap()
    FROM deling_admin, deling_owner;

-- KPR: the reporter (deling_kpr) and the DBA read through the logged kpr
-- functions; the DBA configures (scope, onboarding, contacts, studies)
GRANT USAGE ON SCHEMA kpr TO deling_forskning;
GRANT EXECUTE ON FUNCTION kpr.validate_xpr_ipl(text), kpr.type_id(text), kpr.service_events(text, date, date),
    kpr.data_quality(text), kpr.service_statistics(text, date, date), kpr.contacts(text),
    kpr.xpr_ipl_message(text), kpr.xpr_ipl_message(text, bigint), kpr.xpr_ipl_message(text, date, date),
    kpr.xpr_ipl_message_for_person(text, text), kpr.messages(text, timestamptz), kpr.message_notifications(bigint),
    kpr.mark_message(bigint, text, text), kpr.resend_message(bigint)
    TO deling_kpr, deling_admin;
GRANT EXECUTE ON FUNCTION kpr.start_reporting(text, date), kpr.add_contact(text, integer, text, text, text, text),
    kpr.remove_contact(bigint), kpr.add_research_study(text, text, text[], regrole, date), kpr.rotate_study_key(text),
    kpr.revoke_research_study(text, text)
    TO deling_admin;
GRANT EXECUTE ON FUNCTION kpr.pseudonymised_services(text), kpr.research_studies() TO deling_forskning, deling_admin;
GRANT SELECT ON deling.kpr_reported_service_type, deling.kpr_contact_type TO deling_kpr;
-- the functions' internals, run as deling_owner
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA kpr TO deling_owner;
-- nobody reads a pseudonym key's secret, and studies change only through
-- the functions (which check the researcher's role)
REVOKE ALL ON deling.pseudonym_key FROM deling_admin;
GRANT SELECT (study_id, key_version, created_at, retired_at) ON deling.pseudonym_key TO deling_admin;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON deling.research_study FROM deling_admin;
-- what was sent to KPR changes only through the message builder
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON deling.kpr_reported_event, deling.kpr_notification, deling.kpr_message,
    deling.kpr_held_event FROM deling_admin;

-- Every function of the extension runs with search_path = pg_catalog, pg_temp
-- (pg_temp last: a caller's temporary relations and types never shadow the
-- catalog's).  The install fails rather than ship a function without it.
DO $$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(p.oid::regprocedure::text, ', ') INTO missing
    FROM pg_catalog.pg_proc p
    WHERE p.pronamespace IN ('deling'::regnamespace, 'api'::regnamespace, 'kpr'::regnamespace)
      AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'functions without search_path = pg_catalog, pg_temp: %', missing;
    END IF;
END
$$;

NOTIFY pgrst, 'reload schema';
