-- FHIR templates (issue 19, machinery-spec section 2): deling.fhir_render
-- renders a template against a context object; each feature, each refusal
-- of a malformed template or of data a filter cannot take, and a realistic
-- Condition (diagnoser) and CarePlan (tiltaksplan), whose Bundles go to
-- $DELING_FHIR_OUT for the FHIR R4 schema.  Every output is checked to be
-- exactly jsonb's text of the same value.
\set VERBOSITY terse
\i sql/include/fhir_dir.psql

-- r(template, context): the rendering, and whether it is jsonb's text
CREATE FUNCTION pg_temp.r(t jsonb, c jsonb DEFAULT '{}') RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(deling.fhir_render(t, c)::text, '(nothing)')
        || CASE WHEN deling.fhir_render(t, c)::text IS DISTINCT FROM deling.fhir_render(t, c)::jsonb::text THEN '  NOT JSONB''S TEXT' ELSE '' END $$;

-- placeholders: a whole "{{path}}" keeps the value's type; missing and
-- null are left out; dotted paths, array elements by number
SELECT label, pg_temp.r(t::jsonb, '{"s": "tekst", "n": 7.50, "i": 3, "b": false, "nul": null,
    "o": {"k": "v", "deep": {"x": [10, 20, {"y": "z"}]}}, "a": ["p", "q"]}') AS rendered
FROM (VALUES
    ('types kept',          '{"s": "{{s}}", "n": "{{n}}", "i": "{{i}}", "b": "{{b}}", "o": "{{o}}", "a": "{{a}}"}'),
    ('missing and null',    '{"m": "{{missing}}", "nul": "{{nul}}", "kept": "{{s}}"}'),
    ('paths',               '["{{o.k}}", "{{o.deep.x.1}}", "{{o.deep.x.2.y}}", "{{a.0}}", "{{a.5}}", "{{o.k.nope}}", "{{s.0}}"]'),
    ('spaces in braces',    '"{{ s }}"'),
    ('literals',            '{"text": "fast", "num": 1.0, "yes": true, "no": false, "gone": null}'),
    ('nothing at all',      '{"m": "{{missing}}"}')) x(label, t);
-- interpolation: each value as text; one missing leaves the string out
SELECT label, pg_temp.r(t::jsonb, '{"id": "6b0f0a3e-7d7c-4a43-9d55-0c2b9ac1f1a1", "n": 2.50, "b": true, "name": "Ås \"sentrum\"", "nul": null}') AS rendered
FROM (VALUES
    ('uuid',            '{"reference": "urn:uuid:{{id}}"}'),
    ('several',         '"{{name}}: {{n}} / {{b}}"'),
    ('one missing',     '{"a": "x-{{id}}-{{nope}}", "b": "y-{{nul}}", "c": "kept {{n}}"}'),
    ('empty result',    '{"e": "{{empty}}", "f": ""}')) x(label, t);
-- filters
SELECT label, pg_temp.r(t::jsonb, '{"d": "2026-11-20", "ts": "2026-07-01T12:00:00+00:00", "local": "2026-11-20T08:15",
    "late": "2026-11-20T23:30:00Z", "dst": "2026-03-29T01:00:00Z", "frac": "2024-02-29 08:00:00.125-0530", "n": 7.0, "ns": "42", "dec": "0.50", "big": 12.345, "b": true,
    "nul": null}') AS rendered
FROM (VALUES
    ('date',      '["{{d|date}}", "{{ts|date}}", "{{late|date}}"]'),
    ('datetime',  '["{{ts|datetime}}", "{{local|datetime}}", "{{d|datetime}}", "{{dst|datetime}}", "{{frac|datetime}}"]'),
    ('string',    '["{{n|string}}", "{{b|string}}", "{{d|string}}"]'),
    ('integer',   '["{{n|integer}}", "{{ns|integer}}"]'),
    ('decimal',   '["{{dec|decimal}}", "{{big|decimal}}", "{{ns|decimal}}"]'),
    ('in a string', '"{{d|date}}T00:00 ({{n|integer}})"'),
    ('null filtered', '{"x": "{{nul|date}}", "y": "{{nope|integer}}"}')) x(label, t);
