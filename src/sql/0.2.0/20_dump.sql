-- ---------------------------------------------------------------------------
-- 20 dump: pg_dump keeps every row of the platform's data.  A table that
-- belongs to an extension is recreated by CREATE EXTENSION on restore and
-- its rows are dumped only when it is registered with
-- pg_extension_config_dump; so is every table here, with the sequences of
-- its identity columns.
--
-- Reference tables (the service catalog, code lists 9151 and 8471, NEWS2's
-- clinical response, the services KPR receives, the access log's signing
-- key) are seeded by the scripts and may be changed by the DBA.  They are
-- dumped whole; on restore, CREATE EXTENSION seeds them again first, so an
-- inserted row whose key is already there replaces that row instead of
-- failing (deling.reference_row_insert), and a row the DBA deleted is
-- remembered (deling.deleted_reference_row, dumped too) and deleted again.
-- The access log's head is not dumped: a restored database starts a new
-- slot, and continues the chain from the last entry it restored
-- (deling.access_log_restored_head).
-- ---------------------------------------------------------------------------

CREATE TABLE deling.deleted_reference_row (
    table_name  text NOT NULL,
    key         jsonb NOT NULL,
    deleted_at  timestamptz NOT NULL DEFAULT now(),
    deleted_by  text NOT NULL DEFAULT session_user,
    PRIMARY KEY (table_name, key)
);
COMMENT ON TABLE deling.deleted_reference_row IS
    'Rows the DBA deleted from a reference table the scripts seed (by primary key), so that a restore deletes them again';
ALTER TABLE deling.deleted_reference_row ENABLE ROW LEVEL SECURITY;
ALTER TABLE deling.deleted_reference_row FORCE ROW LEVEL SECURITY;
CREATE POLICY deleted_reference_row_admin ON deling.deleted_reference_row TO deling_admin USING (true) WITH CHECK (true);

-- reference_key: a row's primary key as a JSON object (column: value)
CREATE FUNCTION deling.reference_key(tbl regclass, r jsonb) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_object_agg(a.attname, r->a.attname::text)
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = tbl AND i.indisprimary;
$$;
COMMENT ON FUNCTION deling.reference_key(regclass, jsonb) IS
    'The primary key of a row of a reference table, as a JSON object';

-- reference_row_insert: a row whose key is already in the table replaces
-- it (the seed a restore's CREATE EXTENSION wrote, or a code the DBA sends
-- again); a row inserted again is no longer remembered as deleted.
CREATE FUNCTION deling.reference_row_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k jsonb := deling.reference_key(TG_RELID, to_jsonb(NEW));
    cols text;
    n integer;
BEGIN
    DELETE FROM deling.deleted_reference_row d WHERE d.table_name = TG_RELID::regclass::text AND d.key = k;
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
    EXECUTE format('UPDATE %s t SET (%s) = (SELECT %s FROM jsonb_populate_record(NULL::%s, $1)) WHERE to_jsonb(t) @> $2',
                   TG_RELID::regclass, cols, cols, TG_RELID::regclass)
        USING to_jsonb(NEW), k;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN CASE WHEN n > 0 THEN NULL ELSE NEW END;
END
$$;
COMMENT ON FUNCTION deling.reference_row_insert() IS
    'Trigger of reference tables: an inserted row whose key exists replaces that row (a restore over the seeded rows)';

-- reference_row_delete: remember a deleted row of a reference table
CREATE FUNCTION deling.reference_row_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO deling.deleted_reference_row (table_name, key)
    VALUES (TG_RELID::regclass::text, deling.reference_key(TG_RELID, to_jsonb(OLD)))
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION deling.reference_row_delete() IS
    'Trigger of reference tables: remember a deleted row, so that a restore deletes the seeded row again';

