-- ---------------------------------------------------------------------------
-- 70 kpr: reporting to KPR (Kommunalt pasient- og brukerregister) by HIS
-- 1135:2021.  The continuous message XPR(ipl) 56.0.0: events derived from
-- the services and their kept versions, one state row per event (what KPR
-- holds), N/M/C by the specification, events that cannot be reported held
-- back and listed, every message validated against the official XSD and
-- kept for the administration (overview, delivered/failed, re-sends).
-- Data quality, statistics with small-cell suppression, and the
-- pseudonymised research export (study-scoped keys, a research role).
-- ---------------------------------------------------------------------------

-- deling_forskning: researchers' login roles are members; they read the
-- pseudonymised exports of their own studies and nothing else.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'deling_forskning') THEN
        CREATE ROLE deling_forskning NOLOGIN;
    END IF;
END
$$;

CREATE FUNCTION kpr.validate_xpr_ipl(message text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'deling_xpr_ipl_validate' LANGUAGE C STABLE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION kpr.validate_xpr_ipl(text) IS
    'The XSD errors of an XPR(ipl) 56.0.0 message (empty when valid); 2200M when it is not well-formed XML';

-- refuse: write the refusal to the access log, then raise it.
CREATE FUNCTION kpr.refuse(kommuner text[], what text, pid text, code text, message text, hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM deling.log_access('kpr', pid, ARRAY(SELECT k FROM unnest(kommuner) k
                                                 WHERE EXISTS (SELECT FROM deling.kommune x WHERE x.kommune_nr = k)),
                              NULL, NULL, false, message, NULL, jsonb_build_object('report', what));
    IF hint IS NULL THEN
        RAISE EXCEPTION '%', message USING ERRCODE = code;
    END IF;
    RAISE EXCEPTION '%', message USING ERRCODE = code, HINT = hint;
END
$$;
COMMENT ON FUNCTION kpr.refuse(text[], text, text, text, text, text) IS
    'Internal: access-log a refused KPR read, then raise it with the SQLSTATE given';

-- pure_researcher: a member of deling_forskning and of no other deling role
CREATE FUNCTION deling.pure_researcher(role_name text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_has_role(role_name, 'deling_forskning', 'MEMBER')
       AND NOT EXISTS (SELECT FROM unnest(ARRAY['deling_kpr', 'deling_admin', 'deling_integrasjon', 'deling_helsepersonell',
                                                'deling_innbygger', 'deling_anon', 'deling_owner']) r
                       WHERE pg_has_role(role_name, r, 'MEMBER'))
       AND NOT (SELECT r.rolsuper OR r.rolcreaterole OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = role_name);
$$;
COMMENT ON FUNCTION deling.pure_researcher(text) IS
    'A role that is a member of deling_forskning and of no other deling role (nor superuser, CREATEROLE or BYPASSRLS): it can read pseudonymised exports and nothing identified';

-- kpr_reader: the caller may read KPR data, and the read is access-logged
-- (refusals too, before they are raised).  Without researcher: deling_kpr
-- or deling_admin.  With researcher: only that login role, a member of
-- deling_forskning and of no other deling role (so it cannot also read
-- identified data or write citizen data).
CREATE FUNCTION kpr.kpr_reader(kommuner text[], what text, pid text DEFAULT NULL, researcher text DEFAULT NULL,
                               refusal text DEFAULT NULL, refusal_code text DEFAULT '42501')
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    who CONSTANT text := deling.outer_role();
    unknown text;
BEGIN
    IF researcher IS NULL THEN
        IF NOT (pg_has_role(who, 'deling_kpr', 'MEMBER') OR pg_has_role(who, 'deling_admin', 'MEMBER')) THEN
            PERFORM kpr.refuse(kommuner, what, pid, '42501', 'KPR reporting is for deling_kpr and deling_admin');
        END IF;
    ELSIF who IS DISTINCT FROM researcher OR NOT deling.pure_researcher(who) THEN
        PERFORM kpr.refuse(kommuner, what, NULL, '42501',
            format('only the study''s researcher %s (a member of deling_forskning and of no other deling role) may read it', researcher));
    END IF;
    SELECT string_agg(k, ', ' ORDER BY k) INTO unknown FROM unnest(kommuner) k
    WHERE NOT EXISTS (SELECT FROM deling.kommune x WHERE x.kommune_nr = k);
    IF unknown IS NOT NULL THEN
        PERFORM kpr.refuse(kommuner, what, pid, '22023', format('kommune %s is not registered', unknown));
    END IF;
    IF refusal IS NOT NULL THEN
        PERFORM kpr.refuse(kommuner, what, pid, refusal_code, refusal);
    END IF;
    -- no log, no read (as for the sharing services)
    IF NOT deling.access_log_ready() THEN
        RAISE EXCEPTION 'the access log is not running, so no KPR read is allowed' USING ERRCODE = '55000',
            HINT = 'The DBA checks deling.access_log_status: shared_preload_libraries, wal_level = logical, deling.access_log_database.';
    END IF;
    PERFORM deling.log_access('kpr', pid, kommuner, NULL, NULL, true, NULL, NULL, jsonb_build_object('report', what));
END
$$;
COMMENT ON FUNCTION kpr.kpr_reader(text[], text, text, text, text, text) IS
    'Internal: refuses callers other than deling_kpr and deling_admin (or, for a research export, other than the study''s pure research role) with 42501, unknown kommuner with 22023 and the caller''s own refusal with its code, logging the refusal first, and every read while the access log is not running (55000); then access-logs the KPR read';

-- type_id: the 9032 identifier type KPR expects for an identity number.
CREATE FUNCTION kpr.type_id(pid text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE deling.fnr_kind(pid) WHEN 'fnr' THEN 1 WHEN 'dnr' THEN 2 WHEN 'hnr' THEN 3 WHEN 'fhnr' THEN 12 END;
$$;
COMMENT ON FUNCTION kpr.type_id(text) IS 'Identifier type (code system 9032): 1 fødselsnummer, 2 D-nummer, 3 H-nummer, 12 FH-nummer';

-- Configuration --------------------------------------------------------------

-- the service types reported continuously (HIS 1135:2021: 18, 19, 20, 21
-- and 29 so far); the DBA adds types as KPR asks for them
CREATE TABLE deling.kpr_reported_service_type (
    code      text PRIMARY KEY REFERENCES deling.service_type,
    added_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE deling.kpr_reported_service_type IS
    'The 9151 service types whose events go to KPR in the continuous message (HIS 1135:2021: 18, 19, 20, 21, 29); the DBA inserts new ones. Removing a type stops its reporting; what was sent stays (no cancellation).';
INSERT INTO deling.kpr_reported_service_type (code) VALUES ('18'), ('19'), ('20'), ('21'), ('29');

-- per kommune: reporting started (the cut-off date of the initial load) and
-- the løpenummer and GUID chain of what was sent
CREATE TABLE deling.kpr_report_state (
    kommune_nr    deling.kommunenr PRIMARY KEY REFERENCES deling.kommune,
    cutoff_date   date NOT NULL,
    last_lopenr   bigint NOT NULL DEFAULT 0,
    last_guid     uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    started_at    timestamptz NOT NULL DEFAULT now(),
    started_by    text NOT NULL DEFAULT session_user
);
COMMENT ON TABLE deling.kpr_report_state IS
    'Per kommune: the cut-off date of the initial load, the last notifikasjonLopeNr and GUID sent to KPR (the chain continues from them); row-locked while a message is built';

CREATE FUNCTION kpr.start_reporting(kommune_nr text, cutoff_date date) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    st deling.kpr_report_state;
BEGIN
    IF NOT EXISTS (SELECT FROM deling.kommune k WHERE k.kommune_nr = start_reporting.kommune_nr) THEN
        RAISE EXCEPTION 'kommune % is not registered', kommune_nr USING ERRCODE = '22023';
    END IF;
    IF cutoff_date IS NULL OR NOT isfinite(cutoff_date) THEN
        RAISE EXCEPTION 'the cut-off date must be a date' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO st FROM deling.kpr_report_state s WHERE s.kommune_nr = start_reporting.kommune_nr FOR UPDATE;
    IF st.last_lopenr > 0 AND st.cutoff_date <> cutoff_date THEN
        RAISE EXCEPTION 'kommune % has reported to KPR since %; its cut-off date (%) cannot change', kommune_nr,
            to_char(st.started_at, 'YYYY-MM-DD'), to_char(st.cutoff_date, 'YYYY-MM-DD') USING ERRCODE = '55000';
    END IF;
    INSERT INTO deling.kpr_report_state (kommune_nr, cutoff_date) VALUES (kommune_nr, cutoff_date)
    ON CONFLICT ON CONSTRAINT kpr_report_state_pkey DO UPDATE SET cutoff_date = excluded.cutoff_date;
END
$$;
COMMENT ON FUNCTION kpr.start_reporting(text, date) IS
    'DBA: start a kommune''s continuous reporting to KPR.  The first message (initial load) holds a TjenesteStart for every service active on the cut-off date, a MidlertidigStoppFra for every stop open on it, and every event dated from it on; nothing older is ever sent.  The date can be changed until the first message.';

-- Kontaktperson (code list 8471)
CREATE TABLE deling.kpr_contact_type (
    code  integer PRIMARY KEY,
    name  text NOT NULL
);
COMMENT ON TABLE deling.kpr_contact_type IS 'Code list 8471 "Kontaktperson type" (XPR(ipl) 56.0.0 coding schemes)';
INSERT INTO deling.kpr_contact_type (code, name) VALUES
    (1, 'Teknisk produksjon'), (2, 'Somatisk spesialisthelsetjeneste'), (3, 'Psykisk helsevern voksne'),
    (4, 'Barne og ungdomspsykiatri'), (5, 'Tverrfaglig spesialisert rusbehandling'), (6, 'Personskadestatistikk'),
    (7, 'Ventelistestatistikk'), (8, 'Ident-meldingen'), (9, 'RESH'), (10, 'Radiologi'), (11, 'Stråleterapi'),
    (12, 'Pakkeforløp kreft'), (13, 'Vedtak etter psykisk helsevernloven'), (14, 'Organisasjonsoppsett i EPJ'),
    (15, 'EPJ-leverandør, meldingsvalidering'), (16, 'IPLOS kontaktperson'), (17, 'IPLOS innsendingsansvarlig'),
    (18, 'Helsestasjons- og skolehelsetjeneste'), (19, 'Kostnad per pasient (KPP)');

CREATE TABLE deling.kpr_contact (
    contact_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kommune_nr    deling.kommunenr REFERENCES deling.kommune,
    contact_type  integer NOT NULL REFERENCES deling.kpr_contact_type,
    name          text NOT NULL CHECK (btrim(name) <> ''),
    email         text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    phone         text CHECK (phone ~ '^\+?[0-9][0-9 ]{6,18}$'),
    email2        text CHECK (email2 ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    added_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT kpr_contact_unique UNIQUE NULLS NOT DISTINCT (kommune_nr, contact_type, email)
);
COMMENT ON TABLE deling.kpr_contact IS
    'KPR contact persons (Kontaktperson), several per type; kommune_nr NULL: the platform''s own (types 1 and 15), in every kommune''s message.  Contacts receive feedback holding sensitive personal data; a mobile number lets them open password-protected feedback.';

CREATE FUNCTION kpr.add_contact(kommune_nr text, contact_type integer, name text, email text, phone text DEFAULT NULL,
                                email2 text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    id bigint;
BEGIN
    IF kommune_nr IS NOT NULL AND NOT EXISTS (SELECT FROM deling.kommune k WHERE k.kommune_nr = add_contact.kommune_nr) THEN
        RAISE EXCEPTION 'kommune % is not registered', kommune_nr USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT FROM deling.kpr_contact_type t WHERE t.code = contact_type) THEN
        RAISE EXCEPTION 'contact type % is not in code list 8471 (1-19; IPLOS: 16 kontaktperson, 17 innsendingsansvarlig)',
            coalesce(contact_type::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF coalesce(btrim(name), '') = '' THEN
        RAISE EXCEPTION 'a contact person needs a name' USING ERRCODE = '22023';
    END IF;
    IF email IS NULL OR email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' OR email2 !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' THEN
        RAISE EXCEPTION 'e-mail address "%" is not valid', coalesce(CASE WHEN email2 !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' THEN email2 END, email, '')
            USING ERRCODE = '22023';
    END IF;
    IF phone !~ '^\+?[0-9][0-9 ]{6,18}$' THEN
        RAISE EXCEPTION 'phone "%" is not a phone number', phone USING ERRCODE = '22023';
    END IF;
    INSERT INTO deling.kpr_contact AS c (kommune_nr, contact_type, name, email, phone, email2)
    VALUES (kommune_nr, contact_type, btrim(name), email, phone, email2)
    ON CONFLICT ON CONSTRAINT kpr_contact_unique DO UPDATE
        SET name = excluded.name, phone = excluded.phone, email2 = excluded.email2
    RETURNING c.contact_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION kpr.add_contact(text, integer, text, text, text, text) IS
    'DBA: register (or update, by kommune, type and e-mail) a KPR contact person of a type of code list 8471; kommune_nr NULL for the platform''s own contacts (1 Teknisk produksjon, 15 EPJ-leverandør), which every message carries.  Returns the contact id.';

CREATE FUNCTION kpr.remove_contact(contact_id bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM deling.kpr_contact c WHERE c.contact_id = remove_contact.contact_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no KPR contact %', contact_id USING ERRCODE = '22023';
    END IF;
END
$$;
COMMENT ON FUNCTION kpr.remove_contact(bigint) IS 'DBA: remove a KPR contact person';

-- contacts: the Kontaktperson elements of a kommune's messages (its own and
-- the platform's); refuses (55000) when a required type is missing: 16 and
-- 17 of the kommune's own (IPLOS), 1 and 15 its own or the platform's.
CREATE FUNCTION kpr.contact_elements(kommune_nr text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    missing text;
    elements jsonb;
BEGIN
    SELECT string_agg(format('%s (%s)', t.code, t.name), ', ' ORDER BY t.code) INTO missing
    FROM deling.kpr_contact_type t
    WHERE t.code IN (1, 15, 16, 17)
      AND NOT EXISTS (SELECT FROM deling.kpr_contact c WHERE c.contact_type = t.code
                        AND (c.kommune_nr = contact_elements.kommune_nr OR (c.kommune_nr IS NULL AND t.code IN (1, 15))));
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'kommune % has no KPR contact person of type %', kommune_nr, missing
            USING ERRCODE = '55000',
                  HINT = 'Every IPLOS message carries contacts of code list 8471 types 16 and 17 (the kommune''s) and 1 and 15 (the kommune''s or the platform''s): the DBA registers them with kpr.add_contact(kommune_nr, type, name, email, phone).';
    END IF;
    SELECT jsonb_agg(jsonb_build_object('name', 'Kontaktperson', 'attrs', jsonb_strip_nulls(jsonb_build_object(
               'kontPerson', c.name, 'meldTelefon', c.phone, 'meldEpost1', c.email, 'meldEpost2', c.email2,
               'typeKontaktperson', c.contact_type::text)))
           ORDER BY c.contact_type, c.kommune_nr NULLS LAST, c.contact_id)
    INTO elements
    FROM deling.kpr_contact c
    WHERE c.kommune_nr = contact_elements.kommune_nr OR c.kommune_nr IS NULL;
    RETURN elements;
END
$$;
COMMENT ON FUNCTION kpr.contact_elements(text) IS
    'Internal: the Kontaktperson elements of a kommune''s messages; 55000 when type 16, 17 (the kommune''s) or 1, 15 (the kommune''s or the platform''s) is missing';

CREATE FUNCTION kpr.contacts(kommune_nr text)
RETURNS TABLE (contact_id bigint, kommune text, contact_type integer, type_name text, name text, email text, phone text,
               email2 text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'contacts');
    RETURN QUERY
    SELECT c.contact_id, coalesce(c.kommune_nr::text, 'platform'), c.contact_type, t.name, c.name, c.email, c.phone, c.email2
    FROM deling.kpr_contact c JOIN deling.kpr_contact_type t ON t.code = c.contact_type
    WHERE c.kommune_nr = contacts.kommune_nr OR c.kommune_nr IS NULL
    ORDER BY c.contact_type, c.kommune_nr NULLS LAST, c.contact_id;
END
$$;
COMMENT ON FUNCTION kpr.contacts(text) IS
    'The KPR contact persons in a kommune''s messages (its own and the platform''s), with their 8471 type; access-logged';

-- What was sent --------------------------------------------------------------

-- one row per event KPR has been told about (its identity, unique by
-- construction: service id + S (start), E (end), F<first day> / T<first day>
-- (a temporary stop, from and to), P<version> (provider change)), with the
-- last notification and the live original N that M and C refer to
CREATE TABLE deling.kpr_reported_event (
    kommune_nr        deling.kommunenr NOT NULL,
    event_key         text NOT NULL CHECK (event_key ~ '^[0-9a-f-]{36}:(S|E|[FT][0-9]{4}-[0-9]{2}-[0-9]{2}|P[0-9]+)$'),
    service_id        uuid NOT NULL,
    event             text NOT NULL,
    test_person       boolean NOT NULL,
    status            text NOT NULL CHECK (status IN ('N', 'M', 'C')),
    original_guid     uuid NOT NULL,
    notification_guid uuid NOT NULL,
    lopenr            bigint NOT NULL,
    payload           jsonb NOT NULL,
    sent_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kommune_nr, event_key),
    UNIQUE (kommune_nr, lopenr)
);
COMMENT ON TABLE deling.kpr_reported_event IS
    'The state of each event towards KPR: its last notification (N, M or C), the live original N (after a C, a returning event is a new N and the new original) and the event element as KPR holds it';
COMMENT ON COLUMN deling.kpr_reported_event.payload IS 'The event element as last sent (a change is sent as M, a vanished event as C carrying it)';
CREATE INDEX kpr_reported_event_service ON deling.kpr_reported_event (kommune_nr, service_id);

-- every message built: continuous and re-sends, with their state
CREATE TABLE deling.kpr_message (
    kommune_nr    deling.kommunenr NOT NULL REFERENCES deling.kommune,
    message_id    bigint GENERATED ALWAYS AS IDENTITY,
    kind          text NOT NULL CHECK (kind IN ('continuous', 'resend')),
    request       text NOT NULL,
    built_at      timestamptz NOT NULL DEFAULT now(),
    built_by      text NOT NULL,
    lopenrs       bigint[] NOT NULL,
    held_back     integer NOT NULL DEFAULT 0,
    state         text NOT NULL DEFAULT 'built' CHECK (state IN ('built', 'delivered', 'failed')),
    state_at      timestamptz,
    state_by      text,
    state_reason  text,
    message       text NOT NULL,
    PRIMARY KEY (kommune_nr, message_id),
    UNIQUE (message_id)
);
COMMENT ON TABLE deling.kpr_message IS
    'Every XPR(ipl) message built for KPR (continuous and re-sends): when, by whom, which notifications (løpenummer), how many events were held back, delivered or failed and why, and the message itself';

-- every notification as sent, so messages can be rebuilt exactly
CREATE TABLE deling.kpr_notification (
    kommune_nr   deling.kommunenr NOT NULL,
    lopenr       bigint NOT NULL,
    notification jsonb NOT NULL,
    message_id   bigint NOT NULL,
    event_key    text NOT NULL,
    service_id   uuid NOT NULL,
    citizen_id   uuid,
    status       text NOT NULL CHECK (status IN ('N', 'M', 'C')),
    sent_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kommune_nr, lopenr),
    FOREIGN KEY (kommune_nr, message_id) REFERENCES deling.kpr_message
);
COMMENT ON TABLE deling.kpr_notification IS
    'Every XPR(ipl) notification as sent to KPR, by løpenummer, with the message that first carried it, the event, service and person (brukerNr) it concerns';
CREATE INDEX kpr_notification_citizen ON deling.kpr_notification (kommune_nr, citizen_id);

-- events the last message held back because they did not validate on their own
CREATE TABLE deling.kpr_held_event (
    kommune_nr  deling.kommunenr NOT NULL,
    event_key   text NOT NULL,
    service_id  uuid NOT NULL,
    reason      text NOT NULL,
    held_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kommune_nr, event_key)
);
COMMENT ON TABLE deling.kpr_held_event IS
    'Events the last message held back because their notification did not validate against the XSD on its own; retried by every message, listed by kpr.data_quality';

-- forced RLS: the KPR functions (deling_owner) read and write while a KPR
-- reader calls them; the DBA's role sees everything
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['kpr_report_state', 'kpr_reported_event', 'kpr_message', 'kpr_notification', 'kpr_held_event'] LOOP
        EXECUTE format('ALTER TABLE deling.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE deling.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON deling.%I TO deling_owner USING ((SELECT deling.kpr_reading())) '
                       'WITH CHECK ((SELECT deling.kpr_reading()))', t || '_owner', t);
        EXECUTE format('CREATE POLICY %I ON deling.%I TO deling_admin USING (true) WITH CHECK (true)', t || '_admin', t);
    END LOOP;
END
$$;

-- Events ------------------------------------------------------------------------

-- provider_on: the provider in effect on a day: the last provider change
-- on or before it (the changes in order, their days never going back),
-- else the provider at the start; provider_set_on: when that provider was
-- registered in the source.
CREATE FUNCTION kpr.provider_on(days date[], orgnrs text[], at_start text, day date) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT c.o FROM unnest(days, orgnrs) WITH ORDINALITY AS c(d, o, i)
                     WHERE c.d <= provider_on.day ORDER BY c.i DESC LIMIT 1),
                    at_start);
$$;
COMMENT ON FUNCTION kpr.provider_on(date[], text[], text, date) IS
    'Internal: the provider orgnr in effect on a day, given the provider changes (days, orgnrs) and the provider at the start';
CREATE FUNCTION kpr.provider_set_on(days date[], ats timestamptz[], at_start timestamptz, day date) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT c.a FROM unnest(days, ats) WITH ORDINALITY AS c(d, a, i)
                     WHERE c.d <= provider_set_on.day ORDER BY c.i DESC LIMIT 1),
                    at_start);
$$;
COMMENT ON FUNCTION kpr.provider_set_on(date[], timestamptz[], timestamptz, date) IS
    'Internal: when the provider in effect on a day was registered in the source';

-- derived_events: the KPR events of a kommune's services, derived from the
-- current row and every kept version (deling.municipal_service_history):
--   S  TjenesteStart on the start date, with the provider at the start;
--   E  TjenesteSlutt on the end date;
--   F<d>, T<d>  MidlertidigStoppFra / -Til of the stop that begins on d
--      (its first and last day), midlertidigStoppID service:d;
--   P<v>  TjenesteutforerEndret: version v changed the provider from one
--      known orgnr to another, registered in the source on a day after the
--      start; dated that Oslo day, carrying the new orgnr.  Filling in a
--      missing orgnr (or removing one), or changing it on or before the
--      start day, corrects the provider at the start instead.  Start, stops
--      and end carry the provider in effect on their day, so a change never
--      rewrites them.
-- Only services with a decision (granted, active, on-hold, ended) have
-- events.  event_key = service_id ':' kind: unique by construction.
-- registered_at (hendelseRegTid) is when the source registered the version
-- from which the event has had its present content (or, present = false,
-- since it has been gone).  reportable_only: the reported service types and
-- services with events already sent, not every service.
CREATE FUNCTION kpr.derived_events(kommune_nr text, reportable_only boolean)
RETURNS TABLE (service_id uuid, event_key text, kind text, present boolean, event text, event_date date, ends date,
               provider_orgnr text, stop_id text, registered_at timestamptz)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET datestyle = 'ISO, YMD' AS $$
WITH svc AS MATERIALIZED (
    SELECT m.service_id, m.version, m.pid, m.service_code, m.status, m.period_start, m.period_end, m.stops,
           m.unit_orgnr, m.registered_at
    FROM deling.municipal_service m
    WHERE m.kommune_nr = derived_events.kommune_nr
      AND (NOT reportable_only
           OR m.service_code IN (SELECT t.code FROM deling.kpr_reported_service_type t)
           OR m.service_id IN (SELECT r.service_id FROM deling.kpr_reported_event r
                               WHERE r.kommune_nr = derived_events.kommune_nr))),
v AS (
    SELECT s.service_id, s.version, s.pid::text AS pid, s.service_code, s.status, s.period_start, s.period_end, s.stops,
           s.unit_orgnr::text AS orgnr, s.registered_at AS reg
    FROM svc s
    UNION ALL
    SELECT h.service_id, h.version, h.snapshot->>'pid', h.snapshot->>'service_code', h.snapshot->>'status',
           (h.snapshot->>'period_start')::date, (h.snapshot->>'period_end')::date,
           ARRAY(SELECT x::daterange FROM jsonb_array_elements_text(h.snapshot->'stops') x),
           h.snapshot->>'unit_orgnr', coalesce(h.snapshot->>'registered_at', h.snapshot->>'received_at')::timestamptz
    FROM deling.municipal_service_history h
    WHERE h.kommune_nr = derived_events.kommune_nr AND h.service_id IN (SELECT s.service_id FROM svc s)),
-- per version: its registration day in Oslo (a running maximum: days never
-- go back) and the provider known then (a missing orgnr keeps the last one)
w AS (
    SELECT v.*, max((v.reg AT TIME ZONE 'Europe/Oslo')::date) OVER o AS day, count(v.orgnr) OVER o AS grp
    FROM v WINDOW o AS (PARTITION BY v.service_id ORDER BY v.version)),
x AS (
    SELECT w.*, first_value(w.orgnr) OVER (PARTITION BY w.service_id, w.grp ORDER BY w.version) AS eff FROM w),
y AS (
    SELECT z.*, z.eff IS DISTINCT FROM z.eff_prev AS eff_changed
    FROM (SELECT x.*, lag(x.eff) OVER (PARTITION BY x.service_id ORDER BY x.version) AS eff_prev FROM x) z),
-- provider changes: a version that changed the provider from one known
-- orgnr to another, registered on a day after the start
chgs AS (
    SELECT y.service_id, min(y.version) AS first_version, array_agg(y.version ORDER BY y.version) AS versions,
           array_agg(y.day ORDER BY y.version) AS days, array_agg(y.eff ORDER BY y.version) AS orgnrs,
           array_agg(y.reg ORDER BY y.version) AS ats
    FROM y JOIN svc s ON s.service_id = y.service_id
    WHERE y.eff_changed AND y.eff_prev IS NOT NULL AND y.day > s.period_start
    GROUP BY y.service_id),
-- the provider at the start: the last one known before the first change
init AS (
    SELECT y.service_id, (array_agg(y.eff ORDER BY y.version DESC))[1] AS orgnr,
           (array_agg(y.reg ORDER BY y.version DESC) FILTER (WHERE y.eff_changed))[1] AS set_at
    FROM y LEFT JOIN chgs c ON c.service_id = y.service_id
    WHERE y.version < coalesce(c.first_version, 2147483647)
    GROUP BY y.service_id),
-- every start, end and stop key a service has had, and its content in each
-- version (NULL: the version has no such event)
k AS (
    SELECT DISTINCT y.service_id, kk.kind, kk.stop_from
    FROM y CROSS JOIN LATERAL (
        SELECT 'S' AS kind, NULL::date AS stop_from UNION ALL SELECT 'E', NULL
        UNION ALL SELECT 'F', lower(r) FROM unnest(y.stops) r
        UNION ALL SELECT 'T', lower(r) FROM unnest(y.stops) r) kk),
sig AS (
    SELECT y.service_id, y.version, y.reg, k.kind, k.stop_from,
           CASE WHEN y.status IN ('granted', 'active', 'on-hold', 'ended') THEN
               CASE k.kind
                   WHEN 'S' THEN concat_ws('|', y.pid, y.service_code, y.period_start)
                   WHEN 'E' THEN CASE WHEN y.period_end IS NOT NULL THEN concat_ws('|', y.pid, y.service_code, y.period_end) END
                   WHEN 'F' THEN (SELECT concat_ws('|', y.pid, y.service_code) FROM unnest(y.stops) r
                                  WHERE lower(r) = k.stop_from LIMIT 1)
                   ELSE (SELECT concat_ws('|', y.pid, y.service_code, upper(r) - 1) FROM unnest(y.stops) r
                         WHERE lower(r) = k.stop_from AND NOT upper_inf(r) LIMIT 1)
               END END AS content
    FROM y JOIN k ON k.service_id = y.service_id),
cur AS (
    SELECT sig.*, first_value(sig.content) OVER (PARTITION BY sig.service_id, sig.kind, sig.stop_from ORDER BY sig.version DESC) AS now_content
    FROM sig),
run AS (
    SELECT cur.*, bool_and(cur.content IS NOT DISTINCT FROM cur.now_content)
                      OVER (PARTITION BY cur.service_id, cur.kind, cur.stop_from ORDER BY cur.version DESC) AS in_run
    FROM cur),
since AS (   -- when each key got its present content (or vanished)
    SELECT run.service_id, run.kind, run.stop_from, run.now_content IS NOT NULL AS present,
           (array_agg(run.reg ORDER BY run.version) FILTER (WHERE run.in_run))[1] AS since
    FROM run GROUP BY run.service_id, run.kind, run.stop_from, run.now_content),
ev AS (
    SELECT s.service_id, e.kind, e.stop_from, e.event, e.event_date, e.ends, e.orgnr, e.stop_id, e.at
    FROM svc s
    JOIN init i ON i.service_id = s.service_id
    LEFT JOIN chgs c ON c.service_id = s.service_id
    CROSS JOIN LATERAL (
        SELECT 'S' AS kind, NULL::date AS stop_from, 'TjenesteStart' AS event, s.period_start AS event_date, s.period_end AS ends,
               i.orgnr::text AS orgnr, NULL::text AS stop_id, i.set_at AS at
        UNION ALL
        SELECT 'E', NULL, 'TjenesteSlutt', s.period_end, s.period_end, kpr.provider_on(c.days, c.orgnrs, i.orgnr, s.period_end),
               NULL, kpr.provider_set_on(c.days, c.ats, i.set_at, s.period_end)
        WHERE s.period_end IS NOT NULL
        UNION ALL
        SELECT 'F', lower(r), 'MidlertidigStoppFra', lower(r), CASE WHEN NOT upper_inf(r) THEN upper(r) - 1 END,
               kpr.provider_on(c.days, c.orgnrs, i.orgnr, lower(r)), s.service_id || ':' || to_char(lower(r), 'YYYY-MM-DD'),
               kpr.provider_set_on(c.days, c.ats, i.set_at, lower(r))
        FROM unnest(s.stops) r
        UNION ALL
        SELECT 'T', lower(r), 'MidlertidigStoppTil', upper(r) - 1, upper(r) - 1,
               kpr.provider_on(c.days, c.orgnrs, i.orgnr, upper(r) - 1), s.service_id || ':' || to_char(lower(r), 'YYYY-MM-DD'),
               kpr.provider_set_on(c.days, c.ats, i.set_at, upper(r) - 1)
        FROM unnest(s.stops) r WHERE NOT upper_inf(r)
        UNION ALL
        SELECT 'P' || p.version, NULL, 'TjenesteutforerEndret', p.day, p.day, p.orgnr, NULL, p.at
        FROM unnest(c.versions, c.days, c.orgnrs, c.ats) AS p(version, day, orgnr, at)) e
    WHERE s.status IN ('granted', 'active', 'on-hold', 'ended'))
SELECT ev.service_id, ev.service_id || ':' || ev.kind || coalesce(to_char(ev.stop_from, 'YYYY-MM-DD'), ''), left(ev.kind, 1), true,
       ev.event, ev.event_date, ev.ends, ev.orgnr, ev.stop_id,
       CASE WHEN ev.kind LIKE 'P%' THEN ev.at ELSE greatest(sn.since, ev.at) END
FROM ev LEFT JOIN since sn ON sn.service_id = ev.service_id AND sn.kind = ev.kind
                          AND sn.stop_from IS NOT DISTINCT FROM ev.stop_from
UNION ALL
SELECT sn.service_id, sn.service_id || ':' || sn.kind || coalesce(to_char(sn.stop_from, 'YYYY-MM-DD'), ''), sn.kind, false,
       CASE sn.kind WHEN 'S' THEN 'TjenesteStart' WHEN 'E' THEN 'TjenesteSlutt' WHEN 'F' THEN 'MidlertidigStoppFra'
                    ELSE 'MidlertidigStoppTil' END,
       NULL, NULL, NULL, NULL, sn.since
FROM since sn WHERE NOT sn.present;
$$;
COMMENT ON FUNCTION kpr.derived_events(text, boolean) IS
    'Internal: the KPR events of a kommune''s services (keys unique by construction), the provider in effect on each event''s day, and when the source registered each event''s present content (hendelseRegTid); gone events with when they went';

-- plan: what the next message must tell KPR, event by event: N for an event
-- KPR does not hold (never sent, or cancelled: then it is a new original),
-- M for one it holds whose content changed, C for one it holds that is no
-- longer there; with the reason when the change is held back.  KPR should
-- hold: events of the reported service types, dated up to today (Oslo), of
-- services active on or after the cut-off date (a TjenesteStart of a service
-- active on it, a MidlertidigStoppFra of a stop open on it, everything else
-- dated from it on), test persons only in test mode.  Held back:
--   - changes to a service whose code is withdrawn or historical (no M with
--     a withdrawn code, no C of what was right) until it is corrected;
--   - events given in held (those whose notification did not validate);
--   - anything of a service whose TjenesteStart KPR will not hold, a
--     MidlertidigStoppTil whose MidlertidigStoppFra it will not hold, and
--     cancelling a start (or stop) while KPR still holds what attaches to it.
-- A service whose type left the reported set keeps what was sent (no C);
-- one that changed to another, active type is cancelled.
-- Order: cancellations first (what attaches before what it attaches to),
-- then by date with TjenesteStart first, then stop from, provider change,
-- stop to and end on the same day.
CREATE FUNCTION kpr.plan(kommune_nr text, held jsonb DEFAULT '{}')
RETURNS TABLE (event_key text, service_id uuid, event text, status text, payload jsonb, original_guid uuid,
               registered_at timestamptz, citizen_id uuid, test_person boolean, hold text,
               phase integer, sort_date date, sort_rank integer)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
WITH opt AS (
    SELECT s.cutoff_date, (now() AT TIME ZONE 'Europe/Oslo')::date AS today,
           current_setting('deling.kpr_test_mode') = 'on' AS test_mode
    FROM deling.kpr_report_state s WHERE s.kommune_nr = plan.kommune_nr),
d AS MATERIALIZED (SELECT * FROM kpr.derived_events(plan.kommune_nr, true)),
svc AS MATERIALIZED (
    SELECT m.service_id, m.service_code, m.period_start, m.pid::text AS pid, m.registered_at, c.citizen_id,
           kpr.type_id(m.pid) AS type_id, deling.fnr_synthetic(m.pid) AS test_person, t.status AS code_status,
           t.replaced_by, EXISTS (SELECT FROM deling.kpr_reported_service_type rt WHERE rt.code = m.service_code) AS in_scope
    FROM deling.municipal_service m
    JOIN deling.citizen c ON c.kommune_nr = m.kommune_nr AND c.pid = m.pid
    JOIN deling.service_type t ON t.code = m.service_code
    WHERE m.kommune_nr = plan.kommune_nr AND m.service_id IN (SELECT d.service_id FROM d)),
want AS (
    SELECT DISTINCT ON (d.event_key) d.event_key, d.service_id, d.event, d.kind, d.event_date, d.registered_at,
           jsonb_build_object(
               'name', d.event,
               'attrs', jsonb_strip_nulls(jsonb_build_object(
                   'tjenesteType', s.service_code, 'tjenesteOrgNr', d.provider_orgnr,
                   'hendelseDato', to_char(d.event_date, 'YYYY-MM-DD'), 'tjenesteID', d.service_id,
                   'midlertidigStoppID', d.stop_id)),
               'children', jsonb_build_array(jsonb_build_object(
                   'name', 'Bruker',
                   'attrs', jsonb_strip_nulls(jsonb_build_object('pasientGUID', s.citizen_id, 'brukerNr', s.citizen_id,
                                                                 'fid', s.pid, 'typeID', s.type_id::text))))) AS payload
    FROM d JOIN svc s ON s.service_id = d.service_id CROSS JOIN opt
    WHERE d.present AND s.in_scope AND d.event_date <= opt.today
      AND coalesce(d.ends, 'infinity') >= opt.cutoff_date
      AND (NOT s.test_person OR opt.test_mode)
    ORDER BY d.event_key),
sent AS (
    SELECT r.* FROM deling.kpr_reported_event r CROSS JOIN opt
    WHERE r.kommune_nr = plan.kommune_nr AND (NOT r.test_person OR opt.test_mode)),
a AS (
    SELECT coalesce(w.event_key, r.event_key) AS event_key, coalesce(w.service_id, r.service_id) AS service_id,
           coalesce(w.event, r.event) AS event, split_part(coalesce(w.event_key, r.event_key), ':', 2) AS part,
           coalesce(w.payload, r.payload) AS payload, r.status IN ('N', 'M') AS live_before,
           CASE WHEN r.status IN ('N', 'M') THEN r.original_guid END AS original_guid,
           coalesce(w.registered_at, dg.registered_at, s.registered_at, now()) AS registered_at,
           coalesce(s.test_person, r.test_person) AS test_person, s.service_code, s.period_start,
           CASE WHEN w.event_key IS NOT NULL AND (r.event_key IS NULL OR r.status = 'C') THEN 'N'
                WHEN w.event_key IS NOT NULL AND r.payload IS DISTINCT FROM w.payload THEN 'M'
                WHEN w.event_key IS NULL AND r.status IN ('N', 'M')
                     AND NOT (s.in_scope IS FALSE AND s.code_status = 'active'
                              AND r.payload->'attrs'->>'tjenesteType' = s.service_code) THEN 'C'
           END AS status,
           CASE WHEN plan.held ? coalesce(w.event_key, r.event_key) THEN plan.held->>coalesce(w.event_key, r.event_key)
                WHEN s.code_status <> 'active'
                THEN format('service code %s is %s in code list 9151%s: changes are held back until the code is corrected',
                            s.service_code, s.code_status, coalesce(' (replaced by ' || s.replaced_by || ')', ''))
                WHEN w.event_key IS NOT NULL AND s.type_id IS NULL
                THEN 'the identity number gives no identifier type (code system 9032)'
           END AS base_hold
    FROM want w
    FULL JOIN sent r ON r.event_key = w.event_key
    LEFT JOIN svc s ON s.service_id = coalesce(w.service_id, r.service_id)
    LEFT JOIN d dg ON dg.event_key = r.event_key AND w.event_key IS NULL),
-- the start: does KPR hold it after this message?
b AS (
    SELECT a.*, left(a.part, 1) AS kind, substr(a.part, 2) AS day,
           bool_or(CASE WHEN a.status IS NOT NULL AND a.base_hold IS NULL THEN a.status <> 'C' ELSE a.live_before END)
               FILTER (WHERE a.part = 'S') OVER (PARTITION BY a.service_id) AS start_held_by_kpr
    FROM a),
-- stops from, then everything else that attaches to the start or a stop from
c AS (
    SELECT b.*,
           CASE WHEN b.status IN ('N', 'M') AND b.kind <> 'S' AND b.base_hold IS NULL AND NOT coalesce(b.start_held_by_kpr, false)
                THEN 'waiting for its TjenesteStart, which KPR does not hold'
                ELSE b.base_hold END AS hold1
    FROM b),
e AS (
    SELECT c.*,
           bool_or(CASE WHEN c.status IS NOT NULL AND c.hold1 IS NULL THEN c.status <> 'C' ELSE c.live_before END)
               FILTER (WHERE c.kind = 'F') OVER (PARTITION BY c.service_id, c.day) AS from_held_by_kpr
    FROM c),
f AS (
    SELECT e.*,
           CASE WHEN e.status IN ('N', 'M') AND e.kind = 'T' AND e.hold1 IS NULL AND NOT coalesce(e.from_held_by_kpr, false)
                THEN 'waiting for its MidlertidigStoppFra, which KPR does not hold'
                ELSE e.hold1 END AS hold2
    FROM e),
g AS (
    SELECT f.*,
           bool_or(CASE WHEN f.status IS NOT NULL AND f.hold2 IS NULL THEN f.status <> 'C' ELSE f.live_before END)
               FILTER (WHERE f.kind = 'T') OVER (PARTITION BY f.service_id, f.day) AS to_held_by_kpr,
           bool_or(CASE WHEN f.status IS NOT NULL AND f.hold2 IS NULL THEN f.status <> 'C' ELSE f.live_before END)
               FILTER (WHERE f.kind <> 'S') OVER (PARTITION BY f.service_id) AS others_held_by_kpr
    FROM f)
SELECT g.event_key, g.service_id, g.event, g.status, g.payload, g.original_guid, g.registered_at,
       (g.payload->'children'->0->'attrs'->>'brukerNr')::uuid, g.test_person,
       CASE WHEN g.status = 'C' AND g.hold2 IS NULL AND g.kind = 'F' AND coalesce(g.to_held_by_kpr, false)
            THEN 'its MidlertidigStoppTil is still held by KPR'
            WHEN g.status = 'C' AND g.hold2 IS NULL AND g.kind = 'S' AND coalesce(g.others_held_by_kpr, false)
            THEN 'events of the service are still held by KPR'
            ELSE g.hold2 END,
       CASE WHEN g.status = 'C' THEN 0 ELSE 1 END,
       CASE WHEN g.status = 'C' THEN (g.payload->'attrs'->>'hendelseDato')::date
            WHEN g.kind = 'S' THEN (g.payload->'attrs'->>'hendelseDato')::date
            ELSE greatest((g.payload->'attrs'->>'hendelseDato')::date, g.period_start) END,
       CASE WHEN g.status = 'C' THEN CASE g.kind WHEN 'S' THEN 2 WHEN 'F' THEN 1 ELSE 0 END
            ELSE CASE g.kind WHEN 'S' THEN 0 WHEN 'F' THEN 1 WHEN 'P' THEN 2 WHEN 'T' THEN 3 ELSE 4 END END
FROM g
WHERE g.status IS NOT NULL;
$$;
COMMENT ON FUNCTION kpr.plan(text, jsonb) IS
    'Internal: the notifications the next message of a kommune needs (N, M, C per event, with the live original), their order, and why any is held back';

-- The continuous message ------------------------------------------------------

CREATE FUNCTION deling.xpr_ipl_build(message jsonb) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_xpr_ipl_build' LANGUAGE C IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.xpr_ipl_build(jsonb) IS
    'Write an XPR(ipl) document with libxml2 from nested {"name", "attrs", "children"} objects';

-- xpr_ipl_envelope: the Melding around notifications, with the kommune's
-- contact persons, written by the C builder.
CREATE FUNCTION kpr.xpr_ipl_envelope(kommune_nr text, notifications jsonb) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT deling.xpr_ipl_build(jsonb_build_object(
        'name', 'Melding',
        'attrs', jsonb_build_object('versjon', '56.0.0', 'meldingstype', 'K', 'leverandor', 'Norsk helsenett',
                                    'navnEPJ', 'deling', 'versjonEPJ', v.version, 'versjonUt', v.version),
        'children', coalesce(notifications, '[]') || kpr.contact_elements(xpr_ipl_envelope.kommune_nr)
                    || jsonb_build_array(jsonb_build_object('name', 'Kommune',
                                                            'attrs', jsonb_build_object('kommuneNr', xpr_ipl_envelope.kommune_nr)))))
    FROM (SELECT e.extversion AS version FROM pg_catalog.pg_extension e WHERE e.extname = 'deling') v;
$$;
COMMENT ON FUNCTION kpr.xpr_ipl_envelope(text, jsonb) IS
    'Internal: the XPR(ipl) Melding around a list of notifications, with the kommune''s Kontaktperson elements and Kommune, written by the C builder';

-- record_message: keep a message built for KPR in the overview.
CREATE FUNCTION kpr.record_message(kommune_nr text, kind text, request text, lopenrs bigint[], held_back integer,
                                   message text) RETURNS bigint
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO deling.kpr_message (kommune_nr, kind, request, built_by, lopenrs, held_back, message)
    VALUES (kommune_nr, kind, request, deling.outer_role(), coalesce(lopenrs, '{}'), held_back, message)
    RETURNING message_id;
$$;
COMMENT ON FUNCTION kpr.record_message(text, text, text, bigint[], integer, text) IS
    'Internal: record a message built for KPR (overview, state, re-send)';

-- xpr_ipl_message: the next continuous message for a kommune (see kpr.plan
-- for what goes in it).  The message is validated against the XSD; a
-- notification that does not validate on its own is held back (with what
-- attaches to it) and listed by kpr.data_quality, and the rest goes, so one
-- broken service never stops a kommune's reporting.  Recorded as sent:
-- each event's state, every notification, the message.
CREATE FUNCTION kpr.xpr_ipl_message(kommune_nr text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    st deling.kpr_report_state;
    held jsonb := '{}';
    items jsonb;
    held_count integer;
    message text;
    errors text[];
    own_errors text[];
    n jsonb;
    found_bad boolean;
    msg_id bigint;
    now_local CONSTANT text := to_char(now() AT TIME ZONE 'Europe/Oslo', 'YYYY-MM-DD"T"HH24:MI:SS');
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'xpr_ipl_message');
    SELECT * INTO st FROM deling.kpr_report_state s WHERE s.kommune_nr = xpr_ipl_message.kommune_nr FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'reporting to KPR has not been started for kommune %', kommune_nr
            USING ERRCODE = '55000',
                  HINT = 'The DBA starts it with kpr.start_reporting(kommune_nr, cutoff_date) and registers the contact persons with kpr.add_contact(kommune_nr, type, name, email, phone).';
    END IF;
    PERFORM kpr.contact_elements(kommune_nr);     -- refuses without the required contact persons
    FOR attempt IN 1..20 LOOP
        WITH pl AS MATERIALIZED (SELECT * FROM kpr.plan(xpr_ipl_message.kommune_nr, held)),
        o AS MATERIALIZED (
            SELECT p.*, row_number() OVER (ORDER BY p.phase, CASE WHEN p.phase = 0 THEN p.sort_rank END,
                                                    CASE WHEN p.phase = 0 THEN p.sort_date END DESC,
                                                    p.sort_date, p.sort_rank, p.event_key) AS i,
                   gen_random_uuid() AS guid
            FROM pl p WHERE p.hold IS NULL),
        x AS (SELECT o.*, coalesce(lag(o.guid) OVER (ORDER BY o.i), st.last_guid) AS prev FROM o)
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'event_key', x.event_key, 'service_id', x.service_id, 'citizen_id', x.citizen_id, 'event', x.event,
                   'test_person', x.test_person, 'status', x.status, 'payload', x.payload, 'guid', x.guid,
                   'original_guid', coalesce(x.original_guid, x.guid), 'lopenr', st.last_lopenr + x.i,
                   'notification', jsonb_build_object(
                       'name', 'Notifikasjon',
                       'attrs', jsonb_strip_nulls(jsonb_build_object(
                           'statusNotifikasjon', x.status, 'notifikasjonTid', now_local,
                           'notifikasjonGUID', x.guid, 'notifikasjonForrigeGUID', x.prev,
                           'notifikasjonLopeNr', (st.last_lopenr + x.i)::text,
                           'notifikasjonRef', CASE WHEN x.status <> 'N' THEN x.original_guid END)),
                       'children', jsonb_build_array(jsonb_set(x.payload, '{attrs}', x.payload->'attrs' || jsonb_build_object(
                           'hendelseRegTid', to_char(x.registered_at AT TIME ZONE 'Europe/Oslo', 'YYYY-MM-DD"T"HH24:MI:SS'),
                           'hendelseGUID', gen_random_uuid()))))) ORDER BY x.i), '[]'),
               (SELECT count(*) FROM pl WHERE pl.hold IS NOT NULL)
        INTO items, held_count
        FROM x;
        message := kpr.xpr_ipl_envelope(kommune_nr, (SELECT jsonb_agg(e->'notification' ORDER BY (e->>'lopenr')::bigint)
                                                     FROM jsonb_array_elements(items) e));
        errors := kpr.validate_xpr_ipl(message);
        EXIT WHEN cardinality(errors) = 0;
        -- hold back the notifications that do not validate on their own
        found_bad := false;
        FOR n IN SELECT e FROM jsonb_array_elements(items) e LOOP
            own_errors := kpr.validate_xpr_ipl(kpr.xpr_ipl_envelope(kommune_nr, jsonb_build_array(n->'notification')));
            IF cardinality(own_errors) > 0 THEN
                held := held || jsonb_build_object(n->>'event_key',
                    'does not validate against XPR(ipl).xsd: ' || array_to_string(own_errors, '; '));
                found_bad := true;
            END IF;
        END LOOP;
        EXIT WHEN NOT found_bad;
    END LOOP;
    IF cardinality(errors) > 0 THEN
        RAISE EXCEPTION 'the XPR(ipl) message for kommune % does not validate; nothing was recorded', kommune_nr
            USING ERRCODE = '22023', DETAIL = array_to_string(errors, E'\n'),
                  HINT = 'The notifications validate one by one: check the kommune''s contact persons (kpr.contacts).';
    END IF;

    msg_id := kpr.record_message(kommune_nr, 'continuous', 'next',
                                 ARRAY(SELECT (e->>'lopenr')::bigint FROM jsonb_array_elements(items) e ORDER BY 1),
                                 held_count, message);
    INSERT INTO deling.kpr_notification (kommune_nr, lopenr, notification, message_id, event_key, service_id, citizen_id, status)
    SELECT kommune_nr, (e->>'lopenr')::bigint, e->'notification', msg_id, e->>'event_key', (e->>'service_id')::uuid,
           (e->>'citizen_id')::uuid, e->>'status'
    FROM jsonb_array_elements(items) e;
    INSERT INTO deling.kpr_reported_event AS r
        (kommune_nr, event_key, service_id, event, test_person, status, original_guid, notification_guid, lopenr, payload)
    SELECT kommune_nr, e->>'event_key', (e->>'service_id')::uuid, e->>'event', (e->>'test_person')::boolean, e->>'status',
           (e->>'original_guid')::uuid, (e->>'guid')::uuid, (e->>'lopenr')::bigint, e->'payload'
    FROM jsonb_array_elements(items) e
    ON CONFLICT ON CONSTRAINT kpr_reported_event_pkey DO UPDATE
        SET status = excluded.status, notification_guid = excluded.notification_guid, lopenr = excluded.lopenr,
            sent_at = now(), test_person = excluded.test_person,
            -- an N (first, or after a C) is the new original; M and C keep it
            original_guid = CASE WHEN excluded.status = 'N' THEN excluded.notification_guid ELSE r.original_guid END,
            -- a C cancels the event as KPR held it
            payload = CASE WHEN excluded.status = 'C' THEN r.payload ELSE excluded.payload END;
    DELETE FROM deling.kpr_held_event h WHERE h.kommune_nr = xpr_ipl_message.kommune_nr;
    INSERT INTO deling.kpr_held_event (kommune_nr, event_key, service_id, reason)
    SELECT kommune_nr, h.key, split_part(h.key, ':', 1)::uuid, h.value FROM jsonb_each_text(held) h;
    IF jsonb_array_length(items) > 0 THEN
        UPDATE deling.kpr_report_state s
        SET last_lopenr = (items->-1->>'lopenr')::bigint, last_guid = (items->-1->>'guid')::uuid
        WHERE s.kommune_nr = xpr_ipl_message.kommune_nr;
    END IF;
    RETURN message;
