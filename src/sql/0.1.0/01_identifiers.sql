-- ---------------------------------------------------------------------------
-- 01 identifiers: identity numbers, organisasjonsnummer, kommunenummer (C)
-- ---------------------------------------------------------------------------

CREATE FUNCTION deling.fnr_valid(text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'deling_fnr_valid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fnr_valid(text) IS
    'True for a valid fødselsnummer, D-, H-, FH-nummer or synthetic (Tenor, NAV) number: both check digits (old and 2032 K1 rule) and a real birth date';

CREATE FUNCTION deling.fnr_check(text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'deling_fnr_check' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fnr_check(text) IS
    'True for a valid identity number; otherwise raises 22023 naming the problem (length, check digit, date)';

CREATE FUNCTION deling.fnr_problem(text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_fnr_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fnr_problem(text) IS 'NULL for a valid identity number, else what is wrong with it';

CREATE FUNCTION deling.fnr_kind(text) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_fnr_kind' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fnr_kind(text) IS 'fnr, dnr, hnr or fhnr';

CREATE FUNCTION deling.fnr_synthetic(text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'deling_fnr_synthetic' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fnr_synthetic(text) IS 'True for a Skatteetaten Tenor synthetic test number (month + 80)';

CREATE FUNCTION deling.fnr_birth_date(text) RETURNS date
    AS 'MODULE_PATHNAME', 'deling_fnr_birth_date' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.fnr_birth_date(text) IS 'Birth date encoded in an identity number (NULL for FH-nummer)';

CREATE FUNCTION deling.synthetic_fnr(birth date, seq integer) RETURNS text
    AS 'MODULE_PATHNAME', 'deling_synthetic_fnr' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.synthetic_fnr(date, integer) IS
    'The seq-th (from 0) Tenor synthetic number for a birth date, valid under both K1 rules; deterministic';

CREATE FUNCTION deling.orgnr_valid(text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'deling_orgnr_valid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.orgnr_valid(text) IS 'True for a 9-digit organisasjonsnummer with a correct mod-11 check digit';

-- Checks used by the domains: raise a message that names the problem.
CREATE FUNCTION deling.orgnr_check(v text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF v !~ '^[0-9]{9}$' THEN
        RAISE EXCEPTION 'invalid organisasjonsnummer "%": must be exactly 9 digits', v USING ERRCODE = '22023';
    END IF;
    IF NOT deling.orgnr_valid(v) THEN
        RAISE EXCEPTION 'invalid organisasjonsnummer "%": check digit is wrong', v USING ERRCODE = '22023';
    END IF;
    RETURN true;
END
$$;

CREATE FUNCTION deling.kommunenr_check(v text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF v !~ '^[0-9]{4}$' THEN
        RAISE EXCEPTION 'invalid kommunenummer "%": must be exactly 4 digits', v USING ERRCODE = '22023';
    END IF;
    RETURN true;
END
$$;

CREATE DOMAIN deling.pid AS text CHECK (deling.fnr_check(VALUE));
COMMENT ON DOMAIN deling.pid IS 'Norwegian identity number (fødselsnummer, D-, H-, FH-nummer, synthetic), validated';
CREATE DOMAIN deling.orgnr AS text CHECK (deling.orgnr_check(VALUE));
COMMENT ON DOMAIN deling.orgnr IS 'Organisasjonsnummer (9 digits, mod-11 check digit)';
CREATE DOMAIN deling.kommunenr AS text CHECK (deling.kommunenr_check(VALUE));
COMMENT ON DOMAIN deling.kommunenr IS 'Kommunenummer (4 digits, code system 3402)';
CREATE DOMAIN deling.hpr AS text CHECK (VALUE ~ '^[0-9]{1,9}$');
COMMENT ON DOMAIN deling.hpr IS 'HPR number of a health professional';
