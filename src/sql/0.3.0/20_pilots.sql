-- ---------------------------------------------------------------------------
-- 20 the pilot services on the machinery: NEWS2 and "Oversikt over
-- kommunale tjenester" are declared like any service; their tables stay,
-- their history takes the one shape (the table's columns and when the
-- version was superseded), and their hand-written ingest and read
-- functions are replaced by the generated ones (the same API and output).
-- What is theirs alone stays theirs: NEWS2's chart and FHIR Observations
-- (their json renderers in C, 05_fhir_json.sql), its trend; the services'
-- 9151 checks, EpisodeOfCare and Organizations (C, likewise), and KPR's
-- events.
-- ---------------------------------------------------------------------------

-- NEWS2's history in the one shape: the old table (the chart's columns
-- only) is copied into it; the source key of a version is its record's,
-- and when a version superseded before 0.3.0 was received is not known:
-- it is taken as the time it was superseded
DROP TRIGGER news2_keep_history ON deling.news2_measurement;
DROP FUNCTION deling.news2_keep_history();
ALTER TABLE deling.news2_measurement_history RENAME TO news2_measurement_history_0_2;
ALTER INDEX deling.news2_measurement_history_pkey RENAME TO news2_measurement_history_0_2_pkey;
DROP FUNCTION deling.news2_rows(text, text[], timestamptz, integer, timestamptz, uuid);
DROP FUNCTION deling.news2_readable(text, text[], text);
DROP FUNCTION deling.news2_page_token(deling.news2_measurement);
DROP FUNCTION deling.news2_page_after(text);