END
$$;
COMMENT ON FUNCTION kpr.xpr_ipl_message(text) IS
    'The next XPR(ipl) 56.0.0 continuous message for a kommune: N for events KPR does not hold, M (referring to the live original N) for held events whose content changed, C for held events that are gone; numbered and chained on from the last message, validated against the XSD; an event that cannot be reported validly is held back and listed by kpr.data_quality while the rest goes; recorded as sent (kpr.messages); access-logged';

-- resend: a message of notifications already sent, exactly as sent, in
-- løpenummer order; recorded as a re-send (nothing else changes).
CREATE FUNCTION kpr.resend(kommune_nr text, request text, lopenrs bigint[]) RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    message text;
    sorted bigint[] := ARRAY(SELECT DISTINCT l FROM unnest(lopenrs) l ORDER BY 1);
BEGIN
    message := kpr.xpr_ipl_envelope(kommune_nr, (SELECT jsonb_agg(n.notification ORDER BY n.lopenr) FROM deling.kpr_notification n
                                                 WHERE n.kommune_nr = resend.kommune_nr AND n.lopenr = ANY (sorted)));
    PERFORM kpr.record_message(kommune_nr, 'resend', request, sorted, 0, message);
    RETURN message;
END
$$;
COMMENT ON FUNCTION kpr.resend(text, text, bigint[]) IS
    'Internal: a message of notifications already sent, exactly as sent, recorded as a re-send';

