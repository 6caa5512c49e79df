-- ---------------------------------------------------------------------------
-- 71 tiltaksplan: the plan of measures agreed for a citizen (issue 19), a
-- sharing service declared on the machinery (10/11/12_*.sql).  One plan is
-- one FHIR R4 CarePlan (intent plan): its status, period, author unit, goal
-- (a contained Goal), the diagnoses it addresses and the assessments it
-- rests on (by the sender's source keys), and its activities - what is done
-- (SNOMED CT and/or words), how often (Timing.repeat), by which unit, from
-- when to when, with which status.  docs/services/tiltaksplan.md.
--
-- Value sets (FHIR R4 4.0.1, /work/notes/fhir-profiles.md D.5):
--   CarePlan.status               request-status: draft | active | on-hold |
--                                 revoked | completed | entered-in-error | unknown
--   CarePlan.intent               care-plan-intent: fixed "plan"
--   activity.detail.status        care-plan-activity-status: not-started |
--                                 scheduled | in-progress | on-hold | completed |
--                                 cancelled | stopped | unknown | entered-in-error
--   activity.detail.kind          care-plan-activity-kind (resource types)
--   Timing.repeat.periodUnit      units-of-time (UCUM): min h d wk mo a taken
--   Timing.repeat.when            event-timing: MORN NOON AFT EVE NIGHT taken
--
-- Activities are a jsonb array in the plan's row (a plan is sent, amended
-- and withdrawn whole, and read whole): checked here, element by element,
-- each problem naming the activity as activities[i] (from 0, as in the JSON
-- sent).  References to diagnoses and assessments are the sender's source
-- keys of those records, rendered as logical references (Reference.type,
-- identifier, display): nothing is looked up, so a key that names nothing
-- deling holds is still a valid reference, and a read of a plan never
-- reveals anything of another service's records.
-- ---------------------------------------------------------------------------

