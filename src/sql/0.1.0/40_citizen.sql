-- ---------------------------------------------------------------------------
-- 40 citizen: the persons a kommune has shared data about.  Citizen data:
-- every key leads with kommune_nr, RLS enabled and forced.
-- ---------------------------------------------------------------------------

CREATE TABLE deling.citizen (
    kommune_nr   deling.kommunenr NOT NULL DEFAULT deling.current_kommune() REFERENCES deling.kommune,
    pid          deling.pid NOT NULL,
    citizen_id   uuid NOT NULL DEFAULT gen_random_uuid(),
    given_name   text,
    family_name  text,
    sex          text CHECK (sex IN ('male', 'female', 'other', 'unknown')),
    birth_date   date,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kommune_nr, pid),
    UNIQUE (kommune_nr, citizen_id)
);
COMMENT ON TABLE deling.citizen IS 'Citizens a kommune shares data about (per kommune; RLS forced)';

ALTER TABLE deling.citizen ENABLE ROW LEVEL SECURITY;
ALTER TABLE deling.citizen FORCE ROW LEVEL SECURITY;

CREATE POLICY citizen_integrasjon ON deling.citizen TO deling_integrasjon
    USING (kommune_nr = (SELECT deling.current_kommune()))
    WITH CHECK (kommune_nr = (SELECT deling.current_kommune()));
CREATE POLICY citizen_sharing ON deling.citizen FOR SELECT TO deling_owner
    USING (kommune_nr = ANY ((SELECT deling.reach_for(NULL))::text[]) OR (SELECT deling.kpr_reading()));
CREATE POLICY citizen_admin ON deling.citizen TO deling_admin
    USING (true) WITH CHECK (true);

-- patient_index: the FHIR Patient.id of each person a kommune registers,
-- a random UUID (RFC 4122 version 4), never derived from the identity
-- number (an md5 of an 11-digit number is reversed by trying them all).
-- A kommune registering a person already registered elsewhere adopts that
-- person's id, so one person has one Patient.id in every Bundle, for every
-- reader (deling.fhir_patient_id takes the earliest registration's).  Rows
-- per kommune, keys leading with kommune_nr like all citizen data: two
-- kommuner registering the same person at once never wait on each other
-- (a table keyed by pid alone would make one wait for the other's commit);
-- in that race each draws an id and readers see the earlier-started one,
-- which may replace the other once, when it commits.  RLS forced: the
-- sharing functions (deling_owner) read it across kommuner, the trigger on
-- deling.citizen writes it, the DBA's role sees all; integrations nothing.
CREATE TABLE deling.patient_index (
    kommune_nr    deling.kommunenr NOT NULL,
    pid           deling.pid NOT NULL,
    patient_id    uuid NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kommune_nr, pid),
    FOREIGN KEY (kommune_nr, pid) REFERENCES deling.citizen (kommune_nr, pid) ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE deling.patient_index IS
    'The random FHIR Patient.id of each person, per kommune that registered them; one id per person (never derived from the identity number)';
CREATE INDEX patient_index_pid ON deling.patient_index (pid, registered_at, kommune_nr);
ALTER TABLE deling.patient_index ENABLE ROW LEVEL SECURITY;
ALTER TABLE deling.patient_index FORCE ROW LEVEL SECURITY;
CREATE POLICY patient_index_sharing ON deling.patient_index FOR SELECT TO deling_owner USING (true);
CREATE POLICY patient_index_register ON deling.patient_index FOR INSERT TO deling_owner WITH CHECK (true);
CREATE POLICY patient_index_admin ON deling.patient_index TO deling_admin USING (true) WITH CHECK (true);

-- patient_register: give every person a kommune registers their Patient.id
-- (the one they already have elsewhere, or a new random one); once per
-- statement, whoever inserts the citizens.
CREATE FUNCTION deling.patient_register() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
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
CREATE TRIGGER citizen_patient_register AFTER INSERT ON deling.citizen
    REFERENCING NEW TABLE AS new_citizens FOR EACH STATEMENT EXECUTE FUNCTION deling.patient_register();

CREATE VIEW api.citizens WITH (security_invoker = true) AS
    SELECT kommune_nr, pid, citizen_id, given_name, family_name, sex, birth_date, updated_at
    FROM deling.citizen;
COMMENT ON VIEW api.citizens IS
    'Citizens of the calling integration''s kommune.
An EPJ integration registers and reads the persons its kommune shares data about; rows of other kommuner are invisible.';
COMMENT ON COLUMN api.citizens.kommune_nr IS 'Kommunenummer; defaults to the caller''s kommune';
COMMENT ON COLUMN api.citizens.pid IS 'Identity number (fødselsnummer, D-, H-, FH-nummer), validated';
COMMENT ON COLUMN api.citizens.citizen_id IS 'Stable non-sequential id of the citizen within the kommune';