-- started: the kommune's reporting state, or 55000
CREATE FUNCTION kpr.started(kommune_nr text) RETURNS deling.kpr_report_state
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    st deling.kpr_report_state;
BEGIN
    SELECT * INTO st FROM deling.kpr_report_state s WHERE s.kommune_nr = started.kommune_nr;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'nothing has been reported for kommune %', kommune_nr USING ERRCODE = '55000';
    END IF;
    RETURN st;
END
$$;
COMMENT ON FUNCTION kpr.started(text) IS 'Internal: the kommune''s KPR reporting state; 55000 when reporting has not started';

CREATE FUNCTION kpr.xpr_ipl_message(kommune_nr text, since_lopenr bigint) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    st deling.kpr_report_state;
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'xpr_ipl_message_resend');
    st := kpr.started(kommune_nr);
    IF since_lopenr IS NULL OR since_lopenr < 1 OR since_lopenr > st.last_lopenr THEN
        RAISE EXCEPTION 'since_lopenr must be between 1 and %, the last løpenummer sent', st.last_lopenr
            USING ERRCODE = '22023';
    END IF;
    RETURN kpr.resend(kommune_nr, format('from løpenummer %s', since_lopenr),
                      ARRAY(SELECT n.lopenr FROM deling.kpr_notification n
                            WHERE n.kommune_nr = xpr_ipl_message.kommune_nr AND n.lopenr >= since_lopenr));
