/*
 * citus.c
 *	  deling on a Citus cluster: which node this is, and the guards that
 *	  keep a worker from answering with session state it does not have.
 *
 * On Citus (docs/scale-out.md) the coordinator is the only entry point:
 * the sharing functions, ingest and KPR run there, compute the caller's
 * reach from the context there, and send the workers statements that name
 * the kommuner explicitly.  A worker has no caller context: a statement
 * Citus ships to it runs in a session of its own, with no deling.ctx_*
 * set.  So everything in deling that reads the context refuses on a
 * worker (an error, never an empty answer), whatever pushed it there.
 *
 * The node is known from Citus' own catalog: pg_dist_local_group holds
 * this node's group, 0 on the coordinator (and on a node not yet added),
 * more on a worker.  No Citus header is needed, and nothing here loads or
 * calls Citus: without it this database is simply not a Citus node.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "deling.h"

static ProcessUtility_hook_type prev_process_utility = NULL;

/* this node's Citus group in the current transaction (-1: no Citus here) */
static LocalTransactionId group_lxid = InvalidLocalTransactionId;
static Oid	group_database = InvalidOid;
static int32 group_cached = -1;

/*
 * citus_local_group: this node's Citus group (pg_dist_local_group.groupid),
 * or -1 when Citus is not installed in this database (or there is no
 * database: a replication connection); read once per transaction (a
 * policy or a guard may ask for every row).
 */
static int32
citus_local_group(void)
{
	Oid			relid;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	int32		group = -1;

	if (!IsTransactionState() || !OidIsValid(MyDatabaseId))
		return -1;
	if (group_lxid == MyProc->lxid && group_database == MyDatabaseId)
		return group_cached;
	relid = get_relname_relid("pg_dist_local_group", PG_CATALOG_NAMESPACE);
	if (OidIsValid(relid))
	{
		rel = table_open(relid, AccessShareLock);
		scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
		tuple = systable_getnext(scan);
		if (HeapTupleIsValid(tuple))
		{
			bool		isnull;
			Datum		d = heap_getattr(tuple, 1, RelationGetDescr(rel), &isnull);

			group = isnull ? 0 : DatumGetInt32(d);
		}
		else
			group = 0;
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
	}
	group_cached = group;
	group_lxid = MyProc->lxid;
	group_database = MyDatabaseId;
	return group;
}

/*
 * deling_citus_worker: is this node a Citus worker (a group other than the
 * coordinator's)?
 */
bool
deling_citus_worker(void)
{
	return citus_local_group() > 0;
}

/*
 * citus_internal_session: a session Citus opened from another node
 * (application_name "citus_internal gpid=..."); any client can claim the
 * name, so it is only ever a reason to refuse or to do less, never to allow.
 */
static bool
citus_internal_session(void)
{
	return application_name != NULL && strncmp(application_name, "citus_internal", 14) == 0;
}

/*
 * deling_citus_refuse_on_worker: raise unless this is not a Citus worker.
 * Every function that reads the caller context calls it: on a worker the
 * context is never there, and an answer computed without it would be
 * empty or wrong, not refused.
 */
void
deling_citus_refuse_on_worker(const char *what)
{
	if (deling_citus_worker())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("deling: %s ran on a Citus worker, which has no caller context", what),
				 errdetail("Citizen data is read and written through deling's functions on the coordinator, "
						   "which name the kommuner in every statement they send to a worker."),
				 errhint("Connect to the coordinator.")));
}

/*
 * deling_citus_session_show: the show hook of the settings that are the
 * coordinator's session's (the caller context, KPR's test mode).  A
 * statement the coordinator ships to a worker runs in a Citus session of
 * the worker's own; reading such a setting there (current_setting, SHOW)
 * would see the worker's value, not the caller's - an empty context that
 * applies no block towards the caller's organisation, say.  Such a read is
 * refused instead.
 */
const char *
deling_citus_session_show(const char *what, const char *value)
{
	if (citus_internal_session() && deling_citus_worker())
		deling_citus_refuse_on_worker(what);
	return value;
}

/*
 * deling_process_utility: a NOTIFY of deling's install or update script
 * (PostgREST's "reload schema") is left out when the script runs on a node
 * Citus created the extension on (a worker, or a node being added): there
 * it runs inside Citus' distributed transaction, which a NOTIFY would keep
 * from preparing (two-phase commit), so CREATE EXTENSION through the
 * coordinator and citus_add_node would fail.  PostgREST listens on the
 * coordinator, whose own run of the script still notifies.
 */
static void
deling_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					   ProcessUtilityContext context, ParamListInfo params,
					   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (IsA(pstmt->utilityStmt, NotifyStmt) && creating_extension &&
		CurrentExtensionObject == get_extension_oid("deling", true) &&
		(citus_internal_session() || deling_citus_worker()))
		return;
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

/* deling_citus_init: at preload, the utility hook (chained) */
void
deling_citus_init(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = deling_process_utility;
}

PG_FUNCTION_INFO_V1(deling_citus_node);

/*
 * citus_node(): what this node is to Citus: 'none' (Citus is not installed
 * in this database), 'coordinator' (group 0: the coordinator, or a node not
 * yet added to a cluster) or 'worker'.
 */
Datum
deling_citus_node(PG_FUNCTION_ARGS)
{
	int32		group = citus_local_group();

	PG_RETURN_TEXT_P(cstring_to_text(group < 0 ? "none" : group == 0 ? "coordinator" : "worker"));
}

PG_FUNCTION_INFO_V1(deling_citus_direct_access);

/*
 * citus_direct_access(table): the policy of a distributed table towards
 * every role but deling_owner and deling_admin.  On Citus the caller's
 * role reaches citizen data only through deling's functions, which run as
 * deling_owner and name the kommuner; a direct read or write of a shard is
 * refused, on every node, when the statement is planned (the function is
 * IMMUTABLE, so the planner evaluates it: the refusal never depends on a
 * row being found).
 */
Datum
deling_citus_direct_access(PG_FUNCTION_ARGS)
{
	const char *table = PG_ARGISNULL(0) ? "this table" : text_to_cstring(PG_GETARG_TEXT_PP(0));

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("deling: %s is distributed by Citus and read and written only through deling's functions",
					table),
			 errdetail("A worker has no caller context, so a direct read could not be limited to the caller's kommune."),
			 errhint("Use the api functions (ingest, sharing reads) through the coordinator.")));
	PG_RETURN_BOOL(false);
}
