# Every C entry point of deling, with valid and invalid input, run under
# valgrind (memcheck) in a single-user backend.  Any memory error or
# definite leak whose stack passes through deling's C code fails; errors
# elsewhere (PostgreSQL, libc) are counted in a note but not as failures.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use DelingTest;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

die('valgrind is not installed (scripts/bootstrap.sh installs it)')
  unless grep { -x "$_/valgrind" } split /:/, $ENV{PATH};
my $node = plain_node('memcheck', "shared_preload_libraries = 'deling'");    # never started: single-user mode
my $dir = PostgreSQL::Test::Utils::tempdir();

my $now = time();
my $payload = qq({"iss":"https://helseid-sts.nhn.no","aud":"nhn:deling","iat":$now,"exp":${\ ($now + 600)},"scope":["nhn:deling/integrasjon"],"helseid://claims/client/claims/orgnr_parent":"972418013"});
my %value = (
	GOOD => mint_token('RS256', 'mc1', $payload),
	PERSON => mint_token('RS256', 'mc1', qq({"iss":"https://helseid-sts.nhn.no","aud":"nhn:deling","iat":$now,"exp":${\ ($now + 600)},"scope":["nhn:deling/helsepersonell"],"helseid://claims/identity/security_level":"4","helseid://claims/identity/assurance_level":"high","helseid://claims/hpr/hpr_number":"565501872","helseid://claims/client/claims/orgnr_parent":"972418013"})),
	HS   => mint_token('HS256', 'mc1', $payload),
	PUB  => mint_token('pubkey', 'mc1') =~ s/'/''/gr,
	MOD  => (`openssl rsa -pubin -in '$ENV{DELING_TEST_KEYS}/mc1.pub.pem' -noout -modulus` =~ /=([0-9A-F]+)/)[0]);

# the calls, one statement each ended by a semicolon and an empty line
# (postgres --single -j); @GOOD@, @PERSON@, @HS@, @PUB@ and @MOD@ are filled in
my $calls = <<'SQL';
CREATE EXTENSION deling;

SELECT deling.fnr_valid(v), deling.fnr_problem(v) FROM unnest(ARRAY['02013299997', '30108299939', '13057444850', '19779998080', '', 'x', '0201329999a', '41814512302', '81234567802']) v;

SELECT deling.fnr_kind('41814512302'), deling.fnr_synthetic('01814512319'), deling.fnr_birth_date('29020052412'), deling.fnr_birth_date('81234567802');

SELECT deling.fnr_check('02013299998');

SELECT deling.synthetic_fnr(d::date, s) FROM generate_series(date '1900-01-01', date '2039-12-31', interval '97 days') d, generate_series(0, 3) s;

SELECT deling.synthetic_fnr('1800-01-01', 0);

SELECT deling.orgnr_valid(v) FROM unnest(ARRAY['972418013', '972418014', '9724', 'abcdefghi']) v;

SELECT deling.code_problem(s, v), deling.code_canonical(s, v), deling.code_chapter(s, v) FROM unnest(ARRAY['icpc-2', 'ICD-10', 'snomed-ct', 'urn:oid:2.16.578.1.12.4.1.1.7110', 'icd-11', '']) s, unnest(ARRAY['K86', 'k86', '-30', 'A981', 'C86', 'F32.1', 'f321', 'I21.0A', 'V0n.0a', 'T4n', 'D49', 'F32.', 'F32 1', '722742002', '1104051000000101', '722742003', '123456017', '', repeat('9', 40)]) v;

SELECT deling.icpc2_problem(v), deling.icd10_problem(v), deling.snomed_problem(v), deling.icd10_canonical(v), deling.icpc2_component(v) FROM unnest(ARRAY['K86', '-69', 'K301', 'F10.00', 'X6n.x', 'U86', '8921000202108', '0722742002', '', 'æøå', repeat('x', 5000)]) v;

SELECT deling.code_system_key(s), deling.code_system_uri(coalesce(deling.code_system_key(s), 'icd-10')) FROM unnest(ARRAY['icpc-2', 'urn:oid:2.16.578.1.12.4.1.1.7170', 'http://hl7.org/fhir/sid/icd-10-no', 'http://snomed.info/sct', 'sct', '']) s;

SELECT deling.code_system_uri('icd-11');

SELECT deling.code_block_problem(b), deling.code_block_canonical(b) FROM unnest(ARRAY['icd-10:F32.1', 'ICD-10:f321', 'icd-10:c00-d48', 'icd-10:D48-C00', 'icd-10:C0-D48', 'icpc-2:p', 'icpc-2:C', 'snomed-ct:722742002', 'urn:oid:2.16.578.1.12.4.1.1.7170:k86', 'F32', ':', '', repeat('icd-10:', 50)]) b;

SELECT count(*) FILTER (WHERE deling.code_block_matches(b, s, c)) AS code_blocks_covered FROM unnest(ARRAY['icd-10:F32', 'icd-10:F', 'icd-10:C00-D48', 'icd-10:V01-Y98', 'icpc-2:P', 'icpc-2:A98', 'snomed-ct:722742002']) b, unnest(ARRAY['icd-10', 'icpc-2', 'snomed-ct', 'x']) s, unnest(ARRAY['F32.1', 'C50.9', 'V0n.0a', 'P76', 'A981', '722742002', 'F3', '']) c;

SELECT deling.code_block_matches('icd-10:F3', 'icd-10', 'F32.1');

SELECT deling.code_blocks_match(ARRAY['icpc-2:P', NULL, 'icd-10:F', 'icd-10:C00-D48'], s, c) FROM unnest(ARRAY['icd-10', 'icpc-2']) s, unnest(ARRAY['F32.1', 'P76', 'K86', 'bad']) c;

SELECT deling.code_blocks_match(ARRAY[['icd-10:F'], ['icd-10:G']], 'icd-10', 'F32.1');

SELECT deling.code_blocks_match(ARRAY['icd-10:F', 'no system'], 'icd-10', 'K86');