END
$$;
COMMENT ON FUNCTION kpr.xpr_ipl_message(text, bigint) IS
    'Re-send: the notifications already sent to KPR from a løpenummer on, exactly as sent, in one message (recorded as a re-send); access-logged';

CREATE FUNCTION kpr.xpr_ipl_message(kommune_nr text, from_date date, to_date date) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'xpr_ipl_message_resend');
    IF from_date IS NULL OR to_date IS NULL OR from_date > to_date THEN
        RAISE EXCEPTION 'the period must run from a date to the same or a later date (got % to %)',
            coalesce(to_char(from_date, 'YYYY-MM-DD'), 'NULL'), coalesce(to_char(to_date, 'YYYY-MM-DD'), 'NULL') USING ERRCODE = '22023';
    END IF;
    PERFORM kpr.started(kommune_nr);
    RETURN kpr.resend(kommune_nr, format('events dated %s to %s', to_char(from_date, 'YYYY-MM-DD'), to_char(to_date, 'YYYY-MM-DD')),
                      ARRAY(SELECT n.lopenr FROM deling.kpr_notification n
                            WHERE n.kommune_nr = xpr_ipl_message.kommune_nr
                              AND (n.notification->'children'->0->'attrs'->>'hendelseDato')::date BETWEEN from_date AND to_date));
