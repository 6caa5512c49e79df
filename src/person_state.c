/*
 * person_state.c
 *	  deling.person_state(pid): who holds a person (their registrations in
 *	  deling.patient_index: kommune, Patient.id, when) and the person's
 *	  active blocks, looked up once per snapshot.
 *
 * A read of one citizen asks for these several times: the blocks of each
 * service it reads, which kommuner hold the citizen, the Patient.id.  The
 * answer is one statement (deling.person_state_lookup; on Citus one router
 * query, both tables being distributed by pid on the same shard), and it is
 * remembered for as long as it cannot have changed: in the same
 * transaction, under a snapshot that sees the same transactions as
 * completed (the same in progress below the same bound) and the same own
 * commands, for the same role and caller context (the tables' policies
 * depend on them).  A block registered since is always seen.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "deling.h"

#define PERSON_MEMO_SIZE 4

/* what a snapshot sees: equal for two snapshots that see the same rows */
typedef struct SnapshotSeen
{
	TransactionId xmin;
	TransactionId xmax;
	CommandId	curcid;
	bool		suboverflowed;
	uint32		xcnt;
	int32		subxcnt;
	TransactionId *xip;			/* in TopTransactionContext */
	TransactionId *subxip;
} SnapshotSeen;

static LocalTransactionId memo_lxid = InvalidLocalTransactionId;
static int	memo_used;
static int	memo_next;
static struct
{
	char	   *pid;			/* in TopTransactionContext */
	Oid			user;			/* who looked it up (the tables' policies) */
	uint64		generation;		/* ... in which caller context */
	SnapshotSeen seen;			/* ... under which snapshot */
	Datum		value;			/* in TopTransactionContext */
}			memo[PERSON_MEMO_SIZE];

/*
 * same_seen: does the snapshot see what the one remembered saw?  The same
 * transactions in progress (xip, subxip) below the same bound, the rest
 * below it completed, and the same own commands.
 */
static bool
same_seen(const SnapshotSeen *seen, Snapshot snap)
{
	return seen->xmin == snap->xmin && seen->xmax == snap->xmax && seen->curcid == snap->curcid &&
		seen->suboverflowed == snap->suboverflowed && seen->xcnt == snap->xcnt && seen->subxcnt == snap->subxcnt &&
		(snap->xcnt == 0 || memcmp(seen->xip, snap->xip, sizeof(TransactionId) * snap->xcnt) == 0) &&
		(snap->subxcnt <= 0 || memcmp(seen->subxip, snap->subxip, sizeof(TransactionId) * snap->subxcnt) == 0);
}

static void
remember_seen(SnapshotSeen *seen, Snapshot snap)
{
	seen->xmin = snap->xmin;
	seen->xmax = snap->xmax;
	seen->curcid = snap->curcid;
	seen->suboverflowed = snap->suboverflowed;
	seen->xcnt = snap->xcnt;
	seen->subxcnt = snap->subxcnt;
	seen->xip = snap->xcnt > 0 ? palloc(sizeof(TransactionId) * snap->xcnt) : NULL;
	if (snap->xcnt > 0)
		memcpy(seen->xip, snap->xip, sizeof(TransactionId) * snap->xcnt);
	seen->subxip = snap->subxcnt > 0 ? palloc(sizeof(TransactionId) * snap->subxcnt) : NULL;
	if (snap->subxcnt > 0)
		memcpy(seen->subxip, snap->subxip, sizeof(TransactionId) * snap->subxcnt);
}

PG_FUNCTION_INFO_V1(deling_person_state);

/*
 * person_state(pid): deling.person_state_lookup's answer for the person,
 * remembered while the snapshot sees the same data.
 */
Datum
deling_person_state(PG_FUNCTION_ARGS)
{
	static Oid	fn = InvalidOid;
	static FmgrInfo flinfo;
	text	   *pid = PG_GETARG_TEXT_PP(0);
	char	   *p = text_to_cstring(pid);
	Snapshot	snap = ActiveSnapshotSet() ? GetActiveSnapshot() : NULL;
	bool		cacheable = snap != NULL && snap->snapshot_type == SNAPSHOT_MVCC && !snap->takenDuringRecovery;
	Datum		value;
	MemoryContext old;
	int			slot;

	if (memo_lxid != MyProc->lxid)
	{
		memo_lxid = MyProc->lxid;
		memo_used = 0;
		memo_next = 0;
	}
	if (cacheable)
		for (int i = 0; i < memo_used; i++)
			if (memo[i].user == GetUserId() && memo[i].generation == deling_context_generation() &&
				strcmp(memo[i].pid, p) == 0 && same_seen(&memo[i].seen, snap))
				PG_RETURN_DATUM(datumCopy(memo[i].value, false, -1));

	/* the function's OID changes when the extension is re-created */
	if (!OidIsValid(fn) || !SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(fn)))
	{
		Oid			argtypes[1] = {TEXTOID};

		fn = LookupFuncName(list_make2(makeString("deling"), makeString("person_state_lookup")), 1, argtypes, false);
		fmgr_info_cxt(fn, &flinfo, TopMemoryContext);
	}
	value = FunctionCall1(&flinfo, PointerGetDatum(pid));
	if (!cacheable)
		PG_RETURN_DATUM(value);

	slot = memo_used < PERSON_MEMO_SIZE ? memo_used++ : memo_next++ % PERSON_MEMO_SIZE;
	old = MemoryContextSwitchTo(TopTransactionContext);
	memo[slot].pid = pstrdup(p);
	memo[slot].user = GetUserId();
	memo[slot].generation = deling_context_generation();
	remember_seen(&memo[slot].seen, snap);
	memo[slot].value = datumCopy(value, false, -1);
	MemoryContextSwitchTo(old);
	PG_RETURN_DATUM(value);
}
