/*
 * access_log.c
 *	  The durable access log (innsynslogg): emitting entries as
 *	  non-transactional logical WAL messages flushed before the data is
 *	  returned, the checks an entry must pass, the readiness every read asks
 *	  for, the shared state the drain worker (access_log_worker.c) publishes,
 *	  the guard against dropping the log, the logical-decoding output plugin,
 *	  SHA-256 for the hash chain, Ed25519 for its anchors and HMAC-SHA256 for
 *	  pseudonyms.
 *
 * An entry written this way survives the caller's ROLLBACK, is allowed in a
 * READ ONLY transaction (no transaction id is needed), and is on disk before
 * the read returns, so it survives a crash right after.
 */
#include "postgres.h"

#include <ctype.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "replication/logical.h"
#include "replication/message.h"
#include "replication/origin.h"
#include "replication/output_plugin.h"
#include "replication/slot.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/pg_lsn.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "access_log.h"
#include "deling.h"

/* "citizen" is indexed: an entry's citizen is at most this many characters */
#define ACCESS_LOG_MAX_CITIZEN 100

AccessLogShared *access_log_shared = NULL;
char	   *access_log_database = NULL;
int			access_log_naptime = 1000;
int			access_log_anchor_interval = 3600;
int			access_log_batch_delay = 100;
static int	access_log_restart_delay = 1;
static bool drop_extension_deletes_access_log = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static object_access_hook_type prev_object_access_hook = NULL;

void		_PG_output_plugin_init(OutputPluginCallbacks *cb);
static void access_log_shmem_request(void);
static void access_log_shmem_startup(void);
static void access_log_object_access(ObjectAccessType access, Oid classId, Oid objectId,
									 int subId, void *arg);

/*
 * access_log_define_settings: the access log's settings (see
 * docs/access-log.md); tests shorten the times.
 */
