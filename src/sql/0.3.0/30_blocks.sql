-- ---------------------------------------------------------------------------
-- 30 blocks by code, for every service whose records carry a code: a
-- citizen's block may name the codes (or chapters) of any such service, as
-- its declaration checks and normalises them; they were the 9151 service
-- types of the municipal services only.
-- ---------------------------------------------------------------------------

ALTER TABLE deling.citizen_block DROP CONSTRAINT citizen_block_check;
ALTER TABLE deling.citizen_block ADD CONSTRAINT citizen_block_codes_of_a_service CHECK (service_codes IS NULL OR sharing_service IS NOT NULL);

CREATE OR REPLACE FUNCTION api.block_sharing(pid text, sharing_service text DEFAULT NULL, service_codes text[] DEFAULT NULL,
                                  organisations text[] DEFAULT NULL, kommuner text[] DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    caller text := deling.block_caller(pid);
    codes text[];
    spec jsonb;
    bad text;
    covered text[];
    everywhere boolean := false;
    id uuid := gen_random_uuid();
    result jsonb;
BEGIN
    IF sharing_service IS NOT NULL AND NOT EXISTS (SELECT FROM deling.service s WHERE s.service_code = sharing_service AND s.available) THEN
        RAISE EXCEPTION 'unknown sharing service "%"', deling.clip(sharing_service, 40) USING ERRCODE = '22023';
    END IF;
    IF service_codes IS NOT NULL THEN
        -- codes without a service are the municipal services' 9151 codes
        sharing_service := coalesce(sharing_service, 'municipal-services');
        spec := (SELECT s.declaration->'codes' FROM deling.service s WHERE s.service_code = sharing_service);
        IF spec IS NULL THEN
            RAISE EXCEPTION 'service_codes apply to sharing services whose records carry a code (%); % has none',
                (SELECT string_agg(s.service_code, ', ' ORDER BY s.service_code) FROM deling.service s WHERE s.declaration ? 'codes'),
                sharing_service USING ERRCODE = '22023';
        END IF;
        IF cardinality(service_codes) = 0 THEN
            RAISE EXCEPTION 'service_codes must name at least one code' USING ERRCODE = '22023';
        END IF;
        -- each code checked by the service's own check (a problem named by
        -- its code, as the caller may send several); stored normalised
        EXECUTE format('SELECT string_agg(c || '' ('' || p || '')'', ''; ''), array_agg(DISTINCT %s ORDER BY %s) FROM unnest($1) c, LATERAL (SELECT %s(c) AS p) x',
                       coalesce(spec->>'normalize' || '(c)', 'c'), coalesce(spec->>'normalize' || '(c)', 'c'), spec->>'check')
            INTO bad, codes USING service_codes;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION '%', CASE sharing_service WHEN 'municipal-services'
                                      THEN format('unknown service code(s) in code list 9151: %s',
                                                  deling.clip((SELECT string_agg(c, ', ') FROM unnest(service_codes) c
                                                               WHERE deling.code_9151_problem(c) IS NOT NULL), 100))
                                      ELSE format('invalid code(s) for %s: %s', sharing_service, deling.clip(bad, 200)) END
                USING ERRCODE = '22023';
        END IF;
    END IF;
    IF organisations IS NOT NULL THEN
        SELECT string_agg(coalesce(o, 'NULL'), ', ') INTO bad FROM unnest(organisations) o WHERE o IS NULL OR NOT deling.orgnr_valid(o);
        IF bad IS NOT NULL OR cardinality(organisations) = 0 THEN
            RAISE EXCEPTION 'invalid organisasjonsnummer(e): %', deling.clip(coalesce(bad, '(none given)'), 100) USING ERRCODE = '22023';
        END IF;
    END IF;
    IF caller = 'kommune' THEN
        IF kommuner IS NOT NULL AND kommuner <> ARRAY[deling.current_kommune()] THEN
            RAISE EXCEPTION 'a kommune registers blocks on its own information only (kommune %)', deling.current_kommune()
                USING ERRCODE = '42501';
        END IF;
        covered := ARRAY[deling.current_kommune()];
    ELSE
        SELECT string_agg(k, ', ') INTO bad FROM unnest(kommuner) k
            WHERE NOT EXISTS (SELECT FROM deling.kommune x WHERE x.kommune_nr = k AND x.active);
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'not a kommune on the platform: %', deling.clip(bad, 100) USING ERRCODE = '22023';
        END IF;
        -- the citizen's block covers every kommune on the platform unless
        -- narrowed: those there now, and (by deling.kommune_added) those
        -- registered later
        everywhere := kommuner IS NULL;
        covered := coalesce(kommuner, ARRAY(SELECT k.kommune_nr::text FROM deling.kommune k ORDER BY 1));
    END IF;
    -- one block, one id, a row per kommune it covers
    WITH added AS (
        INSERT INTO deling.citizen_block (kommune_nr, block_id, pid, sharing_service, service_codes, organisations,
                                          registered_by, everywhere)
        SELECT DISTINCT k, id, block_sharing.pid, block_sharing.sharing_service, codes,
               CASE WHEN block_sharing.organisations IS NOT NULL
                    THEN ARRAY(SELECT DISTINCT o FROM unnest(block_sharing.organisations) o ORDER BY 1) END,
               caller, everywhere
        FROM unnest(covered) k
        RETURNING *)
    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('block_id', a.block_id, 'kommune_nr', a.kommune_nr,
               'sharing_service', a.sharing_service, 'service_codes', a.service_codes,
               'organisations', a.organisations, 'registered_by', a.registered_by,
               'everywhere', nullif(a.everywhere, false))) ORDER BY a.kommune_nr)
    INTO result FROM added a;
    RETURN jsonb_build_object('block_id', id, 'blocks', result);
END
$$;
COMMENT ON FUNCTION api.block_sharing(text, text, text[], text[], text[]) IS
    'Block sharing of a citizen''s information (sperring).
By the citizen''s channel (own pid; every kommune on the platform, also kommuner registered later, unless kommuner narrows it) or by an integration (its own kommune). One block_id for the whole block. Without further arguments everything is blocked; sharing_service, service_codes (codes of the records of a service that carries them: 9151 service types of municipal-services, or a diagnosis or chapter of diagnoser) and organisations (orgnr: block towards these only) narrow it. Emergency access (ETREAT with a reason) may open a block and is flagged.';
