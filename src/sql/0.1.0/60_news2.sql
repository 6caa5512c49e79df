-- ---------------------------------------------------------------------------
-- 60 news2: NEWS2 scoring (C), measurements per kommune with score and risk
-- computed on write, amendment history, ingest (single, batch, FHIR Bundle)
-- and FHIR R4 output through the sharing gate.
-- ---------------------------------------------------------------------------

CREATE TYPE deling.news2_subscores AS (
    respiration_rate integer,
    spo2             integer,
    air_or_oxygen    integer,
    systolic_bp      integer,
    pulse            integer,
    consciousness    integer,
    temperature      integer,
    total            integer,
    risk             text
);
COMMENT ON TYPE deling.news2_subscores IS 'The seven NEWS2 sub-scores (Chart 1), the total and the risk (Chart 2)';

CREATE FUNCTION deling.news2_score(resp_rate integer, spo2 integer, spo2_scale integer, on_oxygen boolean,
                                   systolic_bp integer, pulse integer, consciousness text, temperature numeric)
RETURNS integer AS 'MODULE_PATHNAME', 'deling_news2_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.news2_score(integer, integer, integer, boolean, integer, integer, text, numeric) IS
    'NEWS2 total score 0-20 (RCP 2017 Chart 1); impossible input raises 22003/22023 naming the parameter';

CREATE FUNCTION deling.news2_risk(resp_rate integer, spo2 integer, spo2_scale integer, on_oxygen boolean,
                                  systolic_bp integer, pulse integer, consciousness text, temperature numeric)
RETURNS text AS 'MODULE_PATHNAME', 'deling_news2_risk' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.news2_risk(integer, integer, integer, boolean, integer, integer, text, numeric) IS
    'NEWS2 clinical risk (Chart 2): low, low-medium (a single 3 with total <= 4), medium (5-6), high (>= 7)';

CREATE FUNCTION deling.news2_subscores(resp_rate integer, spo2 integer, spo2_scale integer, on_oxygen boolean,
                                       systolic_bp integer, pulse integer, consciousness text, temperature numeric)
RETURNS deling.news2_subscores AS 'MODULE_PATHNAME', 'deling_news2_subscores' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.news2_subscores(integer, integer, integer, boolean, integer, integer, text, numeric) IS
    'The seven NEWS2 sub-scores with total and risk';

CREATE FUNCTION deling.news2_problem(resp_rate integer, spo2 integer, spo2_scale integer, on_oxygen boolean,
                                     systolic_bp integer, pulse integer, consciousness text, temperature numeric)
RETURNS text AS 'MODULE_PATHNAME', 'deling_news2_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.news2_problem(integer, integer, integer, boolean, integer, integer, text, numeric) IS
    'NULL when the input can be scored, else the error news2_score would raise';

