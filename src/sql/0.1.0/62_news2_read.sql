-- ---------------------------------------------------------------------------
-- 62 news2 read: FHIR R4 Observations (the NEWS2 total with its seven
-- sub-scores, and the vital signs it was derived from) and the trend, read
-- through deling.sharing_gate().
-- ---------------------------------------------------------------------------

-- news2_fhir: the FHIR resources of one measurement as search entries: the
-- NEWS2 total (mode match) first, then its vital signs (mode include);
-- without vital_signs the total alone, with no derivedFrom.  Built in C
-- (src/fhir.c): the same resources built with jsonb_build_object in SQL
-- took about 0.5 ms per measurement (docs/benchmarks.md).
CREATE FUNCTION deling.news2_fhir(m deling.news2_measurement, vital_signs boolean DEFAULT true) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'deling_news2_fhir' LANGUAGE C STABLE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.news2_fhir(deling.news2_measurement, boolean) IS
    'FHIR R4 Observations of one NEWS2 measurement: the total (match) and, with vital_signs, its vital signs (include)';

-- news2_rows: the measurements a gate-approved read may return, newest
-- first (measured_at descending, then measurement_id); with after_at and
-- after_id, those that come after that measurement in this order (the next
-- page: a measurement recorded meanwhile shifts nothing).
CREATE FUNCTION deling.news2_rows(pid text, kommuner text[], since timestamptz, max integer,
                                  after_at timestamptz DEFAULT NULL, after_id uuid DEFAULT NULL)
RETURNS SETOF deling.news2_measurement
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT * FROM deling.news2_measurement m
    WHERE m.kommune_nr = ANY (kommuner) AND m.pid = news2_rows.pid AND m.status <> 'entered-in-error'
      AND (since IS NULL OR m.measured_at >= since)
      AND (after_at IS NULL OR m.measured_at < after_at OR (m.measured_at = after_at AND m.measurement_id > after_id))
    ORDER BY m.measured_at DESC, m.measurement_id
    LIMIT max;
$$;

-- news2_page_token: the opaque page token of the measurement a page ends
-- with (its measured_at in microseconds since 1970 and its id), and back.
CREATE FUNCTION deling.news2_page_token(m deling.news2_measurement) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (extract(epoch FROM m.measured_at) * 1000000)::bigint || '.' || m.measurement_id;
$$;
CREATE FUNCTION deling.news2_page_after(page text, OUT after_at timestamptz, OUT after_id uuid)
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    -- NULLs for NULL and for what is not a token
    SELECT timestamptz 'epoch' + split_part(page, '.', 1)::bigint * interval '1 microsecond', split_part(page, '.', 2)::uuid
    WHERE page ~ '^-?[0-9]{1,16}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
$$;

-- news2_readable: the kommuner whose NEWS2 a gate-approved read returns
-- once the citizen's blocks are applied (or opened by an emergency), and
-- the OperationOutcome that says so.
CREATE FUNCTION deling.news2_readable(pid text, kommuner text[], purpose text, OUT readable text[], OUT outcome jsonb)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    blocked text[] := ARRAY(SELECT DISTINCT b.kommune_nr FROM deling.blocks_for('news2', pid, kommuner) b
                            WHERE b.service_codes IS NULL);
    emergency boolean := deling.is_emergency(purpose);
BEGIN
    readable := CASE WHEN emergency THEN kommuner
                     ELSE ARRAY(SELECT k FROM unnest(kommuner) k WHERE k <> ALL (blocked)) END;
    outcome := deling.sharing_outcome(blocked <> '{}' AND NOT emergency, blocked <> '{}' AND emergency);
END
$$;