static void
access_log_define_settings(void)
{
	DefineCustomStringVariable("deling.access_log_database",
							   "Database whose access log the background worker drains.",
							   NULL, &access_log_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("deling.access_log_naptime",
							"Longest wait of the access-log worker between two looks at the WAL.",
							"Readers wake it as soon as they have written an entry; this is the fallback.",
							&access_log_naptime, 1000, 10, 60000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("deling.access_log_restart_delay",
							"Time before the postmaster restarts a failed access-log worker.",
							"Sharing reads are refused while no worker holds the access-log slot.",
							&access_log_restart_delay, 1, 1, 3600,
							PGC_POSTMASTER, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("deling.access_log_anchor_interval",
							"Least time between two anchors the access-log worker writes to the server log.",
							"An anchor is written only when entries were appended since the last one.",
							&access_log_anchor_interval, 3600, 1, 7 * 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("deling.access_log_batch_delay",
							"Time the access-log worker lets entries gather after a round that appended some.",
							"Under load each round then appends many entries at the cost of one; 0 appends at once. "
							"Entries are on disk before their reads return either way; deling.access_log_drain does not wait for it.",
							&access_log_batch_delay, 100, 0, 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("deling.drop_extension_deletes_access_log",
							 "Allow DROP EXTENSION deling while the access log holds entries.",
							 "The entries are deleted with the extension; keep a verified export first.",
							 &drop_extension_deletes_access_log, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);
}

/*
 * deling_access_log_init: settings, shared memory, the drop guard and the
 * drain worker; called at preload.
 */
void
deling_access_log_init(void)
{
	BackgroundWorker worker = {0};

	access_log_define_settings();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = access_log_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = access_log_shmem_startup;
	prev_object_access_hook = object_access_hook;
	object_access_hook = access_log_object_access;

	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = access_log_restart_delay;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "deling");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "deling_access_log_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "deling access log");
	snprintf(worker.bgw_type, BGW_MAXLEN, "deling access log");
	RegisterBackgroundWorker(&worker);
}

/* access_log_shmem_request: room for AccessLogShared */
static void
access_log_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(AccessLogShared)));
}

/* access_log_shmem_startup: attach to (or create) AccessLogShared */
static void
access_log_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	access_log_shared = ShmemInitStruct("deling access log", sizeof(AccessLogShared), &found);
	if (!found)
	{
		memset(access_log_shared, 0, sizeof(AccessLogShared));
		SpinLockInit(&access_log_shared->mutex);
		pg_atomic_init_u64(&access_log_shared->emitted, 0);
		pg_atomic_init_u64(&access_log_shared->consumed, 0);
		pg_atomic_init_u64(&access_log_shared->refused, 0);
		ConditionVariableInit(&access_log_shared->progress);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * access_log_wake: set the worker's latch, so it looks at the WAL now
 * instead of after its naptime; with hurry also while it lets entries
 * gather (a reader's entry need not end that: the worker looks at the WAL
 * when it is over).
 */
static void
access_log_wake(bool hurry)
{
	Latch	   *latch;

	SpinLockAcquire(&access_log_shared->mutex);
	latch = access_log_shared->worker_latch;
	if (hurry)
		access_log_shared->hurry = true;
	else if (access_log_shared->batching)
		latch = NULL;
	SpinLockRelease(&access_log_shared->mutex);
	if (latch != NULL)
		SetLatch(latch);
}

/*
 * utc_time_ok: is s (len bytes) a time as log_access writes it,
 * YYYY-MM-DDTHH:MM:SS.ffffffZ, on the calendar?
 */
static bool
utc_time_ok(const char *s, int len)
{
	static const char form[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	int			year,
				month,
				day;

	if (len != (int) strlen(form))
		return false;
	for (int i = 0; i < len; i++)
		if (form[i] == 'd' ? !isdigit((unsigned char) s[i]) : s[i] != form[i])
			return false;
	year = atoi(s);
	month = atoi(s + 5);
	day = atoi(s + 8);
	return year >= 1 && month >= 1 && month <= 12 && day >= 1 &&
		day <= day_tab[isleap(year)][month - 1] &&
		atoi(s + 11) < 24 && atoi(s + 14) < 60 && atoi(s + 17) < 60;
}

/*
 * access_log_entry_problem: NULL when the drain can append the entry, else
 * what is wrong with it.  The log needs a JSON object whose "time" is a
 * UTC time, whose "citizen" (if any) fits the citizen's index and whose
 * "kommuner" is an array of kommunenummer, and it is read by "service" and
 * "decision".  The emitter refuses such an entry before it is written; the
 * drain quarantines one that a superuser wrote by hand.
 */
static const char *
access_log_entry_problem(Jsonb *entry)
{
	JsonbValue	v;
	JsonbIterator *it;
	JsonbIteratorToken tok;

	if (!JB_ROOT_IS_OBJECT(entry))
		return "it is not a JSON object";
	if (!getKeyJsonValueFromContainer(&entry->root, "time", 4, &v) || v.type != jbvString ||
		!utc_time_ok(v.val.string.val, v.val.string.len))
		return "\"time\" must be a UTC time written as 2026-11-23T15:04:05.000000Z";
	if (!getKeyJsonValueFromContainer(&entry->root, "service", 7, &v) || v.type != jbvString ||
		v.val.string.len == 0)
		return "\"service\" must be the name of a sharing service";
	if (!getKeyJsonValueFromContainer(&entry->root, "decision", 8, &v) || v.type != jbvString ||
		!((v.val.string.len == 7 && memcmp(v.val.string.val, "granted", 7) == 0) ||
		  (v.val.string.len == 6 && memcmp(v.val.string.val, "denied", 6) == 0)))
		return "\"decision\" must be \"granted\" or \"denied\"";
	if (getKeyJsonValueFromContainer(&entry->root, "citizen", 7, &v) &&
		(v.type != jbvString || pg_mbstrlen_with_len(v.val.string.val, v.val.string.len) > ACCESS_LOG_MAX_CITIZEN))
		return "\"citizen\" must be an identity number (a string of at most 100 characters)";
	if (!getKeyJsonValueFromContainer(&entry->root, "kommuner", 8, &v) || v.type != jbvBinary ||
		!JsonContainerIsArray(v.val.binary.data))
		return "\"kommuner\" must be an array of kommunenummer";
	it = JsonbIteratorInit(v.val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (v.type != jbvString || v.val.string.len != 4 ||
			!isdigit((unsigned char) v.val.string.val[0]) || !isdigit((unsigned char) v.val.string.val[1]) ||
			!isdigit((unsigned char) v.val.string.val[2]) || !isdigit((unsigned char) v.val.string.val[3]))
			return "\"kommuner\" must be an array of kommunenummer (4 digits each)";
	}
	return NULL;
}

/*
 * access_log_count_emitted: count an entry written at start for the status
 * view (undrained = emitted - consumed), when it belongs to the worker's
 * database and falls in the range the worker counts too.
 */
static void
access_log_count_emitted(XLogRecPtr start)
{
	bool		counted;

	SpinLockAcquire(&access_log_shared->mutex);
	counted = access_log_shared->database == MyDatabaseId &&
		!XLogRecPtrIsInvalid(access_log_shared->counted_from) &&
		start >= access_log_shared->counted_from;
	SpinLockRelease(&access_log_shared->mutex);
	if (counted)
		pg_atomic_fetch_add_u64(&access_log_shared->emitted, 1);
}

/*
 * access_log_emit_entry: check an entry (access_log_entry_problem) and its
 * size, write it as a non-transactional logical message, flush the WAL up
 * to it and wake the worker; returns its LSN.
 */
XLogRecPtr
access_log_emit_entry(Jsonb *entry)
{
	const char *problem = access_log_entry_problem(entry);
	char	   *text;
	size_t		len;
	XLogRecPtr	lsn;

	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("access-log entry refused: %s", problem),
				 errdetail("The drain could not append it to the log.")));
	text = JsonbToCString(NULL, &entry->root, VARSIZE(entry));
	len = strlen(text);
	if (len > ACCESS_LOG_MAX_ENTRY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("access-log entry refused: it is %zu bytes, more than %d", len, ACCESS_LOG_MAX_ENTRY),
				 errhint("deling.log_access bounds every value a caller supplies; an entry this large is a bug.")));

	lsn = LogLogicalMessage(ACCESS_LOG_PREFIX, text, len, false);
	XLogFlush(lsn);
	access_log_count_emitted(ProcLastRecPtr);
	access_log_wake(false);
	return lsn;
}