-- constants
SELECT pg_temp.r('{"system": "{{const:system.fnr}}", "profile": ["{{ const: profile.no_basis_patient }}"], "ns": "{{const:system.source}}gerica"}') AS constants;
-- objects and arrays that render nothing are left out, also inside a context value placed whole
SELECT pg_temp.r('{"a": {"b": {"c": "{{missing}}"}}, "l": ["{{missing}}", {"x": null}], "keep": [1, "{{missing}}", 2], "ctx": "{{c}}"}',
                 '{"c": {"x": null, "y": {}, "z": [null, "", {"w": null}], "v": "", "u": ["ok", null]}}') AS emptied;

-- $each: the template for each element, spliced into the array; nested,
-- shadowing a context key, elements that render nothing skipped
SELECT label, pg_temp.r(t::jsonb, '{"stops": [{"from": "2026-10-01", "to": "2026-10-05"}, {"from": "2026-11-01"}, {}],
    "codes": ["K86", "T90"], "x": "outer", "groups": [{"name": "g1", "items": [1, 2]}, {"name": "g2", "items": []}], "none": [], "nul": null}') AS rendered
FROM (VALUES
    ('periods',          '[{"$each": "stops", "$as": "s", "$template": {"status": "onhold", "period": {"start": "{{s.from|date}}", "end": "{{s.to|date}}"}}}]'),
    ('spliced',          '["first", {"$each": "codes", "$as": "x", "$template": "code {{x}}"}, "{{x}}", {"$each": "codes", "$as": "c", "$template": "{{c}}"}]'),
    ('nested',           '[{"$each": "groups", "$as": "g", "$template": {"name": "{{g.name}}", "items": [{"$each": "g.items", "$as": "i", "$template": "{{i|string}}"}]}}]'),
    ('empty and absent', '{"a": [{"$each": "none", "$as": "e", "$template": "{{e}}"}], "b": [{"$each": "nul", "$as": "e", "$template": "{{e}}"}], "c": [{"$each": "missing", "$as": "e", "$template": "{{e}}"}]}')) x(label, t);
-- $if: present and not null, false, "", [] or {}
SELECT v AS value, pg_temp.r('{"$if": "v", "$then": "then", "$else": "else"}', jsonb_build_object('v', v::jsonb)) AS with_else,
       pg_temp.r('{"x": {"$if": "v", "$then": "then"}}', jsonb_build_object('v', v::jsonb)) AS without_else
FROM unnest(ARRAY['true', 'false', 'null', '0', '""', '"x"', '[]', '[0]', '{}', '{"a": 1}']) v;
SELECT pg_temp.r('{"$if": "missing", "$then": 1, "$else": {"$if": "b", "$then": "{{b}}"}}', '{"b": "nested"}') AS nested_if;
-- $map: the case named by the value (as text), else $default, else nothing
SELECT v AS value, pg_temp.r('{"status": {"$map": "v", "$cases": {"planned": "draft", "active": "active", "1": {"code": "one"}, "true": "yes"}, "$default": "unknown"}}',
                             jsonb_build_object('v', v::jsonb)) AS with_default,
       pg_temp.r('{"status": {"$map": "v", "$cases": {"active": "active"}}}', jsonb_build_object('v', v::jsonb)) AS without_default
FROM unnest(ARRAY['"planned"', '"active"', '"other"', '1', 'true', 'null', '{"a": 1}']) v;

