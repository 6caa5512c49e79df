-- ---------------------------------------------------------------------------
-- 57 blocks: a citizen's block (sperring) on sharing — of everything, of one
-- sharing service, of chosen service types (code list 9151), or towards
-- chosen organisations.  Registered by the citizen's channel (a token with
-- the citizen's own pid) or by the kommune.  Every sharing read honours it;
-- an emergency read (ETREAT with a reason) may open it, and says so.
-- ---------------------------------------------------------------------------

CREATE TABLE deling.citizen_block (
    kommune_nr      deling.kommunenr NOT NULL REFERENCES deling.kommune,
    block_id        uuid NOT NULL DEFAULT gen_random_uuid(),
    pid             deling.pid NOT NULL,
    sharing_service text REFERENCES deling.service,
    service_codes   text[] CHECK (cardinality(service_codes) > 0),
    organisations   text[] CHECK (cardinality(organisations) > 0),
    registered_by   text NOT NULL CHECK (registered_by IN ('citizen', 'kommune')),
    registered_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    everywhere      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (kommune_nr, block_id),
    CHECK (service_codes IS NULL OR sharing_service = 'municipal-services')
);
COMMENT ON TABLE deling.citizen_block IS
    'Citizens'' blocks on sharing, per kommune whose data they cover; revoked blocks are kept';
COMMENT ON COLUMN deling.citizen_block.everywhere IS
    'The citizen asked for every kommune: the block (one block_id) covers each kommune on the platform, also those registered later';
CREATE INDEX citizen_block_everywhere ON deling.citizen_block (block_id) WHERE everywhere AND revoked_at IS NULL;
CREATE INDEX citizen_block_pid ON deling.citizen_block (kommune_nr, pid) WHERE revoked_at IS NULL;

ALTER TABLE deling.citizen_block ENABLE ROW LEVEL SECURITY;
ALTER TABLE deling.citizen_block FORCE ROW LEVEL SECURITY;
-- deling_owner (the sharing functions): blocks of the kommuner the caller
-- reads, the kommune's own, or the calling citizen's own
CREATE POLICY block_owner ON deling.citizen_block TO deling_owner
    USING (kommune_nr = ANY ((SELECT deling.reach_for(NULL))::text[])
           OR kommune_nr = (SELECT deling.current_kommune())
           OR pid = (SELECT deling.ctx_citizen_pid()))
    WITH CHECK (kommune_nr = (SELECT deling.current_kommune()) OR pid = (SELECT deling.ctx_citizen_pid()));
CREATE POLICY block_admin ON deling.citizen_block TO deling_admin USING (true) WITH CHECK (true);