PG_FUNCTION_INFO_V1(deling_access_log_emit);

/*
 * access_log_emit(entry jsonb): write an entry durably
 * (access_log_emit_entry); returns its LSN.  Only deling_owner may execute
 * it (the sharing functions).
 */
Datum
deling_access_log_emit(PG_FUNCTION_ARGS)
{
	PG_RETURN_LSN(access_log_emit_entry(PG_GETARG_JSONB_P(0)));
}

/*
 * access_log_raw_problem: NULL when the drain can append a message it
 * decoded (len bytes at raw), else why not: too large, not UTF-8, not JSON,
 * or an entry access_log_entry_problem refuses.  When it can, *entry is the
 * message as jsonb (if entry is not NULL: then a message that is not JSON
 * is an error of jsonb_in, which the drain's C append takes as a problem).
 */
char *
access_log_raw_problem(const char *raw, int len, Jsonb **entry)
{
	char	   *json;
	JsonLexContext *lex;
	JsonParseErrorType err;
	const char *problem;
	Jsonb	   *jb;

	if (len > ACCESS_LOG_MAX_ENTRY)
		return psprintf("it is %d bytes, more than %d", len, ACCESS_LOG_MAX_ENTRY);
	if (!pg_verify_mbstr(PG_UTF8, raw, len, true))
		return pstrdup("it is not valid UTF-8 text");
	json = pnstrdup(raw, len);
	/* the drain's C append takes an error of jsonb_in as a problem too */
	if (entry == NULL)
	{
		lex = makeJsonLexContextCstringLen(json, len, PG_UTF8, true);
		err = pg_parse_json(lex, &nullSemAction);
		if (err != JSON_SUCCESS)
			return psprintf("it is not JSON: %s", json_errdetail(err, lex));
	}
	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
	problem = access_log_entry_problem(jb);
	if (problem != NULL)
		return pstrdup(problem);
	if (entry != NULL)
		*entry = jb;
	return NULL;
}

