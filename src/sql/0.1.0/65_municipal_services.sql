-- ---------------------------------------------------------------------------
-- 65 municipal services ("Oversikt over kommunale tjenester"): code list
-- 9151, the services a citizen has per kommune, and their history.
-- ---------------------------------------------------------------------------

CREATE TABLE deling.service_type (
    code        text PRIMARY KEY CHECK (code ~ '^[1-9][0-9]{0,3}$'),
    name        text NOT NULL,
    status      text NOT NULL CHECK (status IN ('active', 'withdrawn', 'historical')),
    replaced_by text,
    note        text
);
COMMENT ON TABLE deling.service_type IS
    'Volven code list 9151 "Tjenestetype i helse- og omsorgstjenesten" (codes without leading zeros); updatable by deling_admin';
INSERT INTO deling.service_type (code, name, status, replaced_by, note) VALUES
    ('1', 'Praktisk bistand - daglige gjøremål', 'active', NULL, NULL),
    ('2', 'Praktisk bistand - opplæring - daglige gjøremål', 'active', NULL, NULL),
    ('3', 'Praktisk bistand - brukerstyrt personlig assistanse (BPA)', 'active', NULL, NULL),
    ('4', 'Dagaktivitetstilbud', 'active', NULL, NULL),
    ('5', 'Matombringing', 'active', NULL, NULL),
    ('6', 'Trygghetsalarm', 'withdrawn', '9346', 'moved to code system 9346 (welfare technology)'),
    ('7', 'Avlastning utenfor institusjon', 'active', NULL, NULL),
    ('8', 'Avlastning i institusjon', 'active', NULL, NULL),
    ('9', 'Støttekontakt', 'active', NULL, NULL),
    ('11', 'Omsorgsstønad', 'active', NULL, NULL),
    ('12', 'Omsorgsbolig', 'historical', '29', 'recoded to 29'),
    ('13', 'Annen bolig', 'historical', '29', 'recoded to 29'),
    ('14', 'Planlagte tiltak (tvang, psykisk utviklingshemning)', 'withdrawn', NULL, NULL),
    ('15', 'Helsetjenester i hjemmet', 'active', NULL, NULL),
    ('17', 'Dagopphold i institusjon', 'active', NULL, NULL),
    ('18', 'Tidsbegrenset opphold - utredning/behandling', 'active', NULL, NULL),
    ('19', 'Tidsbegrenset opphold - habilitering/rehabilitering', 'active', NULL, NULL),
    ('20', 'Tidsbegrenset opphold - annet', 'active', NULL, NULL),
    ('21', 'Langtidsopphold i institusjon', 'active', NULL, NULL),
    ('22', 'Nattopphold i institusjon', 'active', NULL, NULL),
    ('23', 'Skadeavvergende tiltak i nødssituasjoner', 'withdrawn', NULL, NULL),
    ('24', 'Helsehjelp med tvang', 'withdrawn', NULL, NULL),
    ('25', 'Kommunal øyeblikkelig hjelp - døgnopphold (KAD)', 'active', NULL, NULL),
    ('26', 'Lokaliseringsteknologi (GPS)', 'withdrawn', '9346', 'moved to code system 9346 (welfare technology)'),
    ('27', 'Elektronisk medisineringsstøtte', 'withdrawn', '9346', 'moved to code system 9346 (welfare technology)'),
    ('28', 'Digitalt tilsyn', 'withdrawn', '9346', 'moved to code system 9346 (welfare technology)'),
    ('29', 'Bolig som kommunen disponerer for helse- og omsorgsformål', 'active', NULL, NULL);