SELECT deling.jwt_header('@GOOD@');

SELECT deling.jwt_verify_rs256('@GOOD@', '@PUB@');

SELECT deling.jwt_verify_rs256('@HS@', '@PUB@');

SELECT deling.jwt_verify_rs256(left('@GOOD@', length('@GOOD@') - 5), '@PUB@');

SELECT deling.jwt_verify_rs256('@GOOD@', 'not a key');

SELECT deling.jwt_header('bm90IGpzb24.e30.AAAA');

SELECT deling.jwt_header('e30');

SELECT deling.jwt_header(repeat('a.', 9000));

SELECT deling.jwk_to_pem(jsonb_build_object('kty', 'RSA', 'e', 'AQAB', 'n', rtrim(translate(encode(decode('@MOD@', 'hex'), 'base64'), E'+/\n', '-_'), '=')));

SELECT deling.add_trusted_key('mc1', '@PUB@');

SELECT deling.verify_token('@PERSON@')->>'kind' AS token_first;

SELECT deling.verify_token('@PERSON@')->>'kind' AS token_cached;

SELECT deling.verify_token('@GOOD@');

SELECT deling.verify_token(NULL);

SELECT deling.token_cache_status() AS token_cache;

SELECT deling.revoke_trusted_key('mc1');

SELECT deling.verify_token('@PERSON@');

SELECT deling.token_cache_invalidate();

SELECT deling.jwk_to_pem('{"kty": "RSA", "e": "AQAB", "n": "AAAA"}');

SELECT deling.jwk_to_pem('{"kty": "RSA", "e": "AQAB", "n": "!!"}');

SELECT deling.jwk_to_pem('[1]');

SELECT deling.public_key_check('@PUB@');

SELECT deling.public_key_check('-----BEGIN PUBLIC KEY-----');

SELECT deling.news2_score(rr, 95, sc, o2, 100, 100, c, t) FROM unnest(ARRAY[5, 15, 30]) rr, unnest(ARRAY[1, 2]) sc, unnest(ARRAY[true, false]) o2, unnest(ARRAY['A', 'new confusion', ' u ']) c, unnest(ARRAY[24.0, 35.05, 36.5, 38.5, 40.0, 46.0, 'NaN']::numeric[]) t WHERE t BETWEEN 25 AND 45;

SELECT deling.news2_subscores(22, 94, 2, true, 105, 95, 'voice', 38.5), deling.news2_risk(8, 91, 1, true, 90, 131, 'U', 35.0);

SELECT deling.news2_problem(16, 98, 1, false, 120, 70, c, t) FROM unnest(ARRAY['A', 'X', '', 'asleep']) c, unnest(ARRAY[24.9, 37.0, 45.1, 'NaN', '-Infinity']::numeric[]) t;

SELECT deling.news2_score(16, 101, 1, false, 120, 70, 'A', 37.0);

SELECT deling.news2_score(16, 98, 1, false, 120, 70, 'sleepy', 37.0);

SELECT deling.news2_acvpu(v) FROM unnest(ARRAY['a', 'Alert', 'x', '', '  pain  ']) v;

SELECT (deling.instrument_score(i.definition, x.items::jsonb, x.total)).*, deling.instrument_problem(i.definition, x.items::jsonb, x.total) AS problem FROM deling.instrument i JOIN (VALUES ('braden', '{"sensory_perception": 3, "moisture": "LA9608-6", "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 2}', 16), ('mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F1": 18.999999999999999999}', NULL), ('morse', '{"history_of_falling": "LA33-6", "secondary_diagnosis": 15, "ambulatory_aid": 30, "iv_access": 20, "gait": 20, "mental_status": 15}', 125), ('iplos', '{"syn": 9, "alminnelig_husarbeid": null}', NULL)) x(code, items, total) USING (code);

SELECT deling.instrument_problem(i.definition, x.items::jsonb, x.total) AS instrument_problem FROM deling.instrument i JOIN (VALUES ('braden', '{"sensory_perception": 3, "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3, "friction_shear": 2, "turning": 1}', NULL), ('braden', '{"moisture": 2.5}', NULL), ('braden', '{"sensory_perception": 3, "moisture": 3, "activity": 3, "mobility": 3, "nutrition": 3}', NULL), ('braden', '[1]', NULL), ('mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F1": 22, "F2": 31}', NULL), ('mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2}', NULL), ('mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F1": "x"}', NULL), ('mna-sf', '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F1": 101}', NULL), ('morse', '{"history_of_falling": 25, "secondary_diagnosis": 15, "ambulatory_aid": 30, "iv_access": 20, "gait": 20, "mental_status": 15}', 120), ('iplos', '{"syn": 1}', 1), ('iplos', '{}', NULL)) x(code, items, total) USING (code);

SELECT deling.instrument_problem(NULL, '{}'), deling.instrument_problem(definition, NULL), deling.instrument_score(NULL, '{}'), deling.instrument_items(definition, '{"A": 2, "B": 3, "C": 2, "D": 2, "E": 2, "F2": 30.5}') FROM deling.instrument WHERE code = 'mna-sf';

SELECT deling.instrument_score(definition, '{"moisture": 9}') FROM deling.instrument WHERE code = 'braden';

SELECT deling.instrument_items(definition, '{"syn": 0}') FROM deling.instrument WHERE code = 'iplos';

SELECT deling.instrument_check(jsonb_set(i.definition, p::text[], v::jsonb)) AS definition_problem FROM deling.instrument i, (VALUES ('{bands,0,max}', '8'), ('{items,0,coding,code}', '"9017-7"'), ('{items,0,answers,1,points}', '1'), ('{items,0,requried}', 'true'), ('{alternatives}', '[["moisture"]]'), ('{total}', 'null'), ('{code}', '"x y"')) x(p, v) WHERE i.code = 'braden';