-- the output is jsonb's text: keys in jsonb's order however the template orders them
SELECT deling.fhir_render('{"resourceType": "X", "zz": 1, "a": "{{o}}", "id": "i"}', '{"o": {"long key": 1, "k": 2}}')::text AS ordered;
-- the template is checked whole before rendering, whatever the data: each refusal names where
SELECT label, deling_test.try(format('SELECT deling.fhir_render(%L, %L)', t, '{"a": [1], "s": "x"}')) AS result
FROM (VALUES
    ('unknown filter',         '{"a": "{{s|upper}}"}'),
    ('unknown constant',       '{"system": ["{{const:system.nope}}"]}'),
    ('no closing braces',      '{"a": {"b": "x {{s"}}'),
    ('empty placeholder',      '["{{ }}"]'),
    ('not a path',             '"{{a..b}}"'),
    ('not a path either',      '"{{a b}}"'),
    ('$each outside an array', '{"a": {"$each": "a", "$as": "x", "$template": 1}}'),
    ('$each without $as',      '[{"$each": "a", "$template": 1}]'),
    ('$as not a name',         '[{"$each": "a", "$as": "x.y", "$template": 1}]'),
    ('$each without template', '[{"$each": "a", "$as": "x"}]'),
    ('$each path not a string','[{"$each": 5, "$as": "x", "$template": 1}]'),
    ('$each in $then',         '[{"$if": "s", "$then": {"$each": "a", "$as": "x", "$template": 1}}]'),
    ('$if without $then',      '{"a": {"$if": "s", "$else": 1}}'),
    ('$map without $cases',    '{"a": {"$map": "s", "$default": 1}}'),
    ('$cases not an object',   '{"a": {"$map": "s", "$cases": ["x"]}}'),
    ('unknown directive',      '{"a": {"$for": "s"}}'),
    ('two directives',         '{"a": {"$if": "s", "$then": 1, "$map": "s", "$cases": {}}}'),
    ('a directive with more',  '{"a": {"$if": "s", "$then": 1, "extra": 2}}'),
    ('in a branch not taken',  '{"a": {"$if": "missing", "$then": "{{s|nope}}"}}'),
    ('in a case not taken',    '{"a": {"$map": "s", "$cases": {"y": {"b": "{{const:nope}}"}}}}')) x(label, t);
-- data a filter cannot take: 22P02 or 22007, naming the placeholder; $each over what is not an array
SELECT label, deling_test.try(format('SELECT deling.fhir_render(%L, %L)', t, c)) AS result
FROM (VALUES
    ('integer of a fraction', '"{{v|integer}}"', '{"v": 7.5}'),
    ('integer of text',       '"{{v|integer}}"', '{"v": "sju"}'),
    ('decimal of a boolean',  '"{{v|decimal}}"', '{"v": true}'),
    ('date of a number',      '"{{v|date}}"',    '{"v": 20261120}'),
    ('date not a date',       '"{{v|date}}"',    '{"v": "2026-02-30"}'),
    ('datetime not ISO',      '"{{v|datetime}}"', '{"v": "20.11.2026 08:00"}'),
    ('no 25th hour',          '"{{v|datetime}}"', '{"v": "2026-11-20T25:00"}'),
    ('no 29 February 2026',   '"{{v|date}}"',     '{"v": "2026-02-29T08:00:00Z"}'),
    ('string of an object',   '"{{v|string}}"',  '{"v": {"a": 1}}'),
    ('an object in a string', '"x {{v}}"',       '{"v": [1]}'),
    ('$each over an object',  '[{"$each": "v", "$as": "e", "$template": "{{e}}"}]', '{"v": {"a": 1}}'),
    ('context not an object', '"{{v}}"',         '[1]')) x(label, t, c);
SELECT deling.fhir_render('{"a": "{{x}}"}', NULL) IS NULL AS null_context, deling.fhir_render(NULL, '{}') IS NULL AS null_template;

-- many rows in one call: entries with a mode, a NULL context or one that renders nothing gives no entry
SELECT deling.fhir_render_entries('{"resourceType": "Basic", "id": "{{id}}"}',
                                  ARRAY['{"id": "a"}', NULL, '{"x": 1}', '{"id": "b"}']::jsonb[]) AS entries,
       deling.fhir_render_entries('{"id": "{{id}}"}', ARRAY['{"id": "a"}']::jsonb[], NULL) AS without_mode,
       deling.fhir_render_entries('{"id": "{{id}}"}', '{}') AS none,
       deling_test.try($$SELECT deling.fhir_render_entries('{"id": "{{id|bad}}"}', ARRAY['{}']::jsonb[])$$) AS checked,
       deling_test.try($$SELECT deling.fhir_render_entries('{"id": "{{id}}"}', ARRAY['{}', '5']::jsonb[])$$) AS contexts_checked;

