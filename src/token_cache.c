/*
 * token_cache.c
 *	  Verified access tokens remembered per backend, by the SHA-256 of the
 *	  token, for as long as their verification would give the same answer.
 *
 * Every PostgREST request verifies its bearer token again (deling.pre_request);
 * a client sends the same token for its lifetime, and verifying it (the
 * claim checks of deling.verify_token_claims, in PL/pgSQL) took most of a
 * request's own time.  deling.verify_token answers from this cache while
 *   - the time (the transaction's, as verify_token_claims reads it) is
 *     inside the window its time claims allow: before exp + leeway, not
 *     before nbf, iat or the attestation's toa (less the leeway), and no
 *     later than toa + attestation_max_age; a millisecond's margin at both
 *     ends;
 *   - the token settings (issuer, audience, leeway, attestation age) are
 *     the ones it was verified under;
 *   - nothing it was verified against has changed (below);
 *   - this transaction has not itself changed what tokens are verified
 *     against (its own change is visible to the full check at once).
 * A token whose verification fails is not remembered.  At most
 * TOKEN_CACHE_SIZE tokens per backend (round robin), each a copy of the
 * context (bounded: verify_token_claims refuses longer claims).
 *
 * Invalidation across backends.  Every change of deling.trusted_key (a key
 * added, revoked, removed), deling.organisation and deling.kommune fires a
 * statement trigger (deling.token_cache_invalidate) that marks the
 * transaction; its commit moves one 64-bit atomic in shared memory twice:
 *   PRE_COMMIT  (before the change is visible): generation + 1, pending + 1
 *   COMMIT or ABORT (after it is visible, or gone):  generation + 1, pending - 1
 * (both in one word: generation in the high bits, pending in the low
 * PENDING_BITS).  An entry records the word it was verified under, read
 * before the verification took its snapshot and read again, unchanged,
 * after it; only a word with pending = 0 is recorded, and an entry is used
 * only while the word is still exactly that.  So from the moment a change
 * becomes visible (between its two moves) no entry verified without seeing
 * it is ever used again: while pending > 0 every lookup verifies in full,
 * and afterwards the word has moved past every word read before the first
 * move (the word only grows).  A transaction that changes these tables
 * cannot be prepared (its commit would happen elsewhere, unseen).
 * Changes that fire no trigger (session_replication_role = replica, a
 * disabled trigger: superusers and the owner only) are not seen: see
 * docs/tenancy.md, "Verified tokens, remembered".
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "deling.h"

#define TOKEN_CACHE_SIZE 128
#define DIGEST_LEN 32
/* a millisecond's margin at both ends of the window */
#define WINDOW_MARGIN 0.001
/* the shared word: generation << PENDING_BITS | pending */
#define PENDING_BITS 20
#define PENDING_MASK ((UINT64CONST(1) << PENDING_BITS) - 1)
#define GENERATION_STEP (UINT64CONST(1) << PENDING_BITS)

typedef struct TokenCacheShared
{
	pg_atomic_uint64 state;
} TokenCacheShared;

typedef struct TokenEntry
{
	bool		used;
	unsigned char digest[DIGEST_LEN];
	uint64		state;			/* the shared word it was verified under */
	char	   *settings;		/* in token_cxt */
	double		valid_from;		/* seconds since 1970 */
	double		valid_until;
	Jsonb	   *context;		/* in token_cxt */
} TokenEntry;

static TokenCacheShared *token_shared = NULL;
static TokenEntry token_cache[TOKEN_CACHE_SIZE];
static int	token_next;
static MemoryContext token_cxt = NULL;
static SPIPlanPtr claims_plan = NULL;
static bool changed_here = false;	/* this transaction changed what tokens are verified against */
static bool pre_committed = false;	/* and has moved the shared word at PRE_COMMIT */
static uint64 token_hits = 0;
static uint64 token_misses = 0;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* token_cache_shmem_request: room for TokenCacheShared */
static void
token_cache_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(TokenCacheShared)));
}

/* token_cache_shmem_startup: attach to (or create) TokenCacheShared */
static void
token_cache_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	token_shared = ShmemInitStruct("deling token cache", sizeof(TokenCacheShared), &found);
	if (!found)
		pg_atomic_init_u64(&token_shared->state, GENERATION_STEP);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * token_cache_xact: a transaction that changed trusted keys, organisations
 * or kommuner moves the shared word before its commit becomes visible
 * (generation + 1, pending + 1) and after (generation + 1, pending - 1; on
 * an abort after PRE_COMMIT too).  It cannot be prepared.
 */
static void
token_cache_xact(XactEvent event, void *arg)
{
	if (!changed_here)
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			if (!pre_committed)
			{
				pg_atomic_fetch_add_u64(&token_shared->state, GENERATION_STEP + 1);
				pre_committed = true;
			}
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			pg_atomic_fetch_add_u64(&token_shared->state,
									pre_committed ? GENERATION_STEP - 1 : GENERATION_STEP);
			changed_here = false;
			pre_committed = false;
			break;
		case XACT_EVENT_PRE_PREPARE:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("a transaction that changes trusted keys, organisations or kommuner cannot be prepared"),
					 errhint("Commit it directly: the verified-token caches of other sessions must see the change.")));
			break;
		default:
			break;
	}
}

