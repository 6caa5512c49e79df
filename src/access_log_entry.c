/*
 * access_log_entry.c
 *	  deling.log_access in C: the access-log entry of a read or a refusal,
 *	  built from the caller context and the read's facts, every value a
 *	  caller supplies bounded, written durably (access_log_emit_entry).
 *
 * It writes exactly the entry the PL/pgSQL function of 0.1.0 wrote (the
 * same keys, values and bounds; sql/20_access_log_entry.sql compares the
 * two in every kind of context), without the SQL functions that function
 * called per value, which were parsed and planned again in every
 * transaction: most of the cost of an entry.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "access_log.h"
#include "deling.h"

/*
 * deling_clip: a caller-supplied text bounded as deling.clip(v, max) bounds it:
 * whole when at most max characters, else its first max characters and
 * "…[truncated, N characters]".  NULL for NULL.
 */
char *
deling_clip(const char *v, int max)
{
	int			len;
	int			chars;
	int			keep;
	char	   *marker;

	if (v == NULL)
		return NULL;
	len = strlen(v);
	chars = pg_mbstrlen_with_len(v, len);
	if (chars <= max)
		return pstrdup(v);
	keep = pg_mbcharcliplen(v, len, max);
	marker = pg_any_to_server("\xE2\x80\xA6", 3, PG_UTF8);
	return psprintf("%.*s%s[truncated, %d characters]", keep, v, marker, chars);
}

/* setting: a context setting's value, NULL when empty (nullif(..., '')) */
static const char *
setting(const char *name)
{
	const char *v = GetConfigOption(name, false, false);

	return v == NULL || v[0] == '\0' ? NULL : v;
}

/* push_string: key and string value into the object, unless value is NULL */
static void
push_string(JsonbParseState **state, const char *key, const char *value)
{
	JsonbValue	k;
	JsonbValue	v;

	if (value == NULL)
		return;
	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v.type = jbvString;
	v.val.string.val = (char *) value;
	v.val.string.len = strlen(value);
	(void) pushJsonbValue(state, WJB_KEY, &k);
	(void) pushJsonbValue(state, WJB_VALUE, &v);
}

/* push_jsonb: key and a jsonb value (a container or a scalar) */
static void
push_jsonb(JsonbParseState **state, const char *key, Jsonb *value)
{
	JsonbValue	k;
	JsonbValue	v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	(void) pushJsonbValue(state, WJB_KEY, &k);
	if (JB_ROOT_IS_SCALAR(value))
	{
		if (!JsonbExtractScalar(&value->root, &v))
			elog(ERROR, "could not read a jsonb scalar");
	}
	else
	{
		v.type = jbvBinary;
		v.val.binary.data = &value->root;
		v.val.binary.len = VARSIZE(value) - VARHDRSZ;
	}
	(void) pushJsonbValue(state, WJB_VALUE, &v);
}

/*
 * access_log_field_text: jsonb ->> key of an object (NULL for a missing
 * key, a JSON null or a value that is not an object); also the drain's
 * derived columns.
 */
char *
access_log_field_text(Jsonb *obj, const char *key)
{
	JsonbValue	v;

	if (obj == NULL || !JB_ROOT_IS_OBJECT(obj) ||
		getKeyJsonValueFromContainer(&obj->root, key, strlen(key), &v) == NULL)
		return NULL;
	switch (v.type)
	{
		case jbvNull:
			return NULL;
		case jbvString:
			return pnstrdup(v.val.string.val, v.val.string.len);
		case jbvBool:
			return pstrdup(v.val.boolean ? "true" : "false");
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
		default:
			return JsonbToCString(NULL, v.val.binary.data, v.val.binary.len);
	}
}

/* trimmed: btrim(v) with NULL for NULL and for what is only spaces (nullif) */
static char *
trimmed(const char *v)
{
	const char *end;

	if (v == NULL)
		return NULL;
	while (*v == ' ')
		v++;
	end = v + strlen(v);
	while (end > v && end[-1] == ' ')
		end--;
	return end == v ? NULL : pnstrdup(v, end - v);
}

/*
 * now_utc: the current time as entries carry it (deling.access_log_now):
 * 2026-11-23T15:04:05.000000Z.
 */
static char *
now_utc(void)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(GetCurrentTimestamp(), NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
					tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
}

