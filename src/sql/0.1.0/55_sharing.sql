-- ---------------------------------------------------------------------------
-- 55 sharing: the one gate every sharing-service read passes through, and
-- FHIR building blocks shared by the services.  The duty-need check, the
-- citizen's blocks and the access log attach to deling.sharing_gate().
-- ---------------------------------------------------------------------------

-- emergency_reason: the reason given for emergency access, from the
-- argument or the token's decision_ref description; NULL when none.
CREATE FUNCTION deling.emergency_reason(reason text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(nullif(btrim(reason), ''),
                    nullif(btrim(nullif(current_setting('deling.ctx_decision_ref'), '')::jsonb->>'description'), ''));
$$;

-- is_emergency: whether this read is emergency access (ETREAT), which may
-- open a citizen's block and is flagged for review.
CREATE FUNCTION deling.is_emergency(purpose text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.ctx_kind() = 'person'
       AND coalesce(nullif(current_setting('deling.ctx_purpose'), ''), purpose) = 'ETREAT';
$$;

-- refuse_read: write a refused read to the access log, then raise the
-- refusal.  Every refusal of every read goes through it, so none is raised
-- without its log entry (the values it logs are bounded by log_access).
CREATE FUNCTION deling.refuse_read(service text, pid text, kommuner text[], purpose text, reason text,
                                   code text, msg text, hint text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM deling.log_access(service, pid, kommuner, purpose, reason, false, msg, 0);
    IF hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg;
    END IF;
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, HINT = hint;
END
$$;
COMMENT ON FUNCTION deling.refuse_read(text, text, text[], text, text, text, text, text) IS
    'Internal: log a refused sharing read, then raise it (every refusal of every read is logged)';

-- sharing_gate: may the caller read this citizen through this service, and
-- from which kommuner?  Every refusal is written to the access log before
-- it is raised (42501 naming what is missing, 22023 for a bad argument).
-- Returns the kommuner to read (never empty unless require_reach is false,
-- for reads that combine services).  No log, no read: while the access log
-- cannot take entries, every read is refused (55000).
CREATE FUNCTION deling.sharing_gate(service text, pid text, purpose text, reason text DEFAULT NULL,
                                    require_reach boolean DEFAULT true) RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kind      text := deling.ctx_kind();
    attested  text := nullif(current_setting('deling.ctx_purpose'), '');
    parent    text := nullif(current_setting('deling.ctx_orgnr_parent'), '');
    child     text := nullif(current_setting('deling.ctx_orgnr_child'), '');
    kommuner  text[] := deling.reach_for(service);
    code      text;
    msg       text;
    hint      text;
BEGIN
    IF NOT EXISTS (SELECT FROM deling.service s WHERE s.service_code = sharing_gate.service AND s.available) THEN
        RAISE EXCEPTION 'unknown sharing service "%"', deling.clip(service, 40) USING ERRCODE = '22023';
    END IF;
    PERFORM deling.access_log_check();
    IF kind = 'person' THEN
        IF nullif(current_setting('deling.ctx_hpr'), '') IS NULL THEN
            code := '42501'; msg := 'sharing services are for health personnel: the token has no HPR number';
        ELSIF child IS NOT NULL AND child <> parent AND deling.token_organisation(parent, child) IS NULL THEN
            code := '42501'; msg := format('organisation %s (orgnr_child) is not registered under %s (orgnr_parent)', child, parent);
            hint := 'The DBA registers a unit under its legal entity with deling.add_organisation or deling.set_organisation_parent.';
        ELSIF attested IS NULL AND purpose IS NULL THEN
            code := '42501'; msg := 'a purpose of use is required: TREAT, ETREAT or COC';
            hint := 'Attest it in the token (Tillitsrammeverk), or pass the purpose argument when the token has none.';
        ELSIF attested IS NOT NULL AND purpose IS NOT NULL AND purpose <> attested THEN
            code := '42501'; msg := format('purpose %s differs from the purpose %s attested in the token', deling.clip(purpose, 20), attested);
        ELSIF coalesce(attested, purpose) NOT IN ('TREAT', 'ETREAT', 'COC') THEN
            code := '22023'; msg := format('purpose of use "%s" is not TREAT, ETREAT or COC', deling.clip(purpose, 20));
        ELSIF length(reason) > 1000 THEN
            code := '22023'; msg := format('reason is longer than 1000 characters (%s)', length(reason));
        ELSIF coalesce(attested, purpose) = 'ETREAT' AND deling.emergency_reason(reason) IS NULL THEN
            code := '42501'; msg := 'emergency access (ETREAT) needs a reason';
            hint := 'Give it in the token''s decision_ref description or as the reason argument; it is logged and reviewed.';
        END IF;
    ELSIF kind = 'citizen' THEN
        code := '42501'; msg := 'sharing services are for health personnel and integrations, not the citizen''s channel';
    ELSIF kind = 'kpr' THEN
        code := '42501'; msg := 'sharing services are for health personnel and integrations, not KPR reporting';
    ELSIF deling.current_kommune() IS NULL THEN
        code := '42501'; msg := 'no caller context: sharing services need a verified token';
        hint := 'Call through PostgREST with a bearer token, or run deling.authenticate(token) first.';
    END IF;
    IF code IS NULL AND pid IS NULL THEN
        code := '22023'; msg := 'pid is required';
    ELSIF code IS NULL AND deling.fnr_problem(pid) IS NOT NULL THEN
        code := '22023'; msg := format('invalid identity number "%s": %s', deling.clip(pid, 20), deling.fnr_problem(pid));
    END IF;
    IF code IS NULL AND kommuner = '{}' AND require_reach THEN
        code := '42501'; msg := format('your organisation reaches no kommune that shares through "%s"', service);
    END IF;
    IF code IS NOT NULL THEN
        PERFORM deling.refuse_read(service, pid, kommuner, purpose, reason, code, msg, hint);
    END IF;
    RETURN kommuner;
END
$$;
COMMENT ON FUNCTION deling.sharing_gate(text, text, text, text, boolean) IS
    'The single gate of every sharing-service read: caller, purpose of use, citizen, reach; returns the kommuner to read';

-- fhir_datetime: a FHIR dateTime/instant in Norwegian local time with its
-- offset (C: every resource has one or two).
CREATE FUNCTION deling.fhir_datetime(ts timestamptz) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_fhir_datetime' LANGUAGE C STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fhir_datetime(timestamptz) IS
    'A FHIR dateTime in Norwegian local time with its UTC offset, e.g. 2026-11-20T08:00:00+01:00 (NULL for infinity)';

-- fhir_pid_identifier: the FHIR identifier of an identity number (no-basis
-- systems; an H-nummer, which has no national system, in the platform's
-- NamingSystem with no-basis's type HNR of code system 8327, as src/fhir.c
-- writes it); NULL for NULL.
CREATE FUNCTION deling.fhir_pid_identifier(pid text) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN pid IS NOT NULL THEN jsonb_build_object('system', CASE deling.fnr_kind(pid)
               WHEN 'fnr' THEN 'urn:oid:2.16.578.1.12.4.1.4.1'
               WHEN 'dnr' THEN 'urn:oid:2.16.578.1.12.4.1.4.2'
               WHEN 'fhnr' THEN 'urn:oid:2.16.578.1.12.4.1.4.3'
               ELSE 'https://deling.nhn.no/fhir/NamingSystem/h-nummer' END,
           'value', pid)
        || CASE WHEN deling.fnr_kind(pid) = 'hnr' THEN jsonb_build_object('type', jsonb_build_object('coding', jsonb_build_array(
               jsonb_build_object('system', 'urn:oid:2.16.578.1.12.4.1.1.8327', 'code', 'HNR')))) ELSE '{}' END END;
$$;

-- fhir_patient_id: one stable Patient id per person, whichever kommune
-- holds them: the random UUID of the person's earliest registration in
-- deling.patient_index (never derived from the number).  P0002 for a
-- person in no kommune the caller reaches.
CREATE FUNCTION deling.fhir_patient_id(pid text) RETURNS uuid
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    id uuid;
BEGIN
    IF EXISTS (SELECT FROM deling.citizen c WHERE c.pid = fhir_patient_id.pid) THEN
        SELECT i.patient_id INTO id FROM deling.patient_index i WHERE i.pid = fhir_patient_id.pid
        ORDER BY i.registered_at, i.kommune_nr LIMIT 1;
    END IF;
    IF id IS NULL THEN
        RAISE EXCEPTION 'no Patient id: the person is not a citizen of a kommune this caller reaches' USING ERRCODE = 'P0002';
    END IF;
    RETURN id;
END
$$;

-- fhir_name_uuid: the RFC 4122 name-based UUID (version 3, MD5, section
-- 4.3) of a name in the platform's namespace
-- 0341a34c-8e55-435b-8c4b-1ad6c95f9cdb, as src/fhir.c computes it: ids of
-- resources derived from stored rows (a kommune's unit, a measurement's
-- vital signs), stable across reads.  Not for persons (deling.patient_index).
CREATE FUNCTION deling.fhir_name_uuid(name text) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (substr(h, 1, 12) || '3' || substr(h, 14, 3)
            || substr('89ab89ab89ab89ab', ('x' || substr(h, 17, 1))::bit(4)::integer + 1, 1) || substr(h, 18))::uuid
    FROM (SELECT md5('\x0341a34c8e55435b8c4b1ad6c95f9cdb'::bytea || convert_to(name, 'UTF8')) AS h) x;
$$;

-- fhir_patient: the no-basis Patient for a citizen, from the kommuner given.
CREATE FUNCTION deling.fhir_patient(pid text, kommuner text[]) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- PL/pgSQL, so the plan is cached per session
    RETURN (SELECT jsonb_strip_nulls(jsonb_build_object(
        'resourceType', 'Patient',
        'id', deling.fhir_patient_id(fhir_patient.pid),
        'meta', jsonb_build_object('profile', jsonb_build_array('http://hl7.no/fhir/StructureDefinition/no-basis-Patient')),
        'identifier', jsonb_build_array(deling.fhir_pid_identifier(fhir_patient.pid)),
        'name', CASE WHEN c.family_name IS NOT NULL OR c.given_name IS NOT NULL THEN
                    jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('family', c.family_name,
                        'given', CASE WHEN c.given_name IS NOT NULL THEN jsonb_build_array(c.given_name) END))) END,
        'gender', c.sex,
        'birthDate', to_char(coalesce(c.birth_date, deling.fnr_birth_date(fhir_patient.pid)), 'YYYY-MM-DD')))
    FROM (SELECT NULL) dummy
    LEFT JOIN LATERAL (
        SELECT * FROM deling.citizen c WHERE c.kommune_nr = ANY (kommuner) AND c.pid = fhir_patient.pid
        ORDER BY c.updated_at DESC LIMIT 1) c ON true);
END
$$;

-- fhir_bundle: a Bundle (searchset with total, or collection) from entries
-- (each {resource, mode}) and links (deling.fhir_link); an OperationOutcome about withheld or
-- emergency-opened information becomes an entry, and withheld information
-- also marks the Bundle REDACTED.  No entry array when there are none (FHIR
-- JSON has no empty arrays).  In C (src/fhir.c): building it in SQL made
-- five passes over the whole Bundle, at microseconds per kilobyte each.
CREATE FUNCTION deling.fhir_bundle(type text, entries jsonb, matches integer, outcome jsonb DEFAULT NULL,
                                   links jsonb DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'deling_fhir_bundle' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
-- fhir_bundle_parts: the same from the entries of several arrays in order,
-- as if concatenated first (without the copies of the growing entries that
-- || makes).  Its own name: an overload would make calls with untyped
-- literals ambiguous.
CREATE FUNCTION deling.fhir_bundle_parts(type text, parts jsonb[], matches integer, outcome jsonb DEFAULT NULL) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'deling_fhir_bundle_parts' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;

-- url_encode: percent-encoding (RFC 3986) of every byte of the UTF-8 text
-- but the unreserved characters A-Z a-z 0-9 - . _ ~ (so + is %2B).
CREATE FUNCTION deling.url_encode(v text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(string_agg(CASE WHEN c ~ '^[A-Za-z0-9._~-]$' THEN c
                                    ELSE regexp_replace(upper(encode(convert_to(c, 'UTF8'), 'hex')), '(..)', '%\1', 'g') END,
                               '' ORDER BY o), '')
    FROM regexp_split_to_table(v, '') WITH ORDINALITY AS t(c, o);
$$;

-- fhir_link: a Bundle.link, {relation, url}, whose url is the PostgREST
-- RPC URL of a read function relative to the API root (rpc/<fn>?a=1&b=2)
-- with the arguments given as name, value pairs (NULL values left out),
-- URL-encoded, in the order given.  Following it repeats the read.
CREATE FUNCTION deling.fhir_link(relation text, fn text, args text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_build_object('relation', relation, 'url', 'rpc/' || fn || coalesce('?' || string_agg(
               args[i] || '=' || deling.url_encode(args[i + 1]), '&' ORDER BY i), ''))
    FROM generate_series(1, coalesce(cardinality(args), 0), 2) i
    WHERE args[i + 1] IS NOT NULL;
$$;