-- the ingest expressions read items that passed the item check: the
-- consciousness letters are stored as they are (deling.news2_acvpu, a
-- pinned call per row, only for the words)
SELECT deling.declare_service($decl$
{
  "code": "news2",
  "name": "NEWS2-målinger",
  "description": "National Early Warning Score 2 measurements and scores",
  "table": "news2_measurement",
  "record_id": "measurement_id",
  "fields": [
    {
      "name": "measured_at",
      "type": "timestamptz",
      "required": true,
      "ingest": "(item->>'measured_at')::timestamptz"
    },
    {
      "name": "resp_rate",
      "type": "integer",
      "required": true
    },
    {
      "name": "spo2",
      "type": "integer",
      "required": true
    },
    {
      "name": "spo2_scale",
      "type": "integer",
      "ingest": "coalesce((item->>'spo2_scale')::numeric::int, 1)"
    },
    {
      "name": "on_oxygen",
      "type": "boolean",
      "required": true
    },
    {
      "name": "oxygen_flow",
      "type": "numeric"
    },
    {
      "name": "systolic_bp",
      "type": "integer",
      "required": true
    },
    {
      "name": "pulse",
      "type": "integer",
      "required": true
    },
    {
      "name": "consciousness",
      "type": "text",
      "required": true,
      "ingest": "CASE WHEN item->>'consciousness' IN ('A', 'C', 'V', 'P', 'U') THEN item->>'consciousness' ELSE deling.news2_acvpu(item->>'consciousness') END"
    },
    {
      "name": "temperature",
      "type": "numeric",
      "required": true
    },
    {
      "name": "recorded_by",
      "type": "hpr"
    },
    {
      "name": "unit_name",
      "type": "text"
    },
    {
      "name": "unit_orgnr",
      "type": "orgnr"
    },
    {
      "name": "status",
      "type": "text",
      "ingest": "coalesce(item->>'status', 'final')"
    }
  ],
  "status": {
    "column": "status",
    "withdrawn": "entered-in-error",
    "amended": "amended"
  },
  "order": [
    {
      "column": "measured_at",
      "desc": true
    }
  ],
  "since": "measured_at",
  "ingest": {
    "item_problem": "deling.news2_item_problem",
    "item_param": "measurement",
    "batch_param": "measurements",
    "label": "NEWS2",
    "report": [
      {
        "key": "status",
        "column": "status"
      },
      {
        "key": "score",
        "column": "score"
      },
      {
        "key": "risk",
        "column": "risk"
      },
      {
        "key": "warning",
        "expr": "CASE WHEN (i.item->>'_sender_total')::numeric IS DISTINCT FROM coalesce(w.score, cur.score) AND i.item ? '_sender_total' THEN format('the sender''s total %s differs from the chart''s %s; stored %s', i.item->>'_sender_total', coalesce(w.score, cur.score), coalesce(w.score, cur.score)) END"
      }
    ],
    "comments": {
      "item": "Record one NEWS2 measurement (integrations).\nScore and risk are computed by the platform. Re-sending the same source_system + source_id is a no-op; changed values amend the measurement and keep the old version. Returns the result (created, amended, unchanged), measurement_id, score and risk.",
      "batch": "Record a batch of NEWS2 measurements (integrations), all or nothing.\nA JSON array of up to 10000 measurements. If any item is invalid the batch is rejected (HTTP 400, SQLSTATE 22023) with a per-item report in details and nothing is written; otherwise returns a per-item report.",
      "fhir": "Record NEWS2 measurements sent as a FHIR R4 Bundle (integrations), all or nothing.\nEach measurement is a NEWS2 total Observation (SNOMED CT 1104051000000101) whose derivedFrom references its vital-sign Observations (LOINC 9279-1, 2708-6, 85354-9/8480-6, 8867-4, 8310-5, 3151-8; ACVPU as SNOMED CT 1104441000000107). The sender's total is recomputed; a difference is reported as a warning."
    }
  },
  "read": {
    "function": "news2_observations",
    "paging": true,
    "max_default": 50,
    "max_limit": 1000,
    "comment": "NEWS2 measurements of a citizen as a FHIR R4 searchset Bundle, newest first.\nsince: an ISO 8601 date or date and time; without an offset (or a bare date: its midnight) it is Norwegian time. max: measurements per page (1-1000); Bundle.link self repeats the read, next (present only when more measurements match) reads the next page (its page argument is an opaque token).\nFor health personnel with a duty need (purpose TREAT, ETREAT or COC, attested in the token or given here), across the kommuner their organisation reaches that share NEWS2; integrations read their own kommune. Each NEWS2 total Observation (SNOMED CT 1104051000000101) carries the seven sub-scores as components, the risk as interpretation and derivedFrom its vital-sign Observations. A citizen's block withholds measurements (an OperationOutcome says so); emergency access (purpose ETREAT with a reason) opens it and is flagged."
  },
  "fhir": {
    "renderer": "deling.news2_entries_json"
  },
  "fhir_in": {
    "parser": "deling.news2_items_from_fhir"
  },
  "summary": {
    "position": 20,
    "max": 5,
    "renderer": "deling.news2_summary_entries_json",
    "label": "NEWS2",
    "describes": "the latest NEWS2 with its vital signs and the four NEWS2 scores before it (the trend)"
  },
  "kpr": false
}
$decl$::jsonb);

INSERT INTO deling.news2_measurement_history
    (kommune_nr, measurement_id, pid, measured_at, resp_rate, spo2, spo2_scale, on_oxygen, oxygen_flow, systolic_bp, pulse,
     consciousness, temperature, recorded_by, unit_name, unit_orgnr, source_system, source_id, status, version, received_at,
     score, risk, superseded_at)
SELECT h.kommune_nr, h.measurement_id, h.pid, h.measured_at, h.resp_rate, h.spo2, h.spo2_scale, h.on_oxygen, h.oxygen_flow,
       h.systolic_bp, h.pulse, h.consciousness, h.temperature, h.recorded_by, h.unit_name, h.unit_orgnr, m.source_system,
       m.source_id, h.status, h.version, h.superseded_at, h.score, h.risk, h.superseded_at
