-- ---------------------------------------------------------------------------
-- 72 diagnoser: the diagnoses a kommune records for a citizen, coded in
-- ICPC-2 (primary care), ICD-10 (the Norwegian edition) or SNOMED CT, shared
-- as FHIR R4 Condition (problem-list-item).  Declared once
-- (deling.declare_service); what is the service's own is here: when a
-- diagnosis began, abated and was recorded (a FHIR date or dateTime), the
-- cross-field check, the FHIR Bundle's codings, and its synthetic data.
-- The code systems' structure checks, canonical forms, chapters, system
-- URIs and blocks on a code or chapter are src/codes.c (31_code_systems).
-- docs/services/diagnoser.md describes the service.
-- ---------------------------------------------------------------------------

-- diagnoser_when: a FHIR date or dateTime as diagnoser stores it (NULL when
-- it is neither): a calendar date YYYY-MM-DD as it is, a date and time with
-- a UTC offset as the instant in Norwegian time with its offset (so an
-- instant written two ways is stored once)
CREATE FUNCTION deling.diagnoser_when(v text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT CASE
            WHEN v ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN to_char(deling.iso_date(v), 'YYYY-MM-DD')
            WHEN v ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})$'
            THEN deling.fhir_datetime(deling.try_timestamptz(v)) END);
END
$$;
COMMENT ON FUNCTION deling.diagnoser_when(text) IS
    'Diagnoser: a FHIR date (YYYY-MM-DD, kept) or dateTime with a UTC offset (stored in Norwegian time with its offset); NULL for anything else';

-- diagnoser_instant: the instant a diagnoser date or dateTime names (a date:
-- its midnight in Norway), for ordering and comparing
CREATE FUNCTION deling.diagnoser_instant(v text) RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT deling.oslo_instant(deling.diagnoser_when(v)));
END
$$;
COMMENT ON FUNCTION deling.diagnoser_instant(text) IS
    'Diagnoser: the instant a FHIR date or dateTime names (a date: its midnight in Norway); NULL when it is neither';

-- diagnoser_when_problem: NULL when a field holds a FHIR date or dateTime
-- between 1900 and now, else what is wrong (named by the field)
CREATE FUNCTION deling.diagnoser_when_problem(name text, v text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT CASE
            WHEN v IS NULL THEN NULL
            WHEN deling.diagnoser_when(v) IS NULL
            THEN format('%s "%s" must be a date (YYYY-MM-DD) or an ISO 8601 date and time with a UTC offset (2026-11-20T08:15:00+01:00)',
                        name, deling.clip(v, 40))
            WHEN deling.diagnoser_instant(v) > now() + interval '5 minutes'
              OR (length(v) = 10 AND v::date > (now() AT TIME ZONE 'Europe/Oslo')::date)
            THEN format('%s %s is in the future', name, v)
            ELSE deling.date_bound_problem(name, (deling.diagnoser_instant(v) AT TIME ZONE 'Europe/Oslo')::date, 0) END);
END
$$;
COMMENT ON FUNCTION deling.diagnoser_when_problem(text, text) IS
    'Diagnoser: NULL when a value is a FHIR date or dateTime (with a UTC offset) from 1900 until now, else what is wrong';

