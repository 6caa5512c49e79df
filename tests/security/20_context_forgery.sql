-- Context forgery: who calls, for which kommune and why comes only from a
-- verified token (or the DBA's binding of a login), cannot be set by the
-- caller, and does not outlive a pooler's reset.
\c - sec_lege
SELECT sec.claims('lege_baerum') AS claims \gset
\set lege_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT sec.pid('3201') AS baerum_pid \gset

-- the settings that make up the context are the superuser's
SELECT sec.ok(sec.sqlstate('SET deling.ctx_kind = ''person''') = '42501', 'SET of a context setting is refused');
SELECT sec.ok(sec.sqlstate('SELECT set_config(''deling.ctx_kommune_nr'', ''3201'', false)') = '42501',
              'set_config of a context setting is refused');
SELECT sec.ok(sec.sqlstate('ALTER ROLE sec_lege SET deling.ctx_kind = ''integration''') = '42501',
              'ALTER ROLE ... SET of a context setting is refused');
SELECT sec.ok(sec.sqlstate('SELECT deling.set_context_value(''deling.ctx_kind'', ''person'', false)') = '42501',
              'the function that assigns the context is not executable by callers');
SELECT sec.ok(sec.sqlstate('SELECT deling.apply_context(''{"kind": "person"}'', false)') = '42501',
              'the function that applies a verified context is not executable by callers');

-- a pooler resets a connection with DISCARD ALL or RESET ALL: the next
-- client must not inherit the previous caller
SELECT (deling.authenticate(:'lege_tok', for_session => true))->>'kind' AS kind \gset
SELECT sec.ok(:'kind' = 'person', 'a session context is set by a verified token');
DISCARD ALL;
SELECT sec.ok(deling.whoami()->>'kind' IS NULL, 'DISCARD ALL ends the session context');
SELECT sec.ok(sec.sqlstate(format('SELECT api.news2_observations(%L)', :'baerum_pid')) = '42501',
              'after DISCARD ALL a sharing read is refused');
SELECT sec.ok(sec.sqlstate(format('SELECT api.%I(%L)', s.read_fn, :'baerum_pid')) = '42501',
              format('after DISCARD ALL %s (api.%s) is refused', s.code, s.read_fn))
FROM sec.services() s;
SELECT (deling.authenticate(:'lege_tok', for_session => true))->>'kind' AS kind \gset
RESET ALL;
SELECT sec.ok(deling.whoami()->>'kind' IS NULL, 'RESET ALL ends the session context');

-- forged tokens
SELECT sec.ok(sec.sqlstate(format('SELECT deling.authenticate(%L)', :'lege_tok' || 'x')) = '28000', 'a tampered signature is refused');
\set none_tok `tests/tools/mint-jwt none sec1 :'claims'`
SELECT sec.ok(sec.sqlstate(format('SELECT deling.authenticate(%L)', :'none_tok')) = '28000', 'alg none is refused');
\set hs_tok `tests/tools/mint-jwt HS256 sec1 :'claims'`
SELECT sec.ok(sec.sqlstate(format('SELECT deling.authenticate(%L)', :'hs_tok')) = '28000',
              'HS256 keyed with the public key is refused');
\set other_tok `tests/tools/mint-jwt RS256 sec-untrusted :'claims'`
SELECT sec.ok(sec.sqlstate(format('SELECT deling.authenticate(%L)', :'other_tok')) = '28000', 'a key the DBA did not trust is refused');
SELECT sec.claims('lege_baerum', jsonb_build_object('name', repeat('Ø', 5000))) AS claims \gset
\set long_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT sec.ok(sec.sqlstate(format('SELECT deling.authenticate(%L)', :'long_tok')) = '28000', 'a token with an unbounded name claim is refused');

-- a token's orgnr_child gives reach only when the DBA registered that unit
-- under the token's orgnr_parent: Bodø kommune cannot borrow the reach of
-- Asker og Bærum legevakt
SELECT sec.claims('lege_baerum', jsonb_build_object('helseid://claims/client/claims/orgnr_parent',
       sec.orgnr('1804'))) AS claims \gset
\set borrowed_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'borrowed_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT coalesce(sec.error(format('SELECT api.news2_observations(%L)', :'baerum_pid')), 'no error') AS err \gset
SELECT sec.ok(:'err' LIKE '%(orgnr_child) is not registered under%', 'a unit under another parent gives no reach: ' || :'err');
SELECT sec.ok(coalesce(sec.error(format('SELECT api.%I(%L)', s.read_fn, :'baerum_pid')), 'no error') LIKE '%(orgnr_child) is not registered under%',
              format('a unit under another parent gives no reach to %s (api.%s)', s.code, s.read_fn))
FROM sec.services() s;
SELECT sec.ok(sec.sqlstate(format('SELECT api.legevakt_summary(%L)', :'baerum_pid')) = '42501',
              'the legevakt summary refuses it too');
-- a legevakt whose kommune shares neither service: the summary's own
-- refusal is logged like every other
\c - postgres
SELECT deling.add_kommune('1806', 'Narvik', deling.synthetic_orgnr(1806)) IS NOT NULL AS added \gset
SELECT deling.add_organisation(deling.synthetic_orgnr(180601), 'Narvik legevakt', 'legevakt', '1806') IS NOT NULL AS added \gset
\c - sec_lege
SELECT sec.claims('lege_baerum', jsonb_build_object(
       'helseid://claims/client/claims/orgnr_parent', sec.orgnr('1806'),
       'helseid://claims/client/claims/orgnr_child', sec.orgnr('Narvik legevakt'))) AS claims \gset
\set narvik_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT deling.authenticate(:'narvik_tok', for_session => true) IS NOT NULL AS authenticated \gset
SELECT sec.ok(sec.sqlstate(format('SELECT api.legevakt_summary(%L)', :'baerum_pid')) = '42501',
              'a legevakt that reaches no sharing kommune is refused the summary');
\c - sec_epj_baerum
SELECT sec.claims('epj_baerum', jsonb_build_object('helseid://claims/client/claims/orgnr_parent',
       sec.orgnr('1804'),
       'helseid://claims/client/claims/orgnr_child', sec.orgnr('Bærum kommune hjemmetjeneste'))) AS claims \gset
\set borrowed_tok `tests/tools/mint-jwt RS256 sec1 :'claims'`
SELECT sec.ok(sec.sqlstate(format('SELECT deling.authenticate(%L)', :'borrowed_tok')) = '42501',
              'an integration token naming a unit under another parent is refused');
\c - postgres
SELECT deling.access_log_drain() IS NOT NULL AS drained \gset
SELECT sec.ok(EXISTS (SELECT FROM deling.access_log l WHERE l.entry->>'decision' = 'denied'
                      AND l.entry->>'why' LIKE '%(orgnr_child) is not registered under%'),
              'the refused read of the borrowed unit is in the access log');
SELECT sec.ok(EXISTS (SELECT FROM deling.access_log l WHERE l.entry->>'decision' = 'denied'
                      AND l.entry->>'service' = 'legevakt-summary'),
              'the legevakt summary''s refusal is in the access log');