PG_FUNCTION_INFO_V1(deling_access_log_problem);

/*
 * access_log_problem(raw bytea): NULL when the drain can append a message
 * it decoded, else why not (access_log_raw_problem).  The drain quarantines
 * such a message instead of stopping on it.
 */
Datum
deling_access_log_problem(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	char	   *problem = access_log_raw_problem(VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw), NULL);

	if (problem != NULL)
		PG_RETURN_TEXT_P(cstring_to_text(problem));
	PG_RETURN_NULL();
}

/* access_log_slot_name: the slot of a database (slot names are cluster-wide) */
void
access_log_slot_name(char *name, Oid database)
{
	snprintf(name, NAMEDATALEN, "deling_access_log_%u", database);
}

PG_FUNCTION_INFO_V1(deling_access_log_slot);

/*
 * access_log_slot(): the name of this database's access-log slot.
 */
Datum
deling_access_log_slot(PG_FUNCTION_ARGS)
{
	Name		result = (Name) palloc0(NAMEDATALEN);

	access_log_slot_name(NameStr(*result), MyDatabaseId);
	PG_RETURN_NAME(result);
}

/* Why the log cannot take entries now (access_log_readiness) */
typedef enum AccessLogReadiness
{
	ACCESS_LOG_READY,
	ACCESS_LOG_NOT_RUNNING,
	ACCESS_LOG_GAP
} AccessLogReadiness;

/*
 * access_log_readiness: can this database's log take entries?  Only while
 * the worker runs, has found no gap a DBA has not acknowledged, and holds
 * the slot (plugin deling, not invalidated): then nobody else can consume
 * or advance it, so every entry written reaches the log.  Every read asks,
 * so this reads shared memory and the slot array, never a catalog.
 */
static AccessLogReadiness
access_log_readiness(char *cause)
{
	char		name[NAMEDATALEN];
	ReplicationSlot *slot;
	bool		checked;
	bool		gap;
	pid_t		worker;
	bool		held = false;

	SpinLockAcquire(&access_log_shared->mutex);
	checked = access_log_shared->checked && access_log_shared->database == MyDatabaseId;
	gap = access_log_shared->gap;
	worker = access_log_shared->worker_pid;
	if (cause != NULL)
		strlcpy(cause, access_log_shared->gap_cause, sizeof(access_log_shared->gap_cause));
	SpinLockRelease(&access_log_shared->mutex);
	if (checked && gap)
		return ACCESS_LOG_GAP;
	if (!checked || worker == 0)
		return ACCESS_LOG_NOT_RUNNING;

	access_log_slot_name(name, MyDatabaseId);
	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	slot = SearchNamedReplicationSlot(name, false);
	if (slot != NULL)
	{
		SpinLockAcquire(&slot->mutex);
		held = slot->active_pid == worker && slot->data.database == MyDatabaseId &&
			!XLogRecPtrIsInvalid(slot->data.restart_lsn) &&
			strcmp(NameStr(slot->data.plugin), "deling") == 0;
		SpinLockRelease(&slot->mutex);
	}
	LWLockRelease(ReplicationSlotControlLock);
	return held ? ACCESS_LOG_READY : ACCESS_LOG_NOT_RUNNING;
}

PG_FUNCTION_INFO_V1(deling_access_log_ready);

/*
 * access_log_ready(): can the log take entries now (access_log_readiness)?
 */
Datum
deling_access_log_ready(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(access_log_readiness(NULL) == ACCESS_LOG_READY);
}

/*
 * access_log_require_ready: refuse (55000, counted for deling.status)
 * unless the log can take entries: no log, no read.  The hint says what
 * the DBA does.
 */