-- tiltaksplan_activity_problem: NULL when one activity of a plan is valid,
-- else what is wrong with it (at: how the activity is named, activities[i])
CREATE FUNCTION deling.tiltaksplan_activity_problem(activity jsonb, at text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    a jsonb;
    k text;
    bad text;
    timed integer;
    s date;
    e date;
BEGIN
    IF jsonb_typeof(activity) IS DISTINCT FROM 'object' THEN
        RETURN format('%s must be an object, not %s', at, deling.clip(activity::text, 40));
    END IF;
    a := jsonb_strip_nulls(activity);
    bad := (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_object_keys(a) x
            WHERE x <> ALL (ARRAY['code', 'text', 'description', 'status', 'kind', 'frequency', 'period', 'period_unit',
                                  'when', 'start', 'end', 'performer_name', 'performer_orgnr']));
    IF bad IS NOT NULL THEN
        RETURN format('%s has unknown field(s): %s', at, bad);
    END IF;
    FOR k IN SELECT unnest(ARRAY['code', 'text', 'description', 'status', 'kind', 'period_unit', 'start', 'end',
                                 'performer_name', 'performer_orgnr']) LOOP
        IF a ? k AND jsonb_typeof(a->k) <> 'string' THEN
            RETURN format('%s.%s must be a string, not %s', at, k, deling.clip((a->k)::text, 40));
        END IF;
    END LOOP;
    -- what is done: a SNOMED CT code, words, or a description
    IF coalesce(btrim(a->>'code'), '') = '' AND coalesce(btrim(a->>'text'), '') = ''
       AND coalesce(btrim(a->>'description'), '') = '' THEN
        RETURN format('%s needs a code, a text or a description of what is done', at);
    END IF;
    IF a ? 'code' AND deling.snomed_problem(a->>'code') IS NOT NULL THEN
        RETURN format('%s.code "%s" is not a SNOMED CT concept id: %s', at, deling.clip(a->>'code', 40),
                      deling.snomed_problem(a->>'code'));
    END IF;
    IF length(a->>'text') > 200 THEN
        RETURN format('%s.text is longer than 200 characters', at);
    END IF;
    IF length(a->>'description') > 1000 THEN
        RETURN format('%s.description is longer than 1000 characters', at);
    END IF;
    IF NOT a ? 'status' THEN
        RETURN format('%s needs a status (not-started, scheduled, in-progress, on-hold, completed, cancelled, stopped, unknown, entered-in-error)', at);
    END IF;
    IF a->>'status' <> ALL (ARRAY['not-started', 'scheduled', 'in-progress', 'on-hold', 'completed', 'cancelled', 'stopped',
                                  'unknown', 'entered-in-error']) THEN
        RETURN format('%s.status "%s" is not one of not-started, scheduled, in-progress, on-hold, completed, cancelled, stopped, unknown, entered-in-error',
                      at, deling.clip(a->>'status', 40));
    END IF;
    IF a->>'kind' <> ALL (ARRAY['Appointment', 'CommunicationRequest', 'DeviceRequest', 'MedicationRequest', 'NutritionOrder',
                                'Task', 'ServiceRequest', 'VisionPrescription']) THEN
        RETURN format('%s.kind "%s" is not one of Appointment, CommunicationRequest, DeviceRequest, MedicationRequest, NutritionOrder, Task, ServiceRequest, VisionPrescription',
                      at, deling.clip(a->>'kind', 40));
    END IF;
    -- how often: so many times (frequency) per period period_unit, all three or none
    timed := (a ? 'frequency')::int + (a ? 'period')::int + (a ? 'period_unit')::int;
    IF timed NOT IN (0, 3) THEN
        RETURN format('%s: frequency, period and period_unit go together (how many times per how long, e.g. 2 per 1 d)', at);
    END IF;
    IF timed = 3 THEN
        IF jsonb_typeof(a->'frequency') <> 'number' OR (a->>'frequency')::numeric <> trunc((a->>'frequency')::numeric)
           OR (a->>'frequency')::numeric NOT BETWEEN 1 AND 100 THEN
            RETURN format('%s.frequency must be a whole number from 1 to 100, not %s', at, deling.clip((a->'frequency')::text, 40));
        END IF;
        IF jsonb_typeof(a->'period') <> 'number' OR (a->>'period')::numeric <= 0 OR (a->>'period')::numeric > 1000 THEN
            RETURN format('%s.period must be a number above 0 and at most 1000, not %s', at, deling.clip((a->'period')::text, 40));
        END IF;
        IF a->>'period_unit' <> ALL (ARRAY['min', 'h', 'd', 'wk', 'mo', 'a']) THEN
            RETURN format('%s.period_unit "%s" is not one of min, h, d, wk, mo, a', at, deling.clip(a->>'period_unit', 40));
        END IF;
    END IF;
    IF a ? 'when' THEN
        IF jsonb_typeof(a->'when') <> 'array' OR jsonb_array_length(a->'when') = 0
           OR EXISTS (SELECT FROM jsonb_array_elements(a->'when') w
                      WHERE jsonb_typeof(w) <> 'string' OR w #>> '{}' <> ALL (ARRAY['MORN', 'NOON', 'AFT', 'EVE', 'NIGHT']))
           OR (SELECT count(DISTINCT w) <> count(*) FROM jsonb_array_elements(a->'when') w) THEN
            RETURN format('%s.when must be an array of distinct MORN, NOON, AFT, EVE, NIGHT, not %s', at, deling.clip((a->'when')::text, 60));
        END IF;
        IF timed = 0 THEN
            RETURN format('%s.when needs frequency, period and period_unit (e.g. 2 per 1 d, MORN and EVE)', at);
        END IF;
    END IF;
    -- from when to when
    IF a ? 'start' THEN
        s := deling.iso_date(a->>'start');
        IF s IS NULL THEN
            RETURN format('%s.start "%s" is not a date (YYYY-MM-DD)', at, deling.clip(a->>'start', 40));
        END IF;
        bad := deling.date_bound_problem(at || '.start', s, 10);
        IF bad IS NOT NULL THEN
            RETURN bad;
        END IF;
    END IF;
    IF a ? 'end' THEN
        e := deling.iso_date(a->>'end');
        IF e IS NULL THEN
            RETURN format('%s.end "%s" is not a date (YYYY-MM-DD)', at, deling.clip(a->>'end', 40));
        END IF;
        bad := deling.date_bound_problem(at || '.end', e, 10);
        IF bad IS NOT NULL THEN
            RETURN bad;
        END IF;
    END IF;
    IF e < s THEN
        RETURN format('%s.end %s is before its start %s', at, e, s);
    END IF;
    -- by which unit
    IF length(a->>'performer_name') > 200 THEN
        RETURN format('%s.performer_name is longer than 200 characters', at);
    END IF;
    IF a ? 'performer_orgnr' AND NOT deling.orgnr_valid(a->>'performer_orgnr') THEN
        RETURN format('%s.performer_orgnr "%s" is not a valid organisasjonsnummer', at, deling.clip(a->>'performer_orgnr', 20));
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION deling.tiltaksplan_activity_problem(jsonb, text) IS
    'NULL when one activity of a tiltaksplan is valid (what, status, kind, how often, when, from-to, performer), else what is wrong, naming the activity';

-- tiltaksplan_reference_problem: NULL when one of a plan's references to a
-- diagnosis or an assessment is valid, else what is wrong with it
CREATE FUNCTION deling.tiltaksplan_reference_problem(ref jsonb, at text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r jsonb;
    bad text;
BEGIN
    IF jsonb_typeof(ref) IS DISTINCT FROM 'object' THEN
        RETURN format('%s must be an object, not %s', at, deling.clip(ref::text, 40));
    END IF;
    r := jsonb_strip_nulls(ref);
    bad := (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_object_keys(r) x
            WHERE x <> ALL (ARRAY['service', 'source_system', 'source_id', 'display']));
    IF bad IS NOT NULL THEN
        RETURN format('%s has unknown field(s): %s', at, bad);
    END IF;
    bad := (SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_each(r) e(x, v) WHERE jsonb_typeof(v) <> 'string');
    IF bad IS NOT NULL THEN
        RETURN format('%s: %s must be strings', at, bad);
    END IF;
    IF coalesce(r->>'service', '') NOT IN ('diagnoser', 'kartlegginger') THEN
        RETURN format('%s.service must be diagnoser (a diagnosis the plan addresses) or kartlegginger (an assessment it rests on), not %s%s',
                      at, coalesce('"' || deling.clip(r->>'service', 40) || '"', 'missing'),
                      ' (in a FHIR Bundle: Reference.type Condition or Observation)');
    END IF;
    IF length(r->>'source_id') BETWEEN 1 AND 200 IS NOT TRUE THEN
        RETURN format('%s.source_id (the record''s key in its source system) must be 1-200 characters', at);
    END IF;
    IF r ? 'source_system' AND r->>'source_system' !~ '^[A-Za-z0-9._:/-]{1,100}$' THEN
        RETURN format('%s.source_system "%s" must be 1-100 characters of A-Z a-z 0-9 . _ : / -', at, deling.clip(r->>'source_system', 40));
    END IF;
    IF length(r->>'display') > 500 THEN
        RETURN format('%s.display is longer than 500 characters', at);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION deling.tiltaksplan_reference_problem(jsonb, text) IS
    'NULL when a tiltaksplan''s reference to a diagnosis or an assessment (service, source key, display) is valid, else what is wrong';

-- tiltaksplan_source_system: a referenced record's source system as it is
-- stored: the plan's own when the reference names none, without deling's
-- NamingSystem prefix when a FHIR sender wrote it as an identifier system
CREATE FUNCTION deling.tiltaksplan_source_system(ref jsonb, plan_source_system text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT CASE WHEN starts_with(s, deling.fhir_constant('system.source'))
                    THEN substr(s, length(deling.fhir_constant('system.source')) + 1) ELSE s END
        FROM (SELECT coalesce(nullif(ref->>'source_system', ''), plan_source_system) AS s) x);
END
$$;
COMMENT ON FUNCTION deling.tiltaksplan_source_system(jsonb, text) IS
    'The source system of a record a tiltaksplan references, as stored (the plan''s own when none is named)';

-- tiltaksplan_problem: the plan's own checks after its fields' (the
-- declaration's "check"): its period, its references, its activities
CREATE FUNCTION deling.tiltaksplan_problem(item jsonb) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad text;
    el jsonb;
    pos bigint;
    refs jsonb := item->'addresses';
    acts jsonb := item->'activities';
BEGIN
    IF deling.iso_date(item->>'period_end') < deling.iso_date(item->>'period_start') THEN
        RETURN format('period_end %s is before period_start %s', item->>'period_end', item->>'period_start');
    END IF;
    IF coalesce(jsonb_typeof(refs), 'null') <> 'null' THEN
        IF jsonb_typeof(refs) <> 'array' THEN
            RETURN 'addresses must be an array of references ({"service", "source_system", "source_id", "display"})';
        END IF;
        IF jsonb_array_length(refs) > 50 THEN
            RETURN format('addresses has %s references; a plan has at most 50', jsonb_array_length(refs));
        END IF;
        FOR el, pos IN SELECT * FROM jsonb_array_elements(refs) WITH ORDINALITY LOOP
            bad := deling.tiltaksplan_reference_problem(el, format('addresses[%s]', pos - 1));
            IF bad IS NOT NULL THEN
                RETURN bad;
            END IF;
        END LOOP;
        SELECT format('addresses[%s] names the same record as addresses[%s]', o - 1, first - 1) INTO bad
        FROM (SELECT o, min(o) OVER (PARTITION BY r->>'service', deling.tiltaksplan_source_system(r, item->>'source_system'), r->>'source_id') AS first
              FROM jsonb_array_elements(refs) WITH ORDINALITY x(r, o)) d
        WHERE o > first ORDER BY o LIMIT 1;
        IF bad IS NOT NULL THEN
            RETURN bad;
        END IF;
    END IF;
    IF coalesce(jsonb_typeof(acts), 'null') <> 'null' THEN
        IF jsonb_typeof(acts) <> 'array' THEN
            RETURN 'activities must be an array of activity objects';
        END IF;
        IF jsonb_array_length(acts) > 100 THEN
            RETURN format('activities has %s activities; a plan has at most 100', jsonb_array_length(acts));
        END IF;
        FOR el, pos IN SELECT * FROM jsonb_array_elements(acts) WITH ORDINALITY LOOP
            bad := deling.tiltaksplan_activity_problem(el, format('activities[%s]', pos - 1));
            IF bad IS NOT NULL THEN
                RETURN bad;
            END IF;
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION deling.tiltaksplan_problem(jsonb) IS
    'The tiltaksplan''s own item check (after its fields''): period_end not before period_start, every reference and every activity';

-- tiltaksplan_addresses / tiltaksplan_activities: a checked plan's
-- references and activities as they are stored (nulls dropped; each
-- reference with its source system and that system's FHIR identifier
-- system, which the read's template writes)
CREATE FUNCTION deling.tiltaksplan_addresses(refs jsonb, plan_source_system text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                   'service', r->>'service', 'source_system', s, 'source_id', r->>'source_id',
                   'display', nullif(btrim(r->>'display'), ''), 'system', deling.fhir_source_system(s))) ORDER BY o), '[]')
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(refs) = 'array' THEN refs ELSE '[]' END) WITH ORDINALITY x(r, o),
             LATERAL (SELECT deling.tiltaksplan_source_system(r, plan_source_system) AS s) y);