-- A realistic Condition (diagnoser) and CarePlan (tiltaksplan): the
-- templates a service declaration would carry; the contexts as a read
-- would build them from a row (to_jsonb(row) and the Patient id, the
-- identity number's identifier, the source system's identifier system)
SELECT pid AS p, kommune_nr AS k FROM deling.citizen WHERE kommune_nr = '3201' ORDER BY pid LIMIT 1 \gset
CREATE TEMP TABLE ctx AS
SELECT jsonb_build_object('patient_id', deling.fhir_patient_id(:'p'), 'pid_identifier', deling.fhir_pid_identifier(:'p'),
                          'source_system_uri', deling.fhir_source_system('gerica'), 'received_at', '2026-11-20T09:00:00+01:00') AS common;
CREATE TEMP TABLE tpl (name text, template jsonb);
INSERT INTO tpl VALUES ('condition', $tpl$
{
  "resourceType": "Condition",
  "id": "{{diagnosis_id}}",
  "meta": {"lastUpdated": "{{received_at|datetime}}"},
  "identifier": [{"system": "{{source_system_uri}}", "value": "{{source_id}}"}],
  "clinicalStatus": {"$if": "clinical_status", "$then": {"coding": [{"system": "{{const:codesystem.condition_clinical}}", "code": "{{clinical_status}}"}]}},
  "verificationStatus": {"coding": [{"system": "{{const:codesystem.condition_ver_status}}", "code": "{{verification_status}}"}]},
  "category": [{"coding": [{"system": "{{const:codesystem.condition_category}}", "code": "problem-list-item", "display": "Problem List Item"}]}],
  "code": {
    "coding": [{"$map": "code_system", "$cases": {
      "icpc-2": {"system": "{{const:codesystem.icpc2}}", "code": "{{code}}", "display": "{{display}}"},
      "icd-10": {"system": "{{const:codesystem.icd10_volven}}", "code": "{{code}}", "display": "{{display}}"},
      "snomed": {"system": "{{const:codesystem.snomed}}", "code": "{{code}}", "display": "{{display}}"}}}],
    "text": "{{display}}"},
  "subject": {"reference": "urn:uuid:{{patient_id}}", "identifier": "{{pid_identifier}}"},
  "onsetDateTime": "{{onset|datetime}}",
  "abatementDateTime": "{{abated|datetime}}",
  "recordedDate": "{{recorded_at|datetime}}",
  "recorder": {"$if": "recorded_by", "$then": {"type": "Practitioner", "identifier": {"system": "{{const:system.hpr}}", "value": "{{recorded_by}}"}}},
  "note": [{"$each": "notes", "$as": "n", "$template": {"text": "{{n}}"}}]
}$tpl$), ('careplan', $tpl$
{
  "resourceType": "CarePlan",
  "id": "{{plan_id}}",
  "meta": {"lastUpdated": "{{received_at|datetime}}"},
  "identifier": [{"system": "{{source_system_uri}}", "value": "{{source_id}}"}],
  "status": {"$map": "status", "$cases": {"planned": "draft", "active": "active", "on-hold": "on-hold", "completed": "completed", "stopped": "revoked"}, "$default": "unknown"},
  "intent": "plan",
  "title": "{{title}}",
  "description": "{{description}}",
  "subject": {"reference": "urn:uuid:{{patient_id}}", "identifier": "{{pid_identifier}}"},
  "period": {"start": "{{period_start|date}}", "end": "{{period_end|date}}"},
  "author": {"$if": "unit_orgnr", "$then": {"type": "Organization", "identifier": {"system": "{{const:system.orgnr}}", "value": "{{unit_orgnr}}"}, "display": "{{unit_name}}"}},
  "addresses": [{"$each": "addresses", "$as": "a", "$template": {"reference": "urn:uuid:{{a}}"}}],
  "activity": [{"$each": "activities", "$as": "act", "$template": {"detail": {
    "code": {"coding": [{"$if": "act.snomed", "$then": {"system": "{{const:codesystem.snomed}}", "code": "{{act.snomed}}", "display": "{{act.text}}"}}], "text": "{{act.text}}"},
    "status": {"$map": "act.status", "$cases": {"planned": "not-started", "active": "in-progress", "on-hold": "on-hold", "completed": "completed", "stopped": "stopped"}, "$default": "unknown"},
    "scheduledTiming": {"repeat": {"frequency": "{{act.frequency|integer}}", "period": "{{act.period|decimal}}", "periodUnit": "{{act.period_unit}}"}},
    "description": "{{act.description}}"}}}]
}$tpl$);
CREATE TEMP TABLE rows (name text, ctx jsonb);
INSERT INTO rows SELECT 'condition', c.common || r FROM ctx c, unnest(ARRAY[
    '{"diagnosis_id": "1f0c2a52-7a44-4c8e-9a5b-6a1d2f3e4b5c", "source_id": "d-1", "code_system": "icpc-2", "code": "K86", "display": "Hypertensjon ukomplisert",
      "clinical_status": "active", "verification_status": "confirmed", "onset": "2019-04-01T00:00:00+02:00", "recorded_at": "2019-04-02T10:15:00+02:00",
      "recorded_by": "565501872", "notes": ["Følges opp av fastlege", ""]}',
    '{"diagnosis_id": "2a7d3b63-8b55-4d9f-8b6c-7b2e3f4a5c6d", "source_id": "d-2", "code_system": "icd-10", "code": "F03", "display": "Uspesifisert demens",
      "clinical_status": "active", "verification_status": "provisional", "recorded_at": "2026-10-12T13:00:00", "recorded_by": null, "notes": []}',
    '{"diagnosis_id": "3b8e4c74-9c66-4eaf-9c7d-8c3f4a5b6d7e", "source_id": "d-3", "code_system": "snomed", "code": "44054006", "display": "Diabetes mellitus type 2",
      "clinical_status": "resolved", "verification_status": "confirmed", "onset": "2015-01-01T00:00:00+01:00", "abated": "2024-06-30T00:00:00+02:00",
      "recorded_at": "2015-01-05T09:00:00+01:00"}',
    '{"diagnosis_id": "4c9f5d85-ad77-4fb0-8d8e-9d4a5b6c7e8f", "source_id": "d-4", "code_system": "local", "code": "X1", "display": "Feilregistrert",
      "verification_status": "entered-in-error", "recorded_at": "2026-11-01T08:00:00+01:00"}']::jsonb[]) r