FROM deling.news2_measurement_history_0_2 h
JOIN deling.news2_measurement m ON m.kommune_nr = h.kommune_nr AND m.measurement_id = h.measurement_id;
-- out of the extension first: that also takes it off the tables pg_dump
-- dumps (pg_extension.extconfig), which a plain DROP TABLE leaves behind
ALTER EXTENSION deling DROP TABLE deling.news2_measurement_history_0_2;
DROP TABLE deling.news2_measurement_history_0_2;

-- NEWS2's trend, on the generated rows
CREATE OR REPLACE FUNCTION deling.news2_trend_of(pid text, kommuner text[], n integer) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH t AS (
        SELECT m.measured_at, m.score, m.risk, m.kommune_nr, m.measurement_id,
               row_number() OVER (ORDER BY m.measured_at DESC, m.measurement_id) AS rn
        FROM deling.news2_rows(pid, kommuner, '{}', '{}', false, NULL, n, NULL, NULL) m)
    SELECT CASE WHEN count(*) = 0 THEN jsonb_build_object('measurements', 0) ELSE jsonb_build_object(
        'measurements', count(*),
        'latest', (SELECT jsonb_build_object('measured_at', deling.fhir_datetime(t.measured_at), 'score', t.score,
                       'risk', t.risk, 'kommune_nr', t.kommune_nr, 'observation', 'urn:uuid:' || t.measurement_id,
                       'monitoring', r.monitoring, 'response', r.response)
                   FROM t, deling.news2_response(t.score, t.risk) r WHERE t.rn = 1),
        'direction', (SELECT CASE WHEN count(*) < 2 THEN 'single'
                                  WHEN max(score) FILTER (WHERE rn = 1) > max(score) FILTER (WHERE rn = 2) THEN 'rising'
                                  WHEN max(score) FILTER (WHERE rn = 1) < max(score) FILTER (WHERE rn = 2) THEN 'falling'
                                  ELSE 'stable' END FROM t),
        'trend', jsonb_agg(jsonb_build_object('measured_at', deling.fhir_datetime(measured_at), 'score', score, 'risk', risk)
                           ORDER BY rn)) END
    FROM t;
$$;

