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

CREATE VIEW api.citizens WITH (security_invoker = true) AS
    SELECT kommune_nr, pid, citizen_id, given_name, family_name, sex, birth_date, updated_at
    FROM deling.citizen;
COMMENT ON VIEW api.citizens IS
    'Citizens of the calling integration''s kommune.
An EPJ integration registers and reads the persons its kommune shares data about; rows of other kommuner are invisible.';
COMMENT ON COLUMN api.citizens.kommune_nr IS 'Kommunenummer; defaults to the caller''s kommune';
COMMENT ON COLUMN api.citizens.pid IS 'Identity number (fødselsnummer, D-, H-, FH-nummer), validated';
COMMENT ON COLUMN api.citizens.citizen_id IS 'Stable non-sequential id of the citizen within the kommune';