-- reference_row_forget: a deletion restored from a dump deletes the row
-- again (the restore's CREATE EXTENSION seeded it)
CREATE FUNCTION deling.reference_row_forget() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('DELETE FROM %s t WHERE to_jsonb(t) @> $1', NEW.table_name::regclass) USING NEW.key;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION deling.reference_row_forget() IS
    'Trigger of deling.deleted_reference_row: delete the remembered row from its reference table';
CREATE TRIGGER deleted_reference_row_forget AFTER INSERT ON deling.deleted_reference_row
    FOR EACH ROW EXECUTE FUNCTION deling.reference_row_forget();

-- access_log_restored_head: the head follows the newest entry appended, so
-- that a restored log (whose head is not dumped) continues its chain
CREATE FUNCTION deling.access_log_restored_head() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE deling.access_log_head h SET last_seq = n.seq, last_hash = n.chain_hash
    FROM (SELECT a.seq, a.chain_hash FROM appended a ORDER BY a.seq DESC LIMIT 1) n
    WHERE n.seq > h.last_seq;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION deling.access_log_restored_head() IS
    'Trigger of deling.access_log: the head''s last entry follows what is appended, also by a restore (the head is not dumped)';
CREATE TRIGGER access_log_restored_head AFTER INSERT ON deling.access_log
    REFERENCING NEW TABLE AS appended FOR EACH STATEMENT EXECUTE FUNCTION deling.access_log_restored_head();

-- patient_register: as before, except in a restore (pg_restore runs with
-- row_security off, which a SECURITY DEFINER function under forced RLS
-- cannot write through): the restore brings each person's Patient.id
-- along from the dump, unchanged.
CREATE OR REPLACE FUNCTION deling.patient_register() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('row_security') = 'off' THEN
        RETURN NULL;
    END IF;
    WITH persons AS MATERIALIZED (
        SELECT p.pid, coalesce((SELECT i.patient_id FROM deling.patient_index i WHERE i.pid = p.pid
                                ORDER BY i.registered_at, i.kommune_nr LIMIT 1), gen_random_uuid()) AS patient_id
        FROM (SELECT DISTINCT n.pid FROM new_citizens n) p)
    INSERT INTO deling.patient_index (kommune_nr, pid, patient_id)
    SELECT n.kommune_nr, n.pid, persons.patient_id FROM new_citizens n JOIN persons USING (pid)
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    -- reference tables: dumped whole, restored over their seeds
    FOREACH t IN ARRAY ARRAY['deling.service', 'deling.service_type', 'deling.news2_clinical_response',
                             'deling.kpr_contact_type', 'deling.kpr_reported_service_type', 'deling.access_log_key'] LOOP
        EXECUTE format('CREATE TRIGGER reference_row_insert BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION deling.reference_row_insert()', t);
        EXECUTE format('CREATE TRIGGER reference_row_delete AFTER DELETE ON %s FOR EACH ROW EXECUTE FUNCTION deling.reference_row_delete()', t);
    END LOOP;
    -- every table of platform data
    FOREACH t IN ARRAY ARRAY[
        'deling.kommune', 'deling.organisation', 'deling.organisation_reach', 'deling.service', 'deling.kommune_service',
        'deling.trusted_key', 'deling.integration_binding',
        'deling.citizen', 'deling.patient_index', 'deling.citizen_block',
        'deling.service_type', 'deling.municipal_service', 'deling.municipal_service_history',
        'deling.news2_clinical_response', 'deling.news2_measurement', 'deling.news2_measurement_history',
        'deling.access_log', 'deling.access_log_quarantine', 'deling.access_log_key',
        'deling.kpr_reported_service_type', 'deling.kpr_contact_type', 'deling.kpr_contact', 'deling.kpr_report_state',
        'deling.kpr_reported_event', 'deling.kpr_notification', 'deling.kpr_message', 'deling.kpr_held_event',
        'deling.research_study', 'deling.pseudonym_key',
        'deling.deleted_reference_row'] LOOP
        PERFORM pg_catalog.pg_extension_config_dump(t::regclass, '');
    END LOOP;
    -- the sequences of identity columns (their position is dumped with them)
    FOR t IN SELECT pg_catalog.pg_get_serial_sequence(a.attrelid::regclass::text, a.attname)
             FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
             WHERE c.relnamespace = 'deling'::regnamespace AND a.attidentity <> '' ORDER BY 1 LOOP
        PERFORM pg_catalog.pg_extension_config_dump(t::regclass, '');
    END LOOP;
END
$$;

GRANT SELECT ON deling.deleted_reference_row TO deling_admin;
