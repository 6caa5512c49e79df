/*
 * access_log_worker.c
 *	  The background worker that carries access-log entries from the WAL
 *	  into deling.access_log.
 *
 * It holds the database's logical slot for as long as it runs (so nobody
 * else can consume or advance it) and decodes it in-process with one
 * decoding context, as a walsender does: each round it reads the WAL only
 * when the flush position has moved past what it has read, collects
 * deling's messages, appends them with one set-based SQL call
 * (deling.access_log_append) and, only after that transaction committed,
 * confirms the slot.  An idle server costs it no WAL and no log line.
 *
 * Before it decodes, it compares the slot with the position the log
 * recorded (deling.access_log_head.confirmed_lsn): a slot that was dropped,
 * invalidated, replaced or advanced past the log is a gap, entries may have
 * been lost, and reads stay refused until a DBA acknowledges the gap and
 * the worker has recorded it in the log.
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlogutils.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/decode.h"
#include "replication/logical.h"
#include "replication/origin.h"
#include "replication/slot.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "access_log.h"
#include "deling.h"

/* At most this many entries are appended in one transaction. */
#define BATCH_MAX 5000

/* The log's head as the worker reads it at the start of a round */
typedef struct Head
{
	bool		installed;		/* is the extension there? */
	XLogRecPtr	confirmed;		/* the log holds every entry before it */
	char	   *gap_cause;		/* a gap waiting for acknowledgement */
	bool		gap_acknowledged;	/* ... which a DBA has acknowledged */
} Head;

/* The slot as the worker finds it */
typedef struct SlotState
{
	bool		exists;
	bool		valid;			/* not invalidated */
	bool		ours;			/* plugin deling, this database */
	XLogRecPtr	confirmed_flush;
} SlotState;

/* The entries one round decoded, in WAL order */
typedef struct Batch
{
	int			n;
	int			size;
	Datum	   *lsns;
	Datum	   *raws;
} Batch;

/* What a round leaves for after its commit */
typedef struct RoundResult
{
	XLogRecPtr	read_upto;		/* read (and appended) up to here */
	XLogRecPtr	confirm;		/* confirm the slot up to here, if valid */
	int64		consumed;		/* counted entries appended or quarantined */
	char	   *anchor;			/* an anchor to write to the server log */
	int64		anchor_seq;
	bool		more;			/* there is more to read at once */
	bool		appended;		/* the round wrote only its append (and head) */
	int			entries;		/* entries it decoded */
} RoundResult;

static LogicalDecodingContext *decoding = NULL;
static MemoryContext round_cxt = NULL;
static Batch batch;
static SPIPlanPtr head_plan = NULL;

/*
 * The slot is confirmed up to pending_confirm once the commit that put
 * those entries into the log (ending at pending_commit) is on disk.
 */
static XLogRecPtr pending_confirm = InvalidXLogRecPtr;
static XLogRecPtr pending_commit = InvalidXLogRecPtr;

/*
 * worker_detach: at exit, confirm the slot up to the last append (its
 * commit flushed first), say that no worker runs (readers are refused
 * until the next one holds the slot) and wake anyone waiting for it.
 */
static void
worker_detach(int code, Datum arg)
{
	/* leave the slot where the log is: flush the last append, confirm it */
	if (!XLogRecPtrIsInvalid(pending_confirm) && MyReplicationSlot != NULL)
	{
		XLogFlush(pending_commit);
		LogicalConfirmReceivedLocation(pending_confirm);
		pending_confirm = InvalidXLogRecPtr;
	}
	SpinLockAcquire(&access_log_shared->mutex);
	access_log_shared->worker_pid = 0;
	access_log_shared->worker_latch = NULL;
	access_log_shared->checked = false;
	SpinLockRelease(&access_log_shared->mutex);
	ConditionVariableBroadcast(&access_log_shared->progress);
}

/*
 * worker_attach: publish the worker's pid, latch and database; on the first
 * start after the server started, the WAL position from which entries are
 * counted for the status view.
 */
