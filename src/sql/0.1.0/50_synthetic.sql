-- ---------------------------------------------------------------------------
-- 50 synthetic: a deterministic generator of kommuner, organisations and
-- citizens (Tenor synthetic numbers only) for the demo, tests and benchmarks.
-- ---------------------------------------------------------------------------

-- orgnr_complete: the valid organisasjonsnummer with this 8-digit prefix, or
-- NULL when no check digit exists for it.
CREATE FUNCTION deling.orgnr_complete(prefix text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE c WHEN 11 THEN prefix || '0' WHEN 10 THEN NULL ELSE prefix || c END
    FROM (SELECT 11 - sum(substr(prefix, i::int, 1)::int * w) % 11 AS c
          FROM unnest(ARRAY[3, 2, 7, 6, 5, 4, 3, 2]) WITH ORDINALITY AS t(w, i)) s
    WHERE prefix ~ '^[0-9]{8}$';
$$;
COMMENT ON FUNCTION deling.orgnr_complete(text) IS 'The valid orgnr with this 8-digit prefix (NULL if none exists)';

-- synthetic_orgnr: a deterministic valid orgnr in the 99xxxxxxx range for a key.
CREATE FUNCTION deling.synthetic_orgnr(key integer) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.orgnr_complete(p) FROM (
        SELECT '99' || lpad(((key * 10 + d) % 1000000)::text, 6, '0') AS p FROM generate_series(0, 9) d) s
    WHERE deling.orgnr_complete(p) IS NOT NULL LIMIT 1;
$$;

CREATE FUNCTION deling.generate_synthetic(citizens integer DEFAULT 1000, kommuner integer DEFAULT 3)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- Bodø, Bærum and Asker with their real orgnr; the rest get synthetic ones
    catalog CONSTANT text[][] := ARRAY[
        ['1804', 'Bodø', '972418013'], ['3201', 'Bærum', '935478715'], ['3203', 'Asker', '944382038'],
        ['1841', 'Fauske', ''], ['1840', 'Saltdal', ''], ['1838', 'Gildeskål', ''], ['1839', 'Beiarn', ''],
        ['1837', 'Meløy', ''], ['1848', 'Steigen', ''], ['0301', 'Oslo', ''], ['3205', 'Lillestrøm', ''],
        ['3301', 'Drammen', ''], ['4601', 'Bergen', ''], ['5001', 'Trondheim', ''], ['5501', 'Tromsø', ''],
        ['1103', 'Stavanger', ''], ['1806', 'Narvik', ''], ['1833', 'Rana', ''], ['1865', 'Vågan', ''],
        ['1824', 'Vefsn', '']];
    given CONSTANT text[] := ARRAY['Kari', 'Ola', 'Ingrid', 'Per', 'Anne', 'Jan', 'Liv', 'Nils', 'Sigrid', 'Lars',
                                   'Astrid', 'Knut', 'Marit', 'Arne', 'Solveig', 'Bjørn'];
    family CONSTANT text[] := ARRAY['Hansen', 'Johansen', 'Olsen', 'Larsen', 'Andersen', 'Pedersen', 'Nilsen',
                                    'Kristiansen', 'Jensen', 'Karlsen', 'Berg', 'Haugen', 'Hagen', 'Bakken'];
    nk integer;
    nr text[];
    added integer;
BEGIN
    IF citizens < 0 OR citizens > 5000000 THEN
        RAISE EXCEPTION 'citizens must be between 0 and 5000000, not %', citizens USING ERRCODE = '22023';
    END IF;
    IF kommuner < 1 OR kommuner > array_length(catalog, 1) THEN
        RAISE EXCEPTION 'kommuner must be between 1 and %, not %', array_length(catalog, 1), kommuner USING ERRCODE = '22023';
    END IF;
    nk := kommuner;
    FOR i IN 1..nk LOOP
        IF NOT EXISTS (SELECT FROM deling.kommune WHERE kommune_nr = catalog[i][1]) THEN
            PERFORM deling.add_kommune(catalog[i][1], catalog[i][2],
                                       coalesce(nullif(catalog[i][3], ''), deling.synthetic_orgnr(catalog[i][1]::int)));
        END IF;
        nr := nr || catalog[i][1];
    END LOOP;

    -- legevakt and hospitals that serve several kommuner (kommuner.md)
    IF NOT EXISTS (SELECT FROM deling.organisation WHERE kind <> 'kommune') THEN
        PERFORM deling.add_organisation(deling.synthetic_orgnr(180401), 'Bodø legevakt', 'legevakt', '1804',
                                        ARRAY(SELECT k FROM unnest(nr) k WHERE k LIKE '18%'));
        PERFORM deling.add_organisation(deling.synthetic_orgnr(180402), 'Bodø kommune hjemmetjeneste', 'kommuneenhet', '1804');
        PERFORM deling.add_organisation(deling.synthetic_orgnr(180001), 'Nordlandssykehuset HF', 'helseforetak', NULL,
                                        ARRAY(SELECT k FROM unnest(nr) k WHERE k LIKE '18%'));
        IF nk >= 2 THEN
            PERFORM deling.add_organisation(deling.synthetic_orgnr(320101), 'Asker og Bærum legevakt', 'legevakt', '3201',
                                            ARRAY(SELECT k FROM unnest(nr) k WHERE k IN ('3201', '3203')));
            PERFORM deling.add_organisation(deling.synthetic_orgnr(320102), 'Bærum kommune hjemmetjeneste', 'kommuneenhet', '3201');
            PERFORM deling.add_organisation(deling.synthetic_orgnr(300001), 'Vestre Viken HF', 'helseforetak', NULL,
                                            ARRAY(SELECT k FROM unnest(nr) k WHERE k LIKE '3%'));
        END IF;
    END IF;

    -- every kommune shares both pilot services, except that Asker has not
    -- (yet) enabled NEWS2: the opt-in is per kommune and per service
    INSERT INTO deling.kommune_service (kommune_nr, service_code)
        SELECT k, s FROM unnest(nr) k, unnest(ARRAY['municipal-services', 'news2']) s
        WHERE NOT (k = '3203' AND s = 'news2')
        ON CONFLICT DO NOTHING;

    -- citizens: deterministic birth dates 1925-2024, Tenor numbers, names
    WITH src AS (
        SELECT i, nr[1 + (i - 1) % nk] AS kommune_nr,
               date '1925-01-01' + ((i::bigint * 7919) % 36525)::int AS birth
        FROM generate_series(1, citizens) i),
    numbered AS (
        SELECT src.*, row_number() OVER (PARTITION BY birth ORDER BY i) - 1 AS seq FROM src)
    INSERT INTO deling.citizen (kommune_nr, pid, citizen_id, given_name, family_name, sex, birth_date)
    SELECT kommune_nr, pid,
           -- a stable UUID derived from the number, so reruns give the same ids
           md5('deling-citizen:' || pid)::uuid,
           given[1 + i % array_length(given, 1)], family[1 + (i / 7) % array_length(family, 1)],
           CASE WHEN substr(pid, 9, 1)::int % 2 = 1 THEN 'male' ELSE 'female' END, birth
    FROM (SELECT numbered.*, deling.synthetic_fnr(birth, seq::int) AS pid FROM numbered) g
    WHERE pid IS NOT NULL
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;

    RETURN jsonb_build_object('kommuner', nk, 'citizens_added', added);
END
$$;
COMMENT ON FUNCTION deling.generate_synthetic(integer, integer) IS
    'DBA/tests: deterministic synthetic platform data (kommuner, legevakt, helseforetak, Tenor citizens); scale 1k to 1M citizens';
