-- Every declared sharing service with a synthetic generator gets records in
-- Bodø and Bærum before the attack families run (Asker stays opted out),
-- so that the families that iterate over sec.services() attack real rows
-- of every service, not empty tables.
SELECT deling.enable_service(k, s.service_code)
FROM unnest(ARRAY['1804', '3201']) k, deling.service s
WHERE s.declaration ? 'synthetic'
  AND NOT EXISTS (SELECT FROM deling.kommune_service ks WHERE ks.kommune_nr = k AND ks.service_code = s.service_code);
SELECT sec.ok(NOT EXISTS (SELECT FROM deling.service s
                          WHERE s.declaration ? 'synthetic' AND coalesce((w->>s.service_code)::bigint, 0) = 0),
              format('every declared service with a generator has synthetic records in Bodø and Bærum (%s)', w))
FROM (SELECT deling.generate_synthetic_services(citizens => 40) AS w) g;