END
$$;
COMMENT ON FUNCTION kpr.xpr_ipl_message(text, date, date) IS
    'Re-send by period: every notification already sent to KPR (N, M and C) for events dated from from_date to to_date, exactly as sent, in one message (recorded as a re-send); access-logged';

CREATE FUNCTION kpr.xpr_ipl_message_for_person(kommune_nr text, pid text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    person uuid;
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'xpr_ipl_message_resend_person', pid);
    PERFORM kpr.started(kommune_nr);
    SELECT c.citizen_id INTO person FROM deling.citizen c
    WHERE c.kommune_nr = xpr_ipl_message_for_person.kommune_nr AND c.pid = xpr_ipl_message_for_person.pid;
    IF person IS NULL THEN
        RAISE EXCEPTION 'no citizen with that identity number in kommune %', kommune_nr USING ERRCODE = '22023';
    END IF;
    RETURN kpr.resend(kommune_nr, format('person %s', person),
                      ARRAY(SELECT n.lopenr FROM deling.kpr_notification n
                            WHERE n.kommune_nr = xpr_ipl_message_for_person.kommune_nr AND n.citizen_id = person));
END
$$;
COMMENT ON FUNCTION kpr.xpr_ipl_message_for_person(text, text) IS
    'Re-send for one patient/user: every notification already sent to KPR about the person (brukerNr), exactly as sent, in one message (recorded as a re-send); access-logged with the person';

