-- ---------------------------------------------------------------------------
-- 70 kartlegginger: standardized assessments (Braden, MNA-SF, Morse Fall
-- Scale) and IPLOS function assessments, scored natively by the platform
-- (src/score.c, the definitions in deling.instrument, 30_instruments.sql).
-- The sender gives the instrument and its items; the platform stores the
-- items in one canonical form (each item's points, a measured item's
-- measurement), computes the total and the band, and refuses items it
-- cannot score and a sender's total that disagrees with them.  An IPLOS
-- function variable stands alone (its instrument has no total): an IPLOS
-- assessment is one variable, so that "the latest per variable" is one row
-- (and one Observation) each.  Reads give by default the current
-- assessments: per citizen and kommune the latest of each instrument, and
-- of IPLOS the latest of each variable.  docs/services/kartlegginger.md.
-- ---------------------------------------------------------------------------

-- kartlegginger_instrument_problem: NULL for the code of an instrument in
-- deling.instrument, else what is wrong (the item check of "instrument",
-- and the check of a citizen's block by instrument)
CREATE FUNCTION deling.kartlegginger_instrument_problem(code text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT CASE WHEN NOT EXISTS (SELECT FROM deling.instrument i WHERE i.code = kartlegginger_instrument_problem.code)
                    THEN format('instrument "%s" is not one of %s', deling.clip(code, 40),
                                (SELECT string_agg(i.code, ', ' ORDER BY i.code) FROM deling.instrument i)) END);
END
$$;
COMMENT ON FUNCTION deling.kartlegginger_instrument_problem(text) IS
    'kartlegginger: NULL for the code of an instrument in deling.instrument, else what is wrong';

-- kartlegginger_definition: the definition of an item's instrument (NULL
-- for an unknown one)
CREATE FUNCTION deling.kartlegginger_definition(item jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT i.definition FROM deling.instrument i WHERE i.code = item->>'instrument');
END
$$;
COMMENT ON FUNCTION deling.kartlegginger_definition(jsonb) IS
    'kartlegginger: the definition of the instrument an assessment item names';

-- kartlegginger_check: the item check's cross-field rules, after every
-- field's own: the items scored by the instrument with the sender's total
-- (deling.instrument_problem names the first problem: an unknown, missing
-- or invalid item, both or neither of alternatives, a total that
-- disagrees), and an instrument without a total (IPLOS) one variable per
-- assessment.  Without a subtransaction, so a batch reports every bad item.
CREATE FUNCTION deling.kartlegginger_check(item jsonb) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    def jsonb := deling.kartlegginger_definition(item);
    problem text := deling.instrument_problem(def, item->'items', (item->>'total')::numeric::integer);
    n integer;
BEGIN
    IF problem IS NOT NULL THEN
        RETURN problem;
    END IF;
    IF jsonb_typeof(def->'total') IS DISTINCT FROM 'object' THEN
        SELECT count(*) INTO n FROM jsonb_each(item->'items') e WHERE e.value <> 'null';
        IF n <> 1 THEN
            RETURN format('%s: an assessment holds one variable, not %s (each variable stands alone: send one item per variable)',
                          def->>'code', n);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION deling.kartlegginger_check(jsonb) IS
    'kartlegginger item check: NULL when the items score by their instrument (and agree with the sender''s total), else what is wrong';

-- kartlegginger_items: a checked item's items as stored, in the
-- definition's order: each answer item by its points (an answer code and
-- its points are the same answer), a measured item by its measurement; so
-- the same assessment sent with answer codes or with points is the same
-- record (idempotent whichever form the sender uses)
CREATE FUNCTION deling.kartlegginger_items(item jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT jsonb_object_agg(e->>'item', CASE WHEN e ? 'unit' THEN e->'value' ELSE e->'points' END)
        FROM jsonb_array_elements(deling.instrument_items(deling.kartlegginger_definition(item), item->'items')) e);
