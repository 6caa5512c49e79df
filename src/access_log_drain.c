/*
 * access_log_drain.c
 *	  The drain worker's append in C: the entries one round decoded are
 *	  checked, hashed and chained here, the head moved on with one UPDATE
 *	  through a plan kept for the worker's life, then the rows inserted
 *	  straight into the table and its indexes, as logical replication's
 *	  apply worker inserts (no plan and no executor per round).
 *
 * The rows are exactly those deling.access_log_append (SQL) writes: the
 * same content hash (SHA-256 of kind, LSN and the entry as jsonb text, as
 * deling.access_log_content computes it), the same chain, the same derived
 * columns (logged_at, citizen_pid and kommuner taken from the entry as
 * deling.verify_access_log recomputes them).  A round with a message the
 * log cannot take, or whose insert fails, goes the SQL way instead, which
 * quarantines what it must.
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "access/table.h"
#include "access/xact.h"
#include "access/xlogdefs.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/pg_lsn.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "access_log.h"

#define SHA256_LEN 32

static SPIPlanPtr head_plan = NULL;
static SPIPlanPtr move_plan = NULL;
static SPIPlanPtr confirm_plan = NULL;

/*
 * access_log_kept_plan: a statement prepared once and kept for the worker's
 * life (the plan cache re-plans it when a table it reads changes).
 */
SPIPlanPtr
access_log_kept_plan(const char *sql, int nargs, Oid *types)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

	if (plan == NULL)
		elog(ERROR, "deling access log: could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "deling access log: could not keep the plan of \"%s\"", sql);
	return plan;
}

/* sha256_parts: SHA-256 of a || b into out (SHA256_LEN bytes) */
static void
sha256_parts(const void *a, size_t alen, const void *b, size_t blen, unsigned char *out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	bool		ok;

	ok = md != NULL &&
		EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		EVP_DigestUpdate(md, a, alen) == 1 &&
		EVP_DigestUpdate(md, b, blen) == 1 &&
		EVP_DigestFinal_ex(md, out, &len) == 1 && len == SHA256_LEN;
	EVP_MD_CTX_free(md);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("SHA-256 digest failed")));
}

/* digest_datum: SHA256_LEN bytes as a bytea datum */
static Datum
digest_datum(const unsigned char *digest)
{
	bytea	   *b = palloc(VARHDRSZ + SHA256_LEN);

	SET_VARSIZE(b, VARHDRSZ + SHA256_LEN);
	memcpy(VARDATA(b), digest, SHA256_LEN);
	return PointerGetDatum(b);
}

/*
 * content_hash: the content hash of an access entry, as
 * deling.access_log_content('access', lsn, entry) computes it: SHA-256 of
 * "access <lsn> <entry as jsonb text>" in UTF-8.
 */
static void
content_hash(XLogRecPtr lsn, Jsonb *entry, unsigned char *out)
{
	char		head[64];
	char	   *text = JsonbToCString(NULL, &entry->root, VARSIZE(entry));
	int			len = strlen(text);
	char	   *utf8;

	snprintf(head, sizeof(head), "access %X/%X ", LSN_FORMAT_ARGS(lsn));
	utf8 = pg_server_to_any(text, len, PG_UTF8);
	if (utf8 != text)
		len = strlen(utf8);
	sha256_parts(head, strlen(head), utf8, len, out);
}

/*
 * chain_start: lock the head and return the seq and chain hash the next
 * entry continues from: the head's, or (a restored log, whose head was not
 * dumped) the last entry's, or the genesis.  False when the head is not as
 * the worker expects (the SQL way then reports it).
 */
