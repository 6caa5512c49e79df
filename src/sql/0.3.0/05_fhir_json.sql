-- ---------------------------------------------------------------------------
-- 05 FHIR output as json, written once (issue 19, machinery-spec section 2):
-- the FHIR constants defined once (src/fhir_constants.h), the one JSON
-- writer (src/json_writer.c: text exactly as jsonb::text prints the same
-- value, so switching a read from a jsonb builder changes no byte), the
-- renderers of the two services' entries, the Patient, a unit's
-- Organization and the Bundle, and the template engine of new services.
-- Every FHIR read renders with these (21_render.sql drops the 0.1.0 jsonb
-- builders they replace).
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

-- fhir_source_system: the identifier system of a row's source id, as the
-- renderers write it: a source system that is an absolute URI (urn:oid:,
-- urn:uuid:, http://, https://) as the sender wrote it, another name the
-- platform's NamingSystem (fhir_constant('system.source') || name).  For
-- the context of a template.
CREATE FUNCTION deling.fhir_source_system(source_system text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_fhir_source_system' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fhir_source_system(text) IS
    'The FHIR identifier system of a source system''s ids: an absolute URI as sent, else the platform''s NamingSystem';

-- json_canonical: any JSON text as the JSON writer writes it, which is as
-- jsonb prints it (j::jsonb::text, without building the jsonb): one parse,
-- keys in jsonb's order, a repeated key keeping its last value.
CREATE FUNCTION deling.json_canonical(j json) RETURNS json
    AS 'MODULE_PATHNAME', 'deling_json_canonical' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.json_canonical(json) IS
    'The JSON as jsonb prints it (j::jsonb::text), written by the JSON writer without building jsonb';

-- news2_entries_json: the searchset entries of NEWS2 measurements, in the order
-- given, as one JSON array: each NEWS2 total Observation (mode match) and,
-- with vital_signs, its seven vital-sign Observations (mode include); for
-- the legevakt's trend, vital_signs => false gives the totals alone.  One
-- call per read (an array, not a call per row); the text is, byte for
-- byte, what 0.1.0's deling.news2_fhir printed for each row.
CREATE FUNCTION deling.news2_entries_json(rows deling.news2_measurement[], vital_signs boolean DEFAULT true) RETURNS json
    AS 'MODULE_PATHNAME', 'deling_news2_entries_json' LANGUAGE C STABLE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.news2_entries_json(deling.news2_measurement[], boolean) IS
    'FHIR R4 searchset entries of NEWS2 measurements as json: each total (match) and, with vital_signs, its vital signs (include)';

-- news2_summary_entries_json: NEWS2 in the legevakt summary, in one call:
-- the latest measurement (the first row) with its vital signs, the ones
-- before it as totals alone (the trend).
CREATE FUNCTION deling.news2_summary_entries_json(rows deling.news2_measurement[]) RETURNS json
    AS 'MODULE_PATHNAME', 'deling_news2_summary_entries_json' LANGUAGE C STABLE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.news2_summary_entries_json(deling.news2_measurement[]) IS
    'NEWS2 in the legevakt summary (json): the latest measurement with its vital signs, the ones before it as totals';

-- municipal_services_entries_json: the entries of municipal services: an OKT
-- EpisodeOfCare per service (match) in the order given, with its status
-- on day (NULL: today in Norway, deling.municipal_service_fhir_status),
-- then the distinct Organizations of their units (include), by id.  The
-- text is what 0.1.0's deling.municipal_services_entries printed.
CREATE FUNCTION deling.municipal_services_entries_json(services deling.municipal_service[], day date DEFAULT NULL) RETURNS json
    AS 'MODULE_PATHNAME', 'deling_municipal_services_entries_json' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.municipal_services_entries_json(deling.municipal_service[], date) IS
    'FHIR R4 searchset entries of municipal services as json: an HL7 Norway OKT EpisodeOfCare each (match), then their units'' Organizations (include)';

-- fhir_unit_json: a kommune's unit as a no-basis Organization, part of its
-- kommune (0.1.0's deling.fhir_unit, as json); NULL for a kommune not on
-- the platform.
CREATE FUNCTION deling.fhir_unit_json(kommune_nr text, unit_orgnr text, unit_name text, unit_phone text) RETURNS json
    AS 'MODULE_PATHNAME', 'deling_fhir_unit_json' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fhir_unit_json(text, text, text, text) IS
    'A unit of a kommune as a no-basis Organization (json), part of its kommune';

-- fhir_patient_json: the citizen's no-basis Patient from the newest of
-- their registrations in the kommuner given (0.1.0's deling.fhir_patient,
-- as json).
CREATE FUNCTION deling.fhir_patient_json(pid text, kommuner text[]) RETURNS json
    AS 'MODULE_PATHNAME', 'deling_fhir_patient_json' LANGUAGE C STABLE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fhir_patient_json(text, text[]) IS
    'The citizen''s no-basis Patient (json): Patient id, identity number, name, gender, birth date';

-- fhir_entry_json: one resource as a part of one entry for
-- fhir_bundle_json, [{"mode": mode, "resource": resource}] (no mode when NULL).
CREATE FUNCTION deling.fhir_entry_json(mode text, resource json) RETURNS json
    AS 'MODULE_PATHNAME', 'deling_fhir_entry_json' LANGUAGE C IMMUTABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fhir_entry_json(text, json) IS
    'A resource as a Bundle part of one entry: [{"mode": mode, "resource": resource}]';

-- fhir_bundle_json: a Bundle (searchset with the total of matches, or
-- collection) of the entries of the parts in order (each a JSON array of
-- {mode, resource}; NULL parts are empty), fullUrl urn:uuid:<id> and
-- search.mode for each; an OperationOutcome about withheld or
-- emergency-opened information (deling.sharing_outcome) becomes the last
-- entry, withheld information also marks the Bundle REDACTED; links
-- (deling.fhir_link) become Bundle.link.  No entry array when there are no
-- entries.  The entries are parsed once, never turned into jsonb; the
-- text is what 0.1.0's deling.fhir_bundle / fhir_bundle_parts printed.
CREATE FUNCTION deling.fhir_bundle_json(type text, parts json[], matches integer, outcome jsonb DEFAULT NULL,
                                        links jsonb DEFAULT NULL) RETURNS json
    AS 'MODULE_PATHNAME', 'deling_fhir_bundle_json' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fhir_bundle_json(text, json[], integer, jsonb, jsonb) IS
    'A FHIR R4 Bundle (searchset or collection) as json from parts of entries, with total, links and an OperationOutcome';

-- fhir_searchset_json: a read's searchset Bundle (as fhir_bundle_json) from
-- its entries and its includes (the Patient: fhir_entry_json), given as
-- two arguments rather than an array, which would be a copy of the entries
-- (10 MB for the largest NEWS2 read): reads call this one.
CREATE FUNCTION deling.fhir_searchset_json(entries json, include json, matches integer, outcome jsonb DEFAULT NULL,
                                           links jsonb DEFAULT NULL) RETURNS json
    AS 'MODULE_PATHNAME', 'deling_fhir_searchset_json' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fhir_searchset_json(json, json, integer, jsonb, jsonb) IS
    'A read''s FHIR R4 searchset Bundle (json) from its entries and includes, with total, links and an OperationOutcome';

-- fhir_searchset_of: fhir_searchset_json(renderer(rows), include, ...),
-- the entries rendered inside it and freed as soon as the Bundle is
-- written: a read that renders its entries itself holds them while
-- PL/pgSQL copies its Bundle out (one more copy of the entries at the
-- read's peak, 10 MB for the largest NEWS2 read).  The renderer is a
-- service's (its rows in, json entries out, other arguments defaulted),
-- called with the caller's privileges.  The generated reads call this one.
CREATE FUNCTION deling.fhir_searchset_of(renderer regproc, rows anyarray, include json, matches integer,
                                         outcome jsonb DEFAULT NULL, links jsonb DEFAULT NULL) RETURNS json
    AS 'MODULE_PATHNAME', 'deling_fhir_searchset_of' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fhir_searchset_of(regproc, anyarray, json, integer, jsonb, jsonb) IS
    'A read''s FHIR R4 searchset Bundle (json) from its rows and their renderer, which renders the entries into it';

-- fhir_bundle_entries: the number of a Bundle's entries, counted in one
-- pass of the JSON parser (no copy of the Bundle, as json->'entry' makes);
-- a read's access-log entry counts its resources with it.
CREATE FUNCTION deling.fhir_bundle_entries(bundle json) RETURNS integer
    AS 'MODULE_PATHNAME', 'deling_fhir_bundle_entries' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fhir_bundle_entries(json) IS
    'The number of entries of a FHIR Bundle (json), counted without copying it';

-- fhir_render: the template engine of new services (machinery-spec section
-- 2; src/fhir_template.c): template rendered against the context object,
-- as json; NULL when it renders nothing.  "{{path}}" keeps the value's
-- type, "a{{path}}b" interpolates, filters date, datetime, string,
-- integer, decimal, {{const:name}} (deling.fhir_constant), nulls, empty
-- strings, objects and arrays left out, {"$each", "$as", "$template"} in
-- arrays, {"$if", "$then", "$else"}, {"$map", "$cases", "$default"}.  The
-- whole template is checked first (22023 naming where); bad data for a
-- filter is 22P02 or 22007 naming the placeholder.
CREATE FUNCTION deling.fhir_render(template jsonb, context jsonb) RETURNS json
    AS 'MODULE_PATHNAME', 'deling_fhir_render' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fhir_render(jsonb, jsonb) IS
    'A FHIR resource (json) from a template and a context object: placeholders, filters, constants, $each, $if, $map; nulls and empties left out';

-- fhir_render_entries: the template rendered for each context, as Bundle
-- entries [{"mode": mode, "resource": ...}] in order (no entry for a NULL
-- context or one that renders nothing): a read's rows in one call, the
-- template checked once.
CREATE FUNCTION deling.fhir_render_entries(template jsonb, contexts jsonb[], mode text DEFAULT 'match') RETURNS json
    AS 'MODULE_PATHNAME', 'deling_fhir_render_entries' LANGUAGE C IMMUTABLE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fhir_render_entries(jsonb, jsonb[], text) IS
    'Bundle entries (json) of a template rendered for each context object';
