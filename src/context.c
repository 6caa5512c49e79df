/*
 * context.c
 *	  The caller context: who calls, for which kommune, and why.
 *
 * The context is a set of PGC_SUSET settings (deling.ctx_*).  Ordinary
 * roles cannot SET, set_config or ALTER ROLE ... SET them; the only way in
 * is deling.set_context_value(), whose EXECUTE privilege belongs to the
 * extension's NOLOGIN owner role alone and is used only by
 * deling.authenticate() and deling.pre_request() after a token verified.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/acl.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "deling.h"

/* Settings that make up the caller context, in the order whoami() shows. */
static const char *const context_names[] = {
	"deling.ctx_kind",
	"deling.ctx_role",
	"deling.ctx_pid",
	"deling.ctx_hpr",
	"deling.ctx_name",
	"deling.ctx_orgnr_parent",
	"deling.ctx_orgnr_child",
	"deling.ctx_kommune_nr",
	"deling.ctx_purpose",
	"deling.ctx_decision_ref",
	"deling.ctx_token_id",
	"deling.ctx_client_id",
	"deling.ctx_session_user",
	"deling.ctx_request_id",
};

#define N_CONTEXT lengthof(context_names)

static char *context_values[N_CONTEXT];

/*
 * Bumped whenever a context setting changes value, also when a transaction
 * or subtransaction rolls a change back, so that remembered answers (below)
 * are never used for another context.
 */
static uint64 context_generation = 0;

static void
context_assign(const char *newval, void *extra)
{
	context_generation++;
}

/* deling_context_generation: changes whenever the caller context may have */
uint64
deling_context_generation(void)
{
	return context_generation;
}

/*
 * The settings' show hooks: on a Citus worker, a statement the coordinator
 * shipped there must not read the context (there is none; see citus.c).
 */
#define CONTEXT_SHOW(i) \
	static const char *context_show_##i(void) \
	{ \
		return deling_citus_session_show("a read of the caller context", context_values[i] ? context_values[i] : ""); \
	}
CONTEXT_SHOW(0) CONTEXT_SHOW(1) CONTEXT_SHOW(2) CONTEXT_SHOW(3) CONTEXT_SHOW(4) CONTEXT_SHOW(5) CONTEXT_SHOW(6)
CONTEXT_SHOW(7) CONTEXT_SHOW(8) CONTEXT_SHOW(9) CONTEXT_SHOW(10) CONTEXT_SHOW(11) CONTEXT_SHOW(12) CONTEXT_SHOW(13)

static const GucShowHook context_shows[] = {
	context_show_0, context_show_1, context_show_2, context_show_3, context_show_4, context_show_5, context_show_6,
	context_show_7, context_show_8, context_show_9, context_show_10, context_show_11, context_show_12, context_show_13,
};

StaticAssertDecl(lengthof(context_shows) == N_CONTEXT, "one show hook per context setting");

/*
 * The read-only caller settings (below): deling.caller_kommune and one
 * deling.caller_kommune_for_<slot> per sharing service (deling.service's
 * rls_slot); their show hooks compute them.
 */
#define N_SERVICE_SLOTS 32

static char *caller_kommune_value;
static char *caller_slot_values[N_SERVICE_SLOTS + 1];
static const char *caller_kommune_show(void);
static const char *caller_slot_show(int slot);

#define SLOT_SHOW(i) \
	static const char *caller_slot_show_##i(void) { return caller_slot_show(i); }
SLOT_SHOW(1) SLOT_SHOW(2) SLOT_SHOW(3) SLOT_SHOW(4) SLOT_SHOW(5) SLOT_SHOW(6) SLOT_SHOW(7) SLOT_SHOW(8)
SLOT_SHOW(9) SLOT_SHOW(10) SLOT_SHOW(11) SLOT_SHOW(12) SLOT_SHOW(13) SLOT_SHOW(14) SLOT_SHOW(15) SLOT_SHOW(16)
SLOT_SHOW(17) SLOT_SHOW(18) SLOT_SHOW(19) SLOT_SHOW(20) SLOT_SHOW(21) SLOT_SHOW(22) SLOT_SHOW(23) SLOT_SHOW(24)
SLOT_SHOW(25) SLOT_SHOW(26) SLOT_SHOW(27) SLOT_SHOW(28) SLOT_SHOW(29) SLOT_SHOW(30) SLOT_SHOW(31) SLOT_SHOW(32)