void
access_log_require_ready(void)
{
	char		cause[sizeof(access_log_shared->gap_cause)];
	AccessLogReadiness readiness = access_log_readiness(cause);

	if (readiness == ACCESS_LOG_READY)
		return;
	pg_atomic_fetch_add_u64(&access_log_shared->refused, 1);
	/* a hot standby can neither write entries nor hold a logical slot (PostgreSQL 15) */
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this server is a hot standby, which cannot write the access log, so no sharing-service read is allowed"),
				 errhint("Sharing-service reads go to the primary.")));
	if (readiness == ACCESS_LOG_GAP)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the access log has a gap no DBA has acknowledged, so no sharing-service read is allowed"),
				 errdetail("Entries may have been lost: %s.", cause),
				 errhint("A DBA reviews deling.status and records the gap in the log with SELECT deling.access_log_acknowledge_gap('<reason>').")));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the access log is not running, so no sharing-service read is allowed"),
			 errhint("The DBA checks deling.status and the server log: shared_preload_libraries, wal_level = logical, deling.access_log_database.")));
}

PG_FUNCTION_INFO_V1(deling_access_log_check);

/*
 * access_log_check(): refuse unless the log can take entries
 * (access_log_require_ready); every sharing read calls it first.
 */
Datum
deling_access_log_check(PG_FUNCTION_ARGS)
{
	access_log_require_ready();
	PG_RETURN_VOID();
}

/* interval_ms: an interval as milliseconds, months as 30 days */
static int64
interval_ms(const Interval *span)
{
	return ((int64) span->month * DAYS_PER_MONTH + span->day) * (USECS_PER_DAY / 1000) + span->time / 1000;
}

PG_FUNCTION_INFO_V1(deling_access_log_drain);

/*
 * access_log_drain(wait interval): wake the worker and wait until every
 * entry written before the call is in the log; returns how many entries
 * the worker appended meanwhile.  55000 when it has not within wait.
 */
Datum
deling_access_log_drain(PG_FUNCTION_ARGS)
{
	int64		wait_ms = interval_ms(PG_GETARG_INTERVAL_P(0));
	XLogRecPtr	target = GetFlushRecPtr(NULL);
	uint64		before = pg_atomic_read_u64(&access_log_shared->consumed);
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), Max(wait_ms, 0));

	ConditionVariablePrepareToSleep(&access_log_shared->progress);
	for (;;)
	{
		XLogRecPtr	done;
		bool		here;
		long		left;

		SpinLockAcquire(&access_log_shared->mutex);
		done = access_log_shared->read_upto;
		here = access_log_shared->database == MyDatabaseId && access_log_shared->worker_pid != 0;
		SpinLockRelease(&access_log_shared->mutex);
		if (here && done >= target)
			break;
		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (left <= 0)
		{
			ConditionVariableCancelSleep();
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the access-log worker has not appended every entry within %lld ms", (long long) wait_ms),
					 errhint("deling.status shows whether it runs, a gap, and its lag; the server log shows its errors.")));
		}
		access_log_wake(true);
		(void) ConditionVariableTimedSleep(&access_log_shared->progress, Min(left, 1000), PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	PG_RETURN_INT64((int64) (pg_atomic_read_u64(&access_log_shared->consumed) - before));
}

PG_FUNCTION_INFO_V1(deling_access_log_worker_status);

/*
 * access_log_worker_status(): the worker's shared state for deling.status:
 * its pid, readiness, what it has read and appended, the counters since the
 * server started, and the last anchor it wrote to the server log.
 */