SELECT count(*) AS instruments_scored FROM deling.instrument i, generate_series(1, 20) n WHERE i.code = 'braden' AND (deling.instrument_score(jsonb_set(i.definition, '{name}', to_jsonb('v' || n)), '{"sensory_perception": 1, "moisture": 1, "activity": 1, "mobility": 1, "nutrition": 1, "friction_shear": 1}')).band = 'very-high';

SELECT deling.instrument_check(v::jsonb) AS definition_problem FROM unnest(ARRAY['[1]', '{"code": 1}', '{"code": "x", "name": "x", "items": [{"code": "a", "name": "a", "coding": {"system": "urn:x", "code": "a"}, "unit": "cm", "min": 1, "max": 0, "ranges": [{"points": 0}]}]}', '{"code": "x", "name": "x", "items": [{"code": "a", "name": "a", "coding": {"system": "urn:x", "code": "a"}, "ranges": [{"below": 2, "points": 0}, {"below": 1, "points": 1}, {"points": 2}]}]}']) v;

SELECT deling.instrument_score('{"code": "x"}', '{}');

SELECT deling.try_timestamptz(v) FROM unnest(ARRAY['2026-11-20T08:00:00+01:00', '2026-13-01T00:00:00Z', 'garbage', '', repeat('9', 500)]) v;

SELECT deling.news2_item_problem(b || e::jsonb) AS news2_item FROM (SELECT jsonb_build_object('pid', deling.synthetic_fnr('1980-05-17', 0), 'measured_at', '2026-11-20T08:00:00+01:00', 'resp_rate', 16, 'spo2', 98, 'on_oxygen', false, 'systolic_bp', 120, 'pulse', 70, 'consciousness', 'A', 'temperature', 37.0, 'source_system', 'test-epj', 'source_id', 'x1') AS b) x, unnest(ARRAY['{}', '{"zz": 1, "aa": 2}', '{"pulse": null}', '{"pulse": 70.5}', '{"pid": "02013299998"}', '{"measured_at": "2026-13-20T08:00:00+01:00"}', '{"on_oxygen": true, "oxygen_flow": 61}', '{"unit_orgnr": "974760674"}', '{"consciousness": "asleep"}', '{"_unresolved": "urn:x"}']) e;

SELECT deling.municipal_service_item_problem(b || e::jsonb) AS services_item FROM (SELECT jsonb_build_object('pid', deling.synthetic_fnr('1980-05-17', 0), 'service_code', '15', 'status', 'active', 'period_start', '2026-10-15', 'period_end', '2026-12-31', 'source_system', 'test-epj', 'source_id', 's1') AS b) x, unnest(ARRAY['{}', '{"stops": [{"from": "2026-11-10", "to": "2026-11-12"}, {"from": "2026-11-01", "to": "2026-11-11"}]}', '{"stops": [{"from": "2026-11-01", "x": 1}]}', '{"vedtak_date": "2099-01-01"}', '{"registered_at": "2026-11-01T08:00:00"}', '{"unit_phone": "12"}', '{"weekly_hours": 169}']) e;

SELECT deling.ingest_problems(jsonb_build_array(b, b, '"x"', b || '{"source_id": "x2", "pulse": "70"}'), '1804', 'deling.news2_item_problem') AS batch_problems FROM (SELECT jsonb_build_object('pid', deling.synthetic_fnr('1980-05-17', 0), 'measured_at', '2026-11-20T08:00:00+01:00', 'resp_rate', 16, 'spo2', 98, 'on_oxygen', false, 'systolic_bp', 120, 'pulse', 70, 'consciousness', 'A', 'temperature', 37.0, 'source_system', 'test-epj', 'source_id', 'x1') AS b) x;

SELECT deling.ingest_problems('[{"source_system": "a", "source_id": "1"}, {"source_system": "a b", "source_id": "2"}, 7]', '1804', 'deling.source_problem') AS own_check_problems;

SELECT deling.ingest_problems('[{"kommune_nr": "0301"}]', '1804', 'deling.news2_item_problem');

SELECT deling.set_context_value('deling.ctx_kind', 'integration', false), deling.set_context_value('deling.ctx_kommune_nr', '1804', true);

SELECT deling.set_context_value('search_path', 'x', false);

SELECT deling.outer_role(), deling.whoami(), deling.ctx_kind(), deling.ctx_citizen_pid(), deling.reach_for(NULL), deling.reach_for('news2'), deling.reach_for('news2'), deling.access_log_ready(), deling.access_log_slot(), deling.current_kommune(), deling.current_kommune(), deling.current_kommune_for('news2'), deling.kpr_reading();

SHOW deling.caller_kommune_for_1;

SELECT current_setting('deling.caller_kommune'), current_setting('deling.caller_kommune_for_1'), current_setting('deling.caller_kommune_for_32');

SELECT deling.fhir_datetime(t) FROM unnest(ARRAY['2026-03-29 00:59:59+00', '2026-03-29 01:00:00+00', '2026-10-25 00:59:59.9+00', 'infinity', '-infinity', '0044-03-15 12:00:00+00']::timestamptz[]) t;

SELECT deling.generate_synthetic(5, 1);

INSERT INTO deling.news2_measurement (kommune_nr, pid, measured_at, resp_rate, spo2, spo2_scale, on_oxygen, oxygen_flow, systolic_bp, pulse, consciousness, temperature, recorded_by, unit_name, unit_orgnr, source_system, source_id) SELECT '1804', pid, now(), 22, 90, 2, true, f, 100, 120, 'V', 38.5, r, u, o, 'memcheck', 'm' || row_number() OVER () FROM deling.citizen, unnest(ARRAY[NULL, 2.5]::numeric[]) f, unnest(ARRAY[NULL, '9144889']) r, unnest(ARRAY[NULL, 'Hjemmetjenesten "Sentrum"']) u, unnest(ARRAY[NULL, '972418013']) o LIMIT 16;

SELECT json_array_length(deling.news2_entries_json(ARRAY[m])), json_array_length(deling.news2_entries_json(ARRAY[m], false)) FROM deling.news2_measurement m;

