-- Tenants, organisations and per-kommune service opt-in: the DBA's API
-- refuses bad input with a clear SQLSTATE.
\set VERBOSITY default
SELECT deling.add_kommune('1804', 'Bodø', '972418013');             -- already there
SELECT deling.add_kommune('180', 'X', '972418013');
SELECT deling.add_kommune('9000', 'Utlandet', '972418013');         -- KPR code, not a tenant
SELECT deling.add_kommune('1841', 'Fauske', '972418014');           -- bad orgnr
SELECT deling.add_kommune('1841', '  ', '999999999');
SELECT deling.add_organisation('999999999', 'X', 'apotek');
SELECT deling.add_organisation(deling.synthetic_orgnr(777), 'Ukjent legevakt', 'legevakt', '1804', ARRAY['1804', '5001']);
SELECT count(*) AS not_partially_written FROM deling.organisation WHERE name = 'Ukjent legevakt';
BEGIN;                                                              -- a service announced, not available yet
INSERT INTO deling.service (service_code, name, description, available) VALUES ('regress-announced', 'Announced', 'Not built yet', false);
SELECT deling.enable_service('1804', 'regress-announced');
ROLLBACK;
SELECT deling.enable_service('1804', 'no-such');
SELECT deling.enable_service('5001', 'news2');                      -- not a tenant
SELECT deling.enable_service('1804', 'news2');                      -- idempotent
SELECT deling.bind_integration('regress_lege', '1804');             -- not an integration role
SELECT deling.bind_integration('deling_authenticator', '1804');
SELECT deling.set_kommune_active('5001', false);

-- a new kommune, its legevakt and its opt-in, end to end
BEGIN;
SELECT kommune_nr, name, active FROM deling.add_kommune('1841', 'Fauske', deling.synthetic_orgnr(1841));
SELECT name, kind FROM deling.add_organisation(deling.synthetic_orgnr(184101), 'Salten legevakt', 'legevakt', '1804',
                                               ARRAY['1804', '1841']);
SELECT deling.enable_service('1841', 'municipal-services');
SELECT o.name, array_agg(r.kommune_nr ORDER BY r.kommune_nr) FROM deling.organisation o
    JOIN deling.organisation_reach r USING (orgnr) WHERE o.name IN ('Fauske kommune', 'Salten legevakt') GROUP BY 1 ORDER BY 1;
ROLLBACK;

-- the catalog of sharing services
SELECT service_code, available FROM deling.service ORDER BY service_code;