-- oslo_instant: the instant a date-and-time argument names: an ISO 8601
-- date and time with an offset (or Z) as given; one without an offset, or
-- a bare date (its midnight), in Norwegian time (Europe/Oslo), as a reader
-- in Norway means it.  NULL for anything else (and for NULL).
CREATE FUNCTION deling.oslo_instant(v text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN v ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN deling.iso_date(v)::timestamp AT TIME ZONE 'Europe/Oslo'
        WHEN v ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$'
        THEN (deling.try_timestamptz(v || 'Z') AT TIME ZONE 'UTC') AT TIME ZONE 'Europe/Oslo'
        WHEN v ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$'
        THEN deling.try_timestamptz(v) END;
$$;
COMMENT ON FUNCTION deling.oslo_instant(text) IS
    'The instant an ISO 8601 date or date and time names (NULL if none); without an offset, or a bare date (its midnight), in Norwegian time';

CREATE FUNCTION api.news2_observations(pid text, purpose text DEFAULT NULL, since text DEFAULT NULL,
                                       max integer DEFAULT 50, reason text DEFAULT NULL, page text DEFAULT NULL)
RETURNS api."application/fhir+json"
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gate text[];
    r record;
    kommuner text[];
    since_at timestamptz := deling.oslo_instant(since);
    after_at timestamptz;
    after_id uuid;
    rows deling.news2_measurement[];
    entries jsonb;
    matches integer;
    links jsonb;
BEGIN
    IF max IS NULL OR max < 1 OR max > 1000 THEN
        PERFORM deling.refuse_read('news2', pid, NULL, purpose, reason, '22023',
                                   format('max must be between 1 and 1000, not %s', coalesce(max::text, 'NULL')));
    END IF;
    IF since IS NOT NULL AND since_at IS NULL THEN
        PERFORM deling.refuse_read('news2', pid, NULL, purpose, reason, '22023',
                                   format('since "%s" is not an ISO 8601 date or date and time', deling.clip(since, 64)),
                                   CASE WHEN since ~ ' [0-9]{2}(:?[0-9]{2})?$'
                                        THEN 'A + in a URL is a space: write the offset''s + as %2B.'
                                        ELSE 'E.g. 2026-11-20, 2026-11-20T08:00 (both Norwegian time) or 2026-11-20T08:00:00+01:00.' END);
    END IF;
    SELECT p.after_at, p.after_id INTO after_at, after_id FROM deling.news2_page_after(page) p;
    IF page IS NOT NULL AND after_at IS NULL THEN
        PERFORM deling.refuse_read('news2', pid, NULL, purpose, reason, '22023',
                                   format('page "%s" is not a page of this read', deling.clip(page, 64)),
                                   'Follow the Bundle''s next link as it is.');
    END IF;
    gate := deling.sharing_gate('news2', pid, purpose, reason);
    r := deling.news2_readable(pid, gate, purpose);
    kommuner := r.readable;
    -- one more than a page: whether a next page exists
    rows := ARRAY(SELECT m FROM deling.news2_rows(pid, kommuner, since_at, max + 1, after_at, after_id) m);
    SELECT coalesce(jsonb_agg(e ORDER BY i, o), '[]')
    INTO entries
    FROM generate_subscripts(rows, 1) i, jsonb_array_elements(deling.news2_fhir(rows[i])) WITH ORDINALITY AS x(e, o)
    WHERE i <= max;
    -- Bundle.total counts every match, also those beyond max and on other pages
    SELECT count(*) INTO matches FROM deling.news2_rows(pid, kommuner, since_at, NULL);
    IF matches > 0 THEN
        entries := entries || jsonb_build_array(jsonb_build_object('mode', 'include', 'resource', deling.fhir_patient(pid, kommuner)));
    END IF;
    -- self: this read's arguments; next: the same with the page after this one's last measurement
    links := jsonb_build_array(deling.fhir_link('self', 'news2_observations', ARRAY['pid', pid, 'purpose', purpose,
                 'since', since, 'max', max::text, 'reason', reason, 'page', page]))
             || CASE WHEN cardinality(rows) > max THEN jsonb_build_array(deling.fhir_link('next', 'news2_observations',
                 ARRAY['pid', pid, 'purpose', purpose, 'since', since, 'max', max::text, 'reason', reason,
                       'page', deling.news2_page_token(rows[max])])) ELSE '[]' END;
    PERFORM deling.log_access('news2', pid, gate, purpose, reason, true, NULL, jsonb_array_length(entries),
                              jsonb_build_object('opened_block', r.outcome->'issue'->0->>'code' = 'informational'));
    RETURN deling.fhir_bundle('searchset', entries, matches, r.outcome, links)::json::api."application/fhir+json";
END
$$;
COMMENT ON FUNCTION api.news2_observations(text, text, text, integer, text, text) IS
    'NEWS2 measurements of a citizen as a FHIR R4 searchset Bundle, newest first.
since: an ISO 8601 date or date and time; without an offset (or a bare date: its midnight) it is Norwegian time. max: measurements per page (1-1000); Bundle.link self repeats the read, next (present only when more measurements match) reads the next page (its page argument is an opaque token).
For health personnel with a duty need (purpose TREAT, ETREAT or COC, attested in the token or given here), across the kommuner their organisation reaches that share NEWS2; integrations read their own kommune. Each NEWS2 total Observation (SNOMED CT 1104051000000101) carries the seven sub-scores as components, the risk as interpretation and derivedFrom its vital-sign Observations. A citizen''s block withholds measurements (an OperationOutcome says so); emergency access (purpose ETREAT with a reason) opens it and is flagged.';

CREATE FUNCTION deling.news2_trend_of(pid text, kommuner text[], n integer) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH t AS (
        SELECT m.measured_at, m.score, m.risk, m.kommune_nr, m.measurement_id,
               row_number() OVER (ORDER BY m.measured_at DESC, m.measurement_id) AS rn
        FROM deling.news2_rows(pid, kommuner, NULL, n) m)
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

CREATE FUNCTION api.news2_trend(pid text, purpose text DEFAULT NULL, n integer DEFAULT 5, reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gate text[];
    r record;
    result jsonb;
BEGIN
    IF n IS NULL OR n < 1 OR n > 100 THEN
        PERFORM deling.refuse_read('news2', pid, NULL, purpose, reason, '22023',
                                   format('n must be between 1 and 100, not %s', coalesce(n::text, 'NULL')));
    END IF;
    gate := deling.sharing_gate('news2', pid, purpose, reason);
    r := deling.news2_readable(pid, gate, purpose);
    result := deling.news2_trend_of(pid, r.readable, n)
        || CASE WHEN r.outcome IS NOT NULL THEN jsonb_build_object('notice', r.outcome->'issue'->0->>'diagnostics') ELSE '{}' END;
    PERFORM deling.log_access('news2', pid, gate, purpose, reason, true, NULL, (result->>'measurements')::int,
                              jsonb_build_object('opened_block', r.outcome->'issue'->0->>'code' = 'informational'));
    RETURN result;
END
$$;
COMMENT ON FUNCTION api.news2_trend(text, text, integer, text) IS
    'The latest NEWS2 of a citizen with its clinical response, and the last n scores (newest first) with the direction.
For the legevakt view; same access rules as news2_observations.';