SELECT sum(deling.news2_score(resp_rate, spo2, spo2_scale, on_oxygen, systolic_bp, pulse, consciousness, temperature)) FROM deling.news2_measurement, generate_series(1, 2);

SELECT json_array_length(deling.news2_summary_entries_json(ARRAY(SELECT m FROM deling.news2_measurement m ORDER BY m.measured_at DESC))) = 7 + (SELECT nullif(count(*), 0) FROM deling.news2_measurement) AS news2_summary_written, deling.news2_summary_entries_json('{}') AS no_news2_summary;

SELECT deling.news2_summary_entries_json(ARRAY[ARRAY[m]]) FROM deling.news2_measurement m LIMIT 1;

SELECT deling.fhir_bundle_json('searchset', ARRAY['[]']::json[], 0, NULL, jsonb_build_array(deling.fhir_link('self', 'news2_observations', ARRAY['pid', '01814700034', 'since', '2026-11-20T08:00+01:00', 'reason', 'økt puls'])));

SELECT deling.fhir_bundle_json('searchset', ARRAY['[]']::json[], 0, NULL, '{"relation": "self"}');

SELECT deling.fhir_bundle_json('history', ARRAY['[]']::json[], 0);

SELECT deling.fhir_bundle_json('searchset', ARRAY['[{"mode": "match"}]']::json[], 1);

SELECT deling.fhir_bundle_json('collection', ARRAY[['[]'], ['[]']]::json[], NULL);

SELECT deling.fhir_bundle_json('collection', ARRAY['[]', '[2]']::json[], NULL);

SELECT deling.fhir_name_uuid(n) FROM unnest(ARRAY['deling-unit:1804:972418013:Hjemmetjenesten', '', 'æøå', repeat('x', 5000)]) n;

CREATE FUNCTION pg_temp.news2_fhir(m deling.news2_measurement, vital_signs boolean) RETURNS jsonb AS '$libdir/deling', 'deling_news2_fhir' LANGUAGE C STRICT;

CREATE FUNCTION pg_temp.fhir_bundle(type text, entries jsonb, matches integer, outcome jsonb, links jsonb) RETURNS jsonb AS '$libdir/deling', 'deling_fhir_bundle' LANGUAGE C;

CREATE FUNCTION pg_temp.fhir_bundle_parts(type text, parts jsonb[], matches integer, outcome jsonb) RETURNS jsonb AS '$libdir/deling', 'deling_fhir_bundle_parts' LANGUAGE C;

SELECT jsonb_array_length(pg_temp.news2_fhir(m, true)) AS compat_news2, jsonb_array_length(pg_temp.fhir_bundle('searchset', pg_temp.news2_fhir(m, false), 1, deling.sharing_outcome(true, false), '[]')->'entry') AS compat_bundle, jsonb_array_length(pg_temp.fhir_bundle_parts('collection', ARRAY[pg_temp.news2_fhir(m, true), NULL], NULL, NULL)->'entry') AS compat_parts FROM deling.news2_measurement m LIMIT 1;

SELECT pg_temp.fhir_bundle_parts('collection', ARRAY[['[]'], ['[]']]::jsonb[], NULL, NULL);

SELECT pg_temp.fhir_bundle('collection', '{"mode": "match"}', NULL, NULL, NULL);

DROP FUNCTION pg_temp.news2_fhir(deling.news2_measurement, boolean), pg_temp.fhir_bundle(text, jsonb, integer, jsonb, jsonb), pg_temp.fhir_bundle_parts(text, jsonb[], integer, jsonb);


SELECT deling.fhir_constant('system.fnr') AS fnr_system, (SELECT count(*) FROM deling.fhir_constants()) AS constant_count, deling.fhir_source_system('gerica') AS source_system;

SELECT deling.fhir_constant('system.nope');

SELECT deling.json_canonical('{"b": [1, 2.50, -0, 1e2, "\u00e9\n\u0001"], "a": {"y": null, "x": true, "y": [{}]}, "b": false}') AS canonical;

SELECT deling.json_canonical('"\u0000"');

SELECT json_array_length(deling.news2_entries_json(ARRAY(SELECT m FROM deling.news2_measurement m))) = 8 * (SELECT nullif(count(*), 0) FROM deling.news2_measurement) AS news2_entries_written, length(deling.news2_entries_json(ARRAY(SELECT m FROM deling.news2_measurement m), false)::text) > 0 AS news2_totals_written, deling.news2_entries_json('{}') AS no_news2_entries;

SELECT deling.news2_entries_json(ARRAY[NULL]::deling.news2_measurement[]);

SELECT deling.news2_entries_json(ARRAY[ROW('1804', gen_random_uuid(), NULL, now(), 16, 98, 1, false, NULL, 120, 70, 'A', 37.0, NULL, NULL, NULL, 'x', 'y', 'final', 1, now(), 0, 'low')::deling.news2_measurement]);

SELECT deling.fhir_patient_json(pid, ARRAY['1804']) IS NOT NULL AS patient_written FROM deling.citizen LIMIT 1;

SELECT deling.fhir_patient_json(deling.synthetic_fnr('1901-01-01', 3), ARRAY['1804']);

SELECT length(deling.fhir_bundle_json(t, ARRAY[deling.news2_entries_json(ARRAY(SELECT m FROM deling.news2_measurement m)), NULL, deling.fhir_entry_json('include', deling.fhir_patient_json((SELECT min(pid) FROM deling.citizen), ARRAY['1804']))], 16, o, l)::text) > 0 AS json_bundle_written FROM unnest(ARRAY['searchset', 'collection']) t, unnest(ARRAY[NULL, deling.sharing_outcome(true, false), deling.sharing_outcome(false, true)]) o, unnest(ARRAY[NULL, jsonb_build_array(deling.fhir_link('self', 'news2_observations', ARRAY['pid', 'a b']))]) l;