static const GucShowHook caller_slot_shows[] = {
	NULL, caller_slot_show_1, caller_slot_show_2, caller_slot_show_3, caller_slot_show_4, caller_slot_show_5,
	caller_slot_show_6, caller_slot_show_7, caller_slot_show_8, caller_slot_show_9, caller_slot_show_10,
	caller_slot_show_11, caller_slot_show_12, caller_slot_show_13, caller_slot_show_14, caller_slot_show_15,
	caller_slot_show_16, caller_slot_show_17, caller_slot_show_18, caller_slot_show_19, caller_slot_show_20,
	caller_slot_show_21, caller_slot_show_22, caller_slot_show_23, caller_slot_show_24, caller_slot_show_25,
	caller_slot_show_26, caller_slot_show_27, caller_slot_show_28, caller_slot_show_29, caller_slot_show_30,
	caller_slot_show_31, caller_slot_show_32,
};

StaticAssertDecl(lengthof(caller_slot_shows) == N_SERVICE_SLOTS + 1, "one show hook per service slot");

static char *jwt_issuer;
static char *jwt_audience;
static int	jwt_leeway;
static int	attestation_max_age;

/*
 * deling_context_define_gucs: define the context settings (empty by
 * default, superuser-only, never from a file) and the token settings.
 * RESET ALL and DISCARD ALL clear the context like any other setting: a
 * pooler that resets a connection with them must not hand the previous
 * caller's context to the next client.
 */
