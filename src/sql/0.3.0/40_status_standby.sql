-- ---------------------------------------------------------------------------
-- 40 deling.status on a hot standby: the WAL position it measures lag
-- against is the replayed one there (pg_current_wal_flush_lsn() raises
-- 55000 during recovery, which made the whole view fail).  The same columns;
-- on a standby there is no worker and no slot, so ready is false, lag_bytes
-- and wal_retained_bytes are NULL, and refused_reads counts the reads the
-- standby refused (docs/operations.md, "Hot standbys").
-- ---------------------------------------------------------------------------
CREATE OR REPLACE VIEW deling.status AS
SELECT w.worker_pid,
       w.worker_pid IS NOT NULL AS worker_running,
       w.ready,
       deling.access_log_slot() AS slot_name,
       s.slot_name IS NOT NULL AS slot_exists,
       coalesce(s.active_pid = w.worker_pid, false) AS slot_held_by_worker,
       s.wal_status AS slot_wal_status,
       coalesce(s.wal_status = 'lost', false) AS slot_invalidated,
       pg_catalog.pg_wal_lsn_diff(p.lsn, coalesce(w.read_upto, s.confirmed_flush_lsn)) AS lag_bytes,
       CASE WHEN w.undrained > 0 THEN extract(epoch FROM now() - coalesce(w.caught_up_at, h.appended_at)) ELSE 0 END AS lag_seconds,
       pg_catalog.pg_wal_lsn_diff(p.lsn, s.restart_lsn) AS wal_retained_bytes,
       w.undrained AS undrained_entries,
       (SELECT count(*) FROM deling.access_log_quarantine) AS quarantined_entries,
       h.last_seq AS log_entries,
       h.appended_at AS last_append,
       w.refused AS refused_reads,
       h.gap_detected_at IS NOT NULL AS gap,
       h.gap_cause,
       h.gap_from,
       h.gap_to,
       h.gap_detected_at,
       h.gap_acknowledged_at,
       w.last_anchor_at,
       w.last_anchor_seq,
       current_setting('wal_level') AS wal_level
FROM deling.access_log_worker_status() w
CROSS JOIN deling.access_log_head h
CROSS JOIN LATERAL (SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
                                ELSE pg_catalog.pg_current_wal_flush_lsn() END AS lsn) p
LEFT JOIN pg_catalog.pg_replication_slots s ON s.slot_name = deling.access_log_slot() AND s.database = current_database();