-- diagnoser_item_check: the rules of a diagnosis no single field states (the
-- generated item check has checked each field's type, enum and length)
CREATE FUNCTION deling.diagnoser_item_check(item jsonb) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sys text := deling.code_system_key(item->>'code_system');
    code text := item->>'code';
    clinical text := item->>'clinical_status';
    bad text;
    early boolean;
BEGIN
    IF sys IS NULL THEN
        RETURN format('code_system "%s" is not one diagnoser takes: icpc-2, icd-10 or snomed-ct, or a URI of one of them '
                      '(http://hl7.org/fhir/sid/icpc-2, urn:oid:2.16.578.1.12.4.1.1.7170, http://hl7.org/fhir/sid/icd-10-no, '
                      'urn:oid:2.16.578.1.12.4.1.1.7110, http://snomed.info/sct, ...)', deling.clip(item->>'code_system', 60));
    END IF;
    bad := deling.code_problem(sys, code);
    IF bad IS NOT NULL THEN
        RETURN format('code "%s" is not a valid %s code: %s', deling.clip(code, 40),
                      CASE sys WHEN 'icpc-2' THEN 'ICPC-2' WHEN 'icd-10' THEN 'ICD-10' ELSE 'SNOMED CT' END, bad);
    END IF;
    -- ICPC-2's process codes (components 2-6: examinations, medication,
    -- results, administration, referrals) say what was done, not what the
    -- citizen has: a diagnosis is a symptom or complaint (01-29) or a
    -- diagnosis (70-99)
    IF sys = 'icpc-2' AND deling.icpc2_component(code) BETWEEN 2 AND 6 THEN
        RETURN format('code "%s" is an ICPC-2 process code (component %s), not a diagnosis: diagnoser takes symptoms and complaints (01-29) and diagnoses (70-99)',
                      deling.clip(code, 40), deling.icpc2_component(code));
    END IF;
    IF btrim(item->>'display') = '' THEN
        RETURN 'display must not be empty';
    END IF;
    IF item->>'display' ~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]' THEN
        RETURN 'display must not contain control characters';
    END IF;
    -- FHIR R4 con-3: a problem-list item has a clinical status unless it
    -- was entered in error (a withdrawal)
    IF clinical IS NULL AND item->>'verification_status' <> 'entered-in-error' THEN
        RETURN 'clinical_status is required (unless verification_status is entered-in-error)';
    END IF;
    bad := coalesce(deling.diagnoser_when_problem('onset', item->>'onset'),
                    deling.diagnoser_when_problem('abatement', item->>'abatement'),
                    deling.diagnoser_when_problem('recorded_at', item->>'recorded_at'));
    IF bad IS NOT NULL THEN
        RETURN bad;
    END IF;
    IF item->>'abatement' IS NOT NULL THEN
        -- a date against a date and time compares their days in Norway
        -- (computed first: PL/pgSQL's IF would end its condition at the
        -- CASE's own THEN)
        early := CASE WHEN length(item->>'onset') = 10 OR length(item->>'abatement') = 10
                      THEN (deling.diagnoser_instant(item->>'abatement') AT TIME ZONE 'Europe/Oslo')::date
                           < (deling.diagnoser_instant(item->>'onset') AT TIME ZONE 'Europe/Oslo')::date
                      ELSE deling.diagnoser_instant(item->>'abatement') < deling.diagnoser_instant(item->>'onset') END;
        IF early THEN
            RETURN format('abatement %s is before onset %s', item->>'abatement', item->>'onset');
        END IF;
        -- FHIR R4 con-4: an abated condition is inactive, in remission or resolved
        IF clinical IN ('active', 'recurrence', 'relapse') THEN
            RETURN format('a diagnosis with an abatement has clinical_status inactive, remission or resolved, not %s', clinical);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION deling.diagnoser_item_check(jsonb) IS
    'Diagnoser''s cross-field check: a known code system and a well-formed code in it (no ICPC-2 process codes), display text, clinical status unless entered in error, onset, abatement and recorded dates, abatement not before onset and only when no longer active';

-- diagnoser_fhir_item: one Condition's item as the generic FHIR map found
-- it, with its code from code.coding: the first coding in ICPC-2, ICD-10 or
-- SNOMED CT (any URI deling accepts for them), its display when the
-- Condition has no code.text; other codings in those systems are named
-- (a warning in the report: one code per diagnosis)
CREATE FUNCTION deling.diagnoser_fhir_item(item jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    codings jsonb := CASE WHEN jsonb_typeof(item->'_codings') = 'array' THEN item->'_codings' ELSE '[]' END;
    chosen jsonb;
    n integer;
    others text;
BEGIN
    item := item - '_codings';
    IF item ? '_problem' THEN
        RETURN item;
    END IF;
    SELECT c, o INTO chosen, n FROM jsonb_array_elements(codings) WITH ORDINALITY AS x(c, o)
    WHERE jsonb_typeof(c) = 'object' AND deling.code_system_key(c->>'system') IS NOT NULL
    ORDER BY o LIMIT 1;
    IF chosen IS NULL THEN
        RETURN item || jsonb_build_object('_problem', format('code.coding has no coding in ICPC-2, ICD-10 or SNOMED CT (systems: %s)',
            coalesce(deling.clip((SELECT string_agg(coalesce(c->>'system', 'none'), ', ') FROM jsonb_array_elements(codings) c), 200), 'no coding')));
    END IF;
    SELECT string_agg(format('%s %s', deling.code_system_key(c->>'system'), deling.clip(c->>'code', 40)), ', ' ORDER BY o) INTO others
    FROM jsonb_array_elements(codings) WITH ORDINALITY AS x(c, o)
    WHERE o <> n AND jsonb_typeof(c) = 'object' AND deling.code_system_key(c->>'system') IS NOT NULL;
    RETURN item
        || jsonb_strip_nulls(jsonb_build_object('code_system', chosen->'system', 'code', chosen->'code', '_other_codings', others))
        || CASE WHEN NOT item ? 'display' AND chosen ? 'display' THEN jsonb_build_object('display', chosen->'display') ELSE '{}' END;
END
$$;
COMMENT ON FUNCTION deling.diagnoser_fhir_item(jsonb) IS
    'Diagnoser: a Condition''s item with its code taken from the first coding in ICPC-2, ICD-10 or SNOMED CT';

-- diagnoser_items_from_fhir: diagnoser's FHIR parser: the generic map
-- (deling.fhir_items, the declaration's fhir_in.map) and the code from
-- code.coding
CREATE FUNCTION deling.diagnoser_items_from_fhir(bundle jsonb) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_agg(deling.diagnoser_fhir_item(i) ORDER BY o)
    FROM jsonb_array_elements(deling.fhir_items(bundle, 'diagnoser')) WITH ORDINALITY AS x(i, o);
$$;
COMMENT ON FUNCTION deling.diagnoser_items_from_fhir(jsonb) IS
    'Diagnoser''s FHIR parser: the items of a Bundle of Condition resources (deling.fhir_items with the declared map, the code from code.coding)';

-- diagnoser_synthetic_items: realistic diagnoses for synthetic citizens
-- (make demo, the security suite, make bench), deterministic by seed: up to
-- three per citizen, chosen by age, ICPC-2 most, ICD-10 some, SNOMED CT a
-- few; the texts as Helsedirektoratet's code lists write them.  Every date
-- lies between the citizen's birth and 2026-01-01 (or today, if earlier).
CREATE FUNCTION deling.diagnoser_synthetic_items(kommune_nr text, pids text[], seed integer) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH catalog(n, code_system, code, display, min_age, lasting) AS (VALUES
        (1, 'icpc-2', 'T90', 'Diabetes type 2', 35, true),
        (2, 'icpc-2', 'K86', 'Hypertensjon ukomplisert', 40, true),
        (3, 'icpc-2', 'R95', 'Kronisk obstruktiv lungesykdom', 45, true),
        (4, 'icpc-2', 'P70', 'Demens', 65, true),
        (5, 'icpc-2', 'K77', 'Hjertesvikt', 55, true),
        (6, 'icpc-2', 'K78', 'Atrieflimmer/flutter', 50, true),
        (7, 'icpc-2', 'P76', 'Depressiv lidelse', 16, false),
        (8, 'icpc-2', 'R96', 'Astma', 3, true),
        (9, 'icpc-2', 'U71', 'Cystitt/urinveisinfeksjon IKA', 10, false),
        (10, 'icd-10', 'E11.9', 'Diabetes mellitus type 2 uten komplikasjoner', 35, true),
        (11, 'icd-10', 'I10', 'Essensiell (primær) hypertensjon', 40, true),
        (12, 'icd-10', 'F03', 'Uspesifisert demens', 65, true),
        (13, 'icd-10', 'J44.9', 'Uspesifisert kronisk obstruktiv lungesykdom', 45, true),
        (14, 'icd-10', 'I48.9', 'Uspesifisert atrieflimmer og atrieflutter', 50, true),
        (15, 'icd-10', 'F32.1', 'Moderat depressiv episode', 16, false),
        (16, 'icd-10', 'N39.0', 'Urinveisinfeksjon med uspesifisert lokalisasjon', 10, false),
        (17, 'snomed-ct', '44054006', 'Diabetes mellitus type 2', 35, true)),
    -- hash(x): a deterministic number 0 .. 2^31-1 of the seed, citizen and x
    citizen AS (
        SELECT p.pid, p.o,
               coalesce(deling.fnr_birth_date(p.pid), date '1950-01-01') AS birth,
               least(date '2026-01-01', (now() AT TIME ZONE 'Europe/Oslo')::date) AS upto
        FROM unnest(pids) WITH ORDINALITY AS p(pid, o)
        WHERE deling.fnr_valid(p.pid)),
    picked AS (
        SELECT c.pid, c.o, c.birth, c.upto, j,
               (SELECT e.n FROM catalog e
                -- by date: an interval's months count as 30 days, so age() would
                -- let a citizen a day short of the age through
                WHERE (c.birth + make_interval(years => e.min_age))::date <= c.upto
                ORDER BY md5(format('%s:%s:%s:%s', seed, c.pid, j, e.n)) LIMIT 1) AS n,
               ('x' || substr(md5(format('%s:%s:%s:when', seed, c.pid, j)), 1, 7))::bit(28)::int AS h
        FROM citizen c, generate_series(1, 3) j
        -- 0 to 3 diagnoses a citizen
        WHERE j <= ('x' || substr(md5(format('%s:%s:count', seed, c.pid)), 1, 7))::bit(28)::int % 4),
    dated AS (
        SELECT DISTINCT ON (p.pid, e.n) p.pid, p.o, p.upto, p.h, e.code_system, e.code, e.display, e.lasting,
               -- onset: from the age the diagnosis is common at, to a month before upto
               (p.birth + make_interval(years => e.min_age))::date
                   + ((p.h % 1000) * ((p.upto - 30) - (p.birth + make_interval(years => e.min_age))::date) / 1000) AS onset
        FROM picked p JOIN catalog e ON e.n = p.n
        ORDER BY p.pid, e.n, p.j)
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'kommune_nr', kommune_nr,
               'pid', d.pid,
               'source_system', 'syntetisk-epj',
               'source_id', 'diag-' || substr(md5(format('%s:%s:%s', seed, d.pid, d.code)), 1, 16),
               'code_system', d.code_system,
               'code', d.code,
               'display', d.display,
               'clinical_status', CASE WHEN d.lasting THEN 'active' WHEN d.h % 3 = 0 THEN 'remission' ELSE 'resolved' END,
               'verification_status', CASE WHEN d.h % 10 = 7 THEN 'provisional' ELSE 'confirmed' END,
               'onset', to_char(d.onset, 'YYYY-MM-DD'),
               'abatement', CASE WHEN NOT d.lasting THEN to_char(least(d.onset + 14 + d.h % 60, d.upto), 'YYYY-MM-DD') END,
               'recorded_at', deling.fhir_datetime((least(d.onset + d.h % 20, d.upto - 1) + time '08:00'
                                                    + (d.h % 480) * interval '1 minute') AT TIME ZONE 'Europe/Oslo'),
               'recorder_hpr', CASE WHEN d.h % 2 = 0 THEN '565501872' END))
           ORDER BY d.o, d.code), '[]')
    FROM dated d;