END
$$;
COMMENT ON FUNCTION deling.kartlegginger_items(jsonb) IS
    'kartlegginger ingest: the items of a checked assessment as stored (points, or the measurement of a measured item)';

-- kartlegginger_score: a checked item's total and band
CREATE FUNCTION deling.kartlegginger_score(item jsonb) RETURNS deling.instrument_result
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT deling.instrument_score(deling.kartlegginger_definition(item), item->'items'));
END
$$;
COMMENT ON FUNCTION deling.kartlegginger_score(jsonb) IS
    'kartlegginger ingest: the total and band the platform computes for a checked assessment';

-- kartlegginger_variable: the variable an assessment by an instrument
-- without a total (IPLOS) is of; NULL for an instrument with a total
CREATE FUNCTION deling.kartlegginger_variable(item jsonb) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT CASE WHEN jsonb_typeof(deling.kartlegginger_definition(item)->'total') IS DISTINCT FROM 'object'
                    THEN (SELECT e.key FROM jsonb_each(item->'items') e WHERE e.value <> 'null' LIMIT 1) END);
END
$$;
COMMENT ON FUNCTION deling.kartlegginger_variable(jsonb) IS
    'kartlegginger ingest: the variable of an assessment by an instrument without a total (IPLOS), else NULL';

-- kartlegginger_from_fhir: one Observation's item, as deling.fhir_items
-- found it by the declaration's map (the plain fields, and the codings,
-- components, value and performers under private keys), completed from the
-- instrument definitions: the instrument is the one whose total or panel
-- coding is in Observation.code, or (IPLOS) whose variable's coding is;
-- each component is the item whose coding it carries, its value the
-- answer code it carries (valueCodeableConcept), valueInteger (points) or
-- valueQuantity (a measurement); the performer by HPR number, the unit by
-- orgnr or display.  What matches nothing is passed on as it is, so the
-- item check names it.
CREATE FUNCTION deling.kartlegginger_from_fhir(i jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    codes jsonb := coalesce(i->'_codes', '[]');
    code text;
    def jsonb;
    variable jsonb;
    items jsonb := '{}';
    c jsonb;
    it jsonb;
    val jsonb;
    unit jsonb;
    hpr text := deling.fhir_constant('system.hpr');
    orgnr text := deling.fhir_constant('system.orgnr');
BEGIN
    -- an instrument by its total or panel coding
    SELECT ins.code, ins.definition INTO code, def
    FROM deling.instrument ins, jsonb_array_elements(codes) x
    WHERE jsonb_typeof(ins.definition->'total') = 'object'
      AND (x @> jsonb_build_object('system', ins.definition->'total'->'system', 'code', ins.definition->'total'->'code')
           OR x @> jsonb_build_object('system', ins.definition->'panel'->'system', 'code', ins.definition->'panel'->'code'))
    ORDER BY ins.code LIMIT 1;
    IF code IS NULL THEN
        -- a variable of an instrument without a total
        SELECT ins.code, ins.definition, v INTO code, def, variable
        FROM deling.instrument ins, jsonb_array_elements(ins.definition->'items') v, jsonb_array_elements(codes) x
        WHERE jsonb_typeof(ins.definition->'total') IS DISTINCT FROM 'object'
          AND x @> jsonb_build_object('system', v->'coding'->'system', 'code', v->'coding'->'code')
        ORDER BY ins.code, v->>'code' LIMIT 1;
    END IF;
    IF code IS NULL THEN
        RETURN jsonb_strip_nulls(i - ARRAY['_codes', '_components', '_integer', '_answers', '_performers']
            || jsonb_build_object('_problem', coalesce(i->>'_problem', format(
                   'Observation.code (%s) is the code of no instrument: the total or panel code of %s, or an IPLOS variable',
                   coalesce(nullif((SELECT string_agg(concat_ws('|', x->>'system', x->>'code'), ', ') FROM jsonb_array_elements(codes) x), ''), 'no coding'),
                   (SELECT string_agg(format('%s (%s)', ins.code, ins.definition->'total'->>'code'), ', ' ORDER BY ins.code)
                    FROM deling.instrument ins WHERE jsonb_typeof(ins.definition->'total') = 'object')))));
    END IF;
    IF variable IS NOT NULL THEN
        -- its value: valueInteger (points), an answer code, or valueQuantity
        val := coalesce(i->'_integer',
                        (SELECT a->'code' FROM jsonb_array_elements(variable->'answers') a, jsonb_array_elements(coalesce(i->'_answers', '[]')) x
                         WHERE a ? 'code' AND x @> jsonb_build_object('system', a->'system', 'code', a->'code') LIMIT 1),
                        i->'_answers'->0->'code', i->'total');
        items := jsonb_build_object(variable->>'code', val);
        i := i - 'total';
    ELSE
        FOR c IN SELECT * FROM jsonb_array_elements(coalesce(i->'_components', '[]')) LOOP
            SELECT v INTO it FROM jsonb_array_elements(def->'items') v, jsonb_array_elements(coalesce(c->'codings', '[]')) x
            WHERE x @> jsonb_build_object('system', v->'coding'->'system', 'code', v->'coding'->'code') LIMIT 1;
            val := coalesce((SELECT a->'code' FROM jsonb_array_elements(it->'answers') a, jsonb_array_elements(coalesce(c->'answers', '[]')) x
                             WHERE a ? 'code' AND x @> jsonb_build_object('system', a->'system', 'code', a->'code') LIMIT 1),
                            c->'integer', c->'quantity', c->'answers'->0->'code');
            items := items || jsonb_build_object(coalesce(it->>'code', concat_ws('|', c->'codings'->0->>'system', c->'codings'->0->>'code')),
                                                 coalesce(val, 'null'));
        END LOOP;
    END IF;
    SELECT p INTO unit FROM jsonb_array_elements(coalesce(i->'_performers', '[]')) p
    WHERE p->'identifier'->>'system' = orgnr OR (p->>'type' = 'Organization' AND NOT p ? 'identifier') LIMIT 1;
    RETURN jsonb_strip_nulls(i - ARRAY['_codes', '_components', '_integer', '_answers', '_performers']
        || jsonb_build_object(
               'instrument', code,
               'items', items,
               'performer', (SELECT p->'identifier'->'value' FROM jsonb_array_elements(coalesce(i->'_performers', '[]')) p
                             WHERE p->'identifier'->>'system' = hpr LIMIT 1),
               'unit_orgnr', CASE WHEN unit->'identifier'->>'system' = orgnr THEN unit->'identifier'->'value' END,
               'unit_name', unit->'display'));
END
$$;
COMMENT ON FUNCTION deling.kartlegginger_from_fhir(jsonb) IS
    'kartlegginger FHIR ingest: one Observation''s item completed from the instrument definitions (instrument, items, performer, unit)';

-- kartlegginger_items_from_fhir: the items of a FHIR Bundle of
-- Observations (the declaration's fhir_in parser): the platform's one
-- Bundle parser by the map, then each item completed from the definitions
CREATE FUNCTION deling.kartlegginger_items_from_fhir(bundle jsonb) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_agg(deling.kartlegginger_from_fhir(x.i) ORDER BY x.o)
    FROM jsonb_array_elements(deling.fhir_items(bundle, 'kartlegginger')) WITH ORDINALITY AS x(i, o);
$$;
COMMENT ON FUNCTION deling.kartlegginger_items_from_fhir(jsonb) IS
    'kartlegginger: the ingest items of a FHIR R4 Bundle of assessment Observations';

-- kartlegginger_synthetic_items: deterministic test assessments for some
-- citizens of a kommune, as ingest items (JSON form): per citizen two
-- Braden assessments a few weeks apart, an MNA-SF (BMI or calf
-- circumference), a Morse Fall Scale, and IPLOS Syn twice and Alminnelig
-- husarbeid once; answers by points or by answer code, some with the
-- sender's total.  The same seed gives the same items.
CREATE FUNCTION deling.kartlegginger_synthetic_items(kommune_nr text, pids text[], seed integer) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH p AS (
        SELECT u.pid, u.o,
               timestamptz '2026-06-01 10:00:00+02' - ((hashtextextended(u.pid, seed) & 2147483647) % 200) * interval '1 day' AS at
        FROM unnest(pids) WITH ORDINALITY AS u(pid, o)),
    -- h(pid, stream, n): a deterministic number below n
    a AS (
        SELECT p.pid, p.o, x.n, x.instrument, x.at, x.items
        FROM p, LATERAL (VALUES
            (1, 'braden', p.at - interval '28 days', jsonb_build_object(
                'sensory_perception', 1 + (hashtextextended(p.pid || ':b1', seed) & 2147483647) % 4,
                'moisture', 1 + (hashtextextended(p.pid || ':b2', seed) & 2147483647) % 4,
                'activity', 1 + (hashtextextended(p.pid || ':b3', seed) & 2147483647) % 4,
                'mobility', 1 + (hashtextextended(p.pid || ':b4', seed) & 2147483647) % 4,
                'nutrition', 1 + (hashtextextended(p.pid || ':b5', seed) & 2147483647) % 4,
                'friction_shear', 1 + (hashtextextended(p.pid || ':b6', seed) & 2147483647) % 3)),
            (2, 'braden', p.at, jsonb_build_object(
                'sensory_perception', (ARRAY['LA9603-7', 'LA9604-5', 'LA9605-2', 'LA9606-0'])[1 + (hashtextextended(p.pid || ':c1', seed) & 2147483647) % 4],
                'moisture', (ARRAY['LA9607-8', 'LA9608-6', 'LA9609-4', 'LA9610-2'])[1 + (hashtextextended(p.pid || ':c2', seed) & 2147483647) % 4],
                'activity', (ARRAY['LA6742-6', 'LA9611-0', 'LA9612-8', 'LA9613-6'])[1 + (hashtextextended(p.pid || ':c3', seed) & 2147483647) % 4],
                'mobility', (ARRAY['LA9614-4', 'LA9604-5', 'LA9605-2', 'LA120-8'])[1 + (hashtextextended(p.pid || ':c4', seed) & 2147483647) % 4],
                'nutrition', (ARRAY['LA9615-1', 'LA9616-9', 'LA8913-1', 'LA9206-9'])[1 + (hashtextextended(p.pid || ':c5', seed) & 2147483647) % 4],
                'friction_shear', (ARRAY['LA9617-7', 'LA9618-5', 'LA9619-3'])[1 + (hashtextextended(p.pid || ':c6', seed) & 2147483647) % 3])),
            (3, 'mna-sf', p.at - interval '14 days', jsonb_build_object(
                'A', (hashtextextended(p.pid || ':m1', seed) & 2147483647) % 3,
                'B', (hashtextextended(p.pid || ':m2', seed) & 2147483647) % 4,
                'C', (hashtextextended(p.pid || ':m3', seed) & 2147483647) % 3,
                'D', 2 * ((hashtextextended(p.pid || ':m4', seed) & 2147483647) % 2),
                'E', (hashtextextended(p.pid || ':m5', seed) & 2147483647) % 3)
                || CASE WHEN (hashtextextended(p.pid || ':m6', seed) & 2147483647) % 4 = 0
                        THEN jsonb_build_object('F2', 26 + (hashtextextended(p.pid || ':m7', seed) & 2147483647) % 10)
                        ELSE jsonb_build_object('F1', round(16 + ((hashtextextended(p.pid || ':m7', seed) & 2147483647) % 140) / 10.0, 1)) END),
            (4, 'morse', p.at - interval '7 days', jsonb_build_object(
                'history_of_falling', 25 * ((hashtextextended(p.pid || ':f1', seed) & 2147483647) % 2),
                'secondary_diagnosis', 15 * ((hashtextextended(p.pid || ':f2', seed) & 2147483647) % 2),
                'ambulatory_aid', 15 * ((hashtextextended(p.pid || ':f3', seed) & 2147483647) % 3),
                'iv_access', 20 * ((hashtextextended(p.pid || ':f4', seed) & 2147483647) % 2),
                'gait', 10 * ((hashtextextended(p.pid || ':f5', seed) & 2147483647) % 3),
                'mental_status', 15 * ((hashtextextended(p.pid || ':f6', seed) & 2147483647) % 2))),
            (5, 'iplos', p.at - interval '90 days', jsonb_build_object('syn', 1 + (hashtextextended(p.pid || ':i1', seed) & 2147483647) % 3)),
            (6, 'iplos', p.at - interval '2 days', jsonb_build_object('syn', 1 + (hashtextextended(p.pid || ':i2', seed) & 2147483647) % 5)),
            (7, 'iplos', p.at - interval '30 days', jsonb_build_object('alminnelig_husarbeid',
                (ARRAY[1, 2, 3, 4, 5, 9])[1 + (hashtextextended(p.pid || ':i3', seed) & 2147483647) % 6]))
        ) AS x(n, instrument, at, items))
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'kommune_nr', kommune_nr,
               'pid', a.pid,
               'source_system', 'synthetic',
               'source_id', format('kartlegging-%s-%s-%s', seed, a.pid, a.n),
               'instrument', a.instrument,
               'items', a.items,
               -- every other citizen's EPJ sends its total too
               'total', CASE WHEN a.o % 2 = 0 THEN (deling.instrument_score(i.definition, a.items)).total END,
               'performed_at', to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
               'performer', CASE WHEN a.n % 3 <> 0 THEN (ARRAY['565501872', '9144889', '1234567'])[1 + a.o % 3] END,
               'unit_name', (ARRAY['Hjemmesykepleien', 'Sykehjemmet, avdeling 2', 'Korttidsavdelingen'])[1 + (a.o + a.n) % 3]))
               ORDER BY a.o, a.n), '[]')
    FROM a JOIN deling.instrument i ON i.code = a.instrument;
