/*
 * access_log_drain.c
 *	  The drain worker's append in C: the entries one round decoded are
 *	  checked, hashed and chained here, then written with one INSERT and the
 *	  head moved on with one UPDATE, both through plans kept for the worker's
 *	  life.
 *
 * The rows are exactly those deling.access_log_append (SQL) writes: the
 * same content hash (SHA-256 of kind, LSN and the entry as jsonb text, as
 * deling.access_log_content computes it), the same chain, the same derived
 * columns (computed by the INSERT from the entry, as deling.verify_access_log
 * recomputes them).  A round with a message the log cannot take, or whose
 * INSERT fails, goes the SQL way instead, which quarantines what it must.
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "access/xlogdefs.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/pg_lsn.h"

#include "access_log.h"

#define SHA256_LEN 32

static SPIPlanPtr head_plan = NULL;
static SPIPlanPtr insert_plan = NULL;
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

/*
 * access_log_append_entries: append the n messages one round decoded (their
 * LSNs and raw texts as bytea, in WAL order) to the hash chain, skipping
 * those before confirmed (already in the log: the worker crashed between
 * an append and confirming the slot), and move the head to upto.  Runs in
 * the worker's SPI connection.  Returns the entries appended, or -1 when a
 * message is one the log cannot take or the head is not as expected:
 * nothing is written then, and the caller takes the SQL way.
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
	Datum	   *jsons;
	Datum	   *contents;
	Datum	   *prevs;
	Datum	   *chains;
	Datum		args[6];
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
		jsons = palloc(sizeof(Datum) * m);
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
			jsons[i] = JsonbPGetDatum(entries[i]);
			contents[i] = digest_datum(content);
			prevs[i] = digest_datum(prev);
			chains[i] = digest_datum(chain);
			memcpy(prev, chain, SHA256_LEN);
		}

		/* the head first: the INSERT's statement trigger then finds it moved on */
		if (move_plan == NULL)
			move_plan = access_log_kept_plan("UPDATE deling.access_log_head "
								  "SET last_seq = $1, last_hash = $2, appended_at = now(), confirmed_lsn = $3",
								  3, types);
		move[0] = Int64GetDatum(base + m);
		move[1] = chains[m - 1];
		move[2] = LSNGetDatum(upto);
		if (SPI_execute_plan(move_plan, move, NULL, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
			elog(ERROR, "deling access log: the head was not moved on");

		if (insert_plan == NULL)
		{
			Oid			itypes[6] = {INT8ARRAYOID, PG_LSNARRAYOID, JSONBARRAYOID, BYTEAARRAYOID, BYTEAARRAYOID, BYTEAARRAYOID};

			insert_plan = access_log_kept_plan("INSERT INTO deling.access_log (seq, lsn, kind, logged_at, citizen_pid, kommuner, entry, "
									"                               content_hash, prev_hash, chain_hash) "
									"SELECT u.seq, u.lsn, 'access', (u.entry->>'time')::timestamptz, u.entry->>'citizen', "
									"       ARRAY(SELECT k FROM jsonb_array_elements_text(u.entry->'kommuner') k), u.entry, "
									"       u.content, u.prev, u.chain "
									"FROM unnest($1, $2, $3, $4, $5, $6) AS u(seq, lsn, entry, content, prev, chain)",
									6, itypes);
		}
		args[0] = PointerGetDatum(construct_array(seqs, m, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[1] = PointerGetDatum(construct_array(keep_lsns, m, PG_LSNOID, sizeof(XLogRecPtr), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[2] = PointerGetDatum(construct_array(jsons, m, JSONBOID, -1, false, TYPALIGN_INT));
		args[3] = PointerGetDatum(construct_array(contents, m, BYTEAOID, -1, false, TYPALIGN_INT));
		args[4] = PointerGetDatum(construct_array(prevs, m, BYTEAOID, -1, false, TYPALIGN_INT));
		args[5] = PointerGetDatum(construct_array(chains, m, BYTEAOID, -1, false, TYPALIGN_INT));
		if (SPI_execute_plan(insert_plan, args, NULL, false, 0) != SPI_OK_INSERT || SPI_processed != (uint64) m)
			elog(ERROR, "deling access log: %d entries were not appended", m);
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