END
$$;
COMMENT ON FUNCTION deling.tiltaksplan_addresses(jsonb, text) IS
    'A tiltaksplan''s references as stored: service, source key and display, and the identifier system of the source key';

CREATE FUNCTION deling.tiltaksplan_activities(acts jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(a) ORDER BY o), '[]')
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(acts) = 'array' THEN acts ELSE '[]' END) WITH ORDINALITY x(a, o));
END
$$;
COMMENT ON FUNCTION deling.tiltaksplan_activities(jsonb) IS 'A tiltaksplan''s activities as stored (nulls dropped)';

GRANT EXECUTE ON FUNCTION deling.tiltaksplan_activity_problem(jsonb, text), deling.tiltaksplan_reference_problem(jsonb, text),
    deling.tiltaksplan_source_system(jsonb, text), deling.tiltaksplan_problem(jsonb),
    deling.tiltaksplan_addresses(jsonb, text), deling.tiltaksplan_activities(jsonb)
    TO deling_integrasjon, deling_admin;

-- tiltaksplan_synthetic_items: valid ingest items for the synthetic
-- citizens (make demo, the security suite, make bench): a current plan for
-- each pid and, for every third, an earlier completed or revoked one; two to
-- four measures each from a catalogue of everyday home-care measures.  The
-- same seed gives the same items (dates count from today).
CREATE FUNCTION deling.tiltaksplan_synthetic_items(kommune_nr text, pids text[], seed integer) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH measure (m, code, text, description, kind, frequency, period, period_unit, "when", performer) AS (VALUES
        -- SNOMED CT 359962006 Turning patient in bed (procedure); 39857003 Weighing
        -- patient (procedure); 18629005 Administration of drug or medicament (procedure)
        (1, '359962006', 'Snu pasienten i sengen', 'Snu hver 2. time, også om natten. Observer huden over hofter og hæler.',
         'ServiceRequest', 1, 2, 'h', NULL, 'Hjemmesykepleien'),
        (2, '39857003', 'Vekt ukentlig', 'Veies hver mandag før frokost, samme vekt.', 'ServiceRequest', 1, 1, 'wk', NULL,
         'Hjemmesykepleien'),
        (3, '18629005', 'Medisinhjelp morgen og kveld', 'Multidose fra apotek. Se til at tablettene svelges.', NULL, 2, 1, 'd',
         '["MORN", "EVE"]', 'Hjemmesykepleien'),
        (4, NULL, 'Hjelp til dusj', 'Hjelp til dusj og hårvask, tirsdag og fredag.', NULL, 2, 1, 'wk', NULL, 'Hjemmehjelpen'),
        (5, NULL, 'Næringsdrikk mellom måltidene', 'Tilby næringsdrikk kl. 10 og kl. 14.', 'NutritionOrder', 2, 1, 'd', NULL,
         'Hjemmesykepleien'),
        (6, NULL, 'Tilsyn om natten', 'Kort tilsyn, ikke vekk bruker om hun sover.', NULL, 1, 1, 'd', '["NIGHT"]',
         'Nattpatruljen'),
        (7, NULL, 'Blodsukkermåling', 'Måle blodsukker før frokost. Ring fastlege ved verdi over 15.', NULL, 1, 1, 'd', '["MORN"]',
         'Hjemmesykepleien'),
        (8, NULL, 'Sårstell leggsår', 'Skift bandasje på venstre legg, dokumenter sårets størrelse.', NULL, 3, 1, 'wk', NULL,
         'Hjemmesykepleien'),
        (9, NULL, NULL, 'Trykkavlastende madrass i sengen. Kontroller innstilling ved hvert besøk.', 'DeviceRequest', NULL, NULL,
         NULL, NULL, NULL),
        (10, NULL, 'Gåtrening', 'Gåtrening med rullator i gangen, 10 minutter.', NULL, 2, 1, 'wk', NULL, 'Fysioterapitjenesten')),
    -- the units that carry out the measures, numbered for their orgnr (the
    -- plan's author is the home-care zone: n 0)
    performer (name, n) AS (VALUES
        ('Hjemmesykepleien', 1), ('Hjemmehjelpen', 2), ('Nattpatruljen', 3), ('Fysioterapitjenesten', 4)),
    plan (p, title, goal) AS (VALUES
        (0, 'Tiltaksplan hjemmesykepleie', 'Bo trygt hjemme med hjelp morgen og kveld'),
        (1, 'Forebygging av trykksår', 'Unngå trykksår'),
        (2, 'Ernæring', 'Stabil vekt over 55 kg'),
        (3, 'Tiltaksplan etter sykehusopphold', 'Tilbake til samme funksjonsnivå som før innleggelsen')),
    citizen AS (
        SELECT c.pid, c.n, seed::bigint * 1000003 + c.n AS h FROM unnest(pids) WITH ORDINALITY AS c(pid, n)),
    -- plan 1: the current one; plan 2 (every third citizen): an earlier one, ended
    plans AS (
        SELECT c.pid, c.n, c.h, k, k * 7 + c.h AS hk,
               CASE WHEN k = 2 THEN (ARRAY['completed', 'completed', 'revoked'])[1 + deling.synthetic_hash(c.h, 71, 3)]
                    ELSE (ARRAY['active', 'active', 'active', 'active', 'active', 'active', 'active', 'on-hold', 'draft', 'active'])
                         [1 + deling.synthetic_hash(c.h, 72, 10)] END AS status,
               CASE WHEN k = 2 THEN current_date - 400 - deling.synthetic_hash(c.h, 73, 300)
                    ELSE current_date - 7 - deling.synthetic_hash(c.h, 74, 360) END AS start,
               1 + deling.synthetic_hash(c.h, 75, 9) AS zone
        FROM citizen c, generate_series(1, 2) k
        WHERE k = 1 OR deling.synthetic_hash(c.h, 70, 3) = 0),
    acts AS (
        SELECT pl.pid, pl.k, jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                   'code', me.code, 'text', me.text, 'description', me.description, 'kind', me.kind,
                   'status', CASE WHEN pl.status IN ('completed', 'revoked') THEN (ARRAY['completed', 'stopped'])[1 + deling.synthetic_hash(pl.hk, j, 2)]
                                  WHEN pl.status = 'draft' THEN 'not-started'
                                  WHEN pl.status = 'on-hold' THEN 'on-hold'
                                  ELSE (ARRAY['in-progress', 'in-progress', 'in-progress', 'scheduled'])[1 + deling.synthetic_hash(pl.hk, j, 4)] END,
                   'frequency', me.frequency, 'period', me.period, 'period_unit', me.period_unit, 'when', me."when"::jsonb,
                   'start', CASE WHEN j = 1 THEN to_char(pl.start, 'YYYY-MM-DD') END,
                   'performer_name', CASE WHEN me.performer IS NOT NULL THEN me.performer || ' ' || pl.zone END,
                   'performer_orgnr', CASE WHEN me.performer IS NOT NULL
                                           THEN deling.synthetic_orgnr(((kommune_nr::int % 10000) * 100 + pf.n * 10 + pl.zone) % 100000) END))
                   ORDER BY j) AS activities
        FROM plans pl
        CROSS JOIN LATERAL generate_series(1, 2 + deling.synthetic_hash(pl.hk, 76, 3)) j
        JOIN measure me ON me.m = 1 + (deling.synthetic_hash(pl.hk, 77, 10) + (j - 1) * 3) % 10
        LEFT JOIN performer pf ON pf.name = me.performer
        GROUP BY pl.pid, pl.k)
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'pid', pl.pid,
               'source_system', 'synthetic',
               'source_id', format('tiltaksplan-%s-%s-%s', seed, pl.pid, pl.k),
               'status', pl.status,
               'title', pr.title,
               'description', 'Tiltak avtalt med bruker og pårørende.',
               'period_start', to_char(pl.start, 'YYYY-MM-DD'),
               'period_end', CASE WHEN pl.k = 2 THEN to_char(pl.start + 60 + deling.synthetic_hash(pl.hk, 78, 200), 'YYYY-MM-DD')
                                  WHEN deling.synthetic_hash(pl.hk, 79, 4) = 0 THEN to_char(current_date + 90, 'YYYY-MM-DD') END,
               'unit_name', 'Hjemmetjenesten sone ' || pl.zone,
               'unit_orgnr', deling.synthetic_orgnr(((kommune_nr::int % 10000) * 100 + pl.zone) % 100000),
               'goal', pr.goal,
               'activities', a.activities)) ORDER BY pl.n, pl.k), '[]')
    FROM plans pl
    JOIN acts a ON a.pid = pl.pid AND a.k = pl.k
    JOIN plan pr ON pr.p = deling.synthetic_hash(pl.hk, 80, 4);