$$;
COMMENT ON FUNCTION deling.kartlegginger_synthetic_items(text, text[], integer) IS
    'kartlegginger test data: deterministic ingest items (JSON form) for some citizens of a kommune, every instrument';

-- kartlegginger_fhir_context: what an assessment's Observation needs
-- beyond its row (r, the row as JSON), from its instrument's definition:
-- Observation.code (the total's coding and the panel's, or an IPLOS
-- variable's coding), the SNOMED CT scale as method, the band's coding, the
-- items as components (deling.instrument_items: coding, answer, points,
-- measurement and unit, and which value type each takes).  An instrument a DBA removed, or changed so that the
-- stored items no longer score, leaves its Observations without what it
-- cannot give (no components), rather than failing the read.
CREATE FUNCTION deling.kartlegginger_fhir_context(r jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT jsonb_build_object(
            'code', CASE WHEN scored THEN jsonb_path_query_array(jsonb_build_array(d->'total', d->'panel'), '$[*] ? (@.type() == "object")')
                         ELSE jsonb_build_array(comps->0->'coding') END,
            'code_text', coalesce(CASE WHEN scored THEN d->>'name' ELSE comps->0->'coding'->>'display' END, r->>'instrument'),
            'scale', d->'scale',
            'has_total', scored AND r->'total' <> 'null',
            'has_unit', r->'unit_name' <> 'null' OR r->'unit_orgnr' <> 'null',
            'band_coding', (SELECT jsonb_strip_nulls(jsonb_build_object('system', b->'system', 'code', b->'code', 'display', b->'display'))
                            FROM jsonb_array_elements(d->'bands') b WHERE b->>'band' = r->>'band' AND b ? 'code' LIMIT 1),
            'band_display', coalesce((SELECT b->>'display' FROM jsonb_array_elements(d->'bands') b WHERE b->>'band' = r->>'band' LIMIT 1),
                                     r->>'band'),
            'components', CASE WHEN scored THEN comps END,
            'value', CASE WHEN NOT scored THEN comps->0 END)
        FROM (SELECT i.definition AS d, coalesce(jsonb_typeof(i.definition->'total') = 'object', false) AS scored
              FROM (SELECT) one LEFT JOIN deling.instrument i ON i.code = r->>'instrument') x,
             LATERAL (SELECT (SELECT jsonb_agg(e || jsonb_build_object('kind', CASE WHEN e ? 'unit' THEN 'measured'
                                                                                 WHEN e->'answer' ? 'code' THEN 'coded'
                                                                                 ELSE 'points' END) ORDER BY o)
                              FROM jsonb_array_elements(CASE WHEN deling.instrument_problem(x.d, r->'items') IS NULL
                                                             THEN deling.instrument_items(x.d, r->'items') END) WITH ORDINALITY AS c(e, o)) AS comps) y);
END
$$;
COMMENT ON FUNCTION deling.kartlegginger_fhir_context(jsonb) IS
    'kartlegginger FHIR output: what an assessment''s Observation takes from its instrument''s definition (codes, components, band)';

-- The service.  Off for every kommune until it opts in
-- (deling.enable_service(kommune_nr, 'kartlegginger')).
SELECT deling.declare_service($decl$
{
  "code": "kartlegginger",
  "name": "Kartlegginger",
  "description": "Standardized assessments scored by the platform (Braden, MNA-SF, Morse Fall Scale) and IPLOS function assessments",
  "table": "assessment",
  "record_id": "assessment_id",
  "fields": [
    {
      "name": "instrument",
      "type": "text",
      "required": true,
      "max_length": 40,
      "check": "deling.kartlegginger_instrument_problem"
    },
    {
      "name": "items",
      "type": "jsonb",
      "required": true,
      "ingest": "deling.kartlegginger_items(item)"
    },
    {
      "name": "total",
      "type": "integer",
      "ingest": "(deling.kartlegginger_score(item)).total"
    },
    {
      "name": "band",
      "type": "text",
      "internal": true,
      "ingest": "(deling.kartlegginger_score(item)).band"
    },
    {
      "name": "variable",
      "type": "text",
      "internal": true,
      "ingest": "deling.kartlegginger_variable(item)"
    },
    {
      "name": "performed_at",
      "type": "timestamptz",
      "required": true,
      "not_future": true
    },
    {
      "name": "performer",
      "type": "hpr"
    },
    {
      "name": "unit_name",
      "type": "text",
      "max_length": 200
    },
    {
      "name": "unit_orgnr",
      "type": "orgnr"
    },
    {
      "name": "status",
      "type": "text",
      "enum": ["final", "amended", "entered-in-error"],
      "ingest": "coalesce(item->>'status', 'final')"
    }
  ],
  "check": "deling.kartlegginger_check",
  "status": {
    "column": "status",
    "withdrawn": "entered-in-error",
    "amended": "amended"
  },
  "order": [
    {
      "column": "performed_at",
      "desc": true
    }
  ],
  "since": "performed_at",
  "codes": {
    "column": "instrument",
    "match": "exact",
    "check": "deling.kartlegginger_instrument_problem"
  },
  "ingest": {
    "item_param": "assessment",
    "batch_param": "assessments",
    "label": "Kartlegginger",
    "report": [
      {
        "key": "status",
        "column": "status"
      },
      {
        "key": "total",
        "column": "total"
      },
      {
        "key": "band",
        "column": "band"
      },
      {
        "key": "version",
        "column": "version"
      }
    ],
    "comments": {
      "item": "Record one assessment (a Braden, MNA-SF or Morse Fall Scale, or an IPLOS function variable) of a citizen (integrations).\nAn assessment: instrument (braden, mna-sf, morse, iplos), items ({\"item code\": points, answer code or measurement}), performed_at (ISO 8601 with a UTC offset), optionally the sender's total, performer (HPR number), unit_name, unit_orgnr, status (final, amended, entered-in-error).\nThe platform scores the items: an item it cannot score, or a total that disagrees with them, is refused (22023). An IPLOS assessment holds one variable. Re-sending the same source_system + source_id is a no-op; changed values amend the assessment and keep the old version; entered-in-error withdraws it. Returns the result (created, amended, unchanged), assessment_id, status, total, band and version.",
      "batch": "Record a batch of assessments (integrations), all or nothing.\nA JSON array of up to 10000 assessments (each as api.kartlegginger_ingest takes it). If any is invalid the batch is rejected (HTTP 400, SQLSTATE 22023) with a per-item report in details and nothing is written; otherwise returns a per-item report with each total and band.",
      "fhir": "Record assessments sent as a FHIR R4 Bundle of Observations (integrations), all or nothing.\nEach Observation is one assessment: code the instrument's total (LOINC 38227-5 Braden, 107114-1 or panel 107107-5 MNA-SF, 59460-6 Morse) with a component per item (its LOINC or platform coding; valueCodeableConcept with the answer's LOINC code, valueInteger with its points, or valueQuantity with a measurement) and valueQuantity the sender's total; or an IPLOS variable's coding with valueInteger its score. subject the Patient (identifier or a Patient in the Bundle), effectiveDateTime, performer (HPR number, an Organization by orgnr), the source key its first identifier."
    }
  },
  "read": {
    "function": "kartlegginger",
    "paging": true,
    "max_default": 50,
    "max_limit": 1000,
    "history_param": "include_history",
    "current": "(r.kommune_nr, r.assessment_id) IN (SELECT DISTINCT ON (l.kommune_nr, l.instrument, l.variable) l.kommune_nr, l.assessment_id FROM deling.assessment l WHERE l.kommune_nr = ANY (kommuner) AND l.pid = pid AND l.status <> 'entered-in-error' ORDER BY l.kommune_nr, l.instrument, l.variable, l.performed_at DESC, l.assessment_id)",
    "comment": "The assessments (kartlegginger) of a citizen as a FHIR R4 searchset Bundle of Observations, newest first.\nBy default the current ones: per kommune the latest of each instrument (Braden, MNA-SF, Morse Fall Scale) and of IPLOS the latest of each function variable; include_history adds the earlier ones. since: an ISO 8601 date or date and time (Norwegian time without an offset). max: assessments per page (1-1000); Bundle.link next reads the next page.\nEach Observation (category survey): code the total's LOINC code (and MNA-SF's panel code), valueQuantity the total ({score}), a component per item with its coding and answer, interpretation the band; an IPLOS variable as its own Observation with valueInteger its score. For health personnel with a duty need (purpose TREAT, ETREAT or COC), across the kommuner their organisation reaches that share kartlegginger; integrations read their own kommune. A citizen's block (the whole service, or an instrument) withholds assessments (an OperationOutcome says so) unless emergency access (ETREAT with a reason) opens it."
  },
  "fhir": {
    "context": "deling.kartlegginger_fhir_context(to_jsonb(r))",
    "template": {
      "resourceType": "Observation",
      "id": "{{assessment_id}}",
      "identifier": [{"system": "{{source_system_uri}}", "value": "{{source_id}}"}],
      "status": "{{status}}",
      "category": [{"coding": [{"system": "{{const:codesystem.observation_category}}", "code": "survey", "display": "Survey"}]}],
      "code": {"coding": "{{code}}", "text": "{{code_text}}"},
      "subject": {"reference": "urn:uuid:{{patient_id}}", "identifier": "{{pid_identifier}}"},
      "effectiveDateTime": "{{performed_at|datetime}}",
      "issued": "{{received_at|datetime}}",
      "performer": [
        {"$if": "performer", "$then": {"type": "Practitioner", "identifier": {"system": "{{const:system.hpr}}", "value": "{{performer}}"}}},
        {"$if": "has_unit", "$then": {"type": "Organization", "display": "{{unit_name}}",
                                      "identifier": {"$if": "unit_orgnr", "$then": {"system": "{{const:system.orgnr}}", "value": "{{unit_orgnr}}"}}}}
      ],
      "valueQuantity": {"$if": "has_total",
                        "$then": {"value": "{{total}}", "unit": "score", "system": "{{const:codesystem.ucum}}", "code": "{score}"},
                        "$else": {"$map": "value.kind", "$cases": {
                          "measured": {"value": "{{value.value}}", "unit": "{{value.unit}}", "system": "{{const:codesystem.ucum}}", "code": "{{value.unit}}"}}}},
      "valueCodeableConcept": {"$map": "value.kind", "$cases": {
        "coded": {"coding": ["{{value.answer}}"], "text": "{{value.answer.display}}"}}},
      "valueInteger": {"$map": "value.kind", "$cases": {"points": "{{value.points}}"}},
      "interpretation": [{"coding": ["{{band_coding}}"], "text": "{{band_display}}"}],
      "method": {"coding": ["{{scale}}"]},
      "component": [{"$each": "components", "$as": "c", "$template": {
        "code": {"coding": ["{{c.coding}}"]},
        "valueCodeableConcept": {"$map": "c.kind", "$cases": {
          "coded": {"coding": ["{{c.answer}}"], "text": "{{c.answer.display}}"}}},
        "valueQuantity": {"$map": "c.kind", "$cases": {
          "measured": {"value": "{{c.value}}", "unit": "{{c.unit}}", "system": "{{const:codesystem.ucum}}", "code": "{{c.unit}}"}}},
        "valueInteger": {"$map": "c.kind", "$cases": {"points": "{{c.points}}"}}}}]
    }
  },
  "fhir_in": {
    "parser": "deling.kartlegginger_items_from_fhir",
    "resource": "Observation",
    "subject": "subject",
    "map": {
      "performed_at": "$.effectiveDateTime",
      "status": {"path": "$.status", "values": {"corrected": "amended"}},
      "total": "$.valueQuantity.value",
      "_codes": {"path": "$.code.coding[*]", "all": true},
      "_components": {"path": "$.component[*]", "each": {
        "codings": {"path": "$.code.coding[*]", "all": true},
        "answers": {"path": "$.valueCodeableConcept.coding[*]", "all": true},
        "integer": "$.valueInteger",
        "quantity": "$.valueQuantity.value"}},
      "_integer": "$.valueInteger",
      "_answers": {"path": "$.valueCodeableConcept.coding[*]", "all": true},
      "_performers": {"path": "$.performer[*]", "all": true}
    }
  },
  "summary": {
    "position": 30,
    "current": true,
    "label": "kartlegginger",
    "describes": "the current assessments (Observations: the latest Braden, MNA-SF and Morse Fall Scale, and of IPLOS the latest per variable)"
  },
  "synthetic": "deling.kartlegginger_synthetic_items",
  "kpr": false
}
$decl$::jsonb);

-- the item check and the ingest expressions run as the integration
GRANT EXECUTE ON FUNCTION deling.kartlegginger_instrument_problem(text), deling.kartlegginger_definition(jsonb),
    deling.kartlegginger_check(jsonb), deling.kartlegginger_items(jsonb), deling.kartlegginger_score(jsonb),
    deling.kartlegginger_variable(jsonb), deling.kartlegginger_from_fhir(jsonb), deling.kartlegginger_items_from_fhir(jsonb)
    TO deling_integrasjon;
GRANT EXECUTE ON FUNCTION deling.kartlegginger_synthetic_items(text, text[], integer) TO deling_admin;