static void
worker_attach(void)
{
	SpinLockAcquire(&access_log_shared->mutex);
	access_log_shared->worker_pid = MyProcPid;
	access_log_shared->worker_latch = MyLatch;
	access_log_shared->database = MyDatabaseId;
	access_log_shared->checked = false;
	if (XLogRecPtrIsInvalid(access_log_shared->counted_from))
		access_log_shared->counted_from = GetXLogInsertRecPtr();
	SpinLockRelease(&access_log_shared->mutex);
	before_shmem_exit(worker_detach, (Datum) 0);
}

/* publish_state: whether the worker holds a checked slot, and any gap */
static void
publish_state(bool checked, const char *gap_cause)
{
	SpinLockAcquire(&access_log_shared->mutex);
	access_log_shared->checked = checked;
	access_log_shared->gap = gap_cause != NULL;
	strlcpy(access_log_shared->gap_cause, gap_cause ? gap_cause : "", sizeof(access_log_shared->gap_cause));
	SpinLockRelease(&access_log_shared->mutex);
}

/*
 * spi_exec: run one statement through SPI with arguments; an error is an
 * error of the worker.
 */
static void
spi_exec(const char *sql, int nargs, Oid *types, Datum *values, int expected)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);

	if (rc != expected)
		elog(ERROR, "deling access log: \"%s\" failed: %s", sql, SPI_result_code_string(rc));
}

/*
 * read_head: is the extension installed, and if so the log's head row: the
 * position up to which it holds every entry, and any gap.
 */