Datum
deling_access_log_worker_status(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[11];
	bool		nulls[11] = {0};
	AccessLogShared s;
	uint64		emitted;
	uint64		consumed;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	SpinLockAcquire(&access_log_shared->mutex);
	memcpy(&s, access_log_shared, offsetof(AccessLogShared, emitted));
	SpinLockRelease(&access_log_shared->mutex);
	consumed = pg_atomic_read_u64(&access_log_shared->consumed);
	emitted = pg_atomic_read_u64(&access_log_shared->emitted);
	if (s.database != MyDatabaseId)
		s.worker_pid = 0;

	values[0] = Int32GetDatum(s.worker_pid);
	nulls[0] = s.worker_pid == 0;
	values[1] = BoolGetDatum(access_log_readiness(NULL) == ACCESS_LOG_READY);
	values[2] = LSNGetDatum(s.read_upto);
	nulls[2] = s.worker_pid == 0;
	values[3] = TimestampTzGetDatum(s.caught_up_at);
	nulls[3] = s.caught_up_at == 0;
	values[4] = Int64GetDatum((int64) emitted);
	values[5] = Int64GetDatum((int64) consumed);
	values[6] = Int64GetDatum(emitted > consumed ? (int64) (emitted - consumed) : 0);
	values[7] = Int64GetDatum((int64) pg_atomic_read_u64(&access_log_shared->refused));
	values[8] = TimestampTzGetDatum(s.last_anchor_at);
	nulls[8] = s.last_anchor_at == 0;
	values[9] = Int64GetDatum(s.last_anchor_seq);
	nulls[9] = s.last_anchor_at == 0;
	values[10] = CStringGetTextDatum(psprintf(UINT64_FORMAT, GetSystemIdentifier()));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/*
 * access_log_table_has_rows: does the relation hold a row any snapshot
 * taken now can see?  Read with the table AM, past row-level security.
 */
static bool
access_log_table_has_rows(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	TableScanDesc scan = table_beginscan(rel, snapshot, 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bool		found = table_scan_getnextslot(scan, ForwardScanDirection, slot);

	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * access_log_object_access: refuse to drop deling.access_log while it
 * holds entries, whichever command drops it (DROP EXTENSION, DROP SCHEMA
 * ... CASCADE, DROP OWNED), unless a superuser set
 * deling.drop_extension_deletes_access_log; when it goes, tell the worker,
 * which then drops the slot.  Chained to the previous hook.
 */
static void
access_log_object_access(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	Oid			deling;

	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access != OAT_DROP || classId != RelationRelationId || subId != 0)
		return;
	deling = get_namespace_oid("deling", true);
	if (!OidIsValid(deling) || get_rel_namespace(objectId) != deling ||
		strcmp(get_rel_name(objectId), "access_log") != 0)
		return;
	if (!drop_extension_deletes_access_log && access_log_table_has_rows(objectId))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("deling.access_log holds entries, so it is not dropped"),
				 errdetail("Dropping the extension would delete the access log the law requires to be kept."),
				 errhint("Keep a verified export first; then a superuser runs SET deling.drop_extension_deletes_access_log = on in the same session.")));
	SpinLockAcquire(&access_log_shared->mutex);
	if (access_log_shared->database == MyDatabaseId)
		access_log_shared->checked = false;
	SpinLockRelease(&access_log_shared->mutex);
	access_log_wake(true);
}

PG_FUNCTION_INFO_V1(deling_sha256);

/*
 * sha256(bytea): the SHA-256 digest (OpenSSL), for the log's hash chain.
 */
Datum
deling_sha256(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	bytea	   *out = palloc(VARHDRSZ + 32);
	unsigned int len = 0;

	if (EVP_Digest(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), (unsigned char *) VARDATA(out),
				   &len, EVP_sha256(), NULL) != 1 || len != 32)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("SHA-256 digest failed")));
	SET_VARSIZE(out, VARHDRSZ + 32);
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(deling_sha256_chain);

/*
 * sha256_chain(start, contents[]): the hash chain continued from start:
 * element i is SHA-256(element i-1 || contents[i]).  The drain appends a
 * whole batch per kommune with one call instead of one per entry.
 */