$$;
COMMENT ON FUNCTION deling.tiltaksplan_synthetic_items(text, text[], integer) IS
    'Synthetic tiltaksplan ingest items for citizens of a kommune (the declaration''s "synthetic"): deterministic by seed, dates counted from today';
GRANT EXECUTE ON FUNCTION deling.tiltaksplan_synthetic_items(text, text[], integer) TO deling_admin;

SELECT deling.declare_service($decl$
{
  "code": "tiltaksplan",
  "name": "Tiltaksplan",
  "description": "The plan of measures agreed for a citizen: what is done, how often, by which unit, from when to when, and why (FHIR CarePlan)",
  "table": "tiltaksplan",
  "record_id": "plan_id",
  "fields": [
    {"name": "status", "type": "text", "required": true,
     "enum": ["draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"]},
    {"name": "title", "type": "text", "required": true, "max_length": 200},
    {"name": "description", "type": "text", "max_length": 2000},
    {"name": "period_start", "type": "date", "required": true},
    {"name": "period_end", "type": "date"},
    {"name": "created", "type": "timestamptz", "not_future": true},
    {"name": "unit_name", "type": "text", "max_length": 200},
    {"name": "unit_orgnr", "type": "orgnr"},
    {"name": "goal", "type": "text", "max_length": 1000},
    {"name": "addresses", "type": "jsonb", "default": "[]",
     "ingest": "deling.tiltaksplan_addresses(item->'addresses', item->>'source_system')"},
    {"name": "activities", "type": "jsonb", "default": "[]",
     "ingest": "deling.tiltaksplan_activities(item->'activities')"}
  ],
  "check": "deling.tiltaksplan_problem",
  "status": {"column": "status", "withdrawn": "entered-in-error"},
  "order": [{"column": "period_start", "desc": true}],
  "ingest": {
    "item_param": "plan",
    "batch_param": "plans",
    "label": "Tiltaksplan",
    "report": [{"key": "status", "column": "status"}, {"key": "version", "column": "version"}],
    "comments": {
      "item": "Record one tiltaksplan (plan of measures) of a citizen (integrations).\nstatus is a FHIR request-status (draft, active, on-hold, revoked, completed, unknown; entered-in-error withdraws the plan); activities an array of {code (SNOMED CT), text, description, status, kind, frequency, period, period_unit, when, start, end, performer_name, performer_orgnr}; addresses the diagnoses (service diagnoser) and assessments (service kartlegginger) it rests on, by their source keys. Re-sending the same source_system + source_id is a no-op; changed values amend the plan and keep the old version. Returns the result (created, amended, unchanged), plan_id, status and version.",
      "batch": "Record a batch of tiltaksplaner (integrations), all or nothing.\nA JSON array of up to 10000 plans. If any is invalid the batch is rejected (HTTP 400, SQLSTATE 22023) with a per-item report in details and nothing is written; otherwise returns a per-item report.",
      "fhir": "Record tiltaksplaner sent as a FHIR R4 Bundle of CarePlan resources (integrations), all or nothing.\nstatus, title, description, period, created, author (an Organization by orgnr identifier and display), a contained Goal's description, addresses (Condition) and supportingInfo (Observation) as references by identifier with type, activity.detail (code SNOMED CT and text, description, status, kind, scheduledTiming.repeat frequency/period/periodUnit/when/boundsPeriod or scheduledPeriod, performer by orgnr identifier and display); the source key is the CarePlan's first identifier."
    }
  },
  "read": {
    "function": "tiltaksplan",
    "paging": true,
    "max_default": 50,
    "max_limit": 1000,
    "history_param": "include_history",
    "current": "r.status IN ('draft', 'active', 'on-hold', 'unknown')",
    "comment": "The tiltaksplaner (plans of measures) of a citizen as a FHIR R4 searchset Bundle of CarePlan resources, newest period first.\nEach CarePlan (intent plan) has its status, period, author unit, goal (a contained Goal), the diagnoses it addresses and the assessments it rests on (references by identifier), and its activities (activity.detail: code, status, scheduledTiming, performer). include_history adds completed and revoked plans. max: plans per page (1-1000); Bundle.link next reads the next page.\nFor health personnel with a duty need (purpose TREAT, ETREAT or COC, attested in the token or given here), across the kommuner their organisation reaches that share tiltaksplan; integrations read their own kommune. A citizen's block withholds plans (an OperationOutcome says so); emergency access (purpose ETREAT with a reason) opens it and is flagged."
  },
  "fhir": {
    "template": {
      "resourceType": "CarePlan",
      "id": "{{plan_id}}",
      "meta": {"lastUpdated": "{{received_at|datetime}}"},
      "contained": [{"$if": "goal", "$then": {
        "resourceType": "Goal",
        "id": "goal",
        "lifecycleStatus": {"$map": "status", "$cases": {"draft": "proposed", "active": "active", "on-hold": "on-hold",
                                                         "completed": "completed", "revoked": "cancelled"},
                            "$default": "accepted"},
        "description": {"text": "{{goal}}"},
        "subject": {"reference": "urn:uuid:{{patient_id}}", "identifier": "{{pid_identifier}}"}}}],
      "identifier": [{"system": "{{source_system_uri}}", "value": "{{source_id}}"}],
      "status": "{{status}}",
      "intent": "plan",
      "title": "{{title}}",
      "description": "{{description}}",
      "subject": {"reference": "urn:uuid:{{patient_id}}", "identifier": "{{pid_identifier}}"},
      "period": {"start": "{{period_start|date}}", "end": "{{period_end|date}}"},
      "created": "{{created|datetime}}",
      "author": {"$if": "unit_orgnr",
                 "$then": {"type": "Organization", "identifier": {"system": "{{const:system.orgnr}}", "value": "{{unit_orgnr}}"},
                           "display": "{{unit_name}}"},
                 "$else": {"$if": "unit_name", "$then": {"type": "Organization", "display": "{{unit_name}}"}}},
      "addresses": [{"$each": "addresses", "$as": "a", "$template": {"$map": "a.service", "$cases": {
        "diagnoser": {"type": "Condition", "identifier": {"system": "{{a.system}}", "value": "{{a.source_id}}"}, "display": "{{a.display}}"}}}}],
      "supportingInfo": [{"$each": "addresses", "$as": "a", "$template": {"$map": "a.service", "$cases": {
        "kartlegginger": {"type": "Observation", "identifier": {"system": "{{a.system}}", "value": "{{a.source_id}}"}, "display": "{{a.display}}"}}}}],
      "goal": [{"$if": "goal", "$then": {"reference": "#goal"}}],
      "activity": [{"$each": "activities", "$as": "act", "$template": {"detail": {
        "kind": "{{act.kind}}",
        "code": {"coding": [{"$if": "act.code", "$then": {"system": "{{const:codesystem.snomed}}", "code": "{{act.code}}"}}],
                 "text": "{{act.text}}"},
        "status": "{{act.status}}",
        "scheduledTiming": {"$if": "act.frequency", "$then": {"repeat": {
          "boundsPeriod": {"start": "{{act.start|date}}", "end": "{{act.end|date}}"},
          "frequency": "{{act.frequency|integer}}", "period": "{{act.period|decimal}}", "periodUnit": "{{act.period_unit}}",
          "when": "{{act.when}}"}}},
        "scheduledPeriod": {"$if": "act.frequency", "$then": {},
                            "$else": {"start": "{{act.start|date}}", "end": "{{act.end|date}}"}},
        "performer": [{"$if": "act.performer_orgnr",
                       "$then": {"type": "Organization", "identifier": {"system": "{{const:system.orgnr}}", "value": "{{act.performer_orgnr}}"},
                                 "display": "{{act.performer_name}}"},
                       "$else": {"$if": "act.performer_name", "$then": {"type": "Organization", "display": "{{act.performer_name}}"}}}],
        "description": "{{act.description}}"}}}]
    }
  },
  "fhir_in": {
    "resource": "CarePlan",
    "subject": "subject",
    "map": {
      "status": "$.status",
      "title": "$.title",
      "description": "$.description",
      "period_start": {"path": "$.period.start", "date": true},
      "period_end": {"path": "$.period.end", "date": true},
      "created": "$.created",
      "unit_name": "$.author.display",
      "unit_orgnr": "$.author.identifier ? (@.system == \"urn:oid:2.16.578.1.12.4.1.4.101\").value",
      "goal": "$.contained[*] ? (@.resourceType == \"Goal\").description.text",
      "addresses": {"path": "$.keyvalue() ? (@.key == \"addresses\" || @.key == \"supportingInfo\").value[*]",
                    "each": {"service": {"path": "$.type", "values": {"Condition": "diagnoser", "Observation": "kartlegginger"}},
                             "source_system": "$.identifier.system",
                             "source_id": "$.identifier.value",
                             "display": "$.display"}},
      "activities": {"path": "$.activity[*].detail",
                     "each": {"code": "$.code.coding[*] ? (@.system == \"http://snomed.info/sct\").code",
                              "text": "$.code.text",
                              "description": "$.description",
                              "status": "$.status",
                              "kind": "$.kind",
                              "frequency": "$.scheduledTiming.repeat.frequency",
                              "period": "$.scheduledTiming.repeat.period",
                              "period_unit": "$.scheduledTiming.repeat.periodUnit",
                              "when": {"path": "$.scheduledTiming.repeat.when[*]", "all": true},
                              "start": {"path": "$.keyvalue() ? (@.key == \"scheduledPeriod\" || @.key == \"scheduledTiming\").value.**{0 to 2}.start", "date": true},
                              "end": {"path": "$.keyvalue() ? (@.key == \"scheduledPeriod\" || @.key == \"scheduledTiming\").value.**{0 to 2}.end", "date": true},
                              "performer_name": "$.performer[0].display",
                              "performer_orgnr": "$.performer[0].identifier ? (@.system == \"urn:oid:2.16.578.1.12.4.1.4.101\").value"}}
    }
  },
  "summary": {
    "position": 40,
    "current": true,
    "max": 20,
    "label": "tiltaksplan",
    "describes": "the current plans of measures (CarePlan with their activities)"
  },
  "synthetic": "deling.tiltaksplan_synthetic_items"
}
$decl$::jsonb);
