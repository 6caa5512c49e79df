/*
 * access_log.c
 *	  The durable access log (innsynslogg): emitting entries as
 *	  non-transactional logical WAL messages flushed before the data is
 *	  returned, the logical-decoding output plugin that passes them on, the
 *	  background worker that drains them into deling.access_log, SHA-256
 *	  for the per-kommune hash chain, and HMAC-SHA256 for pseudonyms.
 *
 * An entry written this way survives the caller's ROLLBACK, is allowed in a
 * READ ONLY transaction (no transaction id is needed), and is on disk before
 * the read returns, so it survives a crash right after.  The worker runs the
 * SQL function deling.access_log_drain(), which peeks the slot, appends the
 * entries idempotently (keyed by LSN) and only then advances the slot.
 */
#include "postgres.h"

#include <ctype.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "tcop/tcopprot.h"
#include "replication/logical.h"
#include "replication/message.h"
#include "replication/origin.h"
#include "replication/output_plugin.h"
#include "replication/slot.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/standby.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/pg_lsn.h"
#include "utils/snapmgr.h"

#include "deling.h"

/* The prefix that marks deling's messages in the WAL. */
#define ACCESS_LOG_PREFIX "deling.access_log"

static char *access_log_database = NULL;
static int	access_log_naptime = 1000;

void		deling_access_log_worker_main(Datum main_arg);
void		_PG_output_plugin_init(OutputPluginCallbacks *cb);

/*
 * deling_access_log_init: settings and the drain worker; called at preload.
 */
void
deling_access_log_init(void)
{
	BackgroundWorker worker = {0};

	DefineCustomStringVariable("deling.access_log_database",
							   "Database whose access log the background worker drains.",
							   NULL, &access_log_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("deling.access_log_naptime",
							"Time between two drains of the access-log slot.",
							NULL, &access_log_naptime, 1000, 10, 60000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "deling");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "deling_access_log_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "deling access log");
	snprintf(worker.bgw_type, BGW_MAXLEN, "deling access log");
	RegisterBackgroundWorker(&worker);
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
 * what is wrong with it.  The drain needs a JSON object whose "time" is a
 * UTC time and whose "kommuner" is an array of kommunenummer (one chain
 * each), and the log is read by "service" and "decision".  An entry it
 * could not append would stop every later drain and hold the WAL back
 * without bound, so such an entry is refused before it is written.
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

PG_FUNCTION_INFO_V1(deling_access_log_emit);

/*
 * access_log_emit(entry jsonb): check the entry (access_log_entry_problem),
 * write it as a non-transactional logical message and flush the WAL up to
 * it; returns its LSN.  Only deling_owner may execute it (the sharing
 * functions).
 */
Datum
deling_access_log_emit(PG_FUNCTION_ARGS)
{
	Jsonb	   *entry = PG_GETARG_JSONB_P(0);
	const char *problem = access_log_entry_problem(entry);
	char	   *text;
	XLogRecPtr	lsn;

	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("access-log entry refused: %s", problem),
				 errdetail("An entry the drain cannot append would stop the access log.")));
	text = JsonbToCString(NULL, &entry->root, VARSIZE(entry));

	lsn = LogLogicalMessage(ACCESS_LOG_PREFIX, text, strlen(text), false);
	XLogFlush(lsn);
	PG_RETURN_LSN(lsn);
}

/* access_log_slot_name: this database's slot (slot names are cluster-wide) */
static void
access_log_slot_name(char name[NAMEDATALEN])
{
	snprintf(name, NAMEDATALEN, "deling_access_log_%u", MyDatabaseId);
}

PG_FUNCTION_INFO_V1(deling_access_log_slot);

/*
 * access_log_slot(): the name of this database's access-log slot.
 */
Datum
deling_access_log_slot(PG_FUNCTION_ARGS)
{
	Name		result = (Name) palloc0(NAMEDATALEN);

	access_log_slot_name(NameStr(*result));
	PG_RETURN_NAME(result);
}

PG_FUNCTION_INFO_V1(deling_access_log_ready);

/*
 * access_log_ready(): is this database's slot there, with deling as its
 * plugin, to carry entries into the log?  Every sharing read asks first
 * and is refused while it is not, so this reads the slot array directly
 * under its lock instead of through the pg_replication_slots view.
 */
Datum
deling_access_log_ready(PG_FUNCTION_ARGS)
{
	char		name[NAMEDATALEN];
	ReplicationSlot *slot;
	bool		ready;

	access_log_slot_name(name);
	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	slot = SearchNamedReplicationSlot(name, false);
	ready = slot != NULL && slot->data.database == MyDatabaseId &&
		strcmp(NameStr(slot->data.plugin), "deling") == 0;
	LWLockRelease(ReplicationSlotControlLock);
	PG_RETURN_BOOL(ready);
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

/* begin, change and commit callbacks are mandatory; table changes are not logged */
static void
plugin_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
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

/*
 * run_in_transaction: run one SQL statement in its own transaction, if the
 * extension is installed in this database (until then there is nothing to
 * call); returns whether it ran.
 */
static bool
run_in_transaction(const char *sql)
{
	bool		installed;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, sql);
	installed = SPI_execute("SELECT FROM pg_catalog.pg_extension WHERE extname = 'deling'", true, 1) == SPI_OK_SELECT
		&& SPI_processed == 1;
	if (installed)
		SPI_execute(sql, false, 0);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return installed;
}

/*
 * deling_access_log_worker_main: keep the access-log slot drained.  Each
 * round: make sure the slot exists (once the extension is installed), drain
 * it into the table in one transaction, advance the slot in the next.
 */
void
deling_access_log_worker_main(Datum main_arg)
{
	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(access_log_database, NULL, 0);
	/* mark the worker's own writes, so the slot skips them (see above) */
	replorigin_session_origin = DoNotReplicateId;

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (run_in_transaction("SELECT deling.access_log_prepare()"))
		{
			run_in_transaction("SELECT deling.access_log_drain()");

			/*
			 * A running-transactions record lets the advance below move the
			 * slot's restart point up to now.  Without one (the bgwriter
			 * logs them every 15 s) every drain decoded again the WAL of
			 * up to 15 s, a dozen times the work (docs/benchmarks.md).
			 */
			(void) LogStandbySnapshot();
			run_in_transaction("SELECT deling.access_log_advance()");
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 access_log_naptime, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