Datum
deling_sha256_chain(PG_FUNCTION_ARGS)
{
	bytea	   *start = PG_GETARG_BYTEA_PP(0);
	ArrayType  *contents = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *items;
	bool	   *nulls;
	int			n;
	Datum	   *out;
	unsigned char prev[EVP_MAX_MD_SIZE];
	size_t		prevlen = VARSIZE_ANY_EXHDR(start);
	EVP_MD_CTX *md;

	if (ARR_NDIM(contents) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("contents must be a one-dimensional array")));
	if (prevlen > sizeof(prev))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("chain start is longer than a digest")));
	memcpy(prev, VARDATA_ANY(start), prevlen);
	deconstruct_array(contents, BYTEAOID, -1, false, TYPALIGN_INT, &items, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("content %d of the chain is null", i + 1)));
	out = palloc(sizeof(Datum) * Max(n, 1));
	md = EVP_MD_CTX_new();
	for (int i = 0; i < n; i++)
	{
		bytea	   *c = DatumGetByteaPP(items[i]);
		bytea	   *h = palloc(VARHDRSZ + 32);
		unsigned int len = 0;

		if (md == NULL ||
			EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
			EVP_DigestUpdate(md, prev, prevlen) != 1 ||
			EVP_DigestUpdate(md, VARDATA_ANY(c), VARSIZE_ANY_EXHDR(c)) != 1 ||
			EVP_DigestFinal_ex(md, (unsigned char *) VARDATA(h), &len) != 1 || len != 32)
		{
			EVP_MD_CTX_free(md);
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("SHA-256 digest failed")));
		}
		SET_VARSIZE(h, VARHDRSZ + 32);
		memcpy(prev, VARDATA(h), 32);
		prevlen = 32;
		out[i] = PointerGetDatum(h);
	}
	EVP_MD_CTX_free(md);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, n, BYTEAOID, -1, false, TYPALIGN_INT));
}

PG_FUNCTION_INFO_V1(deling_hmac_sha256);

/*
 * hmac_sha256(data bytea, key bytea): HMAC-SHA256 (OpenSSL), for pseudonyms
 * that the same key reproduces and nothing else links back.
 */
Datum
deling_hmac_sha256(PG_FUNCTION_ARGS)
{
	bytea	   *data = PG_GETARG_BYTEA_PP(0);
	bytea	   *key = PG_GETARG_BYTEA_PP(1);
	bytea	   *out = palloc(VARHDRSZ + 32);
	unsigned int len = 0;

	if (VARSIZE_ANY_EXHDR(key) < 32)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an HMAC key must be at least 32 bytes")));
	if (HMAC(EVP_sha256(), VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
			 (const unsigned char *) VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data),
			 (unsigned char *) VARDATA(out), &len) == NULL || len != 32)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("HMAC-SHA256 failed")));
	SET_VARSIZE(out, VARHDRSZ + 32);
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(deling_random_key);

/*
 * random_key(): 32 bytes from the server's strong random source, for new
 * HMAC keys.
 */
Datum
deling_random_key(PG_FUNCTION_ARGS)
{
	bytea	   *out = palloc(VARHDRSZ + 32);

	if (!pg_strong_random(VARDATA(out), 32))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes")));
	SET_VARSIZE(out, VARHDRSZ + 32);
	PG_RETURN_BYTEA_P(out);
}

/*
 * ed25519_bytes: the content of a bytea that must be exactly n bytes long
 * (a key or a signature), else 22023 naming it.
 */
static const unsigned char *
ed25519_bytes(bytea *b, size_t n, const char *what)
{
	if (VARSIZE_ANY_EXHDR(b) != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an Ed25519 %s is %zu bytes, not %zu", what, n, (size_t) VARSIZE_ANY_EXHDR(b))));
	return (const unsigned char *) VARDATA_ANY(b);
}

/* ed25519_private: the OpenSSL key of a 32-byte Ed25519 seed */
static EVP_PKEY *
ed25519_private(bytea *seed)
{
	EVP_PKEY   *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ed25519_bytes(seed, 32, "seed"), 32);

	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not load an Ed25519 key")));
	return key;
}

PG_FUNCTION_INFO_V1(deling_ed25519_public_key);

/*
 * ed25519_public_key(seed bytea): the public key of an Ed25519 seed, which
 * the access log's anchors name so anyone can check their signature.
 */