static void
read_head(Head *head)
{
	bool		isnull;
	Datum		d;
	Oid			extension = get_extension_oid("deling", true);

	memset(head, 0, sizeof(Head));
	if (!OidIsValid(extension))
		return;
	/* DROP EXTENSION waits for the round; look again, it may just have gone */
	LockDatabaseObject(ExtensionRelationId, extension, 0, AccessShareLock);
	head->installed = get_extension_oid("deling", true) == extension;
	if (!head->installed)
		return;
	if (head_plan == NULL)
		head_plan = access_log_kept_plan("SELECT h.confirmed_lsn, h.gap_cause, h.gap_acknowledged_at IS NOT NULL "
										 "FROM deling.access_log_head h", 0, NULL);
	if (SPI_execute_plan(head_plan, NULL, NULL, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "deling access log: deling.access_log_head must hold one row");
	head->confirmed = DatumGetLSN(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (!isnull)
		head->gap_cause = MemoryContextStrdup(round_cxt, TextDatumGetCString(d));
	head->gap_acknowledged = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
}

/* slot_state: the slot of this database as it is now */
static void
slot_state(SlotState *state)
{
	char		name[NAMEDATALEN];
	ReplicationSlot *slot;

	memset(state, 0, sizeof(SlotState));
	access_log_slot_name(name, MyDatabaseId);
	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	slot = SearchNamedReplicationSlot(name, false);
	if (slot != NULL)
	{
		SpinLockAcquire(&slot->mutex);
		state->exists = true;
		state->valid = !XLogRecPtrIsInvalid(slot->data.restart_lsn);
		state->ours = slot->data.database == MyDatabaseId && strcmp(NameStr(slot->data.plugin), "deling") == 0;
		state->confirmed_flush = slot->data.confirmed_flush;
		SpinLockRelease(&slot->mutex);
	}
	LWLockRelease(ReplicationSlotControlLock);
}

/*
 * forget_slot: end decoding and release the slot; with drop, drop it too
 * (the extension is gone, or the log starts afresh).
 */
static void
forget_slot(bool drop)
{
	char		name[NAMEDATALEN];
	SlotState	state;

	if (decoding != NULL)
	{
		FreeDecodingContext(decoding);
		decoding = NULL;
	}
	if (MyReplicationSlot != NULL)
		ReplicationSlotRelease();
	pending_confirm = InvalidXLogRecPtr;
	publish_state(false, NULL);
	slot_state(&state);
	if (drop && state.exists)
	{
		access_log_slot_name(name, MyDatabaseId);
		ReplicationSlotDrop(name, true);
		ereport(LOG,
				(errmsg("deling access log: dropped replication slot \"%s\"", name)));
	}
}

/*
 * hold_slot: acquire the slot (if not held yet), so that nobody else can
 * consume or advance it.
 */
static void
hold_slot(void)
{
	char		name[NAMEDATALEN];

	if (MyReplicationSlot != NULL)
		return;
	access_log_slot_name(name, MyDatabaseId);
	ReplicationSlotAcquire(name, true);
}

/*
 * create_slot: a new slot for a log that starts afresh (a new install, or
 * after an acknowledged gap that lost the slot); the log records where it
 * starts.
 */
static void
create_slot(Head *head)
{
	char		name[NAMEDATALEN];
	Oid			types[1] = {NAMEOID};
	Datum		values[1];
	SlotState	state;

	forget_slot(true);
	access_log_slot_name(name, MyDatabaseId);
	values[0] = CStringGetDatum(name);
	spi_exec("SELECT pg_catalog.pg_create_logical_replication_slot($1, 'deling')", 1, types, values, SPI_OK_SELECT);
	slot_state(&state);
	types[0] = PG_LSNOID;
	values[0] = LSNGetDatum(state.confirmed_flush);
	spi_exec("UPDATE deling.access_log_head SET confirmed_lsn = $1", 1, types, values, SPI_OK_UPDATE);
	head->confirmed = state.confirmed_flush;
	ereport(LOG,
			(errmsg("deling access log: created replication slot \"%s\"", name)));
}

/*
 * gap_of: NULL when the slot carries every entry after the log's head,
 * else what happened to it; *kind and *upto say which gap and up to where
 * entries may be lost.
 */
static const char *
gap_of(const Head *head, const SlotState *state, const char **kind, XLogRecPtr *upto)
{
	*upto = GetFlushRecPtr(NULL);
	if (!state->exists)
	{
		*kind = "dropped";
		return "the access-log slot was dropped";
	}
	if (!state->valid)
	{
		*kind = "invalidated";
		return "the access-log slot was invalidated (its WAL was removed, e.g. by max_slot_wal_keep_size)";
	}
	if (!state->ours)
	{
		*kind = "replaced";
		return "the access-log slot was replaced by one of another plugin or database";
	}
	if (state->confirmed_flush > head->confirmed)
	{
		*kind = "advanced";
		*upto = state->confirmed_flush;
		return "the access-log slot was advanced or recreated past the log";
	}
	return NULL;
}

/*
 * record_gap: persist a gap the worker found in the head row and say so in
 * the server log; reads are refused from now on.
 */
static void
record_gap(Head *head, const char *cause, const char *kind, XLogRecPtr upto)
{
	Oid			types[4] = {TEXTOID, TEXTOID, PG_LSNOID, PG_LSNOID};
	Datum		values[4];

	values[0] = CStringGetTextDatum(kind);
	values[1] = CStringGetTextDatum(cause);
	values[2] = LSNGetDatum(head->confirmed);
	values[3] = LSNGetDatum(upto);
	spi_exec("UPDATE deling.access_log_head SET gap_kind = $1, gap_cause = $2, gap_from = $3, gap_to = $4, "
			 "gap_detected_at = now(), gap_acknowledged_at = NULL, gap_acknowledged_by = NULL, gap_reason = NULL",
			 4, types, values, SPI_OK_UPDATE);
	head->gap_cause = MemoryContextStrdup(round_cxt, cause);
	ereport(WARNING,
			(errmsg("deling access log: %s; entries from %X/%X to %X/%X may be lost",
					cause, LSN_FORMAT_ARGS(head->confirmed), LSN_FORMAT_ARGS(upto)),
			 errhint("Sharing reads are refused until a DBA runs SELECT deling.access_log_acknowledge_gap('<reason>').")));
}

/* collect_prepare_write: the output plugin starts a message */
static void
collect_prepare_write(LogicalDecodingContext *ctx, XLogRecPtr lsn, TransactionId xid, bool last_write)
{
	resetStringInfo(ctx->out);
}

/* collect_write: keep a decoded message (its LSN and text) for the append */
static void
collect_write(LogicalDecodingContext *ctx, XLogRecPtr lsn, TransactionId xid, bool last_write)
{
	MemoryContext old = MemoryContextSwitchTo(round_cxt);
	bytea	   *raw = palloc(VARHDRSZ + ctx->out->len);

	SET_VARSIZE(raw, VARHDRSZ + ctx->out->len);
	memcpy(VARDATA(raw), ctx->out->data, ctx->out->len);
	if (batch.n == batch.size)
	{
		batch.size = batch.size == 0 ? 64 : batch.size * 2;
		batch.lsns = batch.lsns ? repalloc(batch.lsns, batch.size * sizeof(Datum)) : palloc(batch.size * sizeof(Datum));
		batch.raws = batch.raws ? repalloc(batch.raws, batch.size * sizeof(Datum)) : palloc(batch.size * sizeof(Datum));
	}
	batch.lsns[batch.n] = LSNGetDatum(lsn);
	batch.raws[batch.n] = PointerGetDatum(raw);
	batch.n++;
	MemoryContextSwitchTo(old);
}

/*
 * start_decoding: hold the slot and open the decoding context that the
 * worker keeps until it exits, reading from the slot's restart point (the
 * slot skips what it confirmed before).
 */
static void
start_decoding(void)
{
	MemoryContext old;

	hold_slot();
	old = MemoryContextSwitchTo(TopMemoryContext);
	decoding = CreateDecodingContext(InvalidXLogRecPtr, NIL, false,
									 XL_ROUTINE(.page_read = read_local_xlog_page,
												.segment_open = wal_segment_open,
												.segment_close = wal_segment_close),
									 collect_prepare_write, collect_write, NULL);
	MemoryContextSwitchTo(old);
	XLogBeginRead(decoding->reader, MyReplicationSlot->data.restart_lsn);
	publish_state(true, NULL);
}

/*
 * slot_usable: make sure the worker decodes a slot that carries every entry
 * after the log's head: create it for a fresh log, record an acknowledged
 * gap in the log, or find a new gap (then hold the slot, so it moves no
 * further, and wait for a DBA).  Returns whether to decode this round.
 */
static bool
slot_usable(Head *head)
{
	SlotState	state;
	const char *cause;
	const char *kind;
	XLogRecPtr	upto;
	bool		checked;

	SpinLockAcquire(&access_log_shared->mutex);
	checked = access_log_shared->checked;
	SpinLockRelease(&access_log_shared->mutex);
	if (decoding != NULL)
	{
		if (checked && !XLogRecPtrIsInvalid(head->confirmed))
			return true;
		/* a drop of the log was tried, or the extension made anew: check again */
		forget_slot(false);
	}

	if (head->gap_cause != NULL && head->gap_acknowledged)
	{
		spi_exec("SELECT deling.access_log_record_gap()", 0, NULL, NULL, SPI_OK_SELECT);
		SetLatch(MyLatch);
		return false;
	}
	if (head->gap_cause == NULL && XLogRecPtrIsInvalid(head->confirmed))
		create_slot(head);
	slot_state(&state);
	if (head->gap_cause == NULL && (cause = gap_of(head, &state, &kind, &upto)) != NULL)
		record_gap(head, cause, kind, upto);
	if (head->gap_cause != NULL)
	{
		if (state.exists && state.valid && state.ours)
			hold_slot();
		publish_state(true, head->gap_cause);
		return false;
	}
	start_decoding();
	return true;
}

/*
 * transient_error: an error that says nothing about the entry (the worker
 * was cancelled or is shutting down, out of memory or disk, a lock
 * conflict, an I/O error): the worker fails and retries, it does not
 * quarantine.  Anything else (a data error, a limit such as the btree's
 * row size, an internal error) stays with the entry, which is quarantined,
 * so that no entry can stop the log.
 */
static bool
transient_error(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_CONNECTION_EXCEPTION:
		case ERRCODE_TRANSACTION_ROLLBACK:
		case ERRCODE_INSUFFICIENT_RESOURCES:
		case ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE:
		case ERRCODE_OPERATOR_INTERVENTION:
		case ERRCODE_SYSTEM_ERROR:
			return true;
		default:
			return false;
	}
}

/*
 * in_subtransaction: run step(arg) in a subtransaction, kept when it
 * returns true, rolled back when it returns false or fails with an error
 * that stays with the entries (then *failure says what); a transient error
 * is re-thrown.  True when the step's work was kept.
 */
static bool
in_subtransaction(bool (*step) (void *arg), void *arg, char **failure)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool kept = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		kept = step(arg);
		if (kept)
			ReleaseCurrentSubTransaction();
		else
			RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(cxt);
		error = CopyErrorData();
		if (transient_error(error->sqlerrcode))
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		kept = false;
		if (failure)
			*failure = psprintf("%s: %s", unpack_sql_state(error->sqlerrcode), error->message);
		FreeErrorData(error);
	}
	PG_END_TRY();
	return kept;
}