CREATE FUNCTION deling.news2_acvpu(consciousness text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_news2_acvpu' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.news2_acvpu(text) IS 'A, C, V, P or U for a consciousness level given as letter or word; NULL if none';

CREATE FUNCTION deling.try_timestamptz(text) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'deling_try_timestamptz' LANGUAGE C STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.try_timestamptz(text) IS 'The timestamptz a text denotes, or NULL (never raises)';

-- Chart 3: clinical response
CREATE TABLE deling.news2_clinical_response (
    risk        text NOT NULL,
    min_total   integer NOT NULL,
    max_total   integer NOT NULL,
    monitoring  text NOT NULL,
    response    text NOT NULL,
    PRIMARY KEY (risk, min_total)
);
COMMENT ON TABLE deling.news2_clinical_response IS 'NEWS2 Chart 3: monitoring frequency and clinical response per score band';
INSERT INTO deling.news2_clinical_response VALUES
    ('low', 0, 0, 'minimum 12-hourly', 'continue routine NEWS monitoring'),
    ('low', 1, 4, 'minimum 4-6-hourly',
     'inform registered nurse, who assesses and decides if more frequent monitoring or escalation is needed'),
    ('low-medium', 3, 4, 'minimum 1-hourly',
     'registered nurse informs the medical team, who review and decide whether escalation is needed'),
    ('medium', 5, 6, 'minimum 1-hourly',
     'nurse informs the medical team immediately; urgent assessment by a clinician competent in acute illness; care in an environment with monitoring facilities'),
    ('high', 7, 20, 'continuous monitoring',
     'nurse informs the medical team immediately (at least specialist registrar level); emergency assessment by a team with critical-care competencies incl. airway management; consider transfer to level 2/3 care');

CREATE FUNCTION deling.news2_response(total integer, risk text, OUT monitoring text, OUT response text)
LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT r.monitoring, r.response INTO monitoring, response
    FROM deling.news2_clinical_response r
    WHERE r.risk = news2_response.risk AND total BETWEEN r.min_total AND r.max_total;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'NEWS2 total % does not go with risk "%"', total, risk
            USING ERRCODE = '22023', HINT = 'Risks: low (0-4), low-medium (3-4 with a single 3), medium (5-6), high (7-20).';
    END IF;
END
$$;
COMMENT ON FUNCTION deling.news2_response(integer, text) IS
    'NEWS2 Chart 3: monitoring frequency and clinical response for a total and its risk';

-- Measurements -----------------------------------------------------------------

CREATE TABLE deling.news2_measurement (
    kommune_nr     deling.kommunenr NOT NULL DEFAULT deling.current_kommune() REFERENCES deling.kommune,
    measurement_id uuid NOT NULL DEFAULT gen_random_uuid(),
    pid            deling.pid NOT NULL,
    measured_at    timestamptz NOT NULL,
    resp_rate      integer NOT NULL,
    spo2           integer NOT NULL,
    spo2_scale     integer NOT NULL DEFAULT 1,
    on_oxygen      boolean NOT NULL,
    oxygen_flow    numeric CHECK (oxygen_flow >= 0 AND oxygen_flow <= 60),
    systolic_bp    integer NOT NULL,
    pulse          integer NOT NULL,
    consciousness  text NOT NULL CHECK (consciousness IN ('A', 'C', 'V', 'P', 'U')),
    temperature    numeric NOT NULL,
    recorded_by    deling.hpr,
    unit_name      text,
    unit_orgnr     deling.orgnr,
    source_system  text NOT NULL CHECK (source_system ~ '^[A-Za-z0-9._:/-]{1,100}$'),
    source_id      text NOT NULL CHECK (length(source_id) BETWEEN 1 AND 200),
    status         text NOT NULL DEFAULT 'final' CHECK (status IN ('final', 'amended', 'entered-in-error')),
    version        integer NOT NULL DEFAULT 1,
    received_at    timestamptz NOT NULL DEFAULT now(),
    score          integer GENERATED ALWAYS AS (deling.news2_score(resp_rate, spo2, spo2_scale, on_oxygen,
                                                systolic_bp, pulse, consciousness, temperature)) STORED,
    risk           text GENERATED ALWAYS AS (deling.news2_risk(resp_rate, spo2, spo2_scale, on_oxygen,
                                                systolic_bp, pulse, consciousness, temperature)) STORED,
    PRIMARY KEY (kommune_nr, measurement_id),
    UNIQUE (kommune_nr, source_system, source_id),
    FOREIGN KEY (kommune_nr, pid) REFERENCES deling.citizen (kommune_nr, pid)
);
COMMENT ON TABLE deling.news2_measurement IS
    'NEWS2 measurements per kommune; score and risk computed on write by the C scoring functions';
CREATE INDEX news2_measurement_citizen ON deling.news2_measurement (kommune_nr, pid, measured_at DESC);

CREATE TABLE deling.news2_measurement_history (
    kommune_nr     deling.kommunenr NOT NULL,
    measurement_id uuid NOT NULL,
    version        integer NOT NULL,
    superseded_at  timestamptz NOT NULL DEFAULT now(),
    pid            deling.pid NOT NULL,
    measured_at    timestamptz NOT NULL,
    resp_rate      integer NOT NULL,
    spo2           integer NOT NULL,
    spo2_scale     integer NOT NULL,
    on_oxygen      boolean NOT NULL,
    oxygen_flow    numeric,
    systolic_bp    integer NOT NULL,
    pulse          integer NOT NULL,
    consciousness  text NOT NULL,
    temperature    numeric NOT NULL,
    recorded_by    text,
    unit_name      text,
    unit_orgnr     text,
    status         text NOT NULL,
    score          integer NOT NULL,
    risk           text NOT NULL,
    PRIMARY KEY (kommune_nr, measurement_id, version),
    FOREIGN KEY (kommune_nr, measurement_id) REFERENCES deling.news2_measurement (kommune_nr, measurement_id)
);
COMMENT ON TABLE deling.news2_measurement_history IS 'Earlier versions of amended NEWS2 measurements';

CREATE FUNCTION deling.news2_keep_history() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO deling.news2_measurement_history
        (kommune_nr, measurement_id, version, pid, measured_at, resp_rate, spo2, spo2_scale, on_oxygen, oxygen_flow,
         systolic_bp, pulse, consciousness, temperature, recorded_by, unit_name, unit_orgnr, status, score, risk)
    VALUES (OLD.kommune_nr, OLD.measurement_id, OLD.version, OLD.pid, OLD.measured_at, OLD.resp_rate, OLD.spo2,
            OLD.spo2_scale, OLD.on_oxygen, OLD.oxygen_flow, OLD.systolic_bp, OLD.pulse, OLD.consciousness,
            OLD.temperature, OLD.recorded_by, OLD.unit_name, OLD.unit_orgnr, OLD.status, OLD.score, OLD.risk);
    RETURN NULL;
END
$$;
CREATE TRIGGER news2_keep_history AFTER UPDATE ON deling.news2_measurement
    FOR EACH ROW EXECUTE FUNCTION deling.news2_keep_history();

SELECT deling.share_table('deling.news2_measurement', 'news2', readable => true);
SELECT deling.share_table('deling.news2_measurement_history', 'news2', readable => false);
