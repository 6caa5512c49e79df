-- ---------------------------------------------------------------------------
-- 41 access log, 0.3.0: deling.log_access in C (src/access_log_entry.c).
-- The entry is the one 0.1.0's PL/pgSQL function wrote (same keys, values,
-- bounds; sql/20_access_log_entry.sql compares them in every kind of
-- context), so the log's format, its readers and chains written before are
-- unchanged.  That function called some twenty SQL functions per entry
-- (deling.clip with its pinned search_path, access_log_now), each parsed and
-- planned again in every transaction: about 0.5 ms of CPU per read.
-- The drain (src/access_log_drain.c) appends without SQL functions of its
-- own; deling.access_log_append and _chain stay for the rounds it hands over.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION deling.log_access(service text, pid text, kommuner text[], purpose text, reason text,
                                             granted boolean, why text, resources integer, flags jsonb DEFAULT '{}')
RETURNS void
    AS 'MODULE_PATHNAME', 'deling_log_access' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.log_access(text, text, text[], text, text, boolean, text, integer, jsonb) IS
    'Write one durable access-log entry for the current caller, every caller-supplied value bounded (sharing functions only; C)';

CREATE FUNCTION deling.access_log_entry(service text, pid text, kommuner text[], purpose text, reason text,
                                        granted boolean, why text, resources integer, flags jsonb DEFAULT '{}')
RETURNS jsonb
    AS 'MODULE_PATHNAME', 'deling_access_log_entry' LANGUAGE C VOLATILE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION deling.access_log_entry(text, text, text[], text, text, boolean, text, integer, jsonb) IS
    'The entry deling.log_access would write now for the current caller, without writing it (tests; deling_owner only)';
