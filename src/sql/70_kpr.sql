-- ---------------------------------------------------------------------------
-- 70 kpr: reporting to KPR (Kommunalt pasient- og brukerregister).  So far:
-- validation of XPR(ipl) 56.0.0 messages against the official XSD.
-- ---------------------------------------------------------------------------

CREATE FUNCTION kpr.validate_xpr_ipl(message text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'deling_xpr_ipl_validate' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION kpr.validate_xpr_ipl(text) IS
    'The XSD errors of an XPR(ipl) 56.0.0 message (empty when valid); 2200M when it is not well-formed XML';