-- Administration --------------------------------------------------------------

CREATE FUNCTION kpr.messages(kommune_nr text, since timestamptz DEFAULT NULL)
RETURNS TABLE (message_id bigint, kind text, request text, built_at timestamptz, built_by text, notifications integer,
               first_lopenr bigint, last_lopenr bigint, held_back integer, state text, state_at timestamptz,
               state_by text, state_reason text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'messages');
    RETURN QUERY
    SELECT m.message_id, m.kind, m.request, m.built_at, m.built_by, cardinality(m.lopenrs), m.lopenrs[1],
           m.lopenrs[cardinality(m.lopenrs)], m.held_back, m.state, m.state_at, m.state_by, m.state_reason
    FROM deling.kpr_message m
    WHERE m.kommune_nr = messages.kommune_nr AND (since IS NULL OR m.built_at >= since)
    ORDER BY m.message_id;
END
$$;
COMMENT ON FUNCTION kpr.messages(text, timestamptz) IS
    'Overview of the messages built for a kommune (continuous and re-sends): when, by whom, how many notifications (løpenummer range), how many events held back, delivered or failed and why; access-logged';

CREATE FUNCTION kpr.message_notifications(message_id bigint)
RETURNS TABLE (lopenr bigint, notification_guid uuid, status text, event text, event_date date, ref_guid uuid,
               service_id uuid, source_system text, source_id text, first_sent_in bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m deling.kpr_message;
BEGIN
    SELECT * INTO m FROM deling.kpr_message x WHERE x.message_id = message_notifications.message_id;
    IF NOT FOUND THEN
        PERFORM kpr.kpr_reader('{}', 'message_notifications');      -- refuses non-KPR callers first
        RAISE EXCEPTION 'no KPR message %', message_id USING ERRCODE = '22023';
    END IF;
    PERFORM kpr.kpr_reader(ARRAY[m.kommune_nr::text], 'message_notifications');
    RETURN QUERY
    SELECT n.lopenr, (n.notification->'attrs'->>'notifikasjonGUID')::uuid, n.status, n.notification->'children'->0->>'name',
           (n.notification->'children'->0->'attrs'->>'hendelseDato')::date, (n.notification->'attrs'->>'notifikasjonRef')::uuid,
           n.service_id, s.source_system, s.source_id, n.message_id
    FROM deling.kpr_notification n
    LEFT JOIN deling.municipal_service s ON s.kommune_nr = n.kommune_nr AND s.service_id = n.service_id
    WHERE n.kommune_nr = m.kommune_nr AND n.lopenr = ANY (m.lopenrs)
    ORDER BY n.lopenr;
END
$$;
COMMENT ON FUNCTION kpr.message_notifications(bigint) IS
    'The notifications a message holds, each traced to its service and source record (source_system, source_id); access-logged';

CREATE FUNCTION kpr.mark_message(message_id bigint, state text, reason text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k text;
BEGIN
    SELECT m.kommune_nr INTO k FROM deling.kpr_message m WHERE m.message_id = mark_message.message_id;
    PERFORM kpr.kpr_reader(CASE WHEN k IS NULL THEN '{}' ELSE ARRAY[k] END, 'mark_message');
    IF k IS NULL THEN
        RAISE EXCEPTION 'no KPR message %', message_id USING ERRCODE = '22023';
    END IF;
    IF state IS NULL OR state NOT IN ('delivered', 'failed') THEN
        RAISE EXCEPTION 'a message is marked delivered or failed, not %', coalesce(state, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF state = 'failed' AND coalesce(btrim(reason), '') = '' THEN
        RAISE EXCEPTION 'a failed message needs the reason (KPR''s feedback or the transport error)' USING ERRCODE = '22023';
    END IF;
    UPDATE deling.kpr_message m
    SET state = mark_message.state, state_at = now(), state_by = deling.outer_role(), state_reason = nullif(btrim(reason), '')
    WHERE m.message_id = mark_message.message_id;
END
$$;
COMMENT ON FUNCTION kpr.mark_message(bigint, text, text) IS
    'Mark a message delivered to KPR, or failed with the reason (KPR''s feedback or the transport error); access-logged';

CREATE FUNCTION kpr.resend_message(message_id bigint) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m deling.kpr_message;
BEGIN
    SELECT * INTO m FROM deling.kpr_message x WHERE x.message_id = resend_message.message_id;
    PERFORM kpr.kpr_reader(CASE WHEN m.kommune_nr IS NULL THEN '{}' ELSE ARRAY[m.kommune_nr::text] END, 'resend_message');
    IF m.message_id IS NULL THEN
        RAISE EXCEPTION 'no KPR message %', message_id USING ERRCODE = '22023';
    END IF;
    IF m.state = 'delivered' THEN
        RAISE EXCEPTION 'KPR message % was delivered (%)', message_id, to_char(m.state_at, 'YYYY-MM-DD HH24:MI')
            USING ERRCODE = '55000',
                  HINT = 'Re-send notifications KPR asks for again with kpr.xpr_ipl_message(kommune_nr, since_lopenr), (kommune_nr, from, to) or kpr.xpr_ipl_message_for_person(kommune_nr, pid).';
    END IF;
    PERFORM kpr.record_message(m.kommune_nr, 'resend', format('message %s', m.message_id), m.lopenrs, 0, m.message);
    RETURN m.message;
END
$$;
COMMENT ON FUNCTION kpr.resend_message(bigint) IS
    'Re-send a message that failed (or whose fate is unknown): the very same document, byte for byte, recorded as a re-send; 55000 for a delivered message; access-logged';

-- Reads ---------------------------------------------------------------------------

-- service_events: the person-level events of a kommune's services (every
-- service type) in a period, as kpr.derived_events derives them.
CREATE FUNCTION kpr.service_events(kommune_nr text, from_date date, to_date date)
RETURNS TABLE (service_id uuid, bruker_nr text, pid text, type_id integer, test_person boolean, event text,
               event_date date, service_code text, provider_orgnr text, stop_id text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'service_events');
    RETURN QUERY
    SELECT d.service_id, c.citizen_id::text, m.pid::text, kpr.type_id(m.pid), deling.fnr_synthetic(m.pid), d.event,
           d.event_date, m.service_code, d.provider_orgnr, d.stop_id
    FROM kpr.derived_events(service_events.kommune_nr, false) d
    JOIN deling.municipal_service m ON m.kommune_nr = service_events.kommune_nr AND m.service_id = d.service_id
    JOIN deling.citizen c ON c.kommune_nr = m.kommune_nr AND c.pid = m.pid
    WHERE d.present AND d.event_date BETWEEN from_date AND to_date
    ORDER BY d.event_date, d.service_id, CASE d.kind WHEN 'S' THEN 0 WHEN 'F' THEN 1 WHEN 'P' THEN 2 WHEN 'T' THEN 3 ELSE 4 END,
             d.event_key;
END
$$;
COMMENT ON FUNCTION kpr.service_events(text, date, date) IS
    'Person-level KPR events (TjenesteStart, TjenesteSlutt, MidlertidigStoppFra/-Til, TjenesteutforerEndret) of a kommune''s services of every type in a period, each with the provider in effect on its day; brukerNr is the stable citizen id; access-logged';

-- data_quality: services KPR would reject or statistics would drop, and
-- every change the next message holds back, with the reason.
CREATE FUNCTION kpr.data_quality(kommune_nr text)
RETURNS TABLE (service_id uuid, source_id text, service_code text, problem text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'data_quality');
    RETURN QUERY
    WITH problems AS (
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
            (CASE WHEN kpr.type_id(m.pid) NOT IN (1, 2) THEN 'identity number gives no KPR person id (H- or FH-nummer)' END),
            (CASE WHEN m.status = 'on-hold'
                       AND NOT EXISTS (SELECT FROM unnest(m.stops) r
                                       WHERE upper_inf(r) OR (now() AT TIME ZONE 'Europe/Oslo')::date <@ r)
                  THEN 'on hold without an ongoing temporary stop: KPR gets no MidlertidigStoppFra (send the stop''s dates)' END)
        ) p(problem)
        WHERE m.kommune_nr = data_quality.kommune_nr AND m.status <> 'entered-in-error' AND p.problem IS NOT NULL
        UNION ALL
        SELECT p.service_id, m.source_id, m.service_code,
               format('%s %s (%s) held back from KPR: %s', p.event, coalesce(p.payload->'attrs'->>'hendelseDato', 'without a date'),
                      p.status, p.hold)
        FROM kpr.plan(data_quality.kommune_nr,
                      coalesce((SELECT jsonb_object_agg(h.event_key, h.reason) FROM deling.kpr_held_event h
                                WHERE h.kommune_nr = data_quality.kommune_nr), '{}')) p
        LEFT JOIN deling.municipal_service m ON m.kommune_nr = data_quality.kommune_nr AND m.service_id = p.service_id
        WHERE p.hold IS NOT NULL)
    SELECT x.service_id, x.source_id, x.service_code, x.problem FROM problems x ORDER BY x.source_id, x.problem;
END
$$;
COMMENT ON FUNCTION kpr.data_quality(text) IS
    'Services of a kommune that KPR would reject or statistics would drop, and every change to KPR the next message holds back, with the reason; access-logged';

-- service_statistics: persons, services and weekly hours per month, service
-- type, age band and sex, with the margins (age band "total", sex "total")
-- of each month and type.  Small cells are suppressed: a cell (margins
-- too) of fewer than 5 persons, then, until none is left, in every row and
-- column of a month's and type's table (with its total) that has exactly one
-- suppressed cell, the smallest other cell too, so no suppressed cell can be
-- recovered by subtraction from a total.  Suppressed cells show NULL.
CREATE FUNCTION kpr.service_statistics(kommune_nr text, from_month date, to_month date)
RETURNS TABLE (month date, service_code text, age_band text, sex text, persons bigint, services bigint,
               weekly_hours numeric, suppressed boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    min_persons CONSTANT integer := 5;
    c_mo date[];
    c_code text[];
    c_age text[];
    c_sex text[];
    c_persons bigint[];
    c_services bigint[];
    c_hours numeric[];
    c_supp boolean[];
    more bigint[];
BEGIN
    PERFORM kpr.kpr_reader(ARRAY[kommune_nr], 'service_statistics');
    IF from_month IS NULL OR to_month IS NULL OR from_month > to_month THEN
        RAISE EXCEPTION 'the months must run from a date to the same or a later date' USING ERRCODE = '22023';
    END IF;
    WITH base AS (
        SELECT mo::date AS mo, m.service_code AS code, m.pid, m.weekly_hours,
               CASE WHEN a.age IS NULL THEN 'unknown' WHEN a.age < 18 THEN '0-17' WHEN a.age < 50 THEN '18-49'
                    WHEN a.age < 67 THEN '50-66' WHEN a.age < 80 THEN '67-79' WHEN a.age < 90 THEN '80-89' ELSE '90+' END AS band,
               coalesce(c.sex, 'unknown') AS sx
        FROM generate_series(date_trunc('month', from_month), date_trunc('month', to_month), interval '1 month') mo
        JOIN deling.municipal_service m ON m.kommune_nr = service_statistics.kommune_nr
             AND m.status IN ('granted', 'active', 'on-hold', 'ended')
             AND m.period_start < mo + interval '1 month' AND (m.period_end IS NULL OR m.period_end >= mo)
        JOIN deling.citizen c ON c.kommune_nr = m.kommune_nr AND c.pid = m.pid
        CROSS JOIN LATERAL (SELECT extract(year FROM age(mo::date, coalesce(c.birth_date, deling.fnr_birth_date(m.pid))))::int AS age) a
        WHERE NOT deling.fnr_synthetic(m.pid) OR current_setting('deling.kpr_test_mode') = 'on'),
    g AS (
        SELECT b.mo, b.code, CASE WHEN GROUPING(b.band) = 1 THEN 'total' ELSE b.band END AS band,
               CASE WHEN GROUPING(b.sx) = 1 THEN 'total' ELSE b.sx END AS sx,
               count(DISTINCT b.pid) AS np, count(*) AS ns, sum(b.weekly_hours) AS wh
        FROM base b
        GROUP BY GROUPING SETS ((b.mo, b.code, b.band, b.sx), (b.mo, b.code, b.band), (b.mo, b.code, b.sx), (b.mo, b.code)))
    SELECT array_agg(g.mo ORDER BY g.mo, g.code, g.band, g.sx), array_agg(g.code ORDER BY g.mo, g.code, g.band, g.sx),
           array_agg(g.band ORDER BY g.mo, g.code, g.band, g.sx), array_agg(g.sx ORDER BY g.mo, g.code, g.band, g.sx),
           array_agg(g.np ORDER BY g.mo, g.code, g.band, g.sx), array_agg(g.ns ORDER BY g.mo, g.code, g.band, g.sx),
           array_agg(g.wh ORDER BY g.mo, g.code, g.band, g.sx), array_agg(g.np < min_persons ORDER BY g.mo, g.code, g.band, g.sx)
    INTO c_mo, c_code, c_age, c_sex, c_persons, c_services, c_hours, c_supp
    FROM g;
    -- secondary suppression: no row or column with exactly one suppressed cell
    LOOP
        WITH c AS (
            SELECT u.i, u.np, u.supp,
                   to_char(u.mo, 'YYYY-MM') || '|' || u.code AS tbl, u.band, u.sx
            FROM unnest(c_mo, c_code, c_age, c_sex, c_persons, c_supp) WITH ORDINALITY AS u(mo, code, band, sx, np, supp, i)),
        l AS (
            SELECT c.i, c.np, c.supp, x.line, count(*) FILTER (WHERE c.supp) OVER (PARTITION BY x.line) AS n_supp
            FROM c CROSS JOIN LATERAL (VALUES ('band|' || c.tbl || '|' || c.band), ('sex|' || c.tbl || '|' || c.sx)) x(line))
        SELECT array_agg(DISTINCT p.i) INTO more
        FROM (SELECT DISTINCT ON (l.line) l.i FROM l WHERE l.n_supp = 1 AND NOT l.supp ORDER BY l.line, l.np, l.i) p;
        EXIT WHEN more IS NULL;
        FOR j IN 1..cardinality(more) LOOP
            c_supp[more[j]::integer] := true;
        END LOOP;
    END LOOP;
    RETURN QUERY
    SELECT u.mo, u.code, u.band, u.sx, CASE WHEN u.supp THEN NULL ELSE u.np END, CASE WHEN u.supp THEN NULL ELSE u.ns END,
           CASE WHEN u.supp THEN NULL ELSE u.wh END, u.supp
    FROM unnest(c_mo, c_code, c_age, c_sex, c_persons, c_services, c_hours, c_supp) AS u(mo, code, band, sx, np, ns, wh, supp)
    ORDER BY u.mo, u.code, u.band = 'total', u.band, u.sx = 'total', u.sx;
END
$$;
COMMENT ON FUNCTION kpr.service_statistics(text, date, date) IS
    'Aggregates for the kommune''s management: persons, services and weekly hours per month, service type, age band and sex, with the totals per month and type; cells of fewer than 5 persons suppressed, and secondary suppression so no total reveals them (suppressed: NULL); access-logged';

-- Pseudonymised research export -------------------------------------------------

CREATE FUNCTION deling.hmac_sha256(data bytea, key bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'deling_hmac_sha256' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.hmac_sha256(bytea, bytea) IS 'HMAC-SHA256 (OpenSSL); keys of at least 32 bytes';

-- a research study: its purpose, the kommuner it covers, the one login role
-- that reads its export, and until when
CREATE TABLE deling.research_study (
    study_id       text PRIMARY KEY CHECK (study_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    purpose        text NOT NULL CHECK (btrim(purpose) <> ''),
    kommuner       text[] NOT NULL CHECK (cardinality(kommuner) > 0),
    researcher     text NOT NULL,
    expires_on     date,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     text NOT NULL,
    revoked_at     timestamptz,
    revoked_by     text,
    revoke_reason  text
);
COMMENT ON TABLE deling.research_study IS
    'Research studies that receive the pseudonymised export: purpose, kommuner covered, the researcher''s login role (a member of deling_forskning only), expiry and revocation';

-- the study's HMAC keys: the current one, and retired ones with their secret erased
CREATE TABLE deling.pseudonym_key (
    study_id     text NOT NULL REFERENCES deling.research_study,
    key_version  integer NOT NULL,
    secret       bytea CHECK (octet_length(secret) >= 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz,
    PRIMARY KEY (study_id, key_version),
    CHECK ((retired_at IS NULL) = (secret IS NOT NULL))
);
COMMENT ON TABLE deling.pseudonym_key IS
    'Secret HMAC keys of the research studies (one current per study; retired keys have their secret erased); no role reads the secret';
CREATE UNIQUE INDEX pseudonym_key_current ON deling.pseudonym_key (study_id) WHERE retired_at IS NULL;

-- research_kommuner: the kommuner the calling researcher's live studies
-- cover; the citizen and service policies let the export read them
CREATE FUNCTION deling.research_kommuner() RETURNS text[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(DISTINCT k), '{}')
    FROM deling.research_study s, unnest(s.kommuner) k
    WHERE s.researcher = deling.outer_role() AND s.revoked_at IS NULL
      AND (s.expires_on IS NULL OR s.expires_on >= (now() AT TIME ZONE 'Europe/Oslo')::date)
      AND deling.pure_researcher(s.researcher);
$$;
COMMENT ON FUNCTION deling.research_kommuner() IS
    'Internal: the kommuner the calling researcher''s live studies cover (empty for every other caller)';
CREATE POLICY citizen_research ON deling.citizen FOR SELECT TO deling_owner
    USING (kommune_nr = ANY ((SELECT deling.research_kommuner())::text[]));
CREATE POLICY municipal_service_research ON deling.municipal_service FOR SELECT TO deling_owner
    USING (kommune_nr = ANY ((SELECT deling.research_kommuner())::text[]));

CREATE FUNCTION kpr.require_admin() RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT pg_has_role(deling.outer_role(), 'deling_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'research studies are managed by deling_admin' USING ERRCODE = '42501';
    END IF;
END
$$;
COMMENT ON FUNCTION kpr.require_admin() IS 'Internal: 42501 unless the caller is a member of deling_admin';

CREATE FUNCTION kpr.add_research_study(study_id text, purpose text, kommuner text[], researcher regrole,
                                       expires_on date DEFAULT NULL) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    unknown text;
BEGIN
    PERFORM kpr.require_admin();
    IF study_id IS NULL OR study_id !~ '^[a-z0-9][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'study id "%" must be 1-63 characters of a-z 0-9 _ - (starting with a letter or digit)', study_id
            USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT FROM deling.research_study s WHERE s.study_id = add_research_study.study_id) THEN
        RAISE EXCEPTION 'research study "%" exists', study_id USING ERRCODE = '22023';
    END IF;
    IF coalesce(btrim(purpose), '') = '' THEN
        RAISE EXCEPTION 'a research study needs its purpose' USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(coalesce(k, 'NULL'), ', ') INTO unknown FROM unnest(kommuner) k
    WHERE k IS NULL OR NOT EXISTS (SELECT FROM deling.kommune x WHERE x.kommune_nr = k);
    IF unknown IS NOT NULL OR coalesce(cardinality(kommuner), 0) = 0 THEN
        RAISE EXCEPTION 'a research study covers one or more registered kommuner (not registered: %)', coalesce(unknown, 'none given')
            USING ERRCODE = '22023';
    END IF;
    IF researcher IS NULL OR NOT deling.pure_researcher(researcher::text)
       OR NOT (SELECT r.rolcanlogin FROM pg_catalog.pg_roles r WHERE r.oid = researcher) THEN
        RAISE EXCEPTION 'role % cannot be a study''s researcher: it must be a login role that is a member of deling_forskning and of no other deling role', researcher
            USING ERRCODE = '22023',
                  HINT = 'A superuser creates it: CREATE ROLE forsker_x LOGIN IN ROLE deling_forskning;';
    END IF;
    IF expires_on < (now() AT TIME ZONE 'Europe/Oslo')::date THEN
        RAISE EXCEPTION 'the study would have expired already (%)', to_char(expires_on, 'YYYY-MM-DD') USING ERRCODE = '22023';
    END IF;
    INSERT INTO deling.research_study (study_id, purpose, kommuner, researcher, expires_on, created_by)
    VALUES (study_id, btrim(purpose), ARRAY(SELECT DISTINCT k FROM unnest(kommuner) k ORDER BY 1), researcher::text, expires_on,
            deling.outer_role());
    INSERT INTO deling.pseudonym_key (study_id, key_version, secret) VALUES (study_id, 1, deling.random_key());
END
$$;
COMMENT ON FUNCTION kpr.add_research_study(text, text, text[], regrole, date) IS
    'DBA: register a research study: its purpose, the kommuner it covers, the researcher''s login role (a member of deling_forskning and of no other deling role), an optional expiry; draws its secret HMAC key';

CREATE FUNCTION kpr.rotate_study_key(study_id text) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v integer;
BEGIN
    PERFORM kpr.require_admin();
    IF NOT EXISTS (SELECT FROM deling.research_study s WHERE s.study_id = rotate_study_key.study_id AND s.revoked_at IS NULL) THEN
        RAISE EXCEPTION 'no live research study "%"', study_id USING ERRCODE = '22023';
    END IF;
    UPDATE deling.pseudonym_key k SET secret = NULL, retired_at = now()
    WHERE k.study_id = rotate_study_key.study_id AND k.retired_at IS NULL;
    SELECT coalesce(max(k.key_version), 0) + 1 INTO v FROM deling.pseudonym_key k WHERE k.study_id = rotate_study_key.study_id;
    INSERT INTO deling.pseudonym_key (study_id, key_version, secret) VALUES (study_id, v, deling.random_key());
    RETURN v;
END
$$;
COMMENT ON FUNCTION kpr.rotate_study_key(text) IS
    'DBA: give a study a new HMAC key (new pseudonyms from now on); the old secret is erased, so old and new exports cannot be linked; returns the key version';

CREATE FUNCTION kpr.revoke_research_study(study_id text, reason text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM kpr.require_admin();
    IF coalesce(btrim(reason), '') = '' THEN
        RAISE EXCEPTION 'revoking a study needs the reason' USING ERRCODE = '22023';
    END IF;
    UPDATE deling.research_study s SET revoked_at = now(), revoked_by = deling.outer_role(), revoke_reason = btrim(reason)
    WHERE s.study_id = revoke_research_study.study_id AND s.revoked_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no live research study "%"', study_id USING ERRCODE = '22023';
    END IF;
    UPDATE deling.pseudonym_key k SET secret = NULL, retired_at = now()
    WHERE k.study_id = revoke_research_study.study_id AND k.retired_at IS NULL;
END
$$;
COMMENT ON FUNCTION kpr.revoke_research_study(text, text) IS
    'DBA: revoke a study: its export is refused from now on and its key is erased';

-- pseudonymised_services: a study's services for its researcher.  The
-- identity number is replaced by HMAC-SHA256 under the study's secret key;
-- the other columns are generalised (age band at the start, sex, type,
-- month of start and end, a band of weekly hours) and each row is released
-- at the finest of month, quarter or year at which at least 5 released rows
-- of the study share kommune, age band, sex, type, period and hours band;
-- rows without 5 alike even by year are withheld.  Only the researcher's
-- role (deling_forskning and no other deling role, so it cannot also read
-- identified events or write citizens) runs it, and never in a transaction
-- that has written anything (so no one can add a chosen identity number,
-- read its pseudonym and roll back).
CREATE FUNCTION kpr.pseudonymised_services(study_id text)
RETURNS TABLE (pseudonym text, key_version integer, kommune_nr text, age_band text, sex text, service_code text,
               period_from text, period_to text, weekly_hours text, generalised_to text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k_anon CONSTANT integer := 5;
    s deling.research_study;
    sk deling.pseudonym_key;
    what CONSTANT text := 'pseudonymised_services ' || coalesce(study_id, '');
    refusal text;
    refusal_code text := '42501';
    total bigint;
    released bigint;
BEGIN
    SELECT * INTO s FROM deling.research_study x WHERE x.study_id = pseudonymised_services.study_id;
    IF NOT FOUND THEN
        PERFORM kpr.refuse('{}', what, NULL, '22023', format('no research study "%s"', study_id));
    END IF;
    SELECT * INTO sk FROM deling.pseudonym_key x WHERE x.study_id = s.study_id AND x.retired_at IS NULL;
    IF s.revoked_at IS NOT NULL THEN
        refusal := format('research study "%s" was revoked on %s', s.study_id, to_char(s.revoked_at, 'YYYY-MM-DD'));
    ELSIF s.expires_on < (now() AT TIME ZONE 'Europe/Oslo')::date THEN
        refusal := format('research study "%s" expired on %s', s.study_id, to_char(s.expires_on, 'YYYY-MM-DD'));
    ELSIF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        -- a transaction that wrote anything (a chosen citizen and service, say) could read its pseudonym and roll back
        refusal := 'the pseudonymised export runs only in a transaction that has written nothing';
        refusal_code := '55000';
    END IF;
    PERFORM kpr.kpr_reader(s.kommuner, what, NULL, s.researcher, refusal, refusal_code);

    SELECT count(*) INTO total
    FROM deling.municipal_service m
    WHERE m.kommune_nr = ANY (s.kommuner) AND m.status IN ('granted', 'active', 'on-hold', 'ended')
      AND (NOT deling.fnr_synthetic(m.pid) OR current_setting('deling.kpr_test_mode') = 'on');
    RETURN QUERY
    WITH base AS (
        SELECT encode(deling.hmac_sha256(convert_to(m.pid, 'UTF8'), sk.secret), 'hex') AS ps, m.kommune_nr::text AS k,
               CASE WHEN a.age IS NULL THEN 'unknown' WHEN a.age < 18 THEN '0-17' WHEN a.age < 50 THEN '18-49'
                    WHEN a.age < 67 THEN '50-66' WHEN a.age < 80 THEN '67-79' WHEN a.age < 90 THEN '80-89' ELSE '90+' END AS band,
               coalesce(c.sex, 'unknown') AS sx, m.service_code AS code,
               CASE WHEN m.weekly_hours IS NULL THEN 'unknown' WHEN m.weekly_hours < 5 THEN 'under 5'
                    WHEN m.weekly_hours < 10 THEN '5-10' WHEN m.weekly_hours < 20 THEN '10-20'
                    WHEN m.weekly_hours < 35 THEN '20-35' ELSE '35 or more' END AS hours,
               to_char(m.period_start, 'YYYY-MM') AS m_from, to_char(m.period_end, 'YYYY-MM') AS m_to,
               to_char(m.period_start, 'YYYY-"Q"Q') AS q_from, to_char(m.period_end, 'YYYY-"Q"Q') AS q_to,
               to_char(m.period_start, 'YYYY') AS y_from, to_char(m.period_end, 'YYYY') AS y_to
        FROM deling.municipal_service m
        JOIN deling.citizen c ON c.kommune_nr = m.kommune_nr AND c.pid = m.pid
        CROSS JOIN LATERAL (SELECT extract(year FROM age(m.period_start, coalesce(c.birth_date, deling.fnr_birth_date(m.pid))))::int AS age) a
        WHERE m.kommune_nr = ANY (s.kommuner) AND m.status IN ('granted', 'active', 'on-hold', 'ended')
          AND (NOT deling.fnr_synthetic(m.pid) OR current_setting('deling.kpr_test_mode') = 'on')),
    l1 AS (SELECT b.*, count(*) OVER (PARTITION BY b.k, b.band, b.sx, b.code, b.hours, b.m_from, b.m_to) AS n FROM base b),
    l2 AS (SELECT l1.*, count(*) OVER (PARTITION BY l1.k, l1.band, l1.sx, l1.code, l1.hours, l1.q_from, l1.q_to) AS n2
           FROM l1 WHERE l1.n < k_anon),
    l3 AS (SELECT l2.*, count(*) OVER (PARTITION BY l2.k, l2.band, l2.sx, l2.code, l2.hours, l2.y_from, l2.y_to) AS n3
           FROM l2 WHERE l2.n2 < k_anon),
    r AS (
        SELECT l1.ps, l1.k, l1.band, l1.sx, l1.code, l1.m_from AS pf, l1.m_to AS pt, l1.hours, 'month' AS lvl FROM l1 WHERE l1.n >= k_anon
        UNION ALL
        SELECT l2.ps, l2.k, l2.band, l2.sx, l2.code, l2.q_from, l2.q_to, l2.hours, 'quarter' FROM l2 WHERE l2.n2 >= k_anon
        UNION ALL
        SELECT l3.ps, l3.k, l3.band, l3.sx, l3.code, l3.y_from, l3.y_to, l3.hours, 'year' FROM l3 WHERE l3.n3 >= k_anon)
    SELECT r.ps, sk.key_version, r.k, r.band, r.sx, r.code, r.pf, r.pt, r.hours, r.lvl
    FROM r ORDER BY r.k, r.code, r.pf, r.ps;
    GET DIAGNOSTICS released = ROW_COUNT;
    IF released < total THEN
        RAISE NOTICE '% of % services withheld: fewer than % alike even by year', total - released, total, k_anon;
    END IF;
END
$$;
COMMENT ON FUNCTION kpr.pseudonymised_services(text) IS
    'A research study''s pseudonymised services, for the study''s researcher only: HMAC-SHA256 pseudonyms under the study''s secret key; age band, sex, type, period (month, else quarter, else year) and a band of weekly hours such that every released combination occurs at least 5 times (rarer rows withheld); refused in a transaction that has written anything; access-logged';

CREATE FUNCTION kpr.research_studies()
RETURNS TABLE (study_id text, purpose text, kommuner text[], researcher text, key_version integer, expires_on date,
               created_at timestamptz, revoked_at timestamptz, revoke_reason text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.study_id, s.purpose, s.kommuner, s.researcher,
           (SELECT k.key_version FROM deling.pseudonym_key k WHERE k.study_id = s.study_id AND k.retired_at IS NULL),
           s.expires_on, s.created_at, s.revoked_at, s.revoke_reason
    FROM deling.research_study s
    WHERE pg_has_role(deling.outer_role(), 'deling_admin', 'MEMBER') OR s.researcher = deling.outer_role()
    ORDER BY s.study_id;
$$;
COMMENT ON FUNCTION kpr.research_studies() IS
    'The research studies (the DBA sees all, a researcher its own): purpose, kommuner, researcher, current key version, expiry, revocation';