/* the entries [from, from + n) of the round, for append_sql */
typedef struct EntryRange
{
	int			from;
	int			n;
} EntryRange;

/* append_sql: append a range of entries with deling.access_log_append */
static bool
append_sql(void *arg)
{
	EntryRange *range = (EntryRange *) arg;
	Oid			types[2] = {PG_LSNARRAYOID, BYTEAARRAYOID};
	Datum		values[2];
	int			rc;

	values[0] = PointerGetDatum(construct_array(batch.lsns + range->from, range->n, PG_LSNOID, sizeof(XLogRecPtr), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(batch.raws + range->from, range->n, BYTEAOID, -1, false, TYPALIGN_INT));
	rc = SPI_execute_with_args("SELECT deling.access_log_append($1, $2)", 2, types, values, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "deling.access_log_append failed: %s", SPI_result_code_string(rc));
	return true;
}

/*
 * try_append: append entries [from, from + n) in a subtransaction; returns
 * NULL when they are in the log, else the error (a transient one is
 * re-thrown).
 */
static char *
try_append(int from, int n)
{
	EntryRange	range = {from, n};
	char	   *failure = NULL;

	return in_subtransaction(append_sql, &range, &failure) ? NULL : failure;
}

/*
 * quarantine: keep an entry the log could not take in
 * deling.access_log_quarantine, with the reason, and continue the chain
 * with an entry that records it.
 */
static void
quarantine(int i, const char *reason)
{
	Oid			types[3] = {PG_LSNOID, BYTEAOID, TEXTOID};
	Datum		values[3];

	values[0] = batch.lsns[i];
	values[1] = batch.raws[i];
	values[2] = CStringGetTextDatum(reason);
	spi_exec("SELECT deling.access_log_quarantine($1, $2, $3)", 3, types, values, SPI_OK_SELECT);
}

/* the head's move for append_entries: from confirmed to upto */
typedef struct HeadMove
{
	XLogRecPtr	confirmed;
	XLogRecPtr	upto;
} HeadMove;

/* append_entries: the round's entries the C way; false if it cannot take them */
static bool
append_entries(void *arg)
{
	HeadMove   *move = (HeadMove *) arg;

	return access_log_append_entries(batch.n, batch.lsns, batch.raws, move->confirmed, move->upto) >= 0;
}

/*
 * try_append_entries: append the round's entries the C way
 * (access_log_append_entries) in a subtransaction, moving the head to
 * upto; false when that cannot take them (a message the log cannot take,
 * or an error that stays with the entries), with nothing written: the SQL
 * way then sorts them out.  A transient error is re-thrown.
 */
static bool
try_append_entries(XLogRecPtr confirmed, XLogRecPtr upto)
{
	HeadMove	move = {confirmed, upto};

	return in_subtransaction(append_entries, &move, NULL);
}

/*
 * append: put the round's entries into the log: in C, inserted straight
 * into the table (try_append_entries); failing that, with one set-based
 * SQL call; if that fails, entry by entry, quarantining each one that
 * fails alone.  Either way the head then records that the log holds
 * everything up to upto.
 */
static void
append(XLogRecPtr confirmed, XLogRecPtr upto)
{
	if (batch.n > 0 && try_append_entries(confirmed, upto))
		return;
	if (batch.n > 0 && try_append(0, batch.n) != NULL)
	{
		for (int i = 0; i < batch.n; i++)
		{
			char	   *failure = try_append(i, 1);

			if (failure != NULL)
				quarantine(i, failure);
		}
	}
	access_log_confirm_head(upto);
}

/*
 * take_anchor: after an append, when deling.access_log_anchor_interval has
 * passed since the last one, sign the log's head for the server log.
 */
static void
take_anchor(RoundResult *result)
{
	TimestampTz last;
	bool		isnull;

	SpinLockAcquire(&access_log_shared->mutex);
	last = access_log_shared->last_anchor_at;
	SpinLockRelease(&access_log_shared->mutex);
	if (last != 0 &&
		!TimestampDifferenceExceeds(last, GetCurrentTimestamp(), access_log_anchor_interval * 1000))
		return;
	spi_exec("SELECT a::text, (a->>'seq')::bigint FROM deling.access_log_anchor() a", 0, NULL, NULL, SPI_OK_SELECT);
	result->anchor = MemoryContextStrdup(round_cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	result->anchor_seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
}

/*
 * decode: read the WAL from where the worker stopped up to the flush
 * position (at most BATCH_MAX entries), then append what it found.  When it
 * found nothing, the head is moved on only after a segment of other WAL, so
 * the slot releases WAL under load while an idle server stays idle.
 */
static void
decode(const Head *head, RoundResult *result)
{
	XLogReaderState *reader = decoding->reader;
	XLogRecPtr	flush = GetFlushRecPtr(NULL);
	XLogRecPtr	counted_from;

	result->read_upto = reader->EndRecPtr;
	if (reader->EndRecPtr >= flush)
		return;
	memset(&batch, 0, sizeof(batch));
	access_log_replayed = false;
	while (reader->EndRecPtr < flush && batch.n < BATCH_MAX)
	{
		char	   *errm = NULL;
		XLogRecord *record;
		MemoryContext old;

		/* the reader keeps its buffers from one round to the next */
		old = MemoryContextSwitchTo(decoding->context);
		record = XLogReadRecord(reader, &errm);
		MemoryContextSwitchTo(old);
		if (record != NULL)
			LogicalDecodingProcessRecord(decoding, reader);
		else if (errm != NULL)
			elog(ERROR, "deling access log: could not read the WAL: %s", errm);
		CHECK_FOR_INTERRUPTS();
	}

	/*
	 * Replaying a transaction with changes loaded catalog entries as of a
	 * historic snapshot: reset the caches, as pg_logical_slot_get_changes
	 * does after decoding.  Deling's messages (and the worker's own appends,
	 * skipped by origin) touch no catalog, so a round that decoded only
	 * those keeps its caches and cached plans.
	 */
	if (access_log_replayed)
		InvalidateSystemCaches();
	result->read_upto = reader->EndRecPtr;
	result->more = reader->EndRecPtr < flush;
	if (batch.n == 0 && reader->EndRecPtr - head->confirmed < (uint64) wal_segment_size)
		return;
	append(head->confirmed, reader->EndRecPtr);
	result->confirm = reader->EndRecPtr;
	result->appended = true;
	result->entries = batch.n;
	SpinLockAcquire(&access_log_shared->mutex);
	counted_from = access_log_shared->counted_from;
	SpinLockRelease(&access_log_shared->mutex);
	for (int i = 0; i < batch.n; i++)
		if (DatumGetLSN(batch.lsns[i]) >= counted_from)
			result->consumed++;
	if (batch.n > 0)
		take_anchor(result);
}

/*
 * finish_round: after the round's commit (ending at commit_end), confirm
 * the slot up to what the log holds once that commit is on disk (now, or
 * after a later round: the readers' flushes and the WAL writer put it
 * there), publish the progress and any anchor, and wake those waiting in
 * deling.access_log_drain.
 */
static void
finish_round(const RoundResult *result, TimestampTz started, XLogRecPtr commit_end)
{
	if (!XLogRecPtrIsInvalid(result->confirm))
	{
		pending_confirm = result->confirm;
		pending_commit = commit_end;
	}
	if (!XLogRecPtrIsInvalid(pending_confirm) && MyReplicationSlot != NULL &&
		GetFlushRecPtr(NULL) >= pending_commit)
	{
		LogicalConfirmReceivedLocation(pending_confirm);
		ReplicationSlotMarkDirty();
		pending_confirm = InvalidXLogRecPtr;
	}
	pg_atomic_fetch_add_u64(&access_log_shared->consumed, result->consumed);
	SpinLockAcquire(&access_log_shared->mutex);
	if (!XLogRecPtrIsInvalid(result->read_upto))
		access_log_shared->read_upto = result->read_upto;
	if (!result->more)
		access_log_shared->caught_up_at = started;
	if (result->anchor != NULL)
	{
		access_log_shared->last_anchor_at = GetCurrentTimestamp();
		access_log_shared->last_anchor_seq = result->anchor_seq;
	}
	SpinLockRelease(&access_log_shared->mutex);
	if (result->anchor != NULL)
		ereport(LOG,
				(errmsg("deling access log anchor: %s", result->anchor),
				 errhidestmt(true)));
	ConditionVariableBroadcast(&access_log_shared->progress);
}

/*
 * worker_round: one round in one transaction: read the head, make sure the
 * slot is usable (or drop it when the extension is gone), decode and
 * append; then confirm.  A round that only appended commits without
 * waiting for its flush: the entries are on disk in the WAL already, and
 * the slot is confirmed past them only once the commit is (finish_round).
 * Returns whether there is more to read at once; *appended, whether it
 * appended.
 */
static bool
worker_round(bool *appended)
{
	Head		head;
	RoundResult result = {0};
	TimestampTz started = GetCurrentTimestamp();

	MemoryContextReset(round_cxt);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	read_head(&head);
	/* a Citus worker keeps no log: the coordinator's worker drains its WAL */
	if (!head.installed || deling_citus_worker())
		forget_slot(true);
	else if (slot_usable(&head))
		decode(&head, &result);
	SPI_finish();
	PopActiveSnapshot();
	if (result.appended)
		SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
	CommitTransactionCommand();
	if (result.appended)
		SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
	finish_round(&result, started, XactLastCommitEnd);
	*appended = result.entries > 0;
	return result.more;
}

/*
 * gather: after a round that appended entries, let the next ones gather for
 * deling.access_log_batch_delay, so that under load a round appends many
 * entries for the cost of one; readers do not wake the worker meanwhile,
 * a drain (or a shutdown) ends it.
 */
static void
gather(void)
{
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), access_log_batch_delay);
	bool		hurry;

	SpinLockAcquire(&access_log_shared->mutex);
	access_log_shared->batching = true;
	hurry = access_log_shared->hurry;
	SpinLockRelease(&access_log_shared->mutex);
	while (!hurry)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until);

		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		SpinLockAcquire(&access_log_shared->mutex);
		hurry = access_log_shared->hurry;
		SpinLockRelease(&access_log_shared->mutex);
	}
	SpinLockAcquire(&access_log_shared->mutex);
	access_log_shared->batching = false;
	access_log_shared->hurry = false;
	SpinLockRelease(&access_log_shared->mutex);
}

/*
 * deling_access_log_worker_main: keep the access log drained, round after
 * round, waking when a reader has written an entry (or after the naptime).
 */
void
deling_access_log_worker_main(Datum main_arg)
{
	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(access_log_database, NULL, 0);
	/* mark the worker's own writes, so the output plugin skips them */
	replorigin_session_origin = DoNotReplicateId;
	/*
	 * the head must be on disk before the slot is confirmed past it, and a
	 * new slot or a gap before reads are served (appends wait differently:
	 * worker_round)
	 */
	SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
	round_cxt = AllocSetContextCreate(TopMemoryContext, "deling access log round", ALLOCSET_DEFAULT_SIZES);
	worker_attach();

	for (;;)
	{
		bool		more;
		bool		appended;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		more = worker_round(&appended);
		if (more)
			continue;
		if (appended && access_log_batch_delay > 0)
			gather();
		else
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 access_log_naptime, PG_WAIT_EXTENSION);
	}
}
