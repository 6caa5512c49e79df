-- ---------------------------------------------------------------------------
-- 30 instruments: standardized assessments (kartlegginger) scored natively
-- (src/score.c).  An instrument is data: a JSON definition of its items,
-- the answers each allows with their points (or numeric ranges mapped to
-- points), alternative items, and the bands of its total.  The scorer takes
-- a definition and the items of one assessment and gives the total and the
-- band, or names what is wrong (an unknown item, a missing one, a value
-- that is none of the item's answers, both or neither of two alternatives,
-- a sender's total that disagrees).  deling.instrument holds the
-- definitions, seeded for Braden, MNA-SF, Morse Fall Scale and IPLOS; the
-- DBA may add instruments (its CHECK constraint runs the same parser).
-- Each definition cites the sources of its codes, points and bands
-- ("sources") and says what is not confirmed ("notes").
-- ---------------------------------------------------------------------------

CREATE TYPE deling.instrument_result AS (
    total        integer,
    band         text,
    band_system  text,
    band_code    text,
    band_display text
);
COMMENT ON TYPE deling.instrument_result IS
    'An assessment''s total and band: the band''s code in the definition, its coding (FHIR interpretation) and display';

CREATE FUNCTION deling.instrument_score(definition jsonb, items jsonb, total integer DEFAULT NULL)
RETURNS deling.instrument_result AS 'MODULE_PATHNAME', 'deling_instrument_score' LANGUAGE C IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.instrument_score(jsonb, jsonb, integer) IS
    'Total and band of an assessment''s items ({"item": points or answer code or measurement}) by an instrument definition; '
    'a problem, or a sender''s total that disagrees, raises 22023 naming the item; NULL definition or items give NULL';

CREATE FUNCTION deling.instrument_problem(definition jsonb, items jsonb, total integer DEFAULT NULL)
RETURNS text AS 'MODULE_PATHNAME', 'deling_instrument_problem' LANGUAGE C IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.instrument_problem(jsonb, jsonb, integer) IS
    'NULL when the items can be scored (and agree with the sender''s total), else the error instrument_score would raise; '
    'a NULL definition (unknown instrument) or NULL items are problems too';

CREATE FUNCTION deling.instrument_items(definition jsonb, items jsonb)
RETURNS jsonb AS 'MODULE_PATHNAME', 'deling_instrument_items' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.instrument_items(jsonb, jsonb) IS
    'The items given, in the definition''s order, with their coding, answer (or measurement) and points: the FHIR components';

CREATE FUNCTION deling.instrument_check(definition jsonb)
RETURNS text AS 'MODULE_PATHNAME', 'deling_instrument_check' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.instrument_check(jsonb) IS
    'NULL when an instrument definition is valid (LOINC check digits included), else what is wrong with it';

-- The instruments.  The FHIR codes of the assessment are read from the
-- definition (generated), so they cannot disagree with it.
CREATE TABLE deling.instrument (
    code         text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9-]{0,39}$'),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    definition   jsonb NOT NULL,
    loinc_panel  text GENERATED ALWAYS AS
        (CASE WHEN definition #>> '{panel,system}' = 'http://loinc.org' THEN definition #>> '{panel,code}' END) STORED,
    loinc_total  text GENERATED ALWAYS AS
        (CASE WHEN definition #>> '{total,system}' = 'http://loinc.org' THEN definition #>> '{total,code}' END) STORED,
    snomed_scale text GENERATED ALWAYS AS
        (CASE WHEN definition #>> '{scale,system}' = 'http://snomed.info/sct' THEN definition #>> '{scale,code}' END) STORED,
    CONSTRAINT instrument_definition_valid CHECK (deling.instrument_check(definition) IS NULL),
    CONSTRAINT instrument_definition_code CHECK (definition ->> 'code' = code)
);
COMMENT ON TABLE deling.instrument IS
    'Assessment instruments (kartlegginger): items, answers and points, bands; scored by deling.instrument_score';
COMMENT ON COLUMN deling.instrument.loinc_panel IS 'LOINC code of the assessment panel (NULL: none confirmed)';
COMMENT ON COLUMN deling.instrument.loinc_total IS 'LOINC code of the total score (NULL: no total, or none confirmed)';
COMMENT ON COLUMN deling.instrument.snomed_scale IS 'SNOMED CT concept of the assessment scale (NULL: none confirmed)';

-- Braden Scale for Predicting Pressure Sore Risk.  Item and answer codes:
-- LOINC, as listed by HL7 Portugal's CPE value sets (hl7-pt/terminologias,
-- cpe-braden-scale-observation.fsh and -result.fsh, English designations);
-- SNOMED CT 781128005 (cpe-scale.fsh).  Bands: US VA VistA instrument
-- template (Braden & Bergstrom 1988): severe 9 or lower, high 10-12,
-- moderate 13-14, mild 15-18; 19-23 no risk (tertiary sources); sources
-- disagree, so the bands are data.
INSERT INTO deling.instrument (code, name, definition) VALUES ('braden', 'Braden-skala (risiko for trykksår)', $json$
{"code": "braden", "name": "Braden Scale for Predicting Pressure Sore Risk",
 "scale": {"system": "http://snomed.info/sct", "code": "781128005", "display": "Braden Scale (assessment scale)"},
 "total": {"system": "http://loinc.org", "code": "38227-5", "display": "Braden scale total score"},
 "band_coding": {"system": "http://loinc.org", "code": "81636-3", "display": "Pressure injury risk level Braden scale"},
 "items": [
  {"code": "sensory_perception", "name": "Sensory perception",
   "coding": {"system": "http://loinc.org", "code": "38222-6", "display": "Sensory perception Braden scale"},
   "answers": [
    {"points": 1, "system": "http://loinc.org", "code": "LA9603-7", "display": "Completely limited"},
    {"points": 2, "system": "http://loinc.org", "code": "LA9604-5", "display": "Very limited"},
    {"points": 3, "system": "http://loinc.org", "code": "LA9605-2", "display": "Slightly limited"},
    {"points": 4, "system": "http://loinc.org", "code": "LA9606-0", "display": "No impairment"}]},
  {"code": "moisture", "name": "Moisture",
   "coding": {"system": "http://loinc.org", "code": "38229-1", "display": "Moisture exposure Braden scale"},
   "answers": [
    {"points": 1, "system": "http://loinc.org", "code": "LA9607-8", "display": "Constantly moist"},
    {"points": 2, "system": "http://loinc.org", "code": "LA9608-6", "display": "Very moist"},
    {"points": 3, "system": "http://loinc.org", "code": "LA9609-4", "display": "Occasionally moist"},
    {"points": 4, "system": "http://loinc.org", "code": "LA9610-2", "display": "Rarely moist"}]},
  {"code": "activity", "name": "Activity",
   "coding": {"system": "http://loinc.org", "code": "38223-4", "display": "Physical activity Braden scale"},
   "answers": [
    {"points": 1, "system": "http://loinc.org", "code": "LA6742-6", "display": "Bedfast"},
    {"points": 2, "system": "http://loinc.org", "code": "LA9611-0", "display": "Chairfast"},
    {"points": 3, "system": "http://loinc.org", "code": "LA9612-8", "display": "Walks occasionally"},
    {"points": 4, "system": "http://loinc.org", "code": "LA9613-6", "display": "Walks frequently"}]},
  {"code": "mobility", "name": "Mobility",
   "coding": {"system": "http://loinc.org", "code": "38224-2", "display": "Physical mobility Braden scale"},
   "answers": [
    {"points": 1, "system": "http://loinc.org", "code": "LA9614-4", "display": "Completely immobile"},
    {"points": 2, "system": "http://loinc.org", "code": "LA9604-5", "display": "Very limited"},
    {"points": 3, "system": "http://loinc.org", "code": "LA9605-2", "display": "Slightly limited"},
    {"points": 4, "system": "http://loinc.org", "code": "LA120-8", "display": "No limitation"}]},
  {"code": "nutrition", "name": "Nutrition",
   "coding": {"system": "http://loinc.org", "code": "38225-9", "display": "Nutrition intake pattern Braden scale"},
   "answers": [
    {"points": 1, "system": "http://loinc.org", "code": "LA9615-1", "display": "Very poor"},
    {"points": 2, "system": "http://loinc.org", "code": "LA9616-9", "display": "Probably inadequate"},
    {"points": 3, "system": "http://loinc.org", "code": "LA8913-1", "display": "Adequate"},
    {"points": 4, "system": "http://loinc.org", "code": "LA9206-9", "display": "Excellent"}]},
  {"code": "friction_shear", "name": "Friction and shear",
   "coding": {"system": "http://loinc.org", "code": "38226-7", "display": "Friction and shear Braden scale"},
   "answers": [
    {"points": 1, "system": "http://loinc.org", "code": "LA9617-7", "display": "Problem"},
    {"points": 2, "system": "http://loinc.org", "code": "LA9618-5", "display": "Potential problem"},
    {"points": 3, "system": "http://loinc.org", "code": "LA9619-3", "display": "No apparent problem"}]}],
 "bands": [
  {"band": "very-high", "min": 6, "max": 9, "system": "http://loinc.org", "code": "LA14637-5", "display": "Very high"},
  {"band": "high", "min": 10, "max": 12, "system": "http://loinc.org", "code": "LA9193-9", "display": "High"},
  {"band": "moderate", "min": 13, "max": 14, "system": "http://loinc.org", "code": "LA6751-7", "display": "Moderate"},
  {"band": "mild", "min": 15, "max": 18, "system": "http://loinc.org", "code": "LA6752-5", "display": "Mild"},
  {"band": "none", "min": 19, "max": 23, "system": "http://loinc.org", "code": "LA19983-8", "display": "No risk"}],
 "sources": [
  "LOINC item, total, risk-level and answer codes: HL7 Portugal CPE value sets, github.com/hl7-pt/terminologias input/fsh/valueSets/cpe-braden-scale-observation.fsh and cpe-braden-scale-result.fsh (commit 08aebb8)",
  "SNOMED CT 781128005: HL7 Portugal cpe-scale.fsh",
  "Bands <=9 / 10-12 / 13-14 / 15-18: US VA VistA mental health instrument template, https://vivian.worldvista.org/vivian-data/601_93/601.93-22.html (Braden & Bergstrom 1988); 19-23 no risk: https://www.wound-debridement.com/master-braden-scale-scoring-what-every-score-tells-you (tertiary). Sources disagree (e.g. 13-15 moderate elsewhere)."],
 "notes": "No LOINC panel code for Braden was found in any source. The mobility answers reuse LA9604-5 and LA9605-2 (Very limited, Slightly limited), as HL7 Portugal's value set lists them once."}
$json$);

-- Mini Nutritional Assessment, short form.  Items and scoring: the MNA-SF
-- form (Nestlé; Rubenstein et al. 2001), as printed in Ann Saudi Med
-- 2016;36(5):346 table 1.  LOINC: US Core 10.0.0-ballot examples (panel
-- 107107-5, C 107110-9, D 107111-7, total 107114-1, BMI 39156-5); items A,
-- B, E and F2 have no confirmed LOINC code and use the platform's own code
-- system, as do the bands.
INSERT INTO deling.instrument (code, name, definition) VALUES ('mna-sf', 'MNA-SF (ernæringsscreening)', $json$
{"code": "mna-sf", "name": "Mini Nutritional Assessment - Short Form (MNA-SF)",
 "panel": {"system": "http://loinc.org", "code": "107107-5", "display": "Mini Nutritional Assessment - Short Form (MNA-SF)"},
 "total": {"system": "http://loinc.org", "code": "107114-1", "display": "Total score"},
 "items": [
  {"code": "A", "name": "Food intake declined over the past 3 months",
   "coding": {"system": "https://deling.nhn.no/fhir/CodeSystem/mna-sf", "code": "A",
              "display": "Has food intake declined over the past 3 months due to loss of appetite, digestive problems, chewing or swallowing difficulties?"},
   "answers": [
    {"points": 0, "display": "severe decrease in food intake"},
    {"points": 1, "display": "moderate decrease in food intake"},
    {"points": 2, "display": "no decrease in food intake"}]},
  {"code": "B", "name": "Weight loss during the last 3 months",
   "coding": {"system": "https://deling.nhn.no/fhir/CodeSystem/mna-sf", "code": "B", "display": "Weight loss during the last 3 months"},
   "answers": [
    {"points": 0, "display": "weight loss greater than 3 kg"},
    {"points": 1, "display": "does not know"},
    {"points": 2, "display": "weight loss between 1 and 3 kg"},
    {"points": 3, "display": "no weight loss"}]},
  {"code": "C", "name": "Mobility",
   "coding": {"system": "http://loinc.org", "code": "107110-9", "display": "Mobility"},
   "answers": [
    {"points": 0, "display": "bed or chair bound"},
    {"points": 1, "display": "able to get out of bed / chair but does not go out"},
    {"points": 2, "display": "goes out"}]},
  {"code": "D", "name": "Psychological stress or acute disease in the past 3 months",
   "coding": {"system": "http://loinc.org", "code": "107111-7",
              "display": "Has suffered psychological stress or acute disease in the past 3 months?"},
   "answers": [
    {"points": 0, "display": "yes"},
    {"points": 2, "display": "no"}]},
  {"code": "E", "name": "Neuropsychological problems",
   "coding": {"system": "https://deling.nhn.no/fhir/CodeSystem/mna-sf", "code": "E", "display": "Neuropsychological problems"},
   "answers": [
    {"points": 0, "display": "severe dementia or depression"},
    {"points": 1, "display": "mild dementia"},
    {"points": 2, "display": "no psychological problems"}]},
  {"code": "F1", "name": "Body mass index",
   "coding": {"system": "http://loinc.org", "code": "39156-5", "display": "Body mass index (BMI) [Ratio]"},
   "unit": "kg/m2", "min": 5, "max": 100,
   "ranges": [
    {"below": 19, "points": 0, "display": "BMI less than 19"},
    {"below": 21, "points": 1, "display": "BMI 19 to less than 21"},
    {"below": 23, "points": 2, "display": "BMI 21 to less than 23"},
    {"points": 3, "display": "BMI 23 or greater"}]},
  {"code": "F2", "name": "Calf circumference",
   "coding": {"system": "https://deling.nhn.no/fhir/CodeSystem/mna-sf", "code": "F2", "display": "Calf circumference (CC) in cm"},
   "unit": "cm", "min": 5, "max": 100,
   "ranges": [
    {"below": 31, "points": 0, "display": "CC less than 31"},
    {"points": 3, "display": "CC 31 or greater"}]}],
 "alternatives": [["F1", "F2"]],
 "bands": [
  {"band": "malnourished", "min": 0, "max": 7, "system": "https://deling.nhn.no/fhir/CodeSystem/mna-sf", "code": "malnourished", "display": "Malnourished"},
  {"band": "at-risk", "min": 8, "max": 11, "system": "https://deling.nhn.no/fhir/CodeSystem/mna-sf", "code": "at-risk", "display": "At risk of malnutrition"},
  {"band": "normal", "min": 12, "max": 14, "system": "https://deling.nhn.no/fhir/CodeSystem/mna-sf", "code": "normal", "display": "Normal nutritional status"}],
 "sources": [
  "Items, points and bands: MNA-SF form (Rubenstein LZ et al., J Gerontol A 2001;56(6):M366-72), as printed in Ann Saudi Med 2016;36(5):346, https://pmc.ncbi.nlm.nih.gov/articles/PMC6074319/table/t1-asm-5-346; bands also Academy of Nutrition and Dietetics EAL, https://www.andeal.org/topic.cfm?menu=5382&cat=5926",
  "LOINC 107107-5, 107110-9, 107111-7, 107114-1 and 39156-5 (used for F1): US Core 10.0.0-ballot CI build examples, https://build.fhir.org/ig/HL7/US-Core/branches/master/Observation-MNA-SF-panel-example-107107-5.html and the item examples"],
 "notes": "LOINC codes of items A, B, E and F2 and of the bands are not confirmed by any source: they use the platform's own code system https://deling.nhn.no/fhir/CodeSystem/mna-sf. F1 and F2 take the measurement (BMI in kg/m2, calf circumference in cm); 5-100 are the platform's plausibility limits, not part of the instrument. Exactly one of F1 and F2 is given."}
$json$);

-- Morse Fall Scale.  Item, total, risk-level and answer codes: LOINC, as
-- listed by HL7 Portugal's CPE value sets; SNOMED CT 426938003.  Bands:
-- LOINC's risk-level answers, low (0-24), moderate (25-45), high (50+); every
-- item's points are multiples of 5, so moderate is written 25-49.
INSERT INTO deling.instrument (code, name, definition) VALUES ('morse', 'Morse fallskala (fallrisiko)', $json$
{"code": "morse", "name": "Morse Fall Scale",
 "scale": {"system": "http://snomed.info/sct", "code": "426938003", "display": "Morse falls risk assessment (assessment scale)"},
 "total": {"system": "http://loinc.org", "code": "59460-6", "display": "Fall risk total [Morse Fall Scale]"},
 "band_coding": {"system": "http://loinc.org", "code": "59461-4", "display": "Fall risk level [Morse Fall Scale]"},
 "items": [
  {"code": "history_of_falling", "name": "History of falling",
   "coding": {"system": "http://loinc.org", "code": "59454-9", "display": "History of falling; immediate or within 3 months [Morse Fall Scale]"},
   "answers": [
    {"points": 0, "system": "http://loinc.org", "code": "LA32-8", "display": "No"},
    {"points": 25, "system": "http://loinc.org", "code": "LA33-6", "display": "Yes"}]},
  {"code": "secondary_diagnosis", "name": "Secondary diagnosis",
   "coding": {"system": "http://loinc.org", "code": "59455-6", "display": "Secondary diagnosis is present"},
   "answers": [
    {"points": 0, "system": "http://loinc.org", "code": "LA32-8", "display": "No"},
    {"points": 15, "system": "http://loinc.org", "code": "LA33-6", "display": "Yes"}]},
  {"code": "ambulatory_aid", "name": "Ambulatory aid",
   "coding": {"system": "http://loinc.org", "code": "59456-4", "display": "Ambulatory aid [Morse Fall Scale]"},
   "answers": [
    {"points": 0, "system": "http://loinc.org", "code": "LA13030-4", "display": "Bed rest/nurse assist"},
    {"points": 15, "system": "http://loinc.org", "code": "LA13031-2", "display": "Crutches/cane/walker"},
    {"points": 30, "system": "http://loinc.org", "code": "LA13032-0", "display": "Furniture"}]},
  {"code": "iv_access", "name": "IV/heparin lock",
   "coding": {"system": "http://loinc.org", "code": "59457-2", "display": "IV/Heparin Lock"},
   "answers": [
    {"points": 0, "system": "http://loinc.org", "code": "LA32-8", "display": "No"},
    {"points": 20, "system": "http://loinc.org", "code": "LA33-6", "display": "Yes"}]},
  {"code": "gait", "name": "Gait",
   "coding": {"system": "http://loinc.org", "code": "59458-0", "display": "Gait [Morse Fall Scale]"},
   "answers": [
    {"points": 0, "system": "http://loinc.org", "code": "LA13033-8", "display": "Normal/bedrest/immobile"},
    {"points": 10, "system": "http://loinc.org", "code": "LA13034-6", "display": "Weak"},
    {"points": 20, "system": "http://loinc.org", "code": "LA13035-3", "display": "Impaired"}]},
  {"code": "mental_status", "name": "Mental status",
   "coding": {"system": "http://loinc.org", "code": "59459-8", "display": "Mental status [Morse Fall Scale]"},
   "answers": [
    {"points": 0, "system": "http://loinc.org", "code": "LA13036-1", "display": "Oriented to own ability"},
    {"points": 15, "system": "http://loinc.org", "code": "LA13037-9", "display": "Forgets limitations"}]}],
 "bands": [
  {"band": "low", "min": 0, "max": 24, "system": "http://loinc.org", "code": "LA13038-7", "display": "Low Risk (MFS Score 0 - 24)"},
  {"band": "moderate", "min": 25, "max": 49, "system": "http://loinc.org", "code": "LA13039-5", "display": "Moderate Risk (MFS Score 25 - 45)"},
  {"band": "high", "min": 50, "max": 125, "system": "http://loinc.org", "code": "LA13040-3", "display": "High Risk (MFS Score 50+)"}],
 "sources": [
  "LOINC item, total, risk-level and answer codes, and the risk levels' score ranges: HL7 Portugal CPE value sets, github.com/hl7-pt/terminologias input/fsh/valueSets/cpe-morse-fall-scale-observation.fsh and cpe-morse-fall-scale-result.fsh (commit 08aebb8)",
  "SNOMED CT 426938003: HL7 Portugal cpe-scale.fsh"],
 "notes": "Cut-offs are set per institution. These are LOINC's answer list (low 0-24, moderate 25-45, high 50+), so the interpretation code agrees with its display; the set 0-24 / 25-44 / >=45 also in use differs at exactly 45 (moderate here, high there). No LOINC panel code was found."}
$json$);

-- IPLOS function assessment: each variable stands alone (no total).  Scores
-- 1-5 and 9 = not relevant (Helsedirektoratet); only the variables a
-- source names are defined: the list of the 20 function variables was not
-- found in any stored source, so the rest are missing (the DBA adds them
-- with UPDATE deling.instrument when the IPLOS veileder's list is at hand).
INSERT INTO deling.instrument (code, name, definition) VALUES ('iplos', 'IPLOS funksjonsvurdering', $json$
{"code": "iplos", "name": "IPLOS funksjonsvurdering",
 "items": [
  {"code": "syn", "name": "Syn", "required": false,
   "coding": {"system": "https://deling.nhn.no/fhir/CodeSystem/iplos-funksjon", "code": "syn", "display": "Syn"},
   "answers": [
    {"points": 1, "display": "Ser godt/har ingen problemer"},
    {"points": 2, "display": "Har noe redusert syn"},
    {"points": 3, "display": "Har dårlig syn"},
    {"points": 4, "display": "Har svært dårlig syn"},
    {"points": 5, "display": "Blind"},
    {"points": 9, "display": "Ikke relevant"}]},
  {"code": "alminnelig_husarbeid", "name": "Alminnelig husarbeid", "required": false,
   "coding": {"system": "https://deling.nhn.no/fhir/CodeSystem/iplos-funksjon", "code": "alminnelig_husarbeid", "display": "Alminnelig husarbeid"},
   "answers": [
    {"points": 1, "display": "Utgjør ingen problemer/utfordringer. Ikke behov for personbistand"},
    {"points": 2, "display": "Utfører/klarer selv (eventuelt med hjelpemidler), men har utfordringer eller endret standard. Ikke behov for personbistand"},
    {"points": 3, "display": "Middels behov for bistand/assistanse/helsehjelp"},
    {"points": 4, "display": "Store behov for bistand/assistanse/helsehjelp"},
    {"points": 5, "display": "Fullt behov for bistand/assistanse/helsehjelp"},
    {"points": 9, "display": "Ikke relevant"}]}],
 "sources": [
  "Scores 1-5 and 9: Helsedirektoratet, Hvordan vurdere skår på bistandsvariablene?, https://helsedirektoratet.no/iplos-registeret/iplos-sporsmal-og-svar/vurdere-bistandsbehov-skarmetodikk",
  "20 function variables scored 1-5, or 9 when not relevant: Helsedirektoratet, Legetjenester blant beboere i omsorgsbolig, kapittel 2, https://www.helsedirektoratet.no/rapporter/legetjenester-blant-beboere-i-omsorgsbolig/kommunalt-pasient-og-brukerregister-kpr",
  "Syn and its five levels: Helsedirektoratet, Registrering av helse- og omsorgsdata i kommunen, Funksjonsvariablene, Syn, https://helsedir-xpqa-helsedir.enonic.cloud/veiledere/registrering-av-iplos-data-i-kommunen/funksjonsvariablene/syn",
  "Alminnelig husarbeid as a function variable of the veileder: https://www.autismeforeldrene.org/iplos (secondary)"],
 "notes": "Only 2 of the 20 function variables are confirmed by a source; the others (the IPLOS veileder's list) are not defined yet. The variables have no LOINC or SNOMED CT codes: the platform's own code system https://deling.nhn.no/fhir/CodeSystem/iplos-funksjon."}
$json$);

-- pg_dump keeps the DBA's changes: a reference table, dumped whole and
-- restored over its seeds (src/sql/0.2.0/20_dump.sql)
CREATE TRIGGER reference_row_insert BEFORE INSERT ON deling.instrument
    FOR EACH ROW EXECUTE FUNCTION deling.reference_row_insert();
CREATE TRIGGER reference_row_delete AFTER DELETE ON deling.instrument
    FOR EACH ROW EXECUTE FUNCTION deling.reference_row_delete();
SELECT pg_catalog.pg_extension_config_dump('deling.instrument', '');

GRANT SELECT, INSERT, UPDATE, DELETE ON deling.instrument TO deling_admin;
GRANT SELECT ON deling.instrument TO deling_helsepersonell, deling_integrasjon, deling_kpr;
GRANT EXECUTE ON FUNCTION
    deling.instrument_score(jsonb, jsonb, integer), deling.instrument_problem(jsonb, jsonb, integer),
    deling.instrument_items(jsonb, jsonb), deling.instrument_check(jsonb)
    TO deling_admin, deling_helsepersonell, deling_integrasjon, deling_kpr;