-- code_9151: a 9151 code as stored (no leading zeros), or NULL if malformed.
CREATE FUNCTION deling.code_9151(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN v ~ '^[0-9]{1,4}$' THEN nullif(ltrim(v, '0'), '') END;
$$;
COMMENT ON FUNCTION deling.code_9151(text) IS 'A code of list 9151 as stored: without leading zeros (NULL if not 1-4 digits)';

-- blocks_for: the blocks that apply to the caller for a service, per kommune
-- (service_codes NULL: the whole service is blocked in that kommune).
CREATE FUNCTION deling.blocks_for(service text, pid text, kommuner text[])
RETURNS TABLE (kommune_nr text, service_codes text[])
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT b.kommune_nr, b.service_codes
    FROM deling.citizen_block b
    WHERE b.kommune_nr = ANY (kommuner) AND b.pid = blocks_for.pid AND b.revoked_at IS NULL
      AND (b.sharing_service IS NULL OR b.sharing_service = service)
      AND (b.organisations IS NULL
           OR b.organisations && ARRAY[nullif(current_setting('deling.ctx_orgnr_child'), ''),
                                       nullif(current_setting('deling.ctx_orgnr_parent'), '')]);
$$;

-- sharing_outcome: the OperationOutcome a read adds when blocked information
-- was withheld, or shown because of an emergency; NULL when neither
-- (VOLATILE: each outcome has a new id).
CREATE FUNCTION deling.sharing_outcome(withheld boolean, opened boolean) RETURNS jsonb
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN opened THEN jsonb_build_object('resourceType', 'OperationOutcome', 'id', gen_random_uuid(),
            'issue', jsonb_build_array(jsonb_build_object('severity', 'warning', 'code', 'informational',
                'diagnostics', 'Information the citizen has blocked is shown because of emergency access (ETREAT); this access is flagged for review.')))
        WHEN withheld THEN jsonb_build_object('resourceType', 'OperationOutcome', 'id', gen_random_uuid(),
            'issue', jsonb_build_array(jsonb_build_object('severity', 'information', 'code', 'suppressed',
                'diagnostics', 'Some information about this citizen is withheld at the citizen''s request (sperring).')))
        END;
$$;

-- block_caller: who may manage blocks for a pid: 'citizen' (own pid) or
-- 'kommune' (an integration); 42501 for anyone else.
CREATE FUNCTION deling.block_caller(pid text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM deling.fnr_check(pid);
    IF deling.ctx_kind() = 'citizen' THEN
        IF deling.ctx_citizen_pid() IS DISTINCT FROM pid THEN
            PERFORM deling.refuse_read('blocks', pid, NULL, NULL, NULL, '42501',
                                       'a citizen may only manage blocks on their own information');
        END IF;
        RETURN 'citizen';
    END IF;
    IF deling.current_kommune() IS NOT NULL THEN
        RETURN 'kommune';
    END IF;
    PERFORM deling.refuse_read('blocks', pid, NULL, NULL, NULL, '42501',
                               'blocks are registered by the citizen''s channel or by the kommune');
END
$$;

CREATE FUNCTION api.block_sharing(pid text, sharing_service text DEFAULT NULL, service_codes text[] DEFAULT NULL,
                                  organisations text[] DEFAULT NULL, kommuner text[] DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    caller text := deling.block_caller(pid);
    codes text[];
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
        IF coalesce(sharing_service, 'municipal-services') <> 'municipal-services' THEN
            RAISE EXCEPTION 'service_codes (code list 9151) apply to the municipal-services sharing service only' USING ERRCODE = '22023';
        END IF;
        SELECT string_agg(c, ', ') INTO bad FROM unnest(service_codes) c
            WHERE NOT EXISTS (SELECT FROM deling.service_type t WHERE t.code = deling.code_9151(c));
        IF bad IS NOT NULL OR cardinality(service_codes) = 0 THEN
            RAISE EXCEPTION 'unknown service code(s) in code list 9151: %', deling.clip(coalesce(bad, '(none given)'), 100) USING ERRCODE = '22023';
        END IF;
        codes := ARRAY(SELECT DISTINCT deling.code_9151(c) FROM unnest(service_codes) c ORDER BY 1);
        sharing_service := 'municipal-services';
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
By the citizen''s channel (own pid; every kommune on the platform, also kommuner registered later, unless kommuner narrows it) or by an integration (its own kommune). One block_id for the whole block. Without further arguments everything is blocked; sharing_service, service_codes (code list 9151, municipal-services) and organisations (orgnr: block towards these only) narrow it. Emergency access (ETREAT with a reason) may open a block and is flagged.';

CREATE FUNCTION api.unblock_sharing(block_id uuid) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    b deling.citizen_block;
BEGIN
    SELECT * INTO b FROM deling.citizen_block x WHERE x.block_id = unblock_sharing.block_id AND x.revoked_at IS NULL;
    IF NOT FOUND OR deling.block_caller(b.pid) <> b.registered_by
       OR (b.registered_by = 'kommune' AND b.kommune_nr IS DISTINCT FROM deling.current_kommune()) THEN
        RAISE EXCEPTION 'no active block with that id that you registered' USING ERRCODE = '42501';
    END IF;
    -- the whole block, in every kommune it covers
    UPDATE deling.citizen_block x SET revoked_at = now()
    WHERE x.block_id = b.block_id AND x.revoked_at IS NULL;
END
$$;
COMMENT ON FUNCTION api.unblock_sharing(uuid) IS
    'Lift a block: the citizen''s channel lifts the citizen''s own blocks, a kommune the blocks it registered';

CREATE FUNCTION api.sharing_blocks(pid text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    caller text := deling.block_caller(pid);
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('block_id', b.block_id,
                'kommune_nr', b.kommune_nr, 'sharing_service', b.sharing_service, 'service_codes', b.service_codes,
                'organisations', b.organisations, 'registered_by', b.registered_by,
                'everywhere', nullif(b.everywhere, false),
                'registered_at', deling.fhir_datetime(b.registered_at))) ORDER BY b.registered_at, b.kommune_nr), '[]')
            FROM deling.citizen_block b
            WHERE b.pid = sharing_blocks.pid AND b.revoked_at IS NULL
              AND (caller = 'citizen' OR b.kommune_nr = deling.current_kommune()));
END
$$;
COMMENT ON FUNCTION api.sharing_blocks(text) IS
    'The active blocks on a citizen''s information: all of them for the citizen''s channel, the kommune''s own for an integration';

-- kommune_added: a kommune registered after a citizen blocked sharing
-- everywhere is covered by that block at once (the same block_id).  Runs
-- as the DBA who registers the kommune (who sees every block).
CREATE FUNCTION deling.kommune_added() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO deling.citizen_block (kommune_nr, block_id, pid, sharing_service, service_codes, organisations,
                                      registered_by, registered_at, everywhere)
    SELECT DISTINCT ON (b.block_id) NEW.kommune_nr, b.block_id, b.pid, b.sharing_service, b.service_codes,
           b.organisations, b.registered_by, b.registered_at, true
    FROM deling.citizen_block b
    WHERE b.everywhere AND b.revoked_at IS NULL
    ORDER BY b.block_id, b.kommune_nr
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION deling.kommune_added() IS
    'Trigger: extend every citizen''s everywhere-block to a newly registered kommune';
CREATE TRIGGER kommune_added AFTER INSERT ON deling.kommune
    FOR EACH ROW EXECUTE FUNCTION deling.kommune_added();