/*
 * deling_token_cache_init: shared memory and the commit callback; called at
 * preload.
 */
void
deling_token_cache_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = token_cache_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = token_cache_shmem_startup;
	RegisterXactCallback(token_cache_xact, NULL);
}

PG_FUNCTION_INFO_V1(deling_token_cache_invalidate);

/*
 * token_cache_invalidate(): statement trigger of the tables a token is
 * verified against; every session's cached tokens go stale when this
 * transaction ends.
 */
Datum
deling_token_cache_invalidate(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("deling.token_cache_invalidate() must be called as a trigger")));
	changed_here = true;
	return PointerGetDatum(NULL);
}

/* settings_key: the token settings verification depends on, as one string */
static char *
settings_key(void)
{
	return psprintf("%s\n%s\n%s\n%s",
					GetConfigOption("deling.jwt_issuer", false, false),
					GetConfigOption("deling.jwt_audience", false, false),
					GetConfigOption("deling.jwt_leeway", false, false),
					GetConfigOption("deling.attestation_max_age", false, false));
}

/* setting_seconds: an integer setting in seconds */
static double
setting_seconds(const char *name)
{
	const char *hint = NULL;
	int			v = 0;

	if (!parse_int(GetConfigOption(name, false, false), &v, GUC_UNIT_S, &hint))
		elog(ERROR, "could not read setting \"%s\"", name);
	return v;
}

/* now_seconds: the transaction's now() as seconds since 1970 */
static double
now_seconds(void)
{
	return (double) GetCurrentTransactionStartTimestamp() / USECS_PER_SEC +
		(double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/* claim_number: a number member of a JSON object; false when absent or not a number */
static bool
claim_number(JsonbContainer *obj, const char *key, double *out)
{
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(obj, key, strlen(key), &v) == NULL || v.type != jbvNumeric)
		return false;
	/* beyond float8's range: +-infinity (a valid token may say exp 1e400) */
	*out = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, NumericGetDatum(v.val.numeric)));
	return true;
}

/*
 * attestation_toa: the toa of the token's Tillitsrammeverk attestation (the
 * first authorization_details element of its type), as verify_token_claims
 * finds it; false when there is none.
 */