CREATE TABLE deling.municipal_service (
    kommune_nr     deling.kommunenr NOT NULL DEFAULT deling.current_kommune() REFERENCES deling.kommune,
    service_id     uuid NOT NULL DEFAULT gen_random_uuid(),
    pid            deling.pid NOT NULL,
    service_code   text NOT NULL REFERENCES deling.service_type,
    status         text NOT NULL CHECK (status IN ('applied', 'granted', 'active', 'on-hold', 'ended', 'cancelled',
                                                   'entered-in-error')),
    vedtak_date    date,
    period_start   date NOT NULL,
    period_end     date CHECK (period_end >= period_start),
    stops          daterange[] NOT NULL DEFAULT '{}',
    weekly_hours   numeric CHECK (weekly_hours BETWEEN 0 AND 168),
    stay_type      text CHECK (stay_type IN ('dagopphold', 'nattopphold', 'korttidsopphold', 'langtidsopphold')),
    service_level  text,
    description    text CHECK (length(description) <= 4000),
    unit_name      text,
    unit_orgnr     deling.orgnr,
    unit_phone     text CHECK (unit_phone ~ '^\+?[0-9][0-9 ]{6,18}$'),
    source_system  text NOT NULL CHECK (source_system ~ '^[A-Za-z0-9._:/-]{1,100}$'),
    source_id      text NOT NULL CHECK (length(source_id) BETWEEN 1 AND 200),
    version        integer NOT NULL DEFAULT 1,
    received_at    timestamptz NOT NULL DEFAULT now(),
    registered_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kommune_nr, service_id),
    UNIQUE (kommune_nr, source_system, source_id),
    FOREIGN KEY (kommune_nr, pid) REFERENCES deling.citizen (kommune_nr, pid),
    CHECK (status <> 'ended' OR period_end IS NOT NULL)
);
COMMENT ON TABLE deling.municipal_service IS
    'Municipal health and care services per kommune (code list 9151); service_id is the stable id KPR needs';
COMMENT ON COLUMN deling.municipal_service.registered_at IS
    'When this version was registered in the source system (ingest field registered_at; default: when deling received it); KPR''s hendelseRegTid';
COMMENT ON COLUMN deling.municipal_service.stops IS 'Temporary stops (opphold), each an inclusive date range; open-ended while ongoing';
CREATE INDEX municipal_service_citizen ON deling.municipal_service (kommune_nr, pid);

CREATE TABLE deling.municipal_service_history (
    kommune_nr    deling.kommunenr NOT NULL,
    service_id    uuid NOT NULL,
    version       integer NOT NULL,
    superseded_at timestamptz NOT NULL DEFAULT now(),
    snapshot      jsonb NOT NULL,
    PRIMARY KEY (kommune_nr, service_id, version),
    FOREIGN KEY (kommune_nr, service_id) REFERENCES deling.municipal_service (kommune_nr, service_id)
);
COMMENT ON TABLE deling.municipal_service_history IS 'Earlier versions of corrected municipal services, whole rows as JSON';

-- (DateStyle pinned: the snapshot's dates and date ranges are ISO whatever
-- the writing session's DateStyle, so readers parse them back reliably)
CREATE FUNCTION deling.municipal_service_keep_history() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET datestyle = 'ISO, YMD' AS $$
BEGIN
    INSERT INTO deling.municipal_service_history (kommune_nr, service_id, version, snapshot)
    VALUES (OLD.kommune_nr, OLD.service_id, OLD.version, to_jsonb(OLD));
    RETURN NULL;
END
$$;
CREATE TRIGGER municipal_service_keep_history AFTER UPDATE ON deling.municipal_service
    FOR EACH ROW EXECUTE FUNCTION deling.municipal_service_keep_history();

SELECT deling.share_table('deling.municipal_service', 'municipal-services', readable => true);
SELECT deling.share_table('deling.municipal_service_history', 'municipal-services', readable => true);

-- municipal_service_fhir_status: the EpisodeOfCare status of a service on a
-- day (OKT mapping): a started active or granted service is on-hold while a
-- temporary stop covers the day.
CREATE FUNCTION deling.municipal_service_fhir_status(s deling.municipal_service, day date) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN s.status = 'entered-in-error' THEN 'entered-in-error'
        WHEN s.status = 'cancelled' THEN 'cancelled'
        WHEN s.status = 'ended' OR s.period_end < day THEN 'finished'
        WHEN s.status = 'applied' THEN 'waitlist'
        WHEN s.period_start > day THEN 'planned'
        WHEN s.status = 'on-hold' OR day <@ ANY (s.stops) THEN 'onhold'
        ELSE 'active' END;
$$;
COMMENT ON FUNCTION deling.municipal_service_fhir_status(deling.municipal_service, date) IS
    'EpisodeOfCare status of a service on a day: planned, waitlist, active, onhold, finished, cancelled, entered-in-error';