void
deling_context_define_gucs(void)
{
	for (int i = 0; i < (int) N_CONTEXT; i++)
		DefineCustomStringVariable(context_names[i],
								   "deling caller context (set only by deling's token verification).",
								   NULL,
								   &context_values[i],
								   "",
								   PGC_SUSET,
								   GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
								   NULL, context_assign, context_shows[i]);

	DefineCustomStringVariable("deling.caller_kommune",
							   "The kommune the calling integration acts for ('' for none); read-only, from the caller context.",
							   NULL, &caller_kommune_value, "",
							   PGC_INTERNAL, GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							   NULL, NULL, caller_kommune_show);
	for (int i = 1; i <= N_SERVICE_SLOTS; i++)
	{
		char		name[64];

		snprintf(name, sizeof(name), "deling.caller_kommune_for_%d", i);
		DefineCustomStringVariable(name,
								   "The kommune the calling integration acts for if it has enabled the sharing service with this rls_slot ('' otherwise); read-only, from the caller context.",
								   NULL, &caller_slot_values[i], "",
								   PGC_INTERNAL, GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
								   NULL, NULL, caller_slot_shows[i]);
	}

	DefineCustomStringVariable("deling.jwt_issuer",
							   "Issuer (iss) that access tokens must carry.",
							   NULL, &jwt_issuer, "https://helseid-sts.nhn.no",
							   PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("deling.jwt_audience",
							   "The single audience (aud) that access tokens must carry.",
							   NULL, &jwt_audience, "nhn:deling",
							   PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("deling.jwt_leeway",
							"Clock skew allowed when checking exp, nbf and iat.",
							NULL, &jwt_leeway, 60, 0, 600,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("deling.attestation_max_age",
							"Maximum age of a Tillitsrammeverk attestation (toa).",
							NULL, &attestation_max_age, 3600, 60, 86400,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
}

PG_FUNCTION_INFO_V1(deling_set_context_value);

/*
 * set_context_value(name, value, is_local): assign one context setting with
 * superuser authority.  Only context settings are accepted, so the function
 * cannot be used to change anything else even by its privileged callers.
 */
Datum
deling_set_context_value(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *value;
	bool		is_local;
	bool		known = false;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("context name and scope must not be null")));
	deling_citus_refuse_on_worker("setting the caller context");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	value = PG_ARGISNULL(1) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	is_local = PG_GETARG_BOOL(2);

	for (int i = 0; i < (int) N_CONTEXT; i++)
		if (strcmp(name, context_names[i]) == 0)
			known = true;
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a deling context setting", name)));

	(void) set_config_option(name, value, PGC_SUSET, PGC_S_SESSION,
							 is_local ? GUC_ACTION_LOCAL : GUC_ACTION_SET,
							 true, 0, false);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(deling_outer_role);

/*
 * outer_role(): the role the caller runs as outside any SECURITY DEFINER
 * function (the role PostgREST switched to), so that pre_request can check
 * it against the verified token.
 */
Datum
deling_outer_role(PG_FUNCTION_ARGS)
{
	deling_citus_refuse_on_worker("deling.outer_role()");
	PG_RETURN_TEXT_P(cstring_to_text(GetUserNameFromId(GetOuterUserId(), false)));
}

/* Positions in context_names of the settings read below. */
#define CTX_KIND			0
#define CTX_PID				2
#define CTX_SESSION_USER	12

/*
 * context_kind: the verified context's kind, or "" when there is none or it
 * was verified for another session user (a context never outlives SET
 * SESSION AUTHORIZATION).
 */
const char *
context_kind(void)
{
	const char *kind = context_values[CTX_KIND];
	const char *owner = context_values[CTX_SESSION_USER];

	deling_citus_refuse_on_worker("a read of the caller context");
	if (kind == NULL || owner == NULL || kind[0] == '\0' ||
		strcmp(owner, GetUserNameFromId(GetSessionUserId(), false)) != 0)
		return "";
	return kind;
}

PG_FUNCTION_INFO_V1(deling_ctx_kind);

/*
 * ctx_kind(): the kind of the caller context ('person', 'integration',
 * 'citizen' or '').  In C because every policy and every sharing read asks;
 * it reads no table, so it needs no pinned search_path.
 */
Datum
deling_ctx_kind(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(context_kind()));
}

PG_FUNCTION_INFO_V1(deling_ctx_citizen_pid);

/*
 * ctx_citizen_pid(): the identity number of a citizen calling through the
 * citizen's channel, else NULL.  Policies call it once per statement.
 */
Datum
deling_ctx_citizen_pid(PG_FUNCTION_ARGS)
{
	const char *pid = context_values[CTX_PID];

	if (strcmp(context_kind(), "citizen") != 0 || pid == NULL || pid[0] == '\0')
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(pid));
}

/*
 * Caller facts per transaction.  Every sharing read and every RLS policy
 * asks for the caller's kommune or reach, several times per request (the
 * gate, and the policy of every table a statement reads); the answers
 * depend only on the context and on catalogue tables that do not change
 * during a request, so each is looked up once per transaction and context
 * by its PL/pgSQL function and remembered here.  Any change of a context
 * setting (pre_request, authenticate, a rollback) or of the session user
 * makes a new key.
 */
#define MEMO_SIZE 8
static LocalTransactionId memo_lxid = InvalidLocalTransactionId;
static int	memo_used;
static struct
{
	const void *lookup;			/* the MemoLookup */
	char	   *arg;			/* in TopTransactionContext; NULL for none */
	uint64		generation;		/* context_generation when looked up */
	Oid			session_user;
	Datum		value;			/* in TopTransactionContext */
	bool		isnull;
}			memo[MEMO_SIZE];

/* A lookup function whose answers are remembered. */
typedef struct MemoLookup
{
	const char *name;			/* in schema deling, one text argument or none */
	int			nargs;
	bool		byval;
	int16		typlen;
	Oid			oid;
	FmgrInfo	flinfo;
} MemoLookup;

static MemoLookup reach_lookup = {.name = "reach_lookup", .nargs = 1, .typlen = -1};
static MemoLookup kommune_lookup = {.name = "current_kommune_lookup", .nargs = 0, .typlen = -1};
static MemoLookup kommune_for_lookup = {.name = "current_kommune_for_lookup", .nargs = 1, .typlen = -1};
static MemoLookup caller_slots_lookup = {.name = "current_kommune_slots_lookup", .nargs = 0, .typlen = -1};

/*
 * lookup_function: the OID of the lookup f, a function of the extension
 * deling in this database, InvalidOid when there is none.  Found in the
 * extension's schema and checked to be its member, never by a name another
 * role could have created first (the show hooks below run in every
 * database, as whoever reads a setting), and without a privilege check:
 * the lookups answer for every role.
 */
static Oid
lookup_function(MemoLookup *f)
{
	Oid			ext = get_extension_oid("deling", true);
	Oid			argtypes[1] = {TEXTOID};
	Oid			oid;

	if (!OidIsValid(ext))
		return InvalidOid;
	/* the extension's schema (deling.control: schema = deling, not relocatable) */
	oid = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum(f->name),
						  PointerGetDatum(buildoidvector(argtypes, f->nargs)),
						  ObjectIdGetDatum(get_namespace_oid("deling", true)));
	if (!OidIsValid(oid) || getExtensionOfObject(ProcedureRelationId, oid) != ext)
		return InvalidOid;
	return oid;
}