static bool
chain_start(int64 *base, unsigned char *start)
{
	bool		isnull;
	HeapTuple	row;
	TupleDesc	desc;
	int64		last_seq;
	Datum		d;

	if (head_plan == NULL)
		head_plan = access_log_kept_plan("SELECT h.last_seq, h.last_hash, l.seq, l.chain_hash "
							  "FROM deling.access_log_head h "
							  "LEFT JOIN LATERAL (SELECT a.seq, a.chain_hash FROM deling.access_log a "
							  "                   WHERE h.last_seq = 0 ORDER BY a.seq DESC LIMIT 1) l ON true "
							  "FOR UPDATE OF h", 0, NULL);
	if (SPI_execute_plan(head_plan, NULL, NULL, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		return false;
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	last_seq = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
	if (last_seq > 0)
	{
		*base = last_seq;
		d = SPI_getbinval(row, desc, 2, &isnull);
	}
	else
	{
		*base = 0;
		d = SPI_getbinval(row, desc, 3, &isnull);
		if (!isnull)
			*base = DatumGetInt64(d);
		d = SPI_getbinval(row, desc, 4, &isnull);
		if (isnull)
		{
			static const char genesis[] = "deling access log";

			sha256_parts(genesis, strlen(genesis), "", 0, start);
			return true;
		}
	}
	if (isnull || VARSIZE_ANY_EXHDR(DatumGetPointer(d)) != SHA256_LEN)
		return false;
	memcpy(start, VARDATA_ANY(DatumGetPointer(d)), SHA256_LEN);
	return true;
}

/* The columns of deling.access_log that insert_rows fills: all of them */
typedef enum LogColumn
{
	COL_SEQ, COL_LSN, COL_KIND, COL_LOGGED_AT, COL_APPENDED_AT, COL_CITIZEN_PID, COL_KOMMUNER, COL_ENTRY,
	COL_CONTENT_HASH, COL_PREV_HASH, COL_CHAIN_HASH,
	LOG_COLUMNS
} LogColumn;

/* ... their names and the types the C way writes them as */
static const struct
{
	const char *name;
	Oid			type;
}			log_columns[LOG_COLUMNS] = {
	{"seq", INT8OID}, {"lsn", PG_LSNOID}, {"kind", TEXTOID}, {"logged_at", TIMESTAMPTZOID},
	{"appended_at", TIMESTAMPTZOID}, {"citizen_pid", TEXTOID}, {"kommuner", TEXTARRAYOID}, {"entry", JSONBOID},
	{"content_hash", BYTEAOID}, {"prev_hash", BYTEAOID}, {"chain_hash", BYTEAOID},
};

/*
 * log_table_as_written: is deling.access_log as the C way writes it?  Its
 * live columns exactly those of log_columns, each of its type without a
 * modifier (their attribute numbers into attnums), and no insert trigger
 * nor rule but the statement trigger that makes a restored log's head
 * follow its last entry.  Otherwise the SQL way converts, applies a later
 * column's default, or fires what the DBA added (a row trigger could
 * change or skip a row after the head moved on).
 */
static bool
log_table_as_written(Relation rel, AttrNumber *attnums)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TriggerDesc *triggers = rel->trigdesc;
	int			live = 0;

	for (int a = 0; a < desc->natts; a++)
		if (!TupleDescAttr(desc, a)->attisdropped)
			live++;
	if (live != LOG_COLUMNS || rel->rd_rules != NULL)
		return false;
	for (int c = 0; c < LOG_COLUMNS; c++)
	{
		Form_pg_attribute att;

		attnums[c] = get_attnum(RelationGetRelid(rel), log_columns[c].name);
		if (attnums[c] == InvalidAttrNumber)
			return false;
		att = TupleDescAttr(desc, attnums[c] - 1);
		if (att->atttypid != log_columns[c].type || att->atttypmod != -1)
			return false;
	}
	for (int i = 0; triggers != NULL && i < triggers->numtriggers; i++)
	{
		Trigger    *t = &triggers->triggers[i];

		if (!TRIGGER_FOR_INSERT(t->tgtype) || t->tgenabled == TRIGGER_DISABLED)
			continue;
		if (TRIGGER_FOR_ROW(t->tgtype) || strcmp(t->tgname, "access_log_restored_head") != 0)
			return false;
	}
	return true;
}

/*
 * entry_kommuner: the entry's "kommuner" as text[], as
 * ARRAY(SELECT jsonb_array_elements_text(entry->'kommuner')) gives it
 * (access_log_raw_problem made sure it is an array of strings).
 */
static Datum
entry_kommuner(Jsonb *entry)
{
	JsonbValue	v;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	int			n = 0;
	Datum	   *items;

	if (!getKeyJsonValueFromContainer(&entry->root, "kommuner", 8, &v) || v.type != jbvBinary)
		elog(ERROR, "deling access log: an entry without kommuner reached the append");
	items = palloc(sizeof(Datum) * Max(JsonContainerSize(v.val.binary.data), 1));
	it = JsonbIteratorInit(v.val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_ELEM)
			items[n++] = PointerGetDatum(cstring_to_text_with_len(v.val.string.val, v.val.string.len));
	return PointerGetDatum(construct_array(items, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * insert_rows: insert a round's m rows (kind access) into deling.access_log
 * and its indexes, checking its constraints, as logical replication's apply
 * worker inserts: a plan and an executor per round cost the worker more
 * than the rows.  The derived columns are the entry's time, citizen and
 * kommuner as the SQL way's ->> and jsonb_array_elements_text give them.
 * The statement trigger that makes a restored log's head follow its last
 * entry (access_log_restored_head) has nothing to do here, the append
 * moved the head itself.  False, with nothing inserted, when the table is
 * not as this writes it (log_table_as_written).
 */
static bool
insert_rows(int m, const Datum *seqs, const Datum *lsns, Jsonb **entries,
			const Datum *contents, const Datum *prevs, const Datum *chains)
{
	Oid			relid = get_relname_relid("access_log", get_namespace_oid("deling", false));
	Relation	rel;
	AttrNumber	attnums[LOG_COLUMNS];
	EState	   *estate;
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	ResultRelInfo *info = makeNode(ResultRelInfo);
	TupleTableSlot *slot;
	Datum		appended_at = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	Datum		kind = CStringGetTextDatum("access");

	if (!OidIsValid(relid))
		elog(ERROR, "deling access log: deling.access_log is missing");
	rel = table_open(relid, RowExclusiveLock);
	if (!log_table_as_written(rel, attnums))
	{
		table_close(rel, RowExclusiveLock);
		return false;
	}

	estate = CreateExecutorState();
	slot = table_slot_create(rel, &estate->es_tupleTable);
	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(estate, list_make1(rte));
	InitResultRelInfo(info, rel, 1, NULL, 0);
	estate->es_opened_result_relations = lappend(estate->es_opened_result_relations, info);
	estate->es_output_cid = GetCurrentCommandId(true);
	ExecOpenIndices(info, false);
	AfterTriggerBeginQuery();

	for (int i = 0; i < m; i++)
	{
		char	   *citizen = access_log_field_text(entries[i], "citizen");
		char	   *logged = access_log_field_text(entries[i], "time");
		Datum		row[LOG_COLUMNS];

		row[COL_SEQ] = seqs[i];
		row[COL_LSN] = lsns[i];
		row[COL_KIND] = kind;
		row[COL_LOGGED_AT] = DirectFunctionCall3(timestamptz_in, CStringGetDatum(logged),
												 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
		row[COL_APPENDED_AT] = appended_at;
		row[COL_CITIZEN_PID] = citizen ? CStringGetTextDatum(citizen) : (Datum) 0;
		row[COL_KOMMUNER] = entry_kommuner(entries[i]);
		row[COL_ENTRY] = JsonbPGetDatum(entries[i]);
		row[COL_CONTENT_HASH] = contents[i];
		row[COL_PREV_HASH] = prevs[i];
		row[COL_CHAIN_HASH] = chains[i];

		ExecClearTuple(slot);
		memset(slot->tts_isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);
		for (int c = 0; c < LOG_COLUMNS; c++)
		{
			slot->tts_values[attnums[c] - 1] = row[c];
			slot->tts_isnull[attnums[c] - 1] = c == COL_CITIZEN_PID && citizen == NULL;
		}
		ExecStoreVirtualTuple(slot);
		ExecSimpleRelationInsert(info, estate, slot);
	}

	AfterTriggerEndQuery(estate);
	ExecCloseIndices(info);
	ExecResetTupleTable(estate->es_tupleTable, false);
	FreeExecutorState(estate);
	table_close(rel, NoLock);
	CommandCounterIncrement();
	return true;
}

/*
 * access_log_append_entries: append the n messages one round decoded (their
 * LSNs and raw texts as bytea, in WAL order) to the hash chain, skipping
 * those before confirmed (already in the log: the worker crashed between
 * an append and confirming the slot), and move the head to upto.  Runs in
 * the worker's SPI connection.  Returns the entries appended, or -1 when a
 * message is one the log cannot take, the head is not as expected or the
 * table is not as the C way writes it (insert_rows): the caller (in a
 * subtransaction it then rolls back) takes the SQL way.
 */
int
access_log_append_entries(int n, const Datum *lsns, const Datum *raws, XLogRecPtr confirmed, XLogRecPtr upto)
{
	Jsonb	  **entries = palloc(sizeof(Jsonb *) * Max(n, 1));
	int			m = 0;
	int64		base;
	unsigned char prev[SHA256_LEN];
	Datum	   *seqs;
	Datum	   *keep_lsns;
	Datum	   *contents;
	Datum	   *prevs;
	Datum	   *chains;
	Datum		move[3];

	/* every message must be one the log can take, before anything is written */
	keep_lsns = palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bytea	   *raw = DatumGetByteaPP(raws[i]);

		if (DatumGetLSN(lsns[i]) < confirmed)
			continue;
		if (access_log_raw_problem(VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw), &entries[m]) != NULL)
			return -1;
		keep_lsns[m++] = lsns[i];
	}

	if (m > 0 && !chain_start(&base, prev))
		return -1;
	if (m > 0)
	{
		Oid			types[3] = {INT8OID, BYTEAOID, PG_LSNOID};

		seqs = palloc(sizeof(Datum) * m);
		contents = palloc(sizeof(Datum) * m);
		prevs = palloc(sizeof(Datum) * m);
		chains = palloc(sizeof(Datum) * m);
		for (int i = 0; i < m; i++)
		{
			unsigned char content[SHA256_LEN];
			unsigned char chain[SHA256_LEN];

			content_hash(DatumGetLSN(keep_lsns[i]), entries[i], content);
			sha256_parts(prev, SHA256_LEN, content, SHA256_LEN, chain);
			seqs[i] = Int64GetDatum(base + i + 1);
			contents[i] = digest_datum(content);
			prevs[i] = digest_datum(prev);
			chains[i] = digest_datum(chain);
			memcpy(prev, chain, SHA256_LEN);
		}

		/* the head first (a restored log's head, at 0, moves on here too) */
		if (move_plan == NULL)
			move_plan = access_log_kept_plan("UPDATE deling.access_log_head "
								  "SET last_seq = $1, last_hash = $2, appended_at = now(), confirmed_lsn = $3",
								  3, types);
		move[0] = Int64GetDatum(base + m);
		move[1] = chains[m - 1];
		move[2] = LSNGetDatum(upto);
		if (SPI_execute_plan(move_plan, move, NULL, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
			elog(ERROR, "deling access log: the head was not moved on");

		if (!insert_rows(m, seqs, keep_lsns, entries, contents, prevs, chains))
			return -1;
	}
	else
		access_log_confirm_head(upto);
	return m;
}

/*
 * access_log_confirm_head: record that the log holds every entry before
 * upto (a round that appended nothing, or appended the SQL way).
 */
void
access_log_confirm_head(XLogRecPtr upto)
{
	Datum		values[1];

	if (confirm_plan == NULL)
	{
		Oid			types[1] = {PG_LSNOID};

		confirm_plan = access_log_kept_plan("UPDATE deling.access_log_head SET confirmed_lsn = $1", 1, types);
	}
	values[0] = LSNGetDatum(upto);
	if (SPI_execute_plan(confirm_plan, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "deling access log: the head's confirmed position was not recorded");
}