SELECT deling.fhir_bundle_json('searchset', ARRAY['[ {"resource" : {"id": "p1", "id": 2, "x": [1, {"id": "y"}]}, "mode": "match", "mode": ["m"], "z": {"resource": 1}}, {"resource": {"resourceType": "Patient"}}]']::json[], 2, NULL, '[]') AS json_bundle_parsed;

SELECT deling.fhir_bundle_json('collection', ARRAY['[{"resource": {}}, [1]]']::json[], NULL);

SELECT length(deling.fhir_searchset_json(deling.news2_entries_json(ARRAY(SELECT m FROM deling.news2_measurement m)), deling.fhir_entry_json('include', deling.fhir_patient_json((SELECT min(pid) FROM deling.citizen), ARRAY['1804'])), 16, deling.sharing_outcome(true, false), '[]')::text) > 0 AS searchset_written;

SELECT deling.fhir_searchset_json('{"resource": {}}', NULL, 1);

SELECT length(deling.fhir_searchset_of('deling.news2_entries_json', ARRAY(SELECT m FROM deling.news2_measurement m), deling.fhir_entry_json('include', deling.fhir_patient_json((SELECT min(pid) FROM deling.citizen), ARRAY['1804'])), 16, deling.sharing_outcome(true, false), '[]')::text) > 0 AS searchset_of_written;

SELECT deling.fhir_bundle_entries(deling.fhir_searchset_of('deling.news2_entries_json', ARRAY(SELECT m FROM deling.news2_measurement m), NULL, 16)) AS bundle_entries_counted;

SELECT deling.fhir_searchset_of('deling.fhir_constant', ARRAY(SELECT m FROM deling.news2_measurement m), NULL, 1);

SELECT deling.fhir_bundle_entries('{"a\"entry": [1], "entry": [1, 2');

SELECT deling.fhir_bundle_json('collection', ARRAY['{"resource": {}}']::json[], NULL);

SELECT deling.fhir_bundle_json('collection', ARRAY['[{"resource": "p"}]']::json[], NULL);

SELECT deling.fhir_bundle_json('collection', '{}', NULL, '[1]');

SELECT deling.fhir_entry_json('include', NULL);

SELECT deling.fhir_render('{"resourceType": "Condition", "id": "{{id}}", "subject": {"reference": "urn:uuid:{{pid}}", "display": "{{missing}}"}, "note": [{"text": "{{note}}"}], "onsetDateTime": "{{onset|datetime}}", "recordedDate": "{{rec|date}}", "x": {"y": null}, "code": {"coding": [{"$each": "codes", "$as": "c", "$template": {"code": "{{c.code}}", "system": "{{const:codesystem.icpc2}}"}}], "text": "{{c}} {{id}}"}, "n": "{{n|integer}}", "d": "{{n|decimal}}", "s": "{{n|string}}", "status": {"$map": "st", "$cases": {"a": "active", "b": "inactive"}, "$default": "unknown"}, "iff": {"$if": "flag", "$then": "yes", "$else": "{{ctx}}"}}', '{"id": "c1", "pid": "p1", "note": null, "onset": "2026-03-29T02:30:00", "rec": "2026-11-20T23:30:00Z", "codes": [{"code": "K86"}, {"code": null}, {"code": "T90"}], "n": 7.0, "st": "b", "flag": false, "ctx": {"a": [null, "", {"b": {}}], "c": 1}}') AS rendered;

SELECT deling.fhir_render('{"a": "{{x|upper}}"}', '{}');

SELECT deling.fhir_render('[{"$each": "v", "$as": "e", "$template": {"$if": "e", "$then": {"$each": "e", "$as": "f", "$template": 1}}}]', '{}');

SELECT deling.fhir_render('"{{v|integer}}"', '{"v": 7.5}');

SELECT deling.fhir_render('"{{v|datetime}}"', '{"v": "2026-02-29T08:00"}');

SELECT deling.fhir_render_entries('{"resourceType": "Basic", "id": "{{id}}", "l": [{"$each": "l", "$as": "x", "$template": "{{x.y}}"}]}', ARRAY['{"id": "a", "l": [{"y": 1}, {"y": 2}]}', NULL, '{"x": 1}', '{"id": "b"}']::jsonb[]) AS rendered_entries;

SELECT deling.fhir_render_entries('{"id": "{{id}}"}', ARRAY['{}', '5']::jsonb[]);

SELECT encode(deling.sha256(convert_to(repeat('deling', n), 'UTF8')), 'hex') FROM generate_series(0, 50, 7) n;

SELECT deling.access_log_emit(jsonb_build_object('time', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'service', 'memcheck', 'decision', 'granted', 'kommuner', jsonb_build_array('1804'), 'n', n)) IS NOT NULL AS emitted FROM generate_series(1, 3) n;

SELECT deling.access_log_emit('[1]');

SELECT deling.access_log_emit('{"time": "2026-02-29T00:00:00.000000Z"}');

SELECT deling.access_log_emit('{"time": "2026-11-23T15:04:05.000000Z", "service": "m", "decision": "granted", "kommuner": ["1804", 1]}');

SELECT deling.access_log_emit(jsonb_build_object('time', '2026-11-23T15:04:05.000000Z', 'service', 'm', 'decision', 'granted', 'kommuner', '[]'::jsonb, 'padding', repeat('x', 17000)));

SELECT deling.access_log_emit('{"time": "2026-11-23T15:04:05.000000Z", "service": "m", "decision": "granted", "kommuner": [], "citizen": 1}');

SELECT coalesce(deling.access_log_problem(r), 'appendable') AS problem FROM unnest(ARRAY[convert_to('{"time": "2026-11-23T15:04:05.000000Z", "service": "m", "decision": "denied", "kommuner": ["1804"], "citizen": "x"}', 'UTF8'), convert_to('not json', 'UTF8'), convert_to('{"a": "\u0000"}', 'UTF8'), '\xff00'::bytea, convert_to('[1, 2', 'UTF8'), convert_to(repeat(' ', 17000) || '{}', 'UTF8'), convert_to(format('{"time": "2026-11-23T15:04:05.000000Z", "service": "m", "decision": "denied", "kommuner": [], "citizen": "%s"}', repeat('9', 101)), 'UTF8')]) r;