/*
 * kommuner_jsonb: to_jsonb(coalesce(kommuner, '{}')): a JSON array of the
 * kommuner's numbers (nested for a multi-dimensional array, which the
 * entry check then refuses).
 */
static Jsonb *
kommuner_jsonb(ArrayType *kommuner)
{
	JsonbParseState *state = NULL;
	JsonbValue *result;
	Datum	   *items;
	bool	   *nulls;
	int			n;

	if (kommuner != NULL && ARR_NDIM(kommuner) > 1)
		return DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
												  CStringGetDatum(text_to_cstring(DatumGetTextPP(
														DirectFunctionCall1(array_to_json, PointerGetDatum(kommuner)))))));
	(void) pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	if (kommuner != NULL)
	{
		deconstruct_array(kommuner, TEXTOID, -1, false, TYPALIGN_INT, &items, &nulls, &n);
		for (int i = 0; i < n; i++)
		{
			JsonbValue	v;

			if (nulls[i])
				v.type = jbvNull;
			else
			{
				text	   *t = DatumGetTextPP(items[i]);

				v.type = jbvString;
				v.val.string.val = VARDATA_ANY(t);
				v.val.string.len = VARSIZE_ANY_EXHDR(t);
			}
			(void) pushJsonbValue(&state, WJB_ELEM, &v);
		}
	}
	result = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	return JsonbValueToJsonb(result);
}

/*
 * decision_ref: the token's decision_ref as the entry carries it: NULL
 * without a context; longer than 1,000 characters or not an object, its id
 * and description clipped and its length; its null members left out.
 */
static Jsonb *
decision_ref(const char *kind)
{
	const char *raw = kind[0] != '\0' ? setting("deling.ctx_decision_ref") : NULL;
	Jsonb	   *ref;
	char	   *text;
	int			chars;

	if (raw == NULL)
		return NULL;
	ref = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(raw)));
	text = JsonbToCString(NULL, &ref->root, VARSIZE(ref));
	chars = pg_mbstrlen_with_len(text, strlen(text));
	if (chars > 1000 || !JB_ROOT_IS_OBJECT(ref) || JB_ROOT_IS_SCALAR(ref))
	{
		JsonbParseState *state = NULL;
		JsonbValue	k;
		JsonbValue	v;

		(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		push_string(&state, "id", deling_clip(access_log_field_text(ref, "id"), 200));
		push_string(&state, "description", deling_clip(access_log_field_text(ref, "description"), 500));
		k.type = jbvString;
		k.val.string.val = "truncated";
		k.val.string.len = strlen("truncated");
		v.type = jbvNumeric;
		v.val.numeric = int64_to_numeric(chars);
		(void) pushJsonbValue(&state, WJB_KEY, &k);
		(void) pushJsonbValue(&state, WJB_VALUE, &v);
		return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
	}
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_strip_nulls, JsonbPGetDatum(ref)));
}

/*
 * build_entry: the entry of a read or refusal for the current caller, from
 * log_access's arguments (in fcinfo): who (from the verified context),
 * which organisation, when, which citizen and kommuner, which service, the
 * purpose, granted or denied and why, how many resources, the token and
 * request ids; flags are merged last (NULL flags add nothing), and no
 * member is null.
 */
