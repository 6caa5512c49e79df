/*
 * access_log.h
 *	  What the access-log emitter, readiness check and status functions
 *	  (access_log.c) share with the drain worker (access_log_worker.c).
 */
#ifndef DELING_ACCESS_LOG_H
#define DELING_ACCESS_LOG_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/jsonb.h"

/* The prefix that marks deling's messages in the WAL. */
#define ACCESS_LOG_PREFIX "deling.access_log"

/* The largest entry the emitter writes and the drain appends (bytes). */
#define ACCESS_LOG_MAX_ENTRY 16384

/*
 * Shared memory: the worker's state as the readers, the status view and
 * deling.access_log_drain() need it.  The fields up to the counters are
 * protected by mutex.
 */
typedef struct AccessLogShared
{
	slock_t		mutex;
	Oid			database;		/* the log's database, once the worker ran */
	pid_t		worker_pid;		/* 0 while no worker runs */
	Latch	   *worker_latch;	/* set to wake the worker */
	bool		checked;		/* the worker holds a slot it has checked */
	bool		gap;			/* a gap waits for a DBA's acknowledgement */
	bool		batching;		/* the worker lets entries gather: readers need not wake it */
	bool		hurry;			/* someone waits in access_log_drain: no gathering */
	char		gap_cause[128];
	XLogRecPtr	counted_from;	/* entries from here on are counted */
	XLogRecPtr	read_upto;		/* every entry before it is in the log */
	TimestampTz caught_up_at;	/* when the worker last had nothing left */
	TimestampTz last_anchor_at; /* when it last wrote an anchor to the log */
	int64		last_anchor_seq;
	pg_atomic_uint64 emitted;	/* entries written since the server started */
	pg_atomic_uint64 consumed;	/* of those, appended or quarantined */
	pg_atomic_uint64 refused;	/* reads refused: the log was not ready */
	ConditionVariable progress; /* broadcast after each round */
} AccessLogShared;

extern AccessLogShared *access_log_shared;
extern char *access_log_database;
extern int	access_log_naptime;
extern int	access_log_anchor_interval;
extern int	access_log_batch_delay;

/*
 * Set by the output plugin when logical decoding replayed a transaction
 * with changes (and so looked up catalogs under a historic snapshot); the
 * worker then resets its caches after decoding.
 */
extern bool access_log_replayed;

extern void access_log_slot_name(char *name, Oid database);
extern char *access_log_raw_problem(const char *raw, int len, Jsonb **entry);
extern char *access_log_field_text(Jsonb *obj, const char *key);
extern XLogRecPtr access_log_emit_entry(Jsonb *entry);
extern void access_log_require_ready(void);

/* access_log_drain.c: the worker's append */
extern int	access_log_append_entries(int n, const Datum *lsns, const Datum *raws,
									  XLogRecPtr confirmed, XLogRecPtr upto);
extern void access_log_confirm_head(XLogRecPtr upto);
extern struct _SPI_plan *access_log_kept_plan(const char *sql, int nargs, Oid *types);
extern void deling_access_log_worker_main(Datum main_arg);

#endif							/* DELING_ACCESS_LOG_H */