$$;
COMMENT ON FUNCTION deling.diagnoser_synthetic_items(text, text[], integer) IS
    'DBA/tests: realistic diagnoser ingest items for synthetic citizens (0-3 each, by age), deterministic by seed';

GRANT EXECUTE ON FUNCTION
    deling.diagnoser_when(text), deling.diagnoser_instant(text), deling.diagnoser_when_problem(text, text),
    deling.diagnoser_item_check(jsonb), deling.diagnoser_fhir_item(jsonb), deling.diagnoser_items_from_fhir(jsonb)
    TO deling_integrasjon, deling_admin;
GRANT EXECUTE ON FUNCTION deling.diagnoser_synthetic_items(text, text[], integer) TO deling_admin;
-- the shared date helpers diagnoser_when and diagnoser_instant call, run as
-- the calling integration by the ingest (pure: they read no table)
GRANT EXECUTE ON FUNCTION deling.fhir_datetime(timestamptz), deling.oslo_instant(text) TO deling_integrasjon;

SELECT deling.declare_service($decl$
{
  "code": "diagnoser",
  "name": "Diagnoser",
  "description": "Diagnoses recorded by the kommune (ICPC-2, ICD-10, SNOMED CT) as FHIR Condition",
  "table": "diagnosis",
  "record_id": "diagnosis_id",
  "fields": [
    {
      "name": "code_system",
      "type": "text",
      "required": true,
      "max_length": 100,
      "ingest": "deling.code_system_key(item->>'code_system')"
    },
    {
      "name": "code",
      "type": "text",
      "required": true,
      "max_length": 40,
      "ingest": "deling.code_canonical(item->>'code_system', item->>'code')"
    },
    {
      "name": "display",
      "type": "text",
      "required": true,
      "max_length": 500
    },
    {
      "name": "clinical_status",
      "type": "text",
      "enum": ["active", "recurrence", "relapse", "inactive", "remission", "resolved"]
    },
    {
      "name": "verification_status",
      "type": "text",
      "required": true,
      "enum": ["unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"]
    },
    {
      "name": "onset",
      "type": "text",
      "required": true,
      "max_length": 40,
      "ingest": "deling.diagnoser_when(item->>'onset')"
    },
    {
      "name": "abatement",
      "type": "text",
      "max_length": 40,
      "ingest": "deling.diagnoser_when(item->>'abatement')"
    },
    {
      "name": "recorded_at",
      "type": "text",
      "required": true,
      "max_length": 40,
      "ingest": "deling.diagnoser_when(item->>'recorded_at')"
    },
    {
      "name": "recorder_hpr",
      "type": "hpr"
    },
    {
      "name": "recorded_instant",
      "type": "timestamptz",
      "internal": true,
      "compare": false,
      "ingest": "deling.diagnoser_instant(item->>'recorded_at')"
    }
  ],
  "check": "deling.diagnoser_item_check",
  "status": {
    "column": "verification_status",
    "withdrawn": "entered-in-error"
  },
  "order": [
    {
      "column": "recorded_instant",
      "desc": true
    }
  ],
  "codes": {
    "column": "code",
    "system_column": "code_system",
    "match": "prefix",
    "check": "deling.code_block_problem",
    "normalize": "deling.code_block_canonical"
  },
  "ingest": {
    "item_param": "diagnosis",
    "batch_param": "diagnoses",
    "label": "Diagnoser",
    "report": [
      {
        "key": "code_system",
        "column": "code_system"
      },
      {
        "key": "code",
        "column": "code"
      },
      {
        "key": "verification_status",
        "column": "verification_status"
      },
      {
        "key": "version",
        "column": "version"
      },
      {
        "key": "warning",
        "expr": "CASE WHEN i.item ? '_other_codings' THEN format('code.coding also has %s: a diagnosis has one code, and %s %s was recorded; send each diagnosis as its own Condition', i.item->>'_other_codings', coalesce(w.code_system, cur.code_system), coalesce(w.code, cur.code)) END"
      }
    ],
    "comments": {
      "item": "Record one diagnosis of a citizen (integrations).\ncode_system: icpc-2, icd-10 or snomed-ct, or a URI of one (http://hl7.org/fhir/sid/icpc-2, urn:oid:2.16.578.1.12.4.1.1.7170, http://hl7.org/fhir/sid/icd-10-no, urn:oid:2.16.578.1.12.4.1.1.7110, http://snomed.info/sct); code: checked against the system's structure and stored in canonical form (ICD-10 with its dot); display: the sender's text; clinical_status and verification_status as FHIR R4 Condition (entered-in-error withdraws the diagnosis); onset, abatement, recorded_at: a date or a date and time with a UTC offset; recorder_hpr: who recorded it. Re-sending the same source_system + source_id is a no-op; changed values amend it and keep the old version. Returns the result (created, amended, unchanged), diagnosis_id, the stored code and version.",
      "batch": "Record a batch of diagnoses (integrations), all or nothing.\nA JSON array of up to 10000 diagnoses. If any is invalid the batch is rejected (HTTP 400, SQLSTATE 22023) with a per-item report in details and nothing is written; otherwise returns a per-item report.",
      "fhir": "Record diagnoses sent as a FHIR R4 Bundle of Condition resources (integrations), all or nothing.\nEach Condition is one diagnosis: its first identifier the source key, subject the Patient (by identifier, or a Patient in the Bundle), code.coding the first coding in ICPC-2, ICD-10 or SNOMED CT (other codings in them are reported as a warning), code.text (or that coding's display) the text, clinicalStatus and verificationStatus (entered-in-error withdraws it), onsetDateTime, abatementDateTime, recordedDate, recorder.identifier (HPR)."
    }
  },
  "read": {
    "function": "diagnoser",
    "paging": true,
    "max_default": 50,
    "max_limit": 1000,
    "current": "r.clinical_status IN ('active', 'recurrence', 'relapse') AND r.verification_status <> 'refuted'",
    "comment": "The diagnoses of a citizen as a FHIR R4 searchset Bundle of Condition resources (category problem-list-item), most recently recorded first.\nEach Condition carries its code (ICPC-2 http://hl7.org/fhir/sid/icpc-2, ICD-10 http://hl7.org/fhir/sid/icd-10-no or SNOMED CT http://snomed.info/sct) with the sender's text, clinical and verification status, onset, abatement, recordedDate and the recorder (HPR). max: diagnoses per page (1-1000); Bundle.link next reads the next page. For health personnel with a duty need (purpose TREAT, ETREAT or COC, attested in the token or given here), across the kommuner their organisation reaches that share diagnoser; integrations read their own kommune. A citizen's block on the service, a diagnosis or a chapter withholds those diagnoses (an OperationOutcome says so); emergency access (purpose ETREAT with a reason) opens it and is flagged."
  },
  "fhir": {
    "template": {
      "resourceType": "Condition",
      "id": "{{diagnosis_id}}",
      "meta": {"lastUpdated": "{{received_at|datetime}}"},
      "identifier": [{"system": "{{source_system_uri}}", "value": "{{source_id}}"}],
      "clinicalStatus": {"$if": "clinical_status", "$then": {"coding": [
        {"system": "{{const:codesystem.condition_clinical}}", "code": "{{clinical_status}}"}]}},
      "verificationStatus": {"coding": [
        {"system": "{{const:codesystem.condition_ver_status}}", "code": "{{verification_status}}"}]},
      "category": [{"coding": [
        {"system": "{{const:codesystem.condition_category}}", "code": "problem-list-item", "display": "Problem List Item"}]}],
      "code": {
        "coding": [{"$map": "code_system", "$cases": {
          "icpc-2": {"system": "{{const:codesystem.icpc2}}", "code": "{{code}}", "display": "{{display}}"},
          "icd-10": {"system": "{{const:codesystem.icd10_no}}", "code": "{{code}}", "display": "{{display}}"},
          "snomed-ct": {"system": "{{const:codesystem.snomed}}", "code": "{{code}}", "display": "{{display}}"}}}],
        "text": "{{display}}"},
      "subject": {"reference": "urn:uuid:{{patient_id}}", "identifier": "{{pid_identifier}}"},
      "onsetDateTime": "{{onset|datetime}}",
      "abatementDateTime": "{{abatement|datetime}}",
      "recordedDate": "{{recorded_at|datetime}}",
      "recorder": {"$if": "recorder_hpr", "$then": {"type": "Practitioner",
        "identifier": {"system": "{{const:system.hpr}}", "value": "{{recorder_hpr}}"}}}
    }
  },
  "fhir_in": {
    "parser": "deling.diagnoser_items_from_fhir",
    "resource": "Condition",
    "subject": "subject",
    "map": {
      "_codings": {"path": "$.code.coding[*]", "all": true},
      "display": "$.code.text",
      "clinical_status": "$.clinicalStatus.coding[*] ? (@.system == \"http://terminology.hl7.org/CodeSystem/condition-clinical\").code",
      "verification_status": "$.verificationStatus.coding[*] ? (@.system == \"http://terminology.hl7.org/CodeSystem/condition-ver-status\").code",
      "onset": "$.onsetDateTime",
      "abatement": "$.abatementDateTime",
      "recorded_at": "$.recordedDate",
      "recorder_hpr": "$.recorder.identifier ? (@.system == \"urn:oid:2.16.578.1.12.4.1.4.4\").value"
    }
  },
  "summary": {
    "position": 30,
    "current": true,
    "label": "diagnoses",
    "describes": "the current diagnoses (Condition: clinical status active, recurrence or relapse, not refuted)"
  },
  "synthetic": "deling.diagnoser_synthetic_items"
}
$decl$::jsonb);