SELECT deling.access_log_problem(convert_to('{"n": 1e1000000}', 'UTF8'));

SELECT deling.access_log_entry('news2', '13916300004', ARRAY['1804', '1833'], 'TREAT', NULL, true, NULL, 5) - 'time' AS entry_no_context;

SELECT set_config('deling.ctx_kind', 'person', false), set_config('deling.ctx_session_user', session_user, false), set_config('deling.ctx_purpose', 'ETREAT', false), set_config('deling.ctx_name', repeat('Åse ', 80), false), set_config('deling.ctx_hpr', '565501872', false), set_config('deling.ctx_decision_ref', '{"id": "d-1", "description": "  Bevisstløs  ", "x": {"y": null}}', false);

SELECT deling.access_log_entry(repeat('s', 100), repeat('1', 50), ARRAY['1804', NULL], NULL, '  ', NULL, repeat('ø', 1200), NULL, '{"opened_block": null, "count": 3}') - 'time' AS entry_person;

SELECT set_config('deling.ctx_decision_ref', format('{"id": "%s", "description": "%s"}', repeat('x', 300), repeat('ø', 900)), false) IS NOT NULL, deling.access_log_entry('news2', NULL, ARRAY[['1804'], ['1833']], NULL, 'grunn', true, NULL, 1, NULL) - 'time' AS entry_long_ref;

SELECT set_config('deling.ctx_decision_ref', '[1, 2]', false) IS NOT NULL, deling.access_log_entry('news2', NULL, '{}', NULL, NULL, false, NULL, 0) - 'time' AS entry_array_ref;

SELECT set_config('deling.ctx_decision_ref', 'not json', false) IS NOT NULL, deling.access_log_entry('news2', NULL, '{}', NULL, NULL, false, NULL, 0);

SELECT deling.log_access('news2', '13916300004', ARRAY['1804'], 'TREAT', NULL, true, NULL, 1);

RESET deling.ctx_kind;

SELECT deling.access_log_ready() AS ready_without_worker, (deling.access_log_worker_status()).*;

SELECT deling.access_log_check();

SELECT deling.access_log_drain('10 milliseconds');

SELECT deling.ed25519_verify(convert_to('m' || n, 'UTF8'), deling.ed25519_sign(convert_to('m' || n, 'UTF8'), k), deling.ed25519_public_key(k)) AS ed25519_verified FROM deling.random_key() k, generate_series(1, 3) n;

SELECT deling.ed25519_verify('m', '\x00', '\x00');

SELECT deling.ed25519_sign('m', '\x0102');

SELECT deling.verify_access_log(NULL, deling.access_log_anchor()) AS anchored;

SELECT deling.access_log_append(ARRAY['0/10', '0/20', '0/30']::pg_lsn[], ARRAY[convert_to('{"time": "2026-11-23T15:04:05.000000Z", "service": "m", "decision": "denied", "kommuner": ["1804"]}', 'UTF8'), convert_to('not json', 'UTF8'), '\xff'::bytea]) AS appended;

DROP EXTENSION deling;

SET deling.drop_extension_deletes_access_log = on;

INSERT INTO deling.municipal_service (kommune_nr, pid, service_code, status, period_start, period_end, stops, weekly_hours, description, stay_type, unit_name, unit_orgnr, source_system, source_id) SELECT '1804', pid, c, 'active', date '2026-01-01', e, ARRAY['[2026-03-01,2026-03-05)', '[2026-02-01,)']::daterange[], h, d, t, u, o, 'memcheck', 's' || row_number() OVER () FROM deling.citizen, unnest(ARRAY['1', '15']) c, unnest(ARRAY[NULL, date '2027-01-01']) e, unnest(ARRAY[NULL, 7.5]) WITH ORDINALITY h(h, n), unnest(ARRAY[NULL, 'Hjelp "morgen" \ kveld']) d, unnest(ARRAY[NULL, 'korttidsopphold']) t, unnest(ARRAY[NULL, 'Hjemmetjenesten']) u, unnest(ARRAY[NULL, '972418013']) o LIMIT 64;

SELECT deling.municipal_services_entries_json(ARRAY[jsonb_populate_record(s, '{"pid": null}')]) FROM deling.municipal_service s LIMIT 1;

CREATE FUNCTION pg_temp.municipal_service_fhir(s deling.municipal_service, status text, type_display text, kommune_name text) RETURNS jsonb AS '$libdir/deling', 'deling_municipal_service_fhir' LANGUAGE C;

SELECT bool_and(pg_temp.municipal_service_fhir(s, 'active', 'Praktisk bistand', CASE WHEN s.unit_name IS NULL THEN 'Bodø' END) ? 'resource') AS compat_episode FROM deling.municipal_service s;

SELECT pg_temp.municipal_service_fhir(s, NULL, NULL, NULL) FROM deling.municipal_service s LIMIT 1;

DROP FUNCTION pg_temp.municipal_service_fhir(deling.municipal_service, text, text, text);

SELECT length(deling.municipal_services_entries_json(ARRAY(SELECT s FROM deling.municipal_service s))::text) > 0 AS episodes_written, length(deling.municipal_services_entries_json(ARRAY(SELECT s FROM deling.municipal_service s), '2026-03-02')::text) > 0 AS episodes_on_a_day, deling.municipal_services_entries_json('{}') AS no_episodes;

SELECT deling.municipal_services_entries_json(ARRAY[jsonb_populate_record(s, '{"kommune_nr": "9999"}')]) FROM deling.municipal_service s LIMIT 1;

SELECT deling.municipal_services_entries_json(ARRAY[jsonb_populate_record(s, '{"period_start": "0044-03-15 BC"}')]) FROM deling.municipal_service s LIMIT 1;