UNION ALL SELECT 'careplan', c.common || r FROM ctx c, unnest(ARRAY[
    '{"plan_id": "5d0a6e96-be88-4ac1-8e9f-ae5b6c7d8f90", "source_id": "t-1", "status": "active", "title": "Tiltaksplan hjemmesykepleie",
      "description": "Forebygge trykksår og sikre ernæring", "period_start": "2026-09-01", "period_end": null,
      "unit_orgnr": "944382038", "unit_name": "Hjemmesykepleien Asker sentrum",
      "addresses": ["1f0c2a52-7a44-4c8e-9a5b-6a1d2f3e4b5c", "2a7d3b63-8b55-4d9f-8b6c-7b2e3f4a5c6d"],
      "activities": [{"text": "Snu pasienten", "snomed": "229824005", "status": "active", "frequency": 1, "period": 2, "period_unit": "h", "description": "Hver annen time, også natt"},
                     {"text": "Veie pasienten", "status": "active", "frequency": "1", "period": 1, "period_unit": "wk"},
                     {"text": "Medisiner morgen og kveld", "status": "planned", "frequency": 2, "period": 1.0, "period_unit": "d"},
                     {"text": "Sårstell", "status": "stopped"}]}',
    '{"plan_id": "6e1b7fa7-cf99-4bd2-9fa0-bf6c7d8e9fa1", "source_id": "t-2", "status": "planned", "title": "Rehabilitering",
      "period_start": "2027-01-04", "period_end": "2027-03-31", "activities": [], "addresses": []}']::jsonb[]) r;
