-- ---------------------------------------------------------------------------
-- 05 FHIR output as json, written once (issue 19, machinery-spec section 2):
-- the FHIR constants defined once (src/fhir_constants.h), the one JSON
-- writer (src/json_writer.c: text exactly as jsonb::text prints the same
-- value, so switching a read from a jsonb builder changes no byte), the
-- renderers of the two services' entries, the Patient, a unit's
-- Organization and the Bundle, and the template engine of new services.
-- The 0.1.0 jsonb builders stay until the reads are switched to these.
-- ---------------------------------------------------------------------------

-- fhir_constant: a FHIR constant (identifier or code system, profile,
-- extension, id namespace) by name, as the C code writes it: SQL reads a
-- constant here instead of spelling it.  22023 for an unknown name.
CREATE FUNCTION deling.fhir_constant(name text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_fhir_constant' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fhir_constant(text) IS
    'A FHIR constant by name (system.fnr, codesystem.snomed, profile.no_basis_patient, namespace.name_uuid, ...), defined once in src/fhir_constants.h';

-- fhir_constants: every constant, by name (for documentation and tests).
CREATE FUNCTION deling.fhir_constants(OUT name text, OUT value text) RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'deling_fhir_constants' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 50
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fhir_constants() IS 'Every FHIR constant of deling.fhir_constant, by name';