SELECT deling.municipal_services_entries_json(ARRAY[NULL]::deling.municipal_service[]);

SELECT deling.fhir_unit_json('1804', '972418013', 'Hjemmetjenesten', '+47 75 55 50 00') IS NOT NULL AS unit_written, deling.fhir_unit_json('9999', NULL, NULL, NULL) IS NULL AS no_unit;

SELECT kpr.validate_xpr_ipl(m) FROM unnest(ARRAY['<Melding xmlns="http://www.npr.no/xmlstds/56_0_0_ipl" versjon="56.0.0"/>', '<x/>', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>']) m;

SELECT kpr.validate_xpr_ipl('<not xml');

SELECT deling.xpr_ipl_build('{"name": "Melding", "attrs": {"versjon": "56.0.0", "n": 1.5, "b": true, "x": null, "s": "<&\"æ>"}, "children": [{"name": "Kommune", "attrs": {"kommuneNr": "1804"}}, 5, {"name": "Tom"}]}');

SELECT deling.xpr_ipl_build('{"attrs": {}}');

SELECT deling.xpr_ipl_build('[1]');

SELECT deling.xpr_ipl_build('{"name": "M", "attrs": {"a": [1]}}');

SELECT kpr.start_reporting('1804', '2026-01-01'), kpr.add_contact(NULL, 1, 'a', 'a@b.no'), kpr.add_contact(NULL, 15, 'b', 'b@b.no'), kpr.add_contact('1804', 16, 'c', 'c@b.no', '+47 900 00 000'), kpr.add_contact('1804', 17, 'd', 'd@b.no');

SET deling.kpr_test_mode = on;

UPDATE deling.municipal_service SET service_code = '21', unit_orgnr = '972418013', version = version + 1 WHERE source_id IN ('s1', 's2', 's3');

SELECT kpr.xpr_ipl_message('1804');

SELECT length(deling.xpr_ipl_build(jsonb_build_object('name', 'Melding', 'children', (SELECT jsonb_agg(p.payload) FROM kpr.plan('1804') p)))) > 0 AS xpr_built;

SELECT encode(deling.hmac_sha256(convert_to('x' || n, 'UTF8'), deling.random_key()), 'hex') FROM generate_series(1, 5) n;

SELECT deling.hmac_sha256('x', 'short');

SELECT deling.sha256_chain('\x00', ARRAY(SELECT convert_to(repeat('e', n), 'UTF8') FROM generate_series(1, 40) n));

SELECT deling.sha256_chain('\x00', ARRAY['\x61', NULL]::bytea[]);

DROP EXTENSION deling;

SELECT count(*) AS extension_left FROM pg_extension WHERE extname = 'deling';
SQL
$calls =~ s/@(GOOD|PERSON|HS|PUB|MOD)@/$value{$1}/g;

my ($log, $valgrind) = ('', "$dir/valgrind.log");
IPC::Run::run(
	[ 'valgrind', '--quiet', '--leak-check=full', '--show-leak-kinds=definite', '--errors-for-leak-kinds=definite',
		'--num-callers=30', '--suppressions=' . repo_path('tests/tools/valgrind.supp'), "--log-file=$valgrind",
		$node->installed_command('postgres'), '--single', '-j', '-D', $node->data_dir, 'postgres' ],
	'<', \$calls, '>&', \$log);
my $rc = $? >> 8;
PostgreSQL::Test::Utils::append_to_file("$dir/out.log", $log);
note("single-user output in $dir/out.log, valgrind's in $valgrind");

ok($rc == 0, "the single-user backend ran every call under valgrind (exit $rc)");
like($log, qr/news2_subscores/, 'every call produced output');
like($log, qr/invalid token: algorithm "HS256"/, 'error paths were exercised');
like($log, qr/Missing child element/, 'the XPR(ipl) schema validator ran');
ok($log =~ /kommuneNr=/ && $log =~ /every element needs a/ && $log =~ /the message must be a JSON object/
	  && $log =~ /XML attribute values must be strings/,
	'the XPR(ipl) builder wrote a document and refused bad input');
like($log, qr/xpr_built = "t"/, 'the notifications of a whole continuous message were planned and written');
like($log, qr/the access log is not running, so no KPR read is allowed/, 'no KPR read while the access log is not running');
ok(has_all(qr/Verhoeff/, qr/\Qcode_canonical = "F32.1"\E/,
		qr/\Qunknown code system "icd-11"\E/, qr/\Qcode_block_canonical = "icpc-2:K86"\E/,
		qr/code_blocks_covered = "[1-9]/, qr/malformed code block: a code block is/,
		qr/code blocks must be a one-dimensional array/),
	'the code-system checks ran: problems named, canonical forms, blocks matched, malformed blocks refused');
like($log, qr/2026-03-29T03:00:00\+02:00/, 'the FHIR renderers ran (DST edge, bad row refused)');
ok($log =~ /Bundle type "history" is not searchset or collection/ && $log =~ /Bundle links must be a JSON array/
	  && $log =~ /since=2026-11-20T08%3A00%2B01%3A00/,
	'the Bundle assembler refused a bad type and links that are not an array');
ok($log =~ /Bundle entry 1 is not an object/ && $log =~ /the parts of a Bundle must be a one-dimensional array/,
	'the Bundle assembler from parts refused a bad entry and a 2-D array');
ok($log =~ /news2_summary_written = "t"/ && $log =~ /NEWS2 rows must be a one-dimensional array/,
	"the legevakt summary's NEWS2 renderer ran and refused a 2-D array");
like($log, qr/fhir_name_uuid = "[0-9a-f]{8}-[0-9a-f]{4}-3/, 'the name-based ids were computed');
ok(has_all(qr/\Qcompat_news2 = "8"\E/, qr/\Qcompat_bundle = "2"\E/, qr/\Qcompat_parts = "8"\E/,
		qr/\Qcompat_episode = "t"\E/, qr/an EpisodeOfCare needs a status/),
	"0.1.0's jsonb builders, kept for a database not yet updated, rendered through the json renderers and refused bad input");
like($log, qr/lacks a required field/, 'the NEWS2 renderer refused a row without its pid');
# has_all(patterns...): the output matches every one
sub has_all { return !grep { $log !~ $_ } @_; }
ok(has_all(qr/\Qfnr_system = "urn:oid:2.16.578.1.12.4.1.4.1"\E/, qr/\Qunknown FHIR constant "system.nope"\E/,
		qr/canonical = .*\Q"a": {"x": true, "y": [{}]}\E/, qr/unsupported Unicode escape sequence/,
		qr/\Qnews2_entries_written = "t"\E/, qr/NEWS2 row 1 is NULL/,
		qr/\Qpatient_written = "t"\E/, qr/\Qjson_bundle_written = "t"\E/, qr/\Qsearchset_written = "t"\E/,
		qr/json_bundle_parsed = .*\Q"entry": [{"resource": {"x": [1, {"id": "y"}], "id": 2}}\E/, qr/Bundle entry 2 is not an object/,
		qr/the OperationOutcome of a Bundle must be a JSON object/, qr/an entry needs a resource/,
		qr/\Qepisodes_written = "t"\E/, qr/which is not on the platform/,
		qr/service 1 is NULL/, qr/\Qunit_written = "t"\E/),
	'the JSON writer, the constants and the json renderers ran and refused bad input');
ok(has_all(qr/rendered = .*\Q"onsetDateTime": "2026-03-29T03:30:00+02:00"\E/,
		qr/\Qunknown filter "upper"\E/, qr/is only allowed as an element of an array/,
		qr/\Q"7.5" is not an integer\E/, qr/is not an ISO 8601 date and time/,
		qr/rendered_entries = .*\Q"id": "b"\E/, qr/the context of a template must be a JSON object/),
	'the template engine rendered and refused a malformed template and data its filters cannot take');
ok(has_all(qr/\Qband_code = "LA6752-5"\E/, qr/unknown item .turning./,
		qr/give exactly one, not 2/, qr/the sender.s total 120 disagrees/,
		qr/\Qinstruments_scored = "20"\E/, qr/has a wrong check digit/,
		qr/is 9, not one of its answers/),
	'the instrument scorer scored every instrument, named each problem and refused bad definitions');
like($log, qr/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855/, 'SHA-256 ran');
ok(has_all(qr/\Qtoken_first = "person"\E/, qr/\Qtoken_cached = "person"\E/, qr/token_cache = .*\Q"hits": 1\E/,
		qr/does not act for an active kommune/, qr/invalid token: empty/, qr/key id "mc1" is not a trusted key/,
		qr/must be called as a trigger/),
	'the token cache verified, answered from the cache, refused bad tokens and a revoked key, and its trigger function refused a direct call');
ok($log =~ /emitted = "t"/ && $log =~ /access-log entry refused: "kommuner"/,
	'the access-log emitter wrote entries and refused malformed ones');
ok($log =~ /has no FHIR form/ && $log =~ /municipal service lacks a required field/,
	'the EpisodeOfCare renderer refused a BC date and a row without its pid');
ok($log =~ /more than 16384/ && $log =~ /it is not JSON/ && $log =~ /not valid UTF-8/ && $log =~ /problem = "appendable"/
	  && $log =~ /at most 100 characters/,
	'the access-log checks ran: too large, not JSON, not UTF-8, no \u0000, a citizen too long, an entry');
ok(has_all(qr/entry_no_context = .*\Q"session_user": "postgres"\E/,
		qr/entry_person = .*\Q"reason": "Bevisstløs"\E.*\Q"emergency": true\E/,
		qr/entry_person = .*\Q[truncated, 320 characters]\E/,
		qr/entry_long_ref = .*\Q"truncated": 1\E/, qr/entry_array_ref = .*\Q"truncated": 6\E/,
		qr/invalid input syntax for type json/,
		qr/the access log is not running, so no sharing-service read is allowed/),
	'the access-log entry builder ran: no context, a person in an emergency (values clipped, nulls left out), a long and a non-object decision_ref, a refusal without the log');
ok(has_all(qr/unknown field\(s\): aa, zz/, qr/stop from 2026-11-10 overlaps the stop before it/,
		qr/source_id appears more than once in the batch/, qr/source_system \\"a b\\" must be 1-100/,
		qr/item 1 is for kommune 0301/),
	'the item checks and the batch check named every problem');
ok($log =~ /ready_without_worker = "f"/ && $log =~ /the access log is not running/ && $log =~ /has not appended every entry/,
	'without a worker the log is not ready: reads refused, drain times out');
ok($log =~ /ed25519_verified = "t"/ && $log =~ /an Ed25519 seed is 32 bytes/ && $log =~ /anchored = .*"valid": true/
	  && $log =~ /appended = "3"/,
	'Ed25519 signed, verified, refused a short key; an anchor verified; the set-based append ran');
ok($log =~ /holds entries, so it is not dropped/ && $log =~ /extension_left = "0"/,
	'DROP EXTENSION refused while the log holds entries, done with the setting');

# valgrind's error records are separated by blank "==PID== " lines; ours are
# those with a frame in deling.so, a deling_ symbol or one of src/*.c
opendir(my $src, repo_path('src')) or die;
my $files = join '|', map { quotemeta } grep { /\.c$/ } readdir $src;
closedir $src;
my @records = split /^==\d+== \n/m, -e $valgrind ? slurp_file($valgrind) : '';
my @ours = grep { /deling\.so|: deling_|[(]($files):[0-9]+[)]/ } @records;
ok(!@ours, "no memory error or definite leak passes through deling's C code")
  or diag(join "\n", grep { defined } (split /\n/, join "\n", @ours)[0 .. 79]);
my $others = () = (-e $valgrind ? slurp_file($valgrind) : '') =~ /^==\d+== [A-Z]/mg;
note("valgrind records outside deling.so (not counted): $others");

done_testing();