SELECT t.name, count(*) AS resources,
       bool_and(deling.fhir_render(t.template, r.ctx)::text = deling.fhir_render(t.template, r.ctx)::jsonb::text) AS jsonb_text
FROM tpl t JOIN rows r USING (name) GROUP BY t.name ORDER BY t.name;
SELECT t.name, jsonb_pretty(deling.fhir_render(t.template, r.ctx)::jsonb - 'subject') AS resource
FROM tpl t JOIN rows r USING (name) WHERE r.ctx->>'source_id' IN ('d-1', 't-1') ORDER BY t.name;
SELECT r.ctx->>'source_id' AS source_id, deling.fhir_render(t.template, r.ctx)::jsonb->>'clinicalStatus' IS NOT NULL AS clinical_status,
       deling.fhir_render(t.template, r.ctx)::jsonb->'code'->'coding' AS coding,
       deling.fhir_render(t.template, r.ctx)::jsonb ?| ARRAY['note', 'recorder', 'abatementDateTime'] AS optional_parts
FROM tpl t JOIN rows r USING (name) WHERE t.name = 'condition' ORDER BY 1;
-- as Bundles from the entries of every row, with the Patient (validated by the fhir suite)
CREATE FUNCTION pg_temp.bundle(n text, p text, k text) RETURNS json LANGUAGE sql AS $$
    SELECT deling.fhir_bundle_json('searchset',
               ARRAY[deling.fhir_render_entries(t.template, array_agg(r.ctx ORDER BY r.ctx->>'source_id')),
                     deling.fhir_entry_json('include', deling.fhir_patient_json(p, ARRAY[k]))], count(*)::int)
    FROM tpl t JOIN rows r USING (name) WHERE t.name = n GROUP BY t.template $$;
SELECT pg_temp.bundle('condition', :'p', :'k') AS condition_bundle, pg_temp.bundle('careplan', :'p', :'k') AS careplan_bundle \gset
SELECT :'condition_bundle'::json \g (format=unaligned tuples_only=on) :fhir_dir/template_condition.json
SELECT :'careplan_bundle'::json \g (format=unaligned tuples_only=on) :fhir_dir/template_careplan.json
SELECT b->>'total' AS total, jsonb_array_length(b->'entry') AS entries,
       (SELECT string_agg(DISTINCT e->'resource'->>'resourceType', ', ') FROM jsonb_array_elements(b->'entry') e) AS types
FROM (VALUES (:'condition_bundle'::jsonb), (:'careplan_bundle'::jsonb)) x(b);

-- A service whose declaration maps its records with a template, read end
-- to end: the generated read renders its page of rows with
-- deling.fhir_render_entries (each record as JSON with its Patient's id and
-- identifier) and writes them and the Patient into one Bundle.  Its rows
-- function and read are generated (deling.service_read_sql) over NEWS2's
-- table: a declared service's own table is registered for pg_dump, which
-- only an extension script may do.  Read by Bærum's EPJ, two to a page.
BEGIN;
CREATE TEMP TABLE probe AS SELECT $decl$
{
  "code": "template-probe",
  "name": "Template probe",
  "description": "NEWS2 totals through a template (sql/18_fhir_templates.sql)",
  "table": "news2_measurement",
  "record_id": "measurement_id",
  "fields": [{"name": "score", "type": "integer"}],
  "status": {"column": "status", "withdrawn": "entered-in-error"},
  "order": [{"column": "measured_at", "desc": true}],
  "read": {"function": "template_probe", "paging": true, "max_default": 2},
  "fhir_in": {"parser": "deling.news2_items_from_fhir"},
  "fhir": {"template": {
    "resourceType": "Observation",
    "id": "{{measurement_id}}",
    "status": "{{status}}",
    "code": {"coding": [{"system": "{{const:codesystem.snomed}}", "code": "1104051000000101"}]},
    "subject": {"reference": "urn:uuid:{{patient_id}}", "identifier": "{{pid_identifier}}"},
    "effectiveDateTime": "{{measured_at|datetime}}",
    "valueQuantity": {"value": "{{score}}", "system": "{{const:codesystem.ucum}}", "code": "{ScoreOf}"},
    "note": [{"text": "{{unit_name}}"}]}}
}$decl$::jsonb AS d;
INSERT INTO deling.service (service_code, name, description, available, declaration)
SELECT d->>'code', d->>'name', d->>'description', true, d FROM probe;
SELECT deling.enable_service('3201', 'template-probe');
DO $$ BEGIN EXECUTE deling.service_read_sql((SELECT d FROM probe)); END $$;
SELECT deling.synthetic_fnr('1938-03-14', 0) AS probe_pid \gset
SET SESSION AUTHORIZATION regress_epj_baerum;
SELECT api.template_probe(:'probe_pid') AS probe_bundle \gset
RESET SESSION AUTHORIZATION;
SELECT b->>'type' AS type, b->>'total' AS total, jsonb_array_length(b->'entry') AS entries,
       (SELECT string_agg(e->'search'->>'mode' || ' ' || (e->'resource'->>'resourceType'), ', ' ORDER BY o)
        FROM jsonb_array_elements(b->'entry') WITH ORDINALITY x(e, o)) AS modes,
       b->'link'->1->>'relation' AS next,
       :'probe_bundle'::jsonb::text = :'probe_bundle' AS written_as_jsonb_prints
