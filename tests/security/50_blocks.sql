-- Blocks: a citizen's block covers what the citizen asked for, whatever
-- kommuner come later; lifting it lifts it everywhere.
\c - sec_innbygger
SELECT sec.claims('innbygger') AS claims \gset
\set tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT (:'claims')::jsonb->>'helseid://claims/identity/pid' AS pid \gset
SELECT (api.block_sharing(:'pid'))->>'block_id' AS block_id \gset
SELECT sec.ok(:'block_id' ~ '^[0-9a-f-]{36}$', 'the citizen blocks everything (one block id)');

-- a kommune joins the platform later, and the citizen moves there
\c - postgres
SELECT deling.add_kommune('1833', 'Rana', deling.synthetic_orgnr(1833)) IS NOT NULL AS added \gset
SELECT deling.enable_service('1833', 'news2') IS NULL AS enabled \gset
SELECT deling.add_organisation(deling.synthetic_orgnr(183301), 'Rana legevakt', 'legevakt', '1833') IS NOT NULL AS added \gset
INSERT INTO deling.citizen (kommune_nr, pid) VALUES ('1833', :'pid');
INSERT INTO deling.news2_measurement (kommune_nr, pid, measured_at, resp_rate, spo2, on_oxygen, systolic_bp, pulse,
                                      consciousness, temperature, source_system, source_id)
VALUES ('1833', :'pid', now() - interval '1 hour', 18, 96, false, 120, 80, 'A', 37.5, 'sec', 'rana-1');
SELECT sec.ok(EXISTS (SELECT FROM deling.citizen_block b WHERE b.kommune_nr = '1833' AND b.block_id = :'block_id'
                      AND b.revoked_at IS NULL), 'the block covers the new kommune');

\c - sec_lege
SELECT sec.claims('lege_bodo', jsonb_build_object(
       'helseid://claims/client/claims/orgnr_parent', sec.orgnr('1833'),
       'helseid://claims/client/claims/orgnr_child', sec.orgnr('Rana legevakt'))) AS claims \gset
\set rana_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'rana_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.news2_observations(:'pid') AS bundle \gset
SELECT sec.ok((:'bundle')::jsonb->>'total' = '0' AND (:'bundle')::jsonb::text LIKE '%suppressed%',
              'a legevakt in the new kommune gets nothing, and is told information is withheld');

-- the citizen lifts the block: lifted everywhere
\c - sec_innbygger
SELECT deling.authenticate(:'tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT api.unblock_sharing(:'block_id') IS NULL AS lifted \gset
\c - sec_lege
SELECT deling.authenticate(:'rana_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT sec.ok((api.news2_observations(:'pid'))->>'total' = '1', 'once lifted, the legevakt in the new kommune reads the measurement');
\c - postgres
SELECT sec.ok(NOT EXISTS (SELECT FROM deling.citizen_block b WHERE b.block_id = :'block_id' AND b.revoked_at IS NULL),
              'the block is lifted in every kommune it covered');