/*
 * memo_call: the lookup's answer for arg in this transaction and context,
 * calling it the first time; NULL when missing_ok and deling's lookup is
 * not there (a database without the extension), else an error.
 */
static Datum
memo_call(MemoLookup *f, text *arg, bool missing_ok, bool *isnull)
{
	char	   *a = arg ? text_to_cstring(arg) : NULL;
	Oid			user = GetSessionUserId();
	MemoryContext old;
	Datum		value;
	int			slot;

	deling_citus_refuse_on_worker(f->name);
	if (memo_lxid != MyProc->lxid)
	{
		memo_lxid = MyProc->lxid;
		memo_used = 0;
	}
	for (int i = 0; i < memo_used; i++)
		if (memo[i].lookup == f && memo[i].generation == context_generation &&
			memo[i].session_user == user &&
			(a == NULL ? memo[i].arg == NULL : memo[i].arg != NULL && strcmp(memo[i].arg, a) == 0))
		{
			*isnull = memo[i].isnull;
			return memo[i].isnull ? (Datum) 0 : datumCopy(memo[i].value, f->byval, f->typlen);
		}

	/* the function's OID changes when the extension is re-created */
	if (!OidIsValid(f->oid) || !SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(f->oid)))
	{
		f->oid = lookup_function(f);
		if (!OidIsValid(f->oid))
		{
			if (!missing_ok)
				elog(ERROR, "deling: function deling.%s of the extension is missing", f->name);
			*isnull = true;
			return (Datum) 0;
		}
		fmgr_info_cxt(f->oid, &f->flinfo, TopMemoryContext);
	}
	{
		LOCAL_FCINFO(call, 1);

		InitFunctionCallInfoData(*call, &f->flinfo, f->nargs, InvalidOid, NULL, NULL);
		if (f->nargs == 1)
		{
			call->args[0].value = arg ? PointerGetDatum(arg) : (Datum) 0;
			call->args[0].isnull = arg == NULL;
		}
		value = FunctionCallInvoke(call);
		*isnull = call->isnull;
	}
	slot = memo_used < MEMO_SIZE ? memo_used++ : MEMO_SIZE - 1;
	old = MemoryContextSwitchTo(TopTransactionContext);
	memo[slot].lookup = f;
	memo[slot].arg = a ? pstrdup(a) : NULL;
	memo[slot].generation = context_generation;
	memo[slot].session_user = user;
	memo[slot].isnull = *isnull;
	memo[slot].value = *isnull ? (Datum) 0 : datumCopy(value, f->byval, f->typlen);
	MemoryContextSwitchTo(old);
	return value;
}

PG_FUNCTION_INFO_V1(deling_reach_for);

/*
 * reach_for(service): the kommuner the caller may read through a sharing
 * service (all services when NULL); deling.reach_lookup, remembered.
 */
Datum
deling_reach_for(PG_FUNCTION_ARGS)
{
	bool		isnull;
	Datum		reach = memo_call(&reach_lookup, PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0), false, &isnull);

	if (isnull)
		elog(ERROR, "deling.reach_lookup returned NULL");
	PG_RETURN_DATUM(reach);
}

/*
 * context_current_kommune: current_kommune() for C callers (NULL for none).
 */
text *
context_current_kommune(void)
{
	bool		isnull;
	Datum		k = memo_call(&kommune_lookup, NULL, false, &isnull);

	return isnull ? NULL : DatumGetTextPP(k);
}

PG_FUNCTION_INFO_V1(deling_current_kommune);

/*
 * current_kommune(): the kommune the calling integration acts for (NULL for
 * other callers); deling.current_kommune_lookup, remembered.
 */
Datum
deling_current_kommune(PG_FUNCTION_ARGS)
{
	bool		isnull;
	Datum		k = memo_call(&kommune_lookup, NULL, false, &isnull);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(k);
}

PG_FUNCTION_INFO_V1(deling_current_kommune_for);

/*
 * current_kommune_for(service): the calling integration's kommune if it has
 * enabled the sharing service, else NULL; the policy of every sharing
 * table towards integrations.  deling.current_kommune_for_lookup,
 * remembered.
 */