CREATE OR REPLACE FUNCTION api.news2_trend(pid text, purpose text DEFAULT NULL, n integer DEFAULT 5, reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gate text[];
    b record;
    result jsonb;
BEGIN
    IF n IS NULL OR n < 1 OR n > 100 THEN
        PERFORM deling.refuse_read('news2', pid, NULL, purpose, reason, '22023',
                                   format('n must be between 1 and 100, not %s', coalesce(n::text, 'NULL')));
    END IF;
    gate := deling.sharing_gate('news2', pid, purpose, reason);
    b := deling.blocks_of('news2', pid, gate, purpose);
    result := deling.news2_trend_of(pid, b.readable, n)
        || CASE WHEN b.outcome IS NOT NULL THEN jsonb_build_object('notice', b.outcome->'issue'->0->>'diagnostics') ELSE '{}' END;
    PERFORM deling.log_access('news2', pid, gate, purpose, reason, true, NULL, (result->>'measurements')::int,
                              jsonb_build_object('opened_block', b.outcome->'issue'->0->>'code' = 'informational'));
    RETURN result;
END
$$;

-- municipal_services_code_problems: a new service needs an active 9151
-- code (corrections of an existing one may keep a withdrawn code); the
-- per-item problems of a batch, or NULL.  It runs on a batch whose items
-- passed their check, so every service_code is 1-4 digits, not all zeros:
-- what deling.code_9151 makes of it is the code without leading zeros
CREATE FUNCTION deling.municipal_services_code_problems(items jsonb, kommune text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    candidates jsonb;
    systems text[];
    ids text[];
    stored text[];
BEGIN
    -- the items whose code is not active (usually none)
    SELECT jsonb_agg(jsonb_build_object('item', e.ord, 'source_system', e.item->>'source_system', 'source_id', e.item->>'source_id',
                                        'given', e.item->>'service_code', 'code', t.code, 'name', t.name, 'status', t.status,
                                        'replaced_by', t.replaced_by) ORDER BY e.ord)
    INTO candidates
    FROM jsonb_array_elements(items) WITH ORDINALITY AS e(item, ord)
    LEFT JOIN deling.service_type t ON t.code = nullif(ltrim(e.item->>'service_code', '0'), '')
    WHERE t.code IS NULL OR t.status <> 'active';
    IF candidates IS NULL THEN
        RETURN NULL;
    END IF;
    -- those of them that correct a stored service may keep a withdrawn code
    -- (one statement naming the kommune and the source keys)
    systems := ARRAY(SELECT c->>'source_system' FROM jsonb_array_elements(candidates) c);
    ids := ARRAY(SELECT c->>'source_id' FROM jsonb_array_elements(candidates) c);
    stored := ARRAY(SELECT m.source_system || ' ' || m.source_id FROM deling.municipal_service m
                    WHERE m.kommune_nr = kommune AND m.source_system = ANY (systems) AND m.source_id = ANY (ids));
    RETURN (SELECT jsonb_agg(jsonb_build_object('item', c->'item', 'source_id', c->'source_id', 'error',
                   CASE WHEN c->>'code' IS NULL
                        THEN format('service_code %s is not in code list 9151', c->>'given')
                        ELSE format('service_code %s (%s) is %s in code list 9151%s; a new service needs an active code',
                                    c->>'code', c->>'name', c->>'status', coalesce(' (replaced by ' || (c->>'replaced_by') || ')', '')) END)
                   ORDER BY (c->>'item')::bigint)
            FROM jsonb_array_elements(candidates) c
            WHERE c->>'code' IS NULL OR (c->>'source_system') || ' ' || (c->>'source_id') <> ALL (stored));
END
$$;
COMMENT ON FUNCTION deling.municipal_services_code_problems(jsonb, text) IS
    'Per-item problems of a municipal-services batch whose new services have no active 9151 code, or NULL';
GRANT EXECUTE ON FUNCTION deling.municipal_services_code_problems(jsonb, text) TO deling_integrasjon;

-- code_9151_problem: NULL for a code of list 9151 (with or without
-- leading zeros), else what is wrong (a citizen's block by service type)
CREATE FUNCTION deling.code_9151_problem(code text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN NOT EXISTS (SELECT FROM deling.service_type t WHERE t.code = deling.code_9151(code_9151_problem.code))
                THEN format('%s is not a code of list 9151', deling.clip(code, 20)) END;
$$;
COMMENT ON FUNCTION deling.code_9151_problem(text) IS 'NULL for a code of list 9151, else what is wrong';

-- the services' history in the one shape: the whole rows kept as JSON
-- become rows of the table's columns
DROP TRIGGER municipal_service_keep_history ON deling.municipal_service;
DROP FUNCTION deling.municipal_service_keep_history();
ALTER TABLE deling.municipal_service_history RENAME TO municipal_service_history_0_2;
ALTER INDEX deling.municipal_service_history_pkey RENAME TO municipal_service_history_0_2_pkey;
DROP FUNCTION deling.municipal_services_of(text, text[], text, boolean);

-- the ingest expressions read items that passed the item check: a
-- service_code of 1-4 digits, not all zeros (without its leading zeros it
-- is deling.code_9151's value, without a pinned call per row); dates and
-- registered_at strict ISO 8601 (plain casts read them to the same value)
SELECT deling.declare_service($decl$
{
  "code": "municipal-services",
  "name": "Oversikt over kommunale tjenester",
  "description": "Which municipal health and care services a citizen has (code list 9151)",
  "table": "municipal_service",
  "record_id": "service_id",
  "fields": [
    {
      "name": "service_code",
      "type": "text",
      "required": true,
      "ingest": "nullif(ltrim(item->>'service_code', '0'), '')"
    },
    {
      "name": "status",
      "type": "text",
      "required": true
    },
    {
      "name": "vedtak_date",
      "type": "date"
    },
    {
      "name": "period_start",
      "type": "date",
      "required": true
    },
    {
      "name": "period_end",
      "type": "date"
    },
    {
      "name": "stops",
      "type": "daterange[]",
      "ingest": "ARRAY(SELECT daterange((s->>'from')::date, (s->>'to')::date, '[]') FROM jsonb_array_elements(coalesce(item->'stops', '[]')) s ORDER BY s->>'from')"
    },
    {
      "name": "weekly_hours",
      "type": "numeric"
    },
    {
      "name": "stay_type",
      "type": "text"
    },
    {
      "name": "service_level",
      "type": "text"
    },
    {
      "name": "description",
      "type": "text"
    },
    {
      "name": "unit_name",
      "type": "text"
    },
    {
      "name": "unit_orgnr",
      "type": "orgnr"
    },
    {
      "name": "unit_phone",
      "type": "text"
    },
    {
      "name": "registered_at",
      "type": "timestamptz",
      "compare": false,
      "ingest": "coalesce((item->>'registered_at')::timestamptz, now())"
    }
  ],
  "status": {
    "column": "status",
    "withdrawn": "entered-in-error"
  },
  "order": [
    {
      "column": "period_start",
      "desc": true
    },
    {
      "column": "service_code"
    }
  ],
  "codes": {
    "column": "service_code",
    "match": "exact",
    "check": "deling.code_9151_problem",
    "normalize": "deling.code_9151"
  },
  "history_readable": true,
  "ingest": {
    "item_problem": "deling.municipal_service_item_problem",
    "batch_problem": "deling.municipal_services_code_problems",
    "item_param": "service",
    "batch_param": "services",
    "label": "Municipal services",
    "report": [
      {
        "key": "status",
        "column": "status"
      },
      {
        "key": "version",
        "column": "version"
      }
    ],
    "comments": {
      "item": "Record one municipal service of a citizen (integrations).\nThe service type is a code of list 9151 (with or without leading zeros). registered_at (optional, ISO 8601 with a UTC offset) is when the source registered this version (default: when deling receives it). Re-sending the same source_system + source_id is a no-op; changed values correct the service and keep the old version. Returns the result (created, amended, unchanged), service_id (stable, used by KPR) and version.",
      "batch": "Record a batch of municipal services (integrations), all or nothing.\nA JSON array of up to 10000 services. If any is invalid the batch is rejected (HTTP 400, SQLSTATE 22023) with a per-item report in details and nothing is written.",
      "fhir": "Record municipal services sent as a FHIR R4 Bundle of EpisodeOfCare resources as HL7 Norway's OKT guide maps them (integrations), all or nothing.\ntype: a 9151 coding (and optionally an OktStayTypeCs coding); status; period; patient; managingOrganization (an Organization in the Bundle with orgnr and phone); extensions WeeklyExtentRatio/WeeklyExtentQuantity and ServiceDescriptionMarkdown; statusHistory entries with status onhold are temporary stops."
    }
  },
  "read": {
    "function": "municipal_services",
    "history_param": "include_history",
    "current": "deling.municipal_service_fhir_status(r, (now() AT TIME ZONE 'Europe/Oslo')::date) IN ('active', 'onhold')",
    "count_function": "municipal_services_count",
    "count_comment": "The number of current (active or temporarily stopped) municipal services of a citizen that the caller may see (the OKT status call)",
    "comment": "The municipal health and care services of a citizen as a FHIR R4 searchset Bundle (Oversikt over kommunale tjenester).\nOne EpisodeOfCare per service as HL7 Norway's OKT guide maps it (type from code list 9151, status active or onhold during a temporary stop, period, managingOrganization, weekly extent as a Ratio h / 1 wk), the responsible units as Organizations, and the Patient; across every kommune the caller's organisation reaches that shares the service. include_history adds ended, cancelled, planned and applied services. Blocked services are withheld (an OperationOutcome says so) unless emergency access (purpose ETREAT with a reason) opens them."
  },
  "fhir": {
    "renderer": "deling.municipal_services_entries_json"
  },
  "fhir_in": {
    "parser": "deling.municipal_services_items_from_fhir"
  },
  "summary": {
    "position": 10,
    "current": true,
    "label": "municipal services",
    "describes": "the current municipal services (EpisodeOfCare + Organizations)"
  },
  "kpr": true
}
$decl$::jsonb);

INSERT INTO deling.municipal_service_history
    (kommune_nr, service_id, pid, service_code, status, vedtak_date, period_start, period_end, stops, weekly_hours, stay_type,
     service_level, description, unit_name, unit_orgnr, unit_phone, source_system, source_id, version, received_at,
     registered_at, superseded_at)
SELECT h.kommune_nr, h.service_id, r.pid, r.service_code, r.status, r.vedtak_date, r.period_start, r.period_end,
       coalesce(r.stops, '{}'), r.weekly_hours, r.stay_type, r.service_level, r.description, r.unit_name, r.unit_orgnr,
       r.unit_phone, r.source_system, r.source_id, h.version, coalesce(r.received_at, h.superseded_at),
       coalesce(r.registered_at, r.received_at, h.superseded_at), h.superseded_at
FROM deling.municipal_service_history_0_2 h, jsonb_populate_record(NULL::deling.municipal_service, h.snapshot) r;
-- out of the extension first: that also takes it off the tables pg_dump
-- dumps (pg_extension.extconfig), which a plain DROP TABLE leaves behind
ALTER EXTENSION deling DROP TABLE deling.municipal_service_history_0_2;
DROP TABLE deling.municipal_service_history_0_2;

-- KPR's events read the services' history in its new shape
CREATE OR REPLACE FUNCTION kpr.derived_events(kommune_nr text, reportable_only boolean)
RETURNS TABLE (service_id uuid, event_key text, kind text, present boolean, event text, event_date date, ends date,
               provider_orgnr text, stop_id text, registered_at timestamptz)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET datestyle = 'ISO, YMD' AS $$
#variable_conflict use_column
BEGIN
-- PL/pgSQL: on Citus the query goes to the kommune's shard as one statement
-- (Citus plans no LANGUAGE sql function with parameters on distributed tables)
RETURN QUERY
WITH svc AS MATERIALIZED (
    SELECT m.service_id, m.version, m.pid, m.service_code, m.status, m.period_start, m.period_end, m.stops,
           m.unit_orgnr, m.registered_at
    FROM deling.municipal_service m
    WHERE m.kommune_nr = derived_events.kommune_nr
      AND (NOT reportable_only
           OR m.service_code IN (SELECT t.code FROM deling.kpr_reported_service_type t)
           OR m.service_id IN (SELECT r.service_id FROM deling.kpr_reported_event r
                               WHERE r.kommune_nr = derived_events.kommune_nr))),
v AS (
    SELECT s.service_id, s.version, s.pid::text AS pid, s.service_code, s.status, s.period_start, s.period_end, s.stops,
           s.unit_orgnr::text AS orgnr, s.registered_at AS reg
    FROM svc s
    UNION ALL
    SELECT h.service_id, h.version, h.pid::text, h.service_code, h.status, h.period_start, h.period_end, h.stops,
           h.unit_orgnr::text, h.registered_at
    FROM deling.municipal_service_history h
    WHERE h.kommune_nr = derived_events.kommune_nr AND h.service_id IN (SELECT s.service_id FROM svc s)),
-- per version: its registration day in Oslo (a running maximum: days never
-- go back) and the provider known then (a missing orgnr keeps the last one)
w AS (
    SELECT v.*, max((v.reg AT TIME ZONE 'Europe/Oslo')::date) OVER o AS day, count(v.orgnr) OVER o AS grp
    FROM v WINDOW o AS (PARTITION BY v.service_id ORDER BY v.version)),
x AS (
    SELECT w.*, first_value(w.orgnr) OVER (PARTITION BY w.service_id, w.grp ORDER BY w.version) AS eff FROM w),
y AS (
    SELECT z.*, z.eff IS DISTINCT FROM z.eff_prev AS eff_changed
    FROM (SELECT x.*, lag(x.eff) OVER (PARTITION BY x.service_id ORDER BY x.version) AS eff_prev FROM x) z),
-- provider changes: a version that changed the provider from one known
-- orgnr to another, registered on a day after the start
chgs AS (
    SELECT y.service_id, min(y.version) AS first_version, array_agg(y.version ORDER BY y.version) AS versions,
           array_agg(y.day ORDER BY y.version) AS days, array_agg(y.eff ORDER BY y.version) AS orgnrs,
           array_agg(y.reg ORDER BY y.version) AS ats
    FROM y JOIN svc s ON s.service_id = y.service_id
    WHERE y.eff_changed AND y.eff_prev IS NOT NULL AND y.day > s.period_start
    GROUP BY y.service_id),
-- the provider at the start: the last one known before the first change
init AS (
    SELECT y.service_id, (array_agg(y.eff ORDER BY y.version DESC))[1] AS orgnr,
           (array_agg(y.reg ORDER BY y.version DESC) FILTER (WHERE y.eff_changed))[1] AS set_at
    FROM y LEFT JOIN chgs c ON c.service_id = y.service_id
    WHERE y.version < coalesce(c.first_version, 2147483647)
    GROUP BY y.service_id),
-- every start, end and stop key a service has had, and its content in each
-- version (NULL: the version has no such event)
k AS (
    SELECT DISTINCT y.service_id, kk.kind, kk.stop_from
    FROM y CROSS JOIN LATERAL (
        SELECT 'S' AS kind, NULL::date AS stop_from UNION ALL SELECT 'E', NULL
        UNION ALL SELECT 'F', lower(r) FROM unnest(y.stops) r
        UNION ALL SELECT 'T', lower(r) FROM unnest(y.stops) r) kk),
sig AS (
    SELECT y.service_id, y.version, y.reg, k.kind, k.stop_from,
           CASE WHEN y.status IN ('granted', 'active', 'on-hold', 'ended') THEN
               CASE k.kind
                   WHEN 'S' THEN concat_ws('|', y.pid, y.service_code, y.period_start)
                   WHEN 'E' THEN CASE WHEN y.period_end IS NOT NULL THEN concat_ws('|', y.pid, y.service_code, y.period_end) END
                   WHEN 'F' THEN (SELECT concat_ws('|', y.pid, y.service_code) FROM unnest(y.stops) r
                                  WHERE lower(r) = k.stop_from LIMIT 1)
                   ELSE (SELECT concat_ws('|', y.pid, y.service_code, upper(r) - 1) FROM unnest(y.stops) r
                         WHERE lower(r) = k.stop_from AND NOT upper_inf(r) LIMIT 1)
               END END AS content
    FROM y JOIN k ON k.service_id = y.service_id),
cur AS (
    SELECT sig.*, first_value(sig.content) OVER (PARTITION BY sig.service_id, sig.kind, sig.stop_from ORDER BY sig.version DESC) AS now_content
    FROM sig),
run AS (
    SELECT cur.*, bool_and(cur.content IS NOT DISTINCT FROM cur.now_content)
                      OVER (PARTITION BY cur.service_id, cur.kind, cur.stop_from ORDER BY cur.version DESC) AS in_run
    FROM cur),
since AS (   -- when each key got its present content (or vanished)
    SELECT run.service_id, run.kind, run.stop_from, run.now_content IS NOT NULL AS present,
           (array_agg(run.reg ORDER BY run.version) FILTER (WHERE run.in_run))[1] AS since
    FROM run GROUP BY run.service_id, run.kind, run.stop_from, run.now_content),
ev AS (
    SELECT s.service_id, e.kind, e.stop_from, e.event, e.event_date, e.ends, e.orgnr, e.stop_id, e.at
    FROM svc s
    JOIN init i ON i.service_id = s.service_id
    LEFT JOIN chgs c ON c.service_id = s.service_id
    CROSS JOIN LATERAL (
        SELECT 'S' AS kind, NULL::date AS stop_from, 'TjenesteStart' AS event, s.period_start AS event_date, s.period_end AS ends,
               i.orgnr::text AS orgnr, NULL::text AS stop_id, i.set_at AS at
        UNION ALL
        SELECT 'E', NULL, 'TjenesteSlutt', s.period_end, s.period_end, kpr.provider_on(c.days, c.orgnrs, i.orgnr, s.period_end),
               NULL, kpr.provider_set_on(c.days, c.ats, i.set_at, s.period_end)
        WHERE s.period_end IS NOT NULL
        UNION ALL
        SELECT 'F', lower(r), 'MidlertidigStoppFra', lower(r), CASE WHEN NOT upper_inf(r) THEN upper(r) - 1 END,
               kpr.provider_on(c.days, c.orgnrs, i.orgnr, lower(r)), s.service_id || ':' || to_char(lower(r), 'YYYY-MM-DD'),
               kpr.provider_set_on(c.days, c.ats, i.set_at, lower(r))
        FROM unnest(s.stops) r
        UNION ALL
        SELECT 'T', lower(r), 'MidlertidigStoppTil', upper(r) - 1, upper(r) - 1,
               kpr.provider_on(c.days, c.orgnrs, i.orgnr, upper(r) - 1), s.service_id || ':' || to_char(lower(r), 'YYYY-MM-DD'),
               kpr.provider_set_on(c.days, c.ats, i.set_at, upper(r) - 1)
        FROM unnest(s.stops) r WHERE NOT upper_inf(r)
        UNION ALL
        SELECT 'P' || p.version, NULL, 'TjenesteutforerEndret', p.day, p.day, p.orgnr, NULL, p.at
        FROM unnest(c.versions, c.days, c.orgnrs, c.ats) AS p(version, day, orgnr, at)) e
    WHERE s.status IN ('granted', 'active', 'on-hold', 'ended'))
SELECT ev.service_id, ev.service_id || ':' || ev.kind || coalesce(to_char(ev.stop_from, 'YYYY-MM-DD'), ''), left(ev.kind, 1), true,
       ev.event, ev.event_date, ev.ends, ev.orgnr, ev.stop_id,
       CASE WHEN ev.kind LIKE 'P%' THEN ev.at ELSE greatest(sn.since, ev.at) END
FROM ev LEFT JOIN since sn ON sn.service_id = ev.service_id AND sn.kind = ev.kind
                          AND sn.stop_from IS NOT DISTINCT FROM ev.stop_from
UNION ALL
SELECT sn.service_id, sn.service_id || ':' || sn.kind || coalesce(to_char(sn.stop_from, 'YYYY-MM-DD'), ''), sn.kind, false,
       CASE sn.kind WHEN 'S' THEN 'TjenesteStart' WHEN 'E' THEN 'TjenesteSlutt' WHEN 'F' THEN 'MidlertidigStoppFra'
                    ELSE 'MidlertidigStoppTil' END,
       NULL, NULL, NULL, NULL, sn.since
FROM since sn WHERE NOT sn.present;
END
$$;
COMMENT ON FUNCTION kpr.derived_events(text, boolean) IS
    'Internal: the KPR events of a kommune''s services (keys unique by construction), the provider in effect on each event''s day, and when the source registered each event''s present content (hendelseRegTid); gone events with when they went';