static bool
attestation_toa(Jsonb *claims, double *toa)
{
	JsonbValue	ad;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (getKeyJsonValueFromContainer(&claims->root, "authorization_details", 21, &ad) == NULL ||
		ad.type != jbvBinary)
		return false;
	if (JsonContainerIsObject(ad.val.binary.data))
	{
		JsonbValue	type;

		if (getKeyJsonValueFromContainer(ad.val.binary.data, "type", 4, &type) == NULL || type.type != jbvString ||
			type.val.string.len != 31 || memcmp(type.val.string.val, "nhn:tillitsrammeverk:parameters", 31) != 0)
			return false;
		if (!claim_number(ad.val.binary.data, "toa", toa))
			elog(ERROR, "a verified attestation has no toa");
		return true;
	}
	it = JsonbIteratorInit(ad.val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		JsonbValue	type;

		if (tok != WJB_ELEM || v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			continue;
		if (getKeyJsonValueFromContainer(v.val.binary.data, "type", 4, &type) == NULL || type.type != jbvString ||
			type.val.string.len != 31 || memcmp(type.val.string.val, "nhn:tillitsrammeverk:parameters", 31) != 0)
			continue;
		if (!claim_number(v.val.binary.data, "toa", toa))
			elog(ERROR, "a verified attestation has no toa");
		return true;
	}
	return false;
}

/*
 * token_window: the times between which a token verified now stays valid
 * (from its verified claims, with verify_token_claims's rules).
 */
static void
token_window(Jsonb *claims, double *from, double *until)
{
	double		leeway = setting_seconds("deling.jwt_leeway");
	double		max_age = setting_seconds("deling.attestation_max_age");
	double		v;

	if (!claim_number(&claims->root, "exp", &v) || !claim_number(&claims->root, "iat", from))
		elog(ERROR, "a verified token has no exp or iat");
	*until = v + leeway;
	*from -= leeway;
	if (claim_number(&claims->root, "nbf", &v))
		*from = Max(*from, v - leeway);
	if (attestation_toa(claims, &v))
	{
		*from = Max(*from, v - leeway);
		*until = Min(*until, v + max_age);
	}
	*from += WINDOW_MARGIN;
	*until -= WINDOW_MARGIN;
}

/* copy_jsonb: a copy of a (detoasted) jsonb in cxt */
static Jsonb *
copy_jsonb(MemoryContext cxt, Jsonb *j)
{
	Jsonb	   *copy = MemoryContextAlloc(cxt, VARSIZE(j));

	memcpy(copy, j, VARSIZE(j));
	return copy;
}

/* lookup: the entry for a digest, or NULL */
static TokenEntry *
lookup(const unsigned char *digest)
{
	for (int i = 0; i < TOKEN_CACHE_SIZE; i++)
		if (token_cache[i].used && memcmp(token_cache[i].digest, digest, DIGEST_LEN) == 0)
			return &token_cache[i];
	return NULL;
}

/* forget: free an entry */
static void
forget(TokenEntry *e)
{
	if (e->settings)
		pfree(e->settings);
	if (e->context)
		pfree(e->context);
	memset(e, 0, sizeof(TokenEntry));
}

/*
 * verify_claims: deling.verify_token_claims(token) with a snapshot taken
 * now (READ COMMITTED: after the caller read the shared word).
 */
static Jsonb *
verify_claims(text *token)
{
	Datum		values[1];
	bool		isnull;
	Jsonb	   *context;
	MemoryContext cxt = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (claims_plan == NULL)
	{
		Oid			types[1] = {TEXTOID};
		SPIPlanPtr	plan = SPI_prepare("SELECT deling.verify_token_claims($1)", 1, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare deling.verify_token_claims");
		claims_plan = plan;
	}
	values[0] = PointerGetDatum(token);
	if (SPI_execute_plan(claims_plan, values, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "deling.verify_token_claims returned no row");
	context = DatumGetJsonbP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		elog(ERROR, "deling.verify_token_claims returned NULL");
	context = copy_jsonb(cxt, context);
	SPI_finish();
	return context;
}

PG_FUNCTION_INFO_V1(deling_verify_token);

/*
 * verify_token(token): the caller context an access token grants
 * (deling.verify_token_claims: RS256 signature, iss, aud, exp/nbf/iat,
 * HelseID claims, attestation), from the cache while that would answer
 * the same, else verified and remembered.  Errors as verify_token_claims.
 */
Datum
deling_verify_token(PG_FUNCTION_ARGS)
{
	text	   *token;
	unsigned char digest[DIGEST_LEN];
	unsigned int dlen = 0;
	char	   *settings = settings_key();
	double		now = now_seconds();
	TokenEntry *e;
	uint64		state;
	Jsonb	   *context;
	Jsonb	   *claims;
	double		from,
				until;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("invalid token: empty")));
	token = PG_GETARG_TEXT_PP(0);
	if (EVP_Digest(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), digest, &dlen, EVP_sha256(), NULL) != 1 ||
		dlen != DIGEST_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("SHA-256 digest failed")));

	state = pg_atomic_read_u64(&token_shared->state);
	e = lookup(digest);
	if (e != NULL)
	{
		/* e->state has pending = 0: equal means no change began since */
		if (e->state == state && !changed_here && strcmp(e->settings, settings) == 0 &&
			now >= e->valid_from && now < e->valid_until)
		{
			token_hits++;
			PG_RETURN_JSONB_P(copy_jsonb(CurrentMemoryContext, e->context));
		}
		forget(e);
	}

	token_misses++;
	context = verify_claims(token);

	/*
	 * Remember it only when no change was under way when the word was read,
	 * none began before the verification ended (which took a snapshot of its
	 * own, after the read: READ COMMITTED), and this transaction changed
	 * nothing itself.
	 */
	if (XactIsoLevel == XACT_READ_COMMITTED && !changed_here && (state & PENDING_MASK) == 0 &&
		pg_atomic_read_u64(&token_shared->state) == state)
	{
		MemoryContext old;

		claims = jwt_payload(token);
		token_window(claims, &from, &until);
		if (now >= from && now < until)
		{
			if (token_cxt == NULL)
				token_cxt = AllocSetContextCreate(TopMemoryContext, "deling token cache", ALLOCSET_SMALL_SIZES);
			e = &token_cache[token_next];
			token_next = (token_next + 1) % TOKEN_CACHE_SIZE;
			forget(e);
			old = MemoryContextSwitchTo(token_cxt);
			memcpy(e->digest, digest, DIGEST_LEN);
			e->state = state;
			e->settings = pstrdup(settings);
			e->valid_from = from;
			e->valid_until = until;
			e->context = copy_jsonb(token_cxt, context);
			e->used = true;
			MemoryContextSwitchTo(old);
		}
	}
	PG_RETURN_JSONB_P(context);
}

PG_FUNCTION_INFO_V1(deling_token_cache_status);

/*
 * token_cache_status(): this backend's verified-token cache: entries,
 * hits, misses, the shared generation and changes under way (tests and the
 * DBA).
 */
Datum
deling_token_cache_status(PG_FUNCTION_ARGS)
{
	int			n = 0;
	uint64		state = pg_atomic_read_u64(&token_shared->state);

	for (int i = 0; i < TOKEN_CACHE_SIZE; i++)
		if (token_cache[i].used)
			n++;
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(psprintf(
		"{\"entries\": %d, \"capacity\": %d, \"hits\": " UINT64_FORMAT ", \"misses\": " UINT64_FORMAT
		", \"generation\": " UINT64_FORMAT ", \"changes_under_way\": " UINT64_FORMAT "}",
		n, TOKEN_CACHE_SIZE, token_hits, token_misses, state >> PENDING_BITS, state & PENDING_MASK))));
}