static Jsonb *
build_entry(FunctionCallInfo fcinfo)
{
	const char *kind = context_kind();
	bool		person = strcmp(kind, "person") == 0;
	bool		ctx = kind[0] != '\0';
	char	   *purpose = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	const char *effective = setting("deling.ctx_purpose");
	bool		etreat;
	Jsonb	   *ref;
	text	   *acting_for;
	JsonbParseState *state = NULL;
	JsonbValue	k;
	JsonbValue	v;
	Jsonb	   *entry;

	if (effective == NULL)
		effective = purpose;
	etreat = effective != NULL && strcmp(effective, "ETREAT") == 0;
	ref = decision_ref(kind);
	acting_for = (text *) context_current_kommune();

	(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_string(&state, "time", now_utc());
	push_string(&state, "service", PG_ARGISNULL(0) ? NULL : deling_clip(text_to_cstring(PG_GETARG_TEXT_PP(0)), 64));
	push_string(&state, "citizen", PG_ARGISNULL(1) ? NULL : deling_clip(text_to_cstring(PG_GETARG_TEXT_PP(1)), 32));
	push_jsonb(&state, "kommuner", kommuner_jsonb(PG_ARGISNULL(2) ? NULL : PG_GETARG_ARRAYTYPE_P(2)));
	push_string(&state, "decision", !PG_ARGISNULL(5) && PG_GETARG_BOOL(5) ? "granted" : "denied");
	push_string(&state, "why", PG_ARGISNULL(6) ? NULL : deling_clip(text_to_cstring(PG_GETARG_TEXT_PP(6)), 1000));
	if (!PG_ARGISNULL(7))
	{
		k.type = jbvString;
		k.val.string.val = "resources";
		k.val.string.len = strlen("resources");
		v.type = jbvNumeric;
		v.val.numeric = int64_to_numeric(PG_GETARG_INT32(7));
		(void) pushJsonbValue(&state, WJB_KEY, &k);
		(void) pushJsonbValue(&state, WJB_VALUE, &v);
	}
	push_string(&state, "kind", ctx ? kind : NULL);
	push_string(&state, "role", GetUserNameFromId(GetOuterUserId(), false));
	if (ctx)
	{
		push_string(&state, "hpr", deling_clip(setting("deling.ctx_hpr"), 32));
		push_string(&state, "actor_pid", deling_clip(setting("deling.ctx_pid"), 32));
		push_string(&state, "name", deling_clip(setting("deling.ctx_name"), 200));
		push_string(&state, "orgnr_parent", deling_clip(setting("deling.ctx_orgnr_parent"), 32));
		push_string(&state, "orgnr_child", deling_clip(setting("deling.ctx_orgnr_child"), 32));
		push_string(&state, "client_id", deling_clip(setting("deling.ctx_client_id"), 200));
		push_string(&state, "token_id", deling_clip(setting("deling.ctx_token_id"), 200));
		push_string(&state, "request_id", deling_clip(setting("deling.ctx_request_id"), 200));
	}
	push_string(&state, "acting_for", acting_for ? text_to_cstring(acting_for) : NULL);
	push_string(&state, "purpose", deling_clip(effective, 20));
	if (ref != NULL)
		push_jsonb(&state, "decision_ref", ref);
	if (etreat && person)
	{
		k.type = jbvString;
		k.val.string.val = "emergency";
		k.val.string.len = strlen("emergency");
		v.type = jbvBool;
		v.val.boolean = true;
		(void) pushJsonbValue(&state, WJB_KEY, &k);
		(void) pushJsonbValue(&state, WJB_VALUE, &v);
	}
	if (etreat)
	{
		/* deling.emergency_reason: the argument, else the decision_ref's description */
		char	   *why = PG_ARGISNULL(4) ? NULL : trimmed(text_to_cstring(PG_GETARG_TEXT_PP(4)));

		if (why == NULL && setting("deling.ctx_decision_ref") != NULL)
			why = trimmed(access_log_field_text(DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
																				   CStringGetDatum(setting("deling.ctx_decision_ref")))),
												"description"));
		push_string(&state, "reason", deling_clip(why, 1000));
	}
	push_string(&state, "session_user", GetUserNameFromId(GetSessionUserId(), false));
	entry = JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));

	/* flags last: they add to the entry, or replace what it says; no nulls */
	if (!PG_ARGISNULL(8))
		entry = DatumGetJsonbP(DirectFunctionCall1(jsonb_strip_nulls,
												   DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(entry), PG_GETARG_DATUM(8))));
	return entry;
}

PG_FUNCTION_INFO_V1(deling_access_log_entry);

/*
 * access_log_entry(service, pid, kommuner, purpose, reason, granted, why,
 * resources, flags): the entry log_access would write now (build_entry),
 * without writing it; for tests.
 */
Datum
deling_access_log_entry(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(build_entry(fcinfo));
}

PG_FUNCTION_INFO_V1(deling_log_access);

/*
 * log_access(service, pid, kommuner, purpose, reason, granted, why,
 * resources, flags): write one durable access-log entry for the current
 * caller (build_entry); refused with 55000 while the log cannot take
 * entries.  Only the sharing functions may execute it.
 */
Datum
deling_log_access(PG_FUNCTION_ARGS)
{
	access_log_require_ready();
	(void) access_log_emit_entry(build_entry(fcinfo));
	PG_RETURN_VOID();
}