Datum
deling_ed25519_public_key(PG_FUNCTION_ARGS)
{
	EVP_PKEY   *key = ed25519_private(PG_GETARG_BYTEA_PP(0));
	bytea	   *out = palloc(VARHDRSZ + 32);
	size_t		len = 32;
	int			ok = EVP_PKEY_get_raw_public_key(key, (unsigned char *) VARDATA(out), &len);

	EVP_PKEY_free(key);
	if (ok != 1 || len != 32)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not derive an Ed25519 public key")));
	SET_VARSIZE(out, VARHDRSZ + 32);
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(deling_ed25519_sign);

/*
 * ed25519_sign(message bytea, seed bytea): the Ed25519 signature of the
 * message (OpenSSL), for the access log's anchors.
 */
Datum
deling_ed25519_sign(PG_FUNCTION_ARGS)
{
	bytea	   *message = PG_GETARG_BYTEA_PP(0);
	EVP_PKEY   *key = ed25519_private(PG_GETARG_BYTEA_PP(1));
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bytea	   *out = palloc(VARHDRSZ + 64);
	size_t		len = 64;
	int			ok;

	ok = md != NULL &&
		EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
		EVP_DigestSign(md, (unsigned char *) VARDATA(out), &len,
					   (const unsigned char *) VARDATA_ANY(message), VARSIZE_ANY_EXHDR(message)) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	if (!ok || len != 64)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("Ed25519 signing failed")));
	SET_VARSIZE(out, VARHDRSZ + 64);
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(deling_ed25519_verify);

/*
 * ed25519_verify(message bytea, signature bytea, public_key bytea): is the
 * signature the key's signature of the message?
 */
Datum
deling_ed25519_verify(PG_FUNCTION_ARGS)
{
	bytea	   *message = PG_GETARG_BYTEA_PP(0);
	const unsigned char *signature = ed25519_bytes(PG_GETARG_BYTEA_PP(1), 64, "signature");
	const unsigned char *public_key = ed25519_bytes(PG_GETARG_BYTEA_PP(2), 32, "public key");
	EVP_PKEY   *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, public_key, 32);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool		valid;

	valid = key != NULL && md != NULL &&
		EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
		EVP_DigestVerify(md, signature, 64,
						 (const unsigned char *) VARDATA_ANY(message), VARSIZE_ANY_EXHDR(message)) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	PG_RETURN_BOOL(valid);
}

/*
 * Output plugin: deling's own messages, as text, and nothing else.
 */
static void
plugin_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt, bool is_init)
{
	opt->output_type = OUTPUT_PLUGIN_TEXTUAL_OUTPUT;
}

/*
 * plugin_filter_by_origin: skip, before decoding, every change written under
 * a replication origin.  The drain worker writes under DoNotReplicateId, so
 * its own appends to the log (most of the WAL a read produces) are never
 * decoded again; access-log messages come from ordinary sessions.
 */
static bool
plugin_filter_by_origin(LogicalDecodingContext *ctx, RepOriginId origin_id)
{
	return origin_id != InvalidRepOriginId;
}

bool		access_log_replayed = false;

/*
 * plugin_begin: a transaction with changes is replayed, and the reorder
 * buffer looks up the relations it changed under a historic snapshot; say
 * so, for the worker to reset its caches afterwards.  Change and commit
 * callbacks are mandatory too; table changes are not logged.
 */
static void
plugin_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	access_log_replayed = true;
}

static void
plugin_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, Relation rel, ReorderBufferChange *change)
{
}

static void
plugin_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr commit_lsn)
{
}

/*
 * plugin_message: pass on a deling access-log message (and no other).
 */
static void
plugin_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr lsn,
			   bool transactional, const char *prefix, Size sz, const char *message)
{
	if (transactional || strcmp(prefix, ACCESS_LOG_PREFIX) != 0)
		return;
	OutputPluginPrepareWrite(ctx, true);
	appendBinaryStringInfo(ctx->out, message, sz);
	OutputPluginWrite(ctx, true);
}

/*
 * _PG_output_plugin_init: deling.so doubles as the output plugin of the
 * access-log slot (pg_create_logical_replication_slot(..., 'deling')).
 */
void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	cb->filter_by_origin_cb = plugin_filter_by_origin;
	cb->startup_cb = plugin_startup;
	cb->begin_cb = plugin_begin;
	cb->change_cb = plugin_change;
	cb->commit_cb = plugin_commit;
	cb->message_cb = plugin_message;
}

