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

#include "fmgr.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/memutils.h"
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

static char *jwt_issuer;
static char *jwt_audience;
static int	jwt_leeway;
static int	attestation_max_age;

/*
 * deling_context_define_gucs: define the context settings (empty by
 * default, superuser-only, never from a file) and the token settings.
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
								   GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE |
								   GUC_NO_RESET_ALL,
								   NULL, NULL, NULL);

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
static const char *
context_kind(void)
{
	const char *kind = context_values[CTX_KIND];
	const char *owner = context_values[CTX_SESSION_USER];

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
 * Reach per transaction.  Every sharing read asks for the caller's reach
 * several times (the gate, and the policy of every table it reads); the
 * answer depends only on the context and on catalogue tables that do not
 * change during a request, so it is looked up once per transaction and
 * context.  A new context (pre_request, authenticate) is a new key.
 */
#define REACH_CACHE_SIZE 4
static LocalTransactionId reach_lxid = InvalidLocalTransactionId;
static int	reach_used;
static struct
{
	char	   *key;
	Datum		reach;			/* text[], in TopTransactionContext */
}			reach_cache[REACH_CACHE_SIZE];
static Oid	reach_lookup_oid = InvalidOid;
static FmgrInfo reach_lookup;

/* reach_key: the service and every context setting the reach depends on */
static char *
reach_key(text *service)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%u|%s|", GetSessionUserId(), service ? text_to_cstring(service) : "\x01");
	for (int i = 0; i < (int) N_CONTEXT; i++)
		appendStringInfo(&buf, "%s|", context_values[i] ? context_values[i] : "");
	return buf.data;
}

PG_FUNCTION_INFO_V1(deling_reach_for);

/*
 * reach_for(service): the kommuner the caller may read through a sharing
 * service (all services when NULL), from deling.reach_lookup the first time
 * in a transaction for this context and service.
 */
Datum
deling_reach_for(PG_FUNCTION_ARGS)
{
	text	   *service = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	char	   *key = reach_key(service);
	Datum		reach;
	int			slot;
	MemoryContext old;

	if (reach_lxid != MyProc->lxid)
	{
		reach_lxid = MyProc->lxid;
		reach_used = 0;
	}
	for (int i = 0; i < reach_used; i++)
		if (strcmp(reach_cache[i].key, key) == 0)
			PG_RETURN_DATUM(datumCopy(reach_cache[i].reach, false, -1));

	if (!OidIsValid(reach_lookup_oid) ||
		!SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(reach_lookup_oid)))
	{
		Oid			argtypes[1] = {TEXTOID};

		reach_lookup_oid = LookupFuncName(list_make2(makeString("deling"), makeString("reach_lookup")),
										  1, argtypes, false);
		fmgr_info_cxt(reach_lookup_oid, &reach_lookup, TopMemoryContext);
	}
	{
		LOCAL_FCINFO(call, 1);

		InitFunctionCallInfoData(*call, &reach_lookup, 1, InvalidOid, NULL, NULL);
		call->args[0].value = service ? PointerGetDatum(service) : (Datum) 0;
		call->args[0].isnull = service == NULL;
		reach = FunctionCallInvoke(call);
		if (call->isnull)
			elog(ERROR, "deling.reach_lookup returned NULL");
	}
	slot = reach_used < REACH_CACHE_SIZE ? reach_used++ : REACH_CACHE_SIZE - 1;
	old = MemoryContextSwitchTo(TopTransactionContext);
	reach_cache[slot].key = pstrdup(key);
	reach_cache[slot].reach = datumCopy(reach, false, -1);
	MemoryContextSwitchTo(old);
	PG_RETURN_DATUM(reach);
}