FROM (SELECT :'probe_bundle'::jsonb AS b) x;
-- each of the page's resources is the template rendered on its row (the
-- row as JSON with its Patient's id and identifier), newest first
SELECT count(*) AS observations,
       count(*) FILTER (WHERE e->'resource' = deling.fhir_render(p.d->'fhir'->'template', to_jsonb(m) || jsonb_build_object(
                            'patient_id', deling.fhir_patient_id(m.pid), 'pid_identifier', deling.fhir_pid_identifier(m.pid),
                            'source_system_uri', deling.fhir_source_system(m.source_system)))::jsonb)
           AS rendered_by_the_template,
       bool_and(m.pid = :'probe_pid' AND m.kommune_nr = '3201') AS the_citizens_in_baerum,
       array_agg(m.measured_at ORDER BY o) = array_agg(m.measured_at ORDER BY m.measured_at DESC) AS newest_first,
       deling_test.mask((array_agg(e->'resource' ORDER BY o))[1]) AS first
FROM probe p, jsonb_array_elements(:'probe_bundle'::jsonb->'entry') WITH ORDINALITY x(e, o)
JOIN deling.news2_measurement m ON m.measurement_id::text = e->'resource'->>'id'
WHERE e->'resource'->>'resourceType' = 'Observation';
-- a renderer of its own must take the service's rows and return json
-- (deling.declare_service refuses a declaration with a renderer_problem)
CREATE FUNCTION deling_test.jsonb_renderer(rows deling.news2_measurement[]) RETURNS jsonb LANGUAGE sql AS $$ SELECT '[]'::jsonb $$;
SELECT deling.renderer_problem(d || '{"table": "municipal_service", "fhir": {"renderer": "deling.news2_entries_json"}}') AS rows_of_another_table,
       deling.renderer_problem(d || '{"fhir": {"renderer": "deling_test.jsonb_renderer"}}') AS not_json,
       deling.renderer_problem(d || '{"summary": {"position": 30, "renderer": "deling.news2_summary"}}') AS no_such_summary_renderer,
       deling.renderer_problem(d) AS the_probe_itself
FROM probe;
-- the read names its renderer (regproc): one of several of that name is refused
CREATE FUNCTION deling_test.overloaded(rows deling.news2_measurement[]) RETURNS json LANGUAGE sql AS $$ SELECT '[]'::json $$;
CREATE FUNCTION deling_test.overloaded(n integer) RETURNS json LANGUAGE sql AS $$ SELECT '[]'::json $$;
SELECT deling.renderer_problem(d || '{"fhir": {"renderer": "deling_test.overloaded"}}') AS overloaded,
       deling.renderer_problem(d || '{"summary": {"position": 30, "renderer": "deling_test.overloaded"}}') AS overloaded_summary_renderer
FROM probe;
ROLLBACK;
