-- ---------------------------------------------------------------------------
-- 70 kpr: reporting to KPR (Kommunalt pasient- og brukerregister).  So far:
-- validation of XPR(ipl) 56.0.0 messages against the official XSD.
-- ---------------------------------------------------------------------------

CREATE FUNCTION kpr.validate_xpr_ipl(message text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'deling_xpr_ipl_validate' LANGUAGE C STABLE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION kpr.validate_xpr_ipl(text) IS
    'The XSD errors of an XPR(ipl) 56.0.0 message (empty when valid); 2200M when it is not well-formed XML';

-- kpr_reader: the caller may read KPR data (deling_kpr or deling_admin);
-- every person-level read is access-logged like any other.
CREATE FUNCTION kpr.kpr_reader(kommune_nr text, what text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (pg_has_role(deling.outer_role(), 'deling_kpr', 'MEMBER') OR pg_has_role(deling.outer_role(), 'deling_admin', 'MEMBER')) THEN
        RAISE EXCEPTION 'KPR reporting is for deling_kpr and deling_admin' USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT FROM deling.kommune k WHERE k.kommune_nr = kpr_reader.kommune_nr) THEN
        RAISE EXCEPTION 'kommune % is not registered', kommune_nr USING ERRCODE = '22023';
    END IF;
    PERFORM deling.log_access('kpr', NULL, ARRAY[kommune_nr], NULL, NULL, true, NULL, NULL, jsonb_build_object('report', what));
END
$$;
COMMENT ON FUNCTION kpr.kpr_reader(text, text) IS
    'Internal: refuses callers other than deling_kpr and deling_admin (42501) and unknown kommuner (22023), then access-logs the KPR read';

-- kpr_type_id: the 9032 identifier type KPR expects for an identity number.
CREATE FUNCTION kpr.type_id(pid text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE deling.fnr_kind(pid) WHEN 'fnr' THEN 1 WHEN 'dnr' THEN 2 WHEN 'hnr' THEN 3 WHEN 'fhnr' THEN 12 END;
$$;
COMMENT ON FUNCTION kpr.type_id(text) IS 'Identifier type (code system 9032): 1 fødselsnummer, 2 D-nummer, 3 H-nummer, 12 FH-nummer';

-- service_events: the person-level events KPR's continuous report is made
-- of, for a kommune and period: start, end, temporary stop from and to, and
-- provider change (between versions of a service).
CREATE FUNCTION kpr.service_events(kommune_nr text, from_date date, to_date date)
RETURNS TABLE (service_id uuid, bruker_nr text, pid text, type_id integer, test_person boolean, event text,
               event_date date, service_code text, provider_orgnr text, stop_id text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM kpr.kpr_reader(kommune_nr, 'service_events');
    RETURN QUERY
    WITH s AS (
        SELECT m.*, c.citizen_id FROM deling.municipal_service m
        JOIN deling.citizen c ON c.kommune_nr = m.kommune_nr AND c.pid = m.pid
        WHERE m.kommune_nr = service_events.kommune_nr AND m.status IN ('granted', 'active', 'on-hold', 'ended')),
    e AS (
        SELECT s.service_id, s.citizen_id, s.pid, 'TjenesteStart' AS event, s.period_start AS d, s.service_code, s.unit_orgnr, NULL::text AS stop_id FROM s
        UNION ALL
        SELECT s.service_id, s.citizen_id, s.pid, 'TjenesteSlutt', s.period_end, s.service_code, s.unit_orgnr, NULL FROM s WHERE s.period_end IS NOT NULL
        UNION ALL
        SELECT s.service_id, s.citizen_id, s.pid, 'MidlertidigStoppFra', lower(r), s.service_code, s.unit_orgnr, s.service_id || ':' || lower(r)
        FROM s, unnest(s.stops) r
        UNION ALL
        SELECT s.service_id, s.citizen_id, s.pid, 'MidlertidigStoppTil', upper(r) - 1, s.service_code, s.unit_orgnr, s.service_id || ':' || lower(r)
        FROM s, unnest(s.stops) r WHERE NOT upper_inf(r)
        UNION ALL
        SELECT s.service_id, s.citizen_id, s.pid, 'TjenesteutforerEndret', (h.superseded_at AT TIME ZONE 'Europe/Oslo')::date,
               s.service_code, s.unit_orgnr, NULL
        FROM s JOIN deling.municipal_service_history h ON h.kommune_nr = s.kommune_nr AND h.service_id = s.service_id
        -- a change from one known provider to another (filling in a missing
        -- orgnr is a correction of the other events, sent as M)
        WHERE h.snapshot->>'unit_orgnr' IS NOT NULL
          AND coalesce((SELECT h2.snapshot->>'unit_orgnr' FROM deling.municipal_service_history h2
                        WHERE h2.kommune_nr = h.kommune_nr AND h2.service_id = h.service_id AND h2.version = h.version + 1),
                       s.unit_orgnr) <> h.snapshot->>'unit_orgnr')
    SELECT e.service_id, e.citizen_id::text, e.pid::text, kpr.type_id(e.pid), deling.fnr_synthetic(e.pid), e.event, e.d,
           e.service_code, e.unit_orgnr::text, e.stop_id
    FROM e WHERE e.d BETWEEN from_date AND to_date
    ORDER BY e.d, e.service_id, e.event;
END
$$;
COMMENT ON FUNCTION kpr.service_events(text, date, date) IS
    'Person-level KPR events (TjenesteStart, TjenesteSlutt, MidlertidigStoppFra/-Til, TjenesteutforerEndret) of a kommune in a period; brukerNr is the stable citizen id; access-logged';

-- data_quality: services KPR would reject or statistics would drop.
CREATE FUNCTION kpr.data_quality(kommune_nr text)
RETURNS TABLE (service_id uuid, source_id text, service_code text, problem text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM kpr.kpr_reader(kommune_nr, 'data_quality');
    RETURN QUERY
    SELECT m.service_id, m.source_id, m.service_code, p.problem
    FROM deling.municipal_service m
    JOIN deling.service_type t ON t.code = m.service_code
    CROSS JOIN LATERAL (VALUES
        (CASE WHEN t.status <> 'active' THEN format('service code %s is %s in code list 9151', m.service_code, t.status) END),
        (CASE WHEN m.period_end < m.period_start THEN 'period ends before it starts' END),
        (CASE WHEN m.unit_orgnr IS NULL AND m.service_code IN ('1', '2', '3', '4', '15', '17', '18', '19', '20', '21', '22', '25')
              THEN 'no provider organisation number (required by KPR for this service type)' END),
        (CASE WHEN m.weekly_hours > 168 THEN 'more than 168 hours a week' END),
        (CASE WHEN deling.fnr_synthetic(m.pid) THEN 'test person (never reported in production)' END),
        (CASE WHEN kpr.type_id(m.pid) NOT IN (1, 2) THEN 'identity number gives no KPR person id (H- or FH-nummer)' END)
    ) p(problem)
    WHERE m.kommune_nr = data_quality.kommune_nr AND m.status <> 'entered-in-error' AND p.problem IS NOT NULL
    ORDER BY m.source_id, p.problem;
END
$$;
COMMENT ON FUNCTION kpr.data_quality(text) IS
    'Services of a kommune that KPR would reject or statistics would drop, with the reason; access-logged';

-- service_statistics: persons and services per month, service type, age
-- band and sex, and hours per week; no person-level data.
CREATE FUNCTION kpr.service_statistics(kommune_nr text, from_month date, to_month date)
RETURNS TABLE (month date, service_code text, age_band text, sex text, persons bigint, services bigint,
               weekly_hours numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM kpr.kpr_reader(kommune_nr, 'service_statistics');
    RETURN QUERY
    SELECT mo::date, m.service_code,
           CASE WHEN age < 18 THEN '0-17' WHEN age < 50 THEN '18-49' WHEN age < 67 THEN '50-66'
                WHEN age < 80 THEN '67-79' WHEN age < 90 THEN '80-89' ELSE '90+' END,
           coalesce(c.sex, 'unknown'), count(DISTINCT m.pid), count(*), sum(m.weekly_hours)
    FROM generate_series(date_trunc('month', from_month), date_trunc('month', to_month), interval '1 month') mo
    JOIN deling.municipal_service m ON m.kommune_nr = service_statistics.kommune_nr
         AND m.status IN ('granted', 'active', 'on-hold', 'ended')
         AND m.period_start < mo + interval '1 month' AND (m.period_end IS NULL OR m.period_end >= mo)
    JOIN deling.citizen c ON c.kommune_nr = m.kommune_nr AND c.pid = m.pid
    CROSS JOIN LATERAL (SELECT extract(year FROM age(mo::date, coalesce(c.birth_date, deling.fnr_birth_date(m.pid))))::int AS age) a
    WHERE NOT deling.fnr_synthetic(m.pid) OR current_setting('deling.kpr_test_mode') = 'on'
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4;
END
$$;
COMMENT ON FUNCTION kpr.service_statistics(text, date, date) IS
    'Aggregates for the kommune''s management: persons, services and weekly hours per month, service type, age band and sex';

CREATE FUNCTION deling.hmac_sha256(data bytea, key bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'deling_hmac_sha256' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.hmac_sha256(bytea, bytea) IS 'HMAC-SHA256 (OpenSSL); keys of at least 32 bytes';

-- keys for pseudonymised research exports; only the DBA and the functions see them
CREATE TABLE deling.pseudonym_key (
    key_id      text PRIMARY KEY CHECK (key_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    secret      bytea NOT NULL CHECK (octet_length(secret) >= 32),
    purpose     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE deling.pseudonym_key IS 'Secret HMAC keys for pseudonymised statistics exports, one per research purpose';

CREATE FUNCTION deling.add_pseudonym_key(key_id text, purpose text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO deling.pseudonym_key (key_id, secret, purpose) VALUES (key_id, deling.random_key(), purpose);
$$;
COMMENT ON FUNCTION deling.add_pseudonym_key(text, text) IS
    'DBA: create a secret key for one research purpose''s pseudonymised exports';

-- pseudonymised_services: a kommune's services for research, the identity
-- number replaced by HMAC-SHA256 under the key: the same person gets the
-- same pseudonym under the same key, and nothing else links back.
CREATE FUNCTION kpr.pseudonymised_services(kommune_nr text, key_id text)
RETURNS TABLE (pseudonym text, birth_year integer, sex text, service_code text, status text, period_start date,
               period_end date, weekly_hours numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    secret bytea;
BEGIN
    PERFORM kpr.kpr_reader(kommune_nr, 'pseudonymised_services');
    SELECT k.secret INTO secret FROM deling.pseudonym_key k WHERE k.key_id = pseudonymised_services.key_id;
    IF secret IS NULL THEN
        RAISE EXCEPTION 'no pseudonym key "%"', key_id USING ERRCODE = '22023',
            HINT = 'The DBA creates one with deling.add_pseudonym_key(key_id, purpose).';
    END IF;
    RETURN QUERY
    SELECT encode(deling.hmac_sha256(convert_to(m.pid, 'UTF8'), secret), 'hex'),
           extract(year FROM coalesce(c.birth_date, deling.fnr_birth_date(m.pid)))::int, c.sex,
           m.service_code, m.status, m.period_start, m.period_end, m.weekly_hours
    FROM deling.municipal_service m
    JOIN deling.citizen c ON c.kommune_nr = m.kommune_nr AND c.pid = m.pid
    WHERE m.kommune_nr = pseudonymised_services.kommune_nr AND m.status <> 'entered-in-error'
      AND (NOT deling.fnr_synthetic(m.pid) OR current_setting('deling.kpr_test_mode') = 'on')
    ORDER BY 1, m.period_start, m.service_code;
END
$$;
COMMENT ON FUNCTION kpr.pseudonymised_services(text, text) IS
    'Pseudonymised services of a kommune for research: identity numbers replaced by HMAC-SHA256 under the DBA''s key; access-logged';

-- The continuous message ------------------------------------------------------

CREATE FUNCTION deling.xpr_ipl_build(message jsonb) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_xpr_ipl_build' LANGUAGE C IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.xpr_ipl_build(jsonb) IS
    'Write an XPR(ipl) document with libxml2 from nested {"name", "attrs", "children"} objects';

CREATE TABLE deling.kpr_report_state (
    kommune_nr    deling.kommunenr PRIMARY KEY REFERENCES deling.kommune,
    last_lopenr   bigint NOT NULL DEFAULT 0,
    last_guid     uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    contact_name  text NOT NULL CHECK (btrim(contact_name) <> ''),
    contact_email text NOT NULL CHECK (contact_email ~ '^[^@\s]+@[^@\s]+$'),
    contact_phone text
);
COMMENT ON TABLE deling.kpr_report_state IS
    'Per kommune: the last notifikasjonLopeNr and GUID sent to KPR (the chain continues from them) and the contact person';

CREATE TABLE deling.kpr_reported_event (
    kommune_nr        deling.kommunenr NOT NULL,
    event_key         text NOT NULL,
    notification_guid uuid NOT NULL,
    lopenr            bigint NOT NULL,
    status            text NOT NULL CHECK (status IN ('N', 'M', 'C')),
    original_guid     uuid NOT NULL,
    payload           jsonb NOT NULL,
    sent_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kommune_nr, event_key),
    UNIQUE (kommune_nr, lopenr)
);
COMMENT ON COLUMN deling.kpr_reported_event.payload IS 'The event element last sent (compared on each run: a change is sent as M, a vanished event as C)';
COMMENT ON COLUMN deling.kpr_reported_event.original_guid IS 'The GUID of the original (N) notification that M and C notifications refer to';
COMMENT ON TABLE deling.kpr_reported_event IS 'Events already sent to KPR, with the notification that carried them';

-- every notification as sent, so a message can be rebuilt from a løpenummer
CREATE TABLE deling.kpr_notification (
    kommune_nr   deling.kommunenr NOT NULL,
    lopenr       bigint NOT NULL,
    notification jsonb NOT NULL,
    sent_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kommune_nr, lopenr)
);
COMMENT ON TABLE deling.kpr_notification IS 'Every XPR(ipl) notification as sent to KPR, by løpenummer';

SELECT deling.share_table('deling.kpr_reported_event', 'municipal-services', readable => true);
SELECT deling.share_table('deling.kpr_notification', 'municipal-services', readable => true);
CREATE POLICY kpr_notification_owner_write ON deling.kpr_notification FOR INSERT TO deling_owner
    WITH CHECK ((SELECT deling.kpr_reading()));
ALTER TABLE deling.kpr_report_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE deling.kpr_report_state FORCE ROW LEVEL SECURITY;
CREATE POLICY kpr_report_state_owner ON deling.kpr_report_state TO deling_owner
    USING ((SELECT deling.kpr_reading())) WITH CHECK ((SELECT deling.kpr_reading()));
CREATE POLICY kpr_report_state_admin ON deling.kpr_report_state TO deling_admin USING (true) WITH CHECK (true);
CREATE POLICY kpr_reported_event_owner_write ON deling.kpr_reported_event FOR INSERT TO deling_owner
    WITH CHECK ((SELECT deling.kpr_reading()));
CREATE POLICY kpr_reported_event_owner_update ON deling.kpr_reported_event FOR UPDATE TO deling_owner
    USING ((SELECT deling.kpr_reading())) WITH CHECK ((SELECT deling.kpr_reading()));

CREATE FUNCTION kpr.set_contact(kommune_nr text, name text, email text, phone text DEFAULT NULL) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO deling.kpr_report_state (kommune_nr, contact_name, contact_email, contact_phone)
    VALUES (kommune_nr, name, email, phone)
    ON CONFLICT ON CONSTRAINT kpr_report_state_pkey DO UPDATE
        SET contact_name = excluded.contact_name, contact_email = excluded.contact_email, contact_phone = excluded.contact_phone;
$$;
COMMENT ON FUNCTION kpr.set_contact(text, text, text, text) IS 'DBA: the kommune''s contact person for KPR (Kontaktperson in every message)';

-- xpr_ipl_envelope: the Melding around notifications, with the kommune's
-- contact person, written by the C builder.
CREATE FUNCTION kpr.xpr_ipl_envelope(st deling.kpr_report_state, notifications jsonb) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.xpr_ipl_build(jsonb_build_object(
        'name', 'Melding',
        'attrs', jsonb_build_object('versjon', '56.0.0', 'meldingstype', 'K', 'leverandor', 'Norsk helsenett',
                                    'navnEPJ', 'deling', 'versjonEPJ', v.version, 'versjonUt', v.version),
        'children', notifications || jsonb_build_array(
            jsonb_build_object('name', 'Kontaktperson', 'attrs', jsonb_strip_nulls(jsonb_build_object(
                'kontPerson', st.contact_name, 'meldTelefon', st.contact_phone, 'meldEpost1', st.contact_email,
                'typeKontaktperson', '1'))),
            jsonb_build_object('name', 'Kommune', 'attrs', jsonb_build_object('kommuneNr', st.kommune_nr)))))
    FROM (SELECT extversion AS version FROM pg_catalog.pg_extension WHERE extname = 'deling') v;
$$;
COMMENT ON FUNCTION kpr.xpr_ipl_envelope(deling.kpr_report_state, jsonb) IS
    'Internal: the XPR(ipl) Melding around a list of notifications, with the kommune''s Kontaktperson and Kommune elements, written by the C builder';

-- xpr_ipl_message: the next continuous message for a kommune: an original
-- (N) notification for every event not yet sent, a replacement (M) for a
-- sent event whose content changed, a cancellation (C) for a sent event
-- that no longer exists; numbered on from the last løpenummer and chained to
-- the last GUID.  It is validated against the XSD before anything is
-- recorded; test persons only in test mode.
CREATE FUNCTION kpr.xpr_ipl_message(kommune_nr text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    st deling.kpr_report_state;
    ev record;
    notifications jsonb := '[]';
    lopenr bigint;
    prev uuid;
    guid uuid;
    now_local text := to_char(now() AT TIME ZONE 'Europe/Oslo', 'YYYY-MM-DD"T"HH24:MI:SS');
    message text;
    errors text[];
BEGIN
    PERFORM kpr.kpr_reader(kommune_nr, 'xpr_ipl_message');
    SELECT * INTO st FROM deling.kpr_report_state s WHERE s.kommune_nr = xpr_ipl_message.kommune_nr FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no KPR contact person registered for kommune %', kommune_nr
            USING ERRCODE = '55000', HINT = 'The DBA registers one with kpr.set_contact(kommune_nr, name, email, phone).';
    END IF;
    lopenr := st.last_lopenr;
    prev := st.last_guid;
    -- N for new events, M for sent events whose content changed, C for sent
    -- events that no longer exist; in event-date order, C before N on a day
    FOR ev IN
        -- what should have been reported by today, as event elements
        WITH c (event_key, event_date, payload) AS (
            SELECT e.service_id || ':' || e.event || ':' || e.event_date || ':' || coalesce(e.stop_id, ''), e.event_date,
                   jsonb_build_object(
                       'name', e.event,
                       'attrs', jsonb_strip_nulls(jsonb_build_object(
                           'tjenesteType', e.service_code, 'tjenesteOrgNr', e.provider_orgnr,
                           'hendelseDato', to_char(e.event_date, 'YYYY-MM-DD'), 'tjenesteID', e.service_id,
                           'midlertidigStoppID', e.stop_id)),
                       'children', jsonb_build_array(jsonb_build_object(
                           'name', 'Bruker',
                           'attrs', jsonb_build_object('pasientGUID', e.bruker_nr, 'brukerNr', e.bruker_nr,
                                                       'fid', e.pid, 'typeID', e.type_id::text))))
            FROM kpr.service_events(kommune_nr, '-infinity', (now() AT TIME ZONE 'Europe/Oslo')::date) e
            WHERE NOT e.test_person OR current_setting('deling.kpr_test_mode') = 'on')
        SELECT coalesce(c.event_key, r.event_key) AS event_key, coalesce(c.payload, r.payload) AS payload,
               CASE WHEN r.event_key IS NULL THEN 'N' WHEN c.event_key IS NULL THEN 'C' ELSE 'M' END AS status,
               r.original_guid
        FROM c
        FULL JOIN (SELECT * FROM deling.kpr_reported_event x
                   WHERE x.kommune_nr = xpr_ipl_message.kommune_nr AND x.status <> 'C') r ON r.event_key = c.event_key
        WHERE r.event_key IS NULL OR c.event_key IS NULL OR r.payload IS DISTINCT FROM c.payload
        ORDER BY coalesce(c.event_date, (r.payload->'attrs'->>'hendelseDato')::date),
                 CASE WHEN c.event_key IS NULL THEN 0 ELSE 1 END, 1
    LOOP
        lopenr := lopenr + 1;
        guid := gen_random_uuid();
        notifications := notifications || jsonb_build_array(jsonb_build_object(
            'name', 'Notifikasjon',
            'attrs', jsonb_strip_nulls(jsonb_build_object(
                'statusNotifikasjon', ev.status, 'notifikasjonTid', now_local,
                'notifikasjonGUID', guid, 'notifikasjonForrigeGUID', prev,
                'notifikasjonLopeNr', lopenr::text,
                'notifikasjonRef', CASE WHEN ev.status <> 'N' THEN ev.original_guid END)),
            'children', jsonb_build_array(jsonb_set(ev.payload, '{attrs}', ev.payload->'attrs'
                || jsonb_build_object('hendelseRegTid', now_local, 'hendelseGUID', gen_random_uuid())))));
        INSERT INTO deling.kpr_notification (kommune_nr, lopenr, notification)
        VALUES (kommune_nr, lopenr, notifications->-1);
        INSERT INTO deling.kpr_reported_event AS r
            (kommune_nr, event_key, notification_guid, lopenr, status, original_guid, payload)
        VALUES (kommune_nr, ev.event_key, guid, lopenr, ev.status, coalesce(ev.original_guid, guid), ev.payload)
        ON CONFLICT ON CONSTRAINT kpr_reported_event_pkey DO UPDATE
            SET notification_guid = excluded.notification_guid, lopenr = excluded.lopenr, status = excluded.status,
                payload = excluded.payload, sent_at = now();
        prev := guid;
    END LOOP;
    message := kpr.xpr_ipl_envelope(st, notifications);
    errors := kpr.validate_xpr_ipl(message);
    IF cardinality(errors) > 0 THEN
        RAISE EXCEPTION 'the XPR(ipl) message for kommune % does not validate; nothing was recorded', kommune_nr
            USING ERRCODE = '22023', DETAIL = array_to_string(errors, E'\n'),
                  HINT = 'kpr.data_quality(kommune_nr) lists the services KPR would reject.';
    END IF;
    UPDATE deling.kpr_report_state s SET last_lopenr = lopenr, last_guid = prev WHERE s.kommune_nr = xpr_ipl_message.kommune_nr;
    RETURN message;
END
$$;
COMMENT ON FUNCTION kpr.xpr_ipl_message(text) IS
    'The next XPR(ipl) 56.0.0 continuous message for a kommune: N for events not yet sent, M for sent events whose content changed, C for sent events that no longer exist (each M and C refers to the original), numbered and chained on from the last message, validated against the XSD, recorded as sent; access-logged';

CREATE FUNCTION kpr.xpr_ipl_message(kommune_nr text, since_lopenr bigint) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    st deling.kpr_report_state;
BEGIN
    PERFORM kpr.kpr_reader(kommune_nr, 'xpr_ipl_message_resend');
    SELECT * INTO st FROM deling.kpr_report_state s WHERE s.kommune_nr = xpr_ipl_message.kommune_nr;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'nothing has been reported for kommune %', kommune_nr USING ERRCODE = '55000';
    END IF;
    IF since_lopenr IS NULL OR since_lopenr < 1 OR since_lopenr > st.last_lopenr THEN
        RAISE EXCEPTION 'since_lopenr must be between 1 and %, the last løpenummer sent', st.last_lopenr
            USING ERRCODE = '22023';
    END IF;
    RETURN kpr.xpr_ipl_envelope(st, (SELECT jsonb_agg(n.notification ORDER BY n.lopenr) FROM deling.kpr_notification n
                                      WHERE n.kommune_nr = xpr_ipl_message.kommune_nr AND n.lopenr >= since_lopenr));
END
$$;
COMMENT ON FUNCTION kpr.xpr_ipl_message(text, bigint) IS
    'Re-send: the notifications already sent to KPR from a løpenummer on, exactly as sent, in one message (nothing new is recorded); access-logged';

-- xpr_ipl_message(kommune, from, to): re-send by period, when KPR asks for
-- a month again: every notification already sent (N, and any M or C that
-- followed) for events dated in the period, exactly as sent, in løpenummer
-- order.  Nothing new is recorded.
CREATE FUNCTION kpr.xpr_ipl_message(kommune_nr text, from_date date, to_date date) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    st deling.kpr_report_state;
BEGIN
    PERFORM kpr.kpr_reader(kommune_nr, 'xpr_ipl_message_resend');
    IF from_date IS NULL OR to_date IS NULL OR from_date > to_date THEN
        RAISE EXCEPTION 'the period must run from a date to the same or a later date (got % to %)',
            coalesce(to_char(from_date, 'YYYY-MM-DD'), 'NULL'), coalesce(to_char(to_date, 'YYYY-MM-DD'), 'NULL') USING ERRCODE = '22023';
    END IF;
    SELECT * INTO st FROM deling.kpr_report_state s WHERE s.kommune_nr = xpr_ipl_message.kommune_nr;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'nothing has been reported for kommune %', kommune_nr USING ERRCODE = '55000';
    END IF;
    RETURN kpr.xpr_ipl_envelope(st, (SELECT coalesce(jsonb_agg(n.notification ORDER BY n.lopenr), '[]')
                                      FROM deling.kpr_notification n
                                      WHERE n.kommune_nr = xpr_ipl_message.kommune_nr
                                        AND (n.notification->'children'->0->'attrs'->>'hendelseDato')::date
                                            BETWEEN from_date AND to_date));
END
$$;
COMMENT ON FUNCTION kpr.xpr_ipl_message(text, date, date) IS
    'Re-send by period: every notification already sent to KPR (N, M and C) for events dated from from_date to to_date, exactly as sent, in one message (nothing new is recorded); access-logged';
