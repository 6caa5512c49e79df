-- ---------------------------------------------------------------------------
-- 31 code systems: structure checks for the codes diagnoses come in (ICPC-2,
-- ICD-10 as written in Norway, SNOMED CT concept ids), their canonical
-- forms, chapters and FHIR system URIs, and a citizen's block on one code
-- or a chapter of codes (C, src/codes.c).  A system is named by its short
-- name (icpc-2, icd-10, snomed-ct) or any URI deling accepts for it.
-- ---------------------------------------------------------------------------

CREATE FUNCTION deling.code_problem(system text, code text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_code_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.code_problem(text, text) IS
    'NULL when the code is well-formed in the code system (icpc-2, icd-10, snomed-ct or one of their URIs), else what is wrong with it';

CREATE FUNCTION deling.icpc2_problem(code text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_icpc2_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.icpc2_problem(text) IS
    'NULL for a well-formed ICPC-2 code (one of the 17 chapter letters and 01-99, a Norwegian fourth digit, or a process code -30 to -69), else the problem';

CREATE FUNCTION deling.icd10_problem(code text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_icd10_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.icd10_problem(text) IS
    'NULL for a well-formed ICD-10 code as the Norwegian edition writes it (with or without the dot; in a WHO chapter), else the problem';

CREATE FUNCTION deling.snomed_problem(code text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_snomed_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.snomed_problem(text) IS
    'NULL for a well-formed SNOMED CT concept id (6-18 digits, Verhoeff check digit, partition 00 or 10), else the problem';

CREATE FUNCTION deling.code_canonical(system text, code text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_code_canonical' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.code_canonical(text, text) IS
    'The form deling stores and sends a code in: ICD-10 with its dot (F32.1), capital chapter letters, the Norwegian edition''s letters in lower case (I21.0a); NULL when malformed';

CREATE FUNCTION deling.icd10_canonical(code text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_icd10_canonical' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.icd10_canonical(text) IS 'An ICD-10 code in canonical form: F321 and f32.1 become F32.1; NULL when malformed';

CREATE FUNCTION deling.code_chapter(system text, code text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_code_chapter' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.code_chapter(text, text) IS
    'The chapter of a code: the ICPC-2 chapter letter, the ICD-10 chapter''s range (F00-F99); NULL for SNOMED CT (no chapters), a process code without a chapter (-30) and a malformed code';

CREATE FUNCTION deling.icpc2_component(code text) RETURNS integer
    AS 'MODULE_PATHNAME', 'deling_icpc2_component' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.icpc2_component(text) IS
    'The ICPC-2 component of a code: 1 symptoms and complaints (01-29), 2-6 process codes (30-69), 7 diagnoses (70-99); NULL when malformed';

CREATE FUNCTION deling.code_system_key(system text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_code_system_key' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.code_system_key(text) IS
    'icpc-2, icd-10 or snomed-ct for a short name (any case) or a URI deling accepts (FHIR sid URIs, the Volven OIDs 7170 and 7110, the HL7 OIDs); NULL when unknown';

CREATE FUNCTION deling.code_system_uri(system text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_code_system_uri' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.code_system_uri(text) IS
    'The FHIR Coding.system deling sends for a code system: http://hl7.org/fhir/sid/icpc-2, http://hl7.org/fhir/sid/icd-10-no, http://snomed.info/sct; 22023 when unknown';

CREATE FUNCTION deling.code_block_problem(block text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_code_block_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.code_block_problem(text) IS
    'NULL for a well-formed block on codes (<system>:<code>, <system>:<chapter letter>, icd-10:<category>-<category>), else the problem, for a 22023 message';

CREATE FUNCTION deling.code_block_canonical(block text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_code_block_canonical' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.code_block_canonical(text) IS
    'A block on codes as it is stored: short system name, canonical code or chapter (ICD-10:f321 becomes icd-10:F32.1); NULL when malformed';

CREATE FUNCTION deling.code_block_matches(block text, system text, code text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'deling_code_block_matches' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.code_block_matches(text, text, text) IS
    'True when a citizen''s block covers a code: the code itself or one of its subdivisions (icd-10:F32 covers F32.1), its chapter letter, its ICD-10 range; a code that does not parse is covered by every block of its system; a malformed block raises 22023';

CREATE FUNCTION deling.code_blocks_match(blocks text[], system text, code text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'deling_code_blocks_match' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.code_blocks_match(text[], text, text) IS
    'True when any of the blocks covers the code (as deling.code_block_matches; NULL elements skipped): one call per row read';

-- pure helpers: every role that checks or reads codes
GRANT EXECUTE ON FUNCTION
    deling.code_problem(text, text), deling.icpc2_problem(text), deling.icd10_problem(text), deling.snomed_problem(text),
    deling.code_canonical(text, text), deling.icd10_canonical(text), deling.code_chapter(text, text),
    deling.icpc2_component(text), deling.code_system_key(text), deling.code_system_uri(text),
    deling.code_block_problem(text), deling.code_block_canonical(text),
    deling.code_block_matches(text, text, text), deling.code_blocks_match(text[], text, text)
    TO deling_admin, deling_anon, deling_helsepersonell, deling_integrasjon, deling_innbygger, deling_kpr;