Datum
deling_current_kommune_for(PG_FUNCTION_ARGS)
{
	bool		isnull;
	Datum		k;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	k = memo_call(&kommune_for_lookup, PG_GETARG_TEXT_PP(0), false, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(k);
}

/*
 * The caller's kommune and the slots of the services it has enabled, for
 * the read-only caller settings: a policy reads one at the start of every
 * index scan, so the answer is kept ready per transaction and context.
 */
static struct
{
	bool		valid;
	LocalTransactionId lxid;
	uint64		generation;
	Oid			session_user;
	char		kommune[NAMEDATALEN];	/* '' for none */
	bool		enabled[N_SERVICE_SLOTS + 1];
}			caller;

/*
 * caller_text: a lookup's answer as a C string (NULL for none)
 */
static char *
caller_text(MemoLookup *f)
{
	bool		isnull;
	Datum		v = memo_call(f, NULL, true, &isnull);

	return isnull ? NULL : TextDatumGetCString(v);
}

/*
 * caller_answer: fill caller for this transaction and context; false when
 * there is none to give.  Outside a transaction or a database, on a Citus
 * worker (where a statement Citus shipped is refused), and while a lookup
 * runs (it never reads these settings: no recursion), none.  A bare SHOW
 * runs with no snapshot: it shows what a statement of the transaction has
 * looked up, and looks nothing up itself (taking the transaction's
 * snapshot would change what SET TRANSACTION may do next).  In a database
 * without deling the caller has no kommune.
 */
static bool
caller_answer(void)
{
	static bool looking_up = false;
	char	   *kommune = NULL;
	char	   *slots = NULL;

	if (!IsTransactionState() || !OidIsValid(MyDatabaseId))
		return false;
	if (caller.valid && caller.lxid == MyProc->lxid && caller.generation == context_generation &&
		caller.session_user == GetSessionUserId())
		return true;
	if (looking_up || !ActiveSnapshotSet())
		return false;
	caller.valid = false;
	if (deling_citus_worker())
	{
		(void) deling_citus_session_show("a read of the caller context", "");
		return false;
	}
	looking_up = true;
	PG_TRY();
	{
		kommune = caller_text(&kommune_lookup);
		slots = kommune ? caller_text(&caller_slots_lookup) : NULL;
	}
	PG_FINALLY();
	{
		looking_up = false;
	}
	PG_END_TRY();

	if (kommune && strlen(kommune) >= sizeof(caller.kommune))
		elog(ERROR, "deling: kommune number \"%s\" too long", kommune);
	strlcpy(caller.kommune, kommune ? kommune : "", sizeof(caller.kommune));
	for (int i = 1; i <= N_SERVICE_SLOTS; i++)
	{
		char		key[16];

		snprintf(key, sizeof(key), ",%d,", i);
		caller.enabled[i] = slots != NULL && strstr(slots, key) != NULL;
	}
	caller.lxid = MyProc->lxid;
	caller.generation = context_generation;
	caller.session_user = GetSessionUserId();
	caller.valid = true;
	return true;
}

/*
 * caller_kommune_show: deling.caller_kommune, current_kommune() or ''.
 * The read-only caller settings are what the integrations' row-level
 * security policies compare with, through current_setting, a built-in: a
 * statement then pays neither an init plan nor a call of one of deling's
 * functions (each pins its search_path), and one function in the policy
 * where every function costs a privilege check when a statement starts.
 * Nobody can SET them (PGC_INTERNAL): only the caller context (a verified
 * token, the DBA's integration binding) and the catalogue decide them.
 */
static const char *
caller_kommune_show(void)
{
	return caller_answer() ? caller.kommune : "";
}

/*
 * caller_slot_show: deling.caller_kommune_for_<slot>, the caller's kommune
 * if it has enabled the sharing service with that rls_slot, else ''.
 */
static const char *
caller_slot_show(int slot)
{
	return caller_answer() && caller.enabled[slot] ? caller.kommune : "";
}

PG_FUNCTION_INFO_V1(deling_kpr_reading);

/*
 * kpr_reading(): does the caller run (outside SECURITY DEFINER functions)
 * as a member of deling_kpr or deling_admin?  The sharing policies let the
 * logged KPR functions read across kommuner through it.
 */
Datum
deling_kpr_reading(PG_FUNCTION_ARGS)
{
	Oid			outer = GetOuterUserId();
	Oid			kpr = get_role_oid("deling_kpr", true);
	Oid			admin = get_role_oid("deling_admin", true);

	deling_citus_refuse_on_worker("deling.kpr_reading()");

	PG_RETURN_BOOL((OidIsValid(kpr) && is_member_of_role(outer, kpr)) ||
				   (OidIsValid(admin) && is_member_of_role(outer, admin)));
}
