/*
 * ingest.c
 *	  Helpers for batch ingest: parse values without raising, so that a
 *	  batch can report every bad item at once instead of stopping at the
 *	  first error or paying for a subtransaction per item; the batch check
 *	  (deling.ingest_problems) and the pilots' item checks in one pass over
 *	  each item (no pinned SQL function called per item).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "deling.h"
#include "fhir_common.h"

/*
 * parse_timestamptz: the timestamp with time zone str denotes, as
 * timestamptz_in reads a date and time; false (never an error) when it is
 * not a valid date and time.
 */
static bool
parse_timestamptz(const char *str, TimestampTz *result)
{
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	int			tz;
	struct pg_tm tt;
	fsec_t		fsec;

	return strlen(str) <= MAXDATELEN &&
		ParseDateTime(str, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf) == 0 &&
		DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, &tz) == 0 &&
		dtype == DTK_DATE &&
		tm2timestamp(&tt, fsec, &tz, result) == 0 &&
		IS_VALID_TIMESTAMP(*result);
}

PG_FUNCTION_INFO_V1(deling_try_timestamptz);

/*
 * try_timestamptz(text): the timestamp with time zone the text denotes, or
 * NULL when it is not a valid date and time (month 13, 25:00, garbage).
 */
Datum
deling_try_timestamptz(PG_FUNCTION_ARGS)
{
	char	   *str = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz result;

	if (!parse_timestamptz(str, &result))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(result);
}

/* ---------------------------------------------------------------------------
 * Reading an item (a JSON object) as the SQL checks read it
 * ---------------------------------------------------------------------------
 */

/* what every check of one batch shares: the transaction's now, Norway's date */
typedef struct CheckClock
{
	bool		known;
	TimestampTz now;
	int			today;			/* Julian day of (now() AT TIME ZONE 'Europe/Oslo')::date */
} CheckClock;

/* an item check: NULL when the item is valid, else what is wrong */
typedef char *(*ItemCheck) (JsonbValue *item, CheckClock *clock);

/* clock_init: the batch's now and Norway's date, read once */
static void
clock_init(CheckClock *clock)
{
	if (!clock->known)
	{
		clock->now = GetCurrentTransactionStartTimestamp();
		clock->today = fhir_oslo_date(clock->now) + POSTGRES_EPOCH_JDATE;
		clock->known = true;
	}
}

/* item_of: a jsonb datum as one value (a scalar, or its object or array) */
static void
item_of(Jsonb *jb, JsonbValue *item)
{
	if (!JsonbExtractScalar(&jb->root, item))
	{
		item->type = jbvBinary;
		item->val.binary.data = &jb->root;
		item->val.binary.len = VARSIZE(jb) - VARHDRSZ;
	}
}

/* cget: obj->key of an object container (NULL when the key is absent) */
static JsonbValue *
cget(JsonbContainer *obj, const char *key)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
}

/*
 * Fields: an item's members, read in one pass: the checks look a field up
 * several dozen times, and a search of the container recomputes offsets
 */
typedef struct Fields
{
	int			n;
	JsonbValue *keys;
	JsonbValue *vals;
} Fields;

/* fields_of: the members of an object container, in one iteration */
static void
fields_of(JsonbContainer *obj, Fields *f)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			size = JsonContainerSize(obj);

	f->n = 0;
	f->keys = palloc(sizeof(JsonbValue) * Max(size, 1));
	f->vals = palloc(sizeof(JsonbValue) * Max(size, 1));
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			f->keys[f->n] = v;
		else if (tok == WJB_VALUE)
			f->vals[f->n++] = v;
	}
}

/* get: item->key (NULL when the key is absent) */
static JsonbValue *
get(Fields *f, const char *key)
{
	int			len = strlen(key);

	for (int i = 0; i < f->n; i++)
		if (f->keys[i].val.string.len == len && memcmp(f->keys[i].val.string.val, key, len) == 0)
			return &f->vals[i];
	return NULL;
}

/* is_null: item->key is absent or JSON null (coalesce(jsonb_typeof(...), 'null') = 'null') */
static bool
is_null(JsonbValue *v)
{
	return v == NULL || v->type == jbvNull;
}

/* is_object / is_array: the jsonb_typeof of a value */
static bool
is_object(JsonbValue *v)
{
	return v != NULL && v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

static bool
is_array(JsonbValue *v)
{
	return v != NULL && v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

/* json_text: a value as jsonb_out writes it (item->key in a message) */
static char *
json_text(JsonbValue *v)
{
	StringInfoData buf;

	switch (v->type)
	{
		case jbvNull:
			return pstrdup("null");
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvString:
			initStringInfo(&buf);
			escape_json(&buf, pnstrdup(v->val.string.val, v->val.string.len));
			return buf.data;
		default:
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
	}
}

/* value_text: a value as ->> gives it (NULL for JSON null or no value) */
static char *
value_text(JsonbValue *v)
{
	if (is_null(v))
		return NULL;
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	return json_text(v);
}

/* clipped: value_text bounded for a message (deling.clip) */
static char *
clipped(JsonbValue *v, int max)
{
	return deling_clip(value_text(v), max);
}

/* shown: a text for format('%s'): NULL shows as nothing */
static const char *
shown(const char *s)
{
	return s ? s : "";
}

/* text_is: a JSON string equal to s */
static bool
text_is(JsonbValue *v, const char *s)
{
	return v != NULL && v->type == jbvString && v->val.string.len == (int) strlen(s) &&
		memcmp(v->val.string.val, s, v->val.string.len) == 0;
}

/* text_in: a JSON string equal to one of the NULL-terminated list */
static bool
text_in(JsonbValue *v, const char *const *list)
{
	for (; *list; list++)
		if (text_is(v, *list))
			return true;
	return false;
}

/* digits: n ASCII digits at s */
static bool
digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * iso_datetime_form: s matches
 * ^[0-9]{4}-[0-9]{2}-[0-9]{2}<sep>[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,max_frac})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$
 * where sep is T, or T or a space when space_ok (max_frac 0: any number)
 */
static bool
iso_datetime_form(const char *s, int len, bool space_ok, int max_frac)
{
	int			i;

	if (len < 17 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
		!(s[10] == 'T' || (space_ok && s[10] == ' ')) || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2))
		return false;
	i = 16;
	if (i < len && s[i] == ':')
	{
		if (i + 3 > len || !digits(s + i + 1, 2))
			return false;
		i += 3;
		if (i < len && s[i] == '.')
		{
			int			n = 0;

			i++;
			while (i < len && s[i] >= '0' && s[i] <= '9')
				i++, n++;
			if (n == 0 || (max_frac > 0 && n > max_frac))
				return false;
		}
	}
	if (i < len && s[i] == 'Z')
		return i + 1 == len;
	if (i >= len || (s[i] != '+' && s[i] != '-') || i + 3 > len || !digits(s + i + 1, 2))
		return false;
	i += 3;
	if (i == len)
		return true;
	if (s[i] == ':')
		i++;
	return i + 2 == len && digits(s + i, 2);
}

/* all_of: s (len bytes) matches ^[set]{lo,hi}$ for a set of ASCII characters */
static bool
all_of(const char *s, int len, const char *set, int lo, int hi)
{
	if (len < lo || len > hi)
		return false;
	for (int i = 0; i < len; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return false;
	return true;
}

/*
 * iso_date: deling.iso_date(v): the Julian day of a strict YYYY-MM-DD date
 * that exists; false when v is not one
 */
static bool
iso_date(const char *v, int *jd)
{
	char		buf[32];
	TimestampTz ts;

	if (v == NULL || strlen(v) != 10 || !digits(v, 4) || v[4] != '-' || !digits(v + 5, 2) || v[7] != '-' ||
		!digits(v + 8, 2))
		return false;
	snprintf(buf, sizeof(buf), "%sT12:00:00Z", v);
	if (!parse_timestamptz(buf, &ts))
		return false;
	*jd = date2j(atoi(v), atoi(v + 5), atoi(v + 8));
	return true;
}

/*
 * date_bound_problem: deling.date_bound_problem(what, d, years): NULL when
 * the date lies between 1900-01-01 and years ahead of Norway's today
 */
static char *
date_bound_problem(CheckClock *clock, const char *what, const char *d, int jd, int years)
{
	int			y,
				m,
				day;
	int			limit;

	if (jd < date2j(1900, 1, 1))
		return psprintf("%s %s is before 1900-01-01", what, d);
	clock_init(clock);
	j2date(clock->today, &y, &m, &day);
	y += years;
	if (day > day_tab[isleap(y)][m - 1])
		day = day_tab[isleap(y)][m - 1];
	limit = date2j(y, m, day);
	if (jd > limit)
		return psprintf("%s %s is more than %s ahead", what, d,
						years == 1 ? "a year" : psprintf("%d years", years));
	return NULL;
}

/*
 * fields_problem: deling.item_fields_problem: the unknown fields (not
 * allowed, not private: starting with _), in text order, else the required
 * fields that are missing or null, in their order; NULL when neither
 */
static char *
fields_problem(Fields *obj, const char *const *allowed, const char *const *required)
{
	char	  **bad = NULL;
	int			nbad = 0;
	StringInfoData buf;

	for (int k = 0; k < obj->n; k++)
	{
		JsonbValue *v = &obj->keys[k];
		bool		known = false;

		if (v->val.string.len > 0 && v->val.string.val[0] == '_')
			continue;
		for (const char *const *a = allowed; *a && !known; a++)
			known = (int) strlen(*a) == v->val.string.len && memcmp(*a, v->val.string.val, v->val.string.len) == 0;
		if (known)
			continue;
		if (bad == NULL)
			bad = palloc(sizeof(char *) * obj->n);
		bad[nbad++] = pnstrdup(v->val.string.val, v->val.string.len);
	}
	initStringInfo(&buf);
	if (nbad > 0)
	{
		/* ORDER BY k: the database's collation (an insertion sort: few keys) */
		for (int i = 1; i < nbad; i++)
			for (int j = i; j > 0 && varstr_cmp(bad[j - 1], strlen(bad[j - 1]), bad[j], strlen(bad[j]),
												DEFAULT_COLLATION_OID) > 0; j--)
			{
				char	   *t = bad[j];

				bad[j] = bad[j - 1];
				bad[j - 1] = t;
			}
		appendStringInfoString(&buf, "unknown field(s): ");
		for (int i = 0; i < nbad; i++)
			appendStringInfo(&buf, "%s%s", i ? ", " : "", bad[i]);
		return buf.data;
	}
	for (const char *const *r = required; *r; r++)
		if (is_null(get(obj, *r)))
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "missing field(s): ", *r);
	return buf.len ? buf.data : NULL;
}

/* the checks every item check starts with (and its fields read); *done when they decided */
static char *
item_start(JsonbValue *item, Fields *obj, bool *done)
{
	JsonbValue *v;

	*done = true;
	if (!is_object(item))
		return pstrdup("item is not a JSON object");
	fields_of(item->val.binary.data, obj);
	if ((v = get(obj, "_unresolved")) != NULL)
		return psprintf("reference \"%s\" is not a resource in the Bundle", shown(clipped(v, 200)));
	if ((v = get(obj, "_problem")) != NULL)
		return value_text(v);
	*done = false;
	return NULL;
}

/* string_problem: '%s must be a string' for the first field that is neither null nor a string */
static char *
string_problem(Fields *obj, const char *const *fields)
{
	for (; *fields; fields++)
	{
		JsonbValue *v = get(obj, *fields);

		if (!is_null(v) && v->type != jbvString)
			return psprintf("%s must be a string, not %s", *fields, deling_clip(json_text(v), 40));
	}
	return NULL;
}

/* source_problem: the source key's checks (after string_problem) */
static char *
source_problem(Fields *obj)
{
	JsonbValue *sys = get(obj, "source_system");
	JsonbValue *id = get(obj, "source_id");
	int			chars;

	if (!all_of(sys->val.string.val, sys->val.string.len,
				"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:/-", 1, 100))
		return psprintf("source_system \"%s\" must be 1-100 characters of A-Z a-z 0-9 . _ : / -", clipped(sys, 40));
	chars = pg_mbstrlen_with_len(id->val.string.val, id->val.string.len);
	if (chars < 1 || chars > 200)
		return pstrdup("source_id must be 1-200 characters");
	return NULL;
}

/* pid_problem: deling.fnr_problem of the (string) pid, in the item's words */
static char *
pid_problem(JsonbValue *pid)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		r;

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = PointerGetDatum(cstring_to_text_with_len(pid->val.string.val, pid->val.string.len));
	fcinfo->args[0].isnull = false;
	r = deling_fnr_problem(fcinfo);
	if (fcinfo->isnull)
		return NULL;
	return psprintf("pid \"%s\" is not a valid identity number: %s", clipped(pid, 20), TextDatumGetCString(r));
}

/* orgnr_ok: deling.orgnr_valid of a string */
static bool
orgnr_ok(JsonbValue *v)
{
	return DatumGetBool(DirectFunctionCall1(deling_orgnr_valid,
											PointerGetDatum(cstring_to_text_with_len(v->val.string.val,
																					 v->val.string.len))));
}

/* num_cmp_int: compare a numeric with an integer */
static int
num_cmp_int(Numeric n, int64 i)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(n), NumericGetDatum(int64_to_numeric(i))));
}

/* whole_int4: numeric_out text of a whole number within int4 (as the NEWS2 check tests it) */
static bool
whole_int4(const char *s)
{
	const char *dot = strchr(s, '.');
	const char *d = s[0] == '-' ? s + 1 : s;
	int			intlen = dot ? dot - d : (int) strlen(d);

	if (dot)
		for (const char *p = dot + 1; *p; p++)
			if (*p != '0')
				return false;
	/* numeric_out writes no leading zeros: compare the integer part's digits */
	return intlen < 10 || (intlen == 10 && strncmp(d, "2147483647", 10) <= 0);
}

/* whole_int4_value: the value of a text whole_int4 accepted (its integer part) */
static int32
whole_int4_value(const char *s)
{
	const char *dot = strchr(s, '.');

	return pg_strtoint32(dot ? pnstrdup(s, dot - s) : s);
}

PG_FUNCTION_INFO_V1(deling_news2_item_problem);

/* news2_check: deling.news2_item_problem of one item */
static char *
news2_check(JsonbValue *item, CheckClock *clock)
{
	static const char *const allowed[] = {"pid", "measured_at", "resp_rate", "spo2", "spo2_scale", "on_oxygen",
		"oxygen_flow", "systolic_bp", "pulse", "consciousness", "temperature", "recorded_by", "unit_name",
	"unit_orgnr", "source_system", "source_id", "status", "kommune_nr", NULL};
	static const char *const required[] = {"pid", "measured_at", "resp_rate", "spo2", "on_oxygen", "systolic_bp",
	"pulse", "consciousness", "temperature", "source_system", "source_id", NULL};
	static const char *const ints[] = {"resp_rate", "spo2", "spo2_scale", "systolic_bp", "pulse", NULL};
	static const char *const nums[] = {"temperature", "oxygen_flow", NULL};
	static const char *const strings[] = {"pid", "measured_at", "consciousness", "source_system", "source_id",
	"recorded_by", "unit_name", "unit_orgnr", "status", NULL};
	static const char *const statuses[] = {"final", "entered-in-error", NULL};
	Fields		fields;
	Fields	   *obj = &fields;
	JsonbValue *v;
	JsonbValue *flow;
	JsonbValue *on_oxygen;
	char	   *int_text[5];
	char	   *problem;
	char	   *s;
	bool		done;
	TimestampTz ts;

	problem = item_start(item, obj, &done);
	if (done)
		return problem;
	if ((problem = fields_problem(obj, allowed, required)) != NULL)
		return problem;
	for (int i = 0; ints[i]; i++)
	{
		v = get(obj, ints[i]);
		int_text[i] = NULL;
		if (is_null(v))
			continue;
		if (v->type != jbvNumeric || !whole_int4(int_text[i] = json_text(v)))
			return psprintf("%s must be a whole number, not %s", ints[i], deling_clip(json_text(v), 40));
	}
	for (int i = 0; nums[i]; i++)
	{
		v = get(obj, nums[i]);
		if (!is_null(v) && v->type != jbvNumeric)
			return psprintf("%s must be a number, not %s", nums[i], deling_clip(json_text(v), 40));
	}
	on_oxygen = get(obj, "on_oxygen");
	if (on_oxygen->type != jbvBool)
		return psprintf("on_oxygen must be true or false, not %s", deling_clip(json_text(on_oxygen), 40));
	if ((problem = string_problem(obj, strings)) != NULL)
		return problem;
	if ((problem = pid_problem(get(obj, "pid"))) != NULL)
		return problem;
	v = get(obj, "measured_at");
	if (!iso_datetime_form(v->val.string.val, v->val.string.len, true, 0))
		return psprintf("measured_at \"%s\" must be an ISO 8601 date and time with a UTC offset, e.g. 2026-11-20T08:15:00+01:00",
						clipped(v, 40));
	s = value_text(v);
	if (!parse_timestamptz(s, &ts))
		return psprintf("measured_at \"%s\" is not a valid date and time", s);
	clock_init(clock);
	if (ts > clock->now + 5 * 60 * USECS_PER_SEC)
		return psprintf("measured_at %s is in the future", s);
	if (ts < -((TimestampTz) (POSTGRES_EPOCH_JDATE - date2j(1900, 1, 1))) * USECS_PER_DAY)
		return psprintf("measured_at %s is before 1900", s);
	flow = get(obj, "oxygen_flow");
	if (!is_null(flow) && (num_cmp_int(flow->val.numeric, 0) < 0 || num_cmp_int(flow->val.numeric, 60) > 0))
		return psprintf("oxygen_flow %s is outside 0-60 L/min", deling_clip(json_text(flow), 40));
	if (!on_oxygen->val.boolean && !is_null(flow) && num_cmp_int(flow->val.numeric, 0) > 0)
		return pstrdup("oxygen_flow is given but on_oxygen is false");
	v = get(obj, "status");
	if (!is_null(v) && !text_in(v, statuses))
		return psprintf("status \"%s\" is not final or entered-in-error (amendments are detected by source_id)",
						clipped(v, 40));
	v = get(obj, "recorded_by");
	if (!is_null(v) && !all_of(v->val.string.val, v->val.string.len, "0123456789", 1, 9))
		return psprintf("recorded_by \"%s\" is not an HPR number", clipped(v, 40));
	v = get(obj, "unit_orgnr");
	if (!is_null(v) && !orgnr_ok(v))
		return psprintf("unit_orgnr \"%s\" is not a valid organisasjonsnummer", clipped(v, 40));
	if ((problem = source_problem(obj)) != NULL)
		return problem;

	/* deling.news2_problem: what the chart cannot score */
	{
		LOCAL_FCINFO(fcinfo, 8);
		Datum		r;
		int32		n[5];

		/* the whole numbers checked above (70.0 is 70, as the ingest stores it) */
		for (int i = 0; ints[i]; i++)
			n[i] = int_text[i] ? whole_int4_value(int_text[i]) : 1;
		InitFunctionCallInfoData(*fcinfo, NULL, 8, InvalidOid, NULL, NULL);
		fcinfo->args[0].value = Int32GetDatum(n[0]);
		fcinfo->args[1].value = Int32GetDatum(n[1]);
		fcinfo->args[2].value = Int32GetDatum(n[2]);
		fcinfo->args[3].value = BoolGetDatum(on_oxygen->val.boolean);
		fcinfo->args[4].value = Int32GetDatum(n[3]);
		fcinfo->args[5].value = Int32GetDatum(n[4]);
		v = get(obj, "consciousness");
		fcinfo->args[6].value = PointerGetDatum(cstring_to_text_with_len(v->val.string.val, v->val.string.len));
		fcinfo->args[7].value = NumericGetDatum(get(obj, "temperature")->val.numeric);
		for (int i = 0; i < 8; i++)
			fcinfo->args[i].isnull = false;
		r = deling_news2_problem(fcinfo);
		return fcinfo->isnull ? NULL : TextDatumGetCString(r);
	}
}

/*
 * item_problem: an item check's SQL entry point: NULL when the item (the
 * argument) passes check, else the first problem it names
 */
static Datum
item_problem(FunctionCallInfo fcinfo, char *(*check) (JsonbValue *, CheckClock *))
{
	JsonbValue	item;
	CheckClock	clock = {0};
	char	   *problem;

	if (PG_ARGISNULL(0))
		PG_RETURN_TEXT_P(cstring_to_text("item is not a JSON object"));
	item_of(PG_GETARG_JSONB_P(0), &item);
	problem = check(&item, &clock);
	if (problem == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(problem));
}

/*
 * news2_item_problem(jsonb): NULL when a JSON item is a valid NEWS2
 * measurement, else what is wrong (the first problem, in the order the
 * checks are listed in the ingest documentation)
 */
Datum
deling_news2_item_problem(PG_FUNCTION_ARGS)
{
	return item_problem(fcinfo, news2_check);
}

/* a stop of a municipal service, in the order the check reads them */
typedef struct ItemStop
{
	JsonbValue *v;
	char	   *from;			/* stop->>'from' */
	int			ord;
} ItemStop;

/* stop_cmp: ORDER BY s->>'from' (the database's collation, NULLs last; ties as given) */
static int
stop_cmp(const void *a, const void *b)
{
	const ItemStop *x = a;
	const ItemStop *y = b;
	int			c;

	if (x->from == NULL || y->from == NULL)
		c = (x->from == NULL) - (y->from == NULL);
	else
		c = varstr_cmp(x->from, strlen(x->from), y->from, strlen(y->from), DEFAULT_COLLATION_OID);
	return c ? c : x->ord - y->ord;
}

/* member_text: obj->>key of a stop (NULL for a stop that is not an object) */
static char *
member_text(JsonbValue *v, const char *key)
{
	return is_object(v) ? value_text(cget(v->val.binary.data, key)) : NULL;
}

/* stops_problem: the stops' checks of municipal_service_item_problem */
static char *
stops_problem(JsonbValue *stops, CheckClock *clock, const char *start, const char *end, bool ended)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	ItemStop	   *s;
	int			n = 0;
	int			start_jd = 0,
				end_jd = 0;
	bool		has_start = iso_date(start, &start_jd);
	bool		has_end = iso_date(end, &end_jd);
	bool		has_prev = false;
	int			prev = 0;		/* PG_INT32_MAX: infinity */

	if (stops == NULL)
		return NULL;
	s = palloc(sizeof(ItemStop) * JsonContainerSize(stops->val.binary.data));
	it = JsonbIteratorInit(stops->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		s[n].v = palloc(sizeof(JsonbValue));
		*s[n].v = v;
		s[n].from = member_text(s[n].v, "from");
		s[n].ord = n;
		n++;
	}
	qsort(s, n, sizeof(ItemStop), stop_cmp);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *stop = s[i].v;
		char	   *to = member_text(stop, "to");
		int			from_jd = 0,
					to_jd = 0;
		bool		bad = !is_object(stop) || !iso_date(s[i].from, &from_jd);
		bool		has_to = to != NULL && iso_date(to, &to_jd);
		char	   *problem;

		if (!bad)
		{
			JsonbValue *tv = cget(stop->val.binary.data, "to");

			if (!is_null(tv) && !has_to)
				bad = true;
			if ((int) JsonContainerSize(stop->val.binary.data) > 1 + (tv ? 1 : 0))
				bad = true;
		}
		if (bad)
			return psprintf("stop %s is not {\"from\": \"YYYY-MM-DD\", \"to\": \"YYYY-MM-DD\" or absent}",
							deling_clip(json_text(stop), 200));
		if (has_to && to_jd < from_jd)
			return psprintf("stop from %s ends before it starts (%s)", s[i].from, to);
		if ((has_start && from_jd < start_jd) || (has_end && from_jd > end_jd))
			return psprintf("stop from %s is outside the service period", s[i].from);
		if (has_to && has_end && to_jd > end_jd)
			return psprintf("stop from %s to %s runs past the service's end %s", s[i].from, to, end);
		if (!has_to && ended)
			return psprintf("stop from %s has no end, but the service has ended (%s): give the stop's last day",
							s[i].from, shown(end));
		if (has_to && (problem = date_bound_problem(clock, "stop end", to, to_jd, 10)) != NULL)
			return problem;
		if (has_prev && from_jd <= prev)
			return psprintf("stop from %s overlaps the stop before it", s[i].from);
		has_prev = true;
		prev = has_to ? to_jd : PG_INT32_MAX;
	}
	return NULL;
}

PG_FUNCTION_INFO_V1(deling_municipal_service_item_problem);

/* services_check: deling.municipal_service_item_problem of one item */
static char *
services_check(JsonbValue *item, CheckClock *clock)
{
	static const char *const allowed[] = {"pid", "service_code", "status", "vedtak_date", "period_start",
		"period_end", "stops", "weekly_hours", "stay_type", "service_level", "description", "unit_name",
	"unit_orgnr", "unit_phone", "source_system", "source_id", "kommune_nr", "registered_at", NULL};
	static const char *const required[] = {"pid", "service_code", "status", "period_start", "source_system",
	"source_id", NULL};
	static const char *const strings[] = {"pid", "service_code", "status", "vedtak_date", "period_start",
		"period_end", "stay_type", "service_level", "description", "unit_name", "unit_orgnr", "unit_phone",
	"source_system", "source_id", "registered_at", NULL};
	static const char *const statuses[] = {"applied", "granted", "active", "on-hold", "ended", "cancelled",
	"entered-in-error", NULL};
	static const char *const dates[] = {"vedtak_date", "period_start", "period_end", NULL};
	static const int years[] = {1, 1, 10};
	static const char *const stays[] = {"dagopphold", "nattopphold", "korttidsopphold", "langtidsopphold", NULL};
	Fields		fields;
	Fields	   *obj = &fields;
	JsonbValue *v;
	char	   *problem;
	char	   *date_text[3];
	int			date_jd[3];
	bool		date_ok[3];
	bool		done;
	bool		ended;

	problem = item_start(item, obj, &done);
	if (done)
		return problem;
	if ((problem = fields_problem(obj, allowed, required)) != NULL)
		return problem;
	if ((problem = string_problem(obj, strings)) != NULL)
		return problem;
	if ((problem = pid_problem(get(obj, "pid"))) != NULL)
		return problem;
	v = get(obj, "service_code");
	if (!all_of(v->val.string.val, v->val.string.len, "0123456789", 1, 4) ||
		strspn(value_text(v), "0") == (size_t) v->val.string.len)
		return psprintf("service_code \"%s\" is not a code of list 9151 (1-4 digits)", clipped(v, 40));
	v = get(obj, "status");
	if (!text_in(v, statuses))
		return psprintf("status \"%s\" is not applied, granted, active, on-hold, ended, cancelled or entered-in-error",
						clipped(v, 40));
	ended = text_is(v, "ended");
	for (int i = 0; dates[i]; i++)
	{
		date_text[i] = value_text(get(obj, dates[i]));
		date_ok[i] = iso_date(date_text[i], &date_jd[i]);
		if (date_text[i] != NULL && !date_ok[i])
			return psprintf("%s \"%s\" is not a date (YYYY-MM-DD)", dates[i], deling_clip(date_text[i], 40));
	}
	v = get(obj, "registered_at");
	if (!is_null(v))
	{
		char	   *s = value_text(v);
		TimestampTz ts;

		if (!iso_datetime_form(v->val.string.val, v->val.string.len, false, 6) || !parse_timestamptz(s, &ts))
			return psprintf("registered_at \"%s\" is not an ISO 8601 timestamp with a UTC offset (e.g. 2026-11-20T08:00:00+01:00)",
							deling_clip(s, 40));
		clock_init(clock);
		if (ts > clock->now + 5 * 60 * USECS_PER_SEC)
			return psprintf("registered_at %s is in the future", s);
		if (ts < -((TimestampTz) (POSTGRES_EPOCH_JDATE - date2j(1900, 1, 1))) * USECS_PER_DAY)
			return psprintf("registered_at %s is before 1900", s);
	}
	/* dates between 1900 and a year ahead (a service's end: ten years) */
	for (int i = 0; dates[i]; i++)
		if (date_ok[i] && (problem = date_bound_problem(clock, dates[i], date_text[i], date_jd[i], years[i])) != NULL)
			return problem;
	if (date_ok[2] && date_ok[1] && date_jd[2] < date_jd[1])
		return psprintf("period_end %s is before period_start %s", date_text[2], date_text[1]);
	if (ended && date_text[2] == NULL)
		return pstrdup("an ended service needs period_end");
	v = get(obj, "weekly_hours");
	if (!is_null(v) && v->type != jbvNumeric)
		return psprintf("weekly_hours must be a number, not %s", deling_clip(json_text(v), 40));
	if (!is_null(v) && (num_cmp_int(v->val.numeric, 0) < 0 || num_cmp_int(v->val.numeric, 168) > 0))
		return psprintf("weekly_hours %s is outside 0-168 (hours in a week)", deling_clip(json_text(v), 40));
	v = get(obj, "stay_type");
	if (!is_null(v) && !text_in(v, stays))
		return psprintf("stay_type \"%s\" is not dagopphold, nattopphold, korttidsopphold or langtidsopphold",
						clipped(v, 40));
	v = get(obj, "unit_orgnr");
	if (!is_null(v) && !orgnr_ok(v))
		return psprintf("unit_orgnr \"%s\" is not a valid organisasjonsnummer", clipped(v, 40));
	v = get(obj, "unit_phone");
	if (!is_null(v) &&
		!(v->val.string.len >= 7 && all_of(v->val.string.val + (v->val.string.val[0] == '+'),
										   v->val.string.len - (v->val.string.val[0] == '+'), "0123456789 ", 7, 19) &&
		  v->val.string.val[v->val.string.val[0] == '+'] != ' '))
		return psprintf("unit_phone \"%s\" is not a phone number", clipped(v, 40));
	v = get(obj, "description");
	if (!is_null(v) && pg_mbstrlen_with_len(v->val.string.val, v->val.string.len) > 4000)
		return pstrdup("description is longer than 4000 characters");
	if ((problem = source_problem(obj)) != NULL)
		return problem;
	v = get(obj, "stops");
	if (v != NULL && !is_array(v))
		return pstrdup("stops must be an array of {\"from\": date, \"to\": date}");
	return stops_problem(v, clock, date_text[1], date_text[2], ended);
}

/*
 * municipal_service_item_problem(jsonb): NULL when a JSON item is a valid
 * municipal service, else what is wrong (the first problem)
 */
Datum
deling_municipal_service_item_problem(PG_FUNCTION_ARGS)
{
	return item_problem(fcinfo, services_check);
}

/* ---------------------------------------------------------------------------
 * The batch check
 * ---------------------------------------------------------------------------
 */

/* an item of a batch: its source key (->> of both; NULL parts never clash) */
typedef struct BatchItem
{
	JsonbValue	v;
	char	   *source_system;
	char	   *source_id;
	char	   *problem;
	int			ord;
} BatchItem;

/* key_cmp: by source key, then by position */
static int
key_cmp(const void *a, const void *b)
{
	const BatchItem *x = *(BatchItem *const *) a;
	const BatchItem *y = *(BatchItem *const *) b;
	int			c = strcmp(x->source_system, y->source_system);

	if (c == 0)
		c = strcmp(x->source_id, y->source_id);
	return c ? c : x->ord - y->ord;
}

/* builtin_check: the C item check a pinned SQL item check of this module runs, if it is one */
static ItemCheck
builtin_check(Oid fn)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	ItemCheck	check = NULL;

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("item check %u does not exist", fn)));
	if (((Form_pg_proc) GETSTRUCT(tup))->prolang == ClanguageId)
	{
		bool		isnull;
		Datum		src = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_prosrc, &isnull);
		char	   *name = isnull ? "" : TextDatumGetCString(src);

		if (strcmp(name, "deling_news2_item_problem") == 0)
			check = news2_check;
		else if (strcmp(name, "deling_municipal_service_item_problem") == 0)
			check = services_check;
	}
	ReleaseSysCache(tup);
	return check;
}

/* push_text: a key and a text value (JSON null for NULL) */
static void
push_text(JsonbParseState **state, const char *key, const char *value)
{
	JsonbValue	k;
	JsonbValue	v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &k);
	if (value == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = (char *) value;
		v.val.string.len = strlen(value);
	}
	pushJsonbValue(state, WJB_VALUE, &v);
}

PG_FUNCTION_INFO_V1(deling_ingest_problems);

/*
 * ingest_problems(items jsonb, kommune text, item_problem regproc,
 * max_items integer): check a batch with the service's item check; the
 * per-item problems ([{item, source_id, error}] by position), or NULL.  A
 * batch that is no array or has 0 or more than max_items items is refused
 * (22023); an item naming another kommune refuses it (42501).  Two items
 * with one source key are both refused unless they have another problem;
 * the report bounds a source_id as deling.clip(v, 200) does.
 * The pilots' C item checks run directly, any other once per item.
 */
Datum
deling_ingest_problems(PG_FUNCTION_ARGS)
{
	Jsonb	   *items = PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0);
	char	   *kommune = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	Oid			fn = PG_ARGISNULL(2) ? InvalidOid : PG_GETARG_OID(2);
	bool		no_max = PG_ARGISNULL(3);
	int32		max_items = no_max ? 0 : PG_GETARG_INT32(3);
	int			n;
	BatchItem  *b;
	BatchItem **byk;
	int			nk = 0;
	ItemCheck	check;
	FmgrInfo	flinfo;
	CheckClock	clock = {0};
	MemoryContext per_item;
	MemoryContext old;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbParseState *state = NULL;
	int			nproblems = 0;

	if (items == NULL || !JB_ROOT_IS_ARRAY(items) || JB_ROOT_IS_SCALAR(items))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the batch must be a JSON array")));
	n = JB_ROOT_COUNT(items);
	if (n == 0 || (!no_max && n > max_items))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a batch has 1 to %s items, not %d", no_max ? "" : psprintf("%d", max_items), n)));
	if (fn == InvalidOid)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("an item check is required")));

	/* the items, and the first that names another kommune */
	b = palloc0(sizeof(BatchItem) * n);
	it = JsonbIteratorInit(&items->root);
	n = 0;
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		JsonbValue *k;

		if (tok != WJB_ELEM)
			continue;
		b[n].v = v;
		b[n].ord = n + 1;
		if (is_object(&v))
		{
			b[n].source_system = value_text(cget(v.val.binary.data, "source_system"));
			b[n].source_id = value_text(cget(v.val.binary.data, "source_id"));
			k = cget(v.val.binary.data, "kommune_nr");
			if (k != NULL)
			{
				char	   *kt = value_text(k);

				if ((kt == NULL) != (kommune == NULL) || (kt != NULL && strcmp(kt, kommune) != 0))
					ereport(ERROR,
							(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
							 errmsg("item %d is for kommune %s, but this integration acts for kommune %s",
									n + 1, kt ? deling_clip(kt, 20) : "<NULL>", kommune ? kommune : "<NULL>")));
			}
		}
		n++;
	}

	/* each item's own problem */
	check = builtin_check(fn);
	if (check == NULL)
		fmgr_info(fn, &flinfo);
	per_item = AllocSetContextCreate(CurrentMemoryContext, "ingest item check", ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < n; i++)
	{
		char	   *problem;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(per_item);
		if (check != NULL)
			problem = check(&b[i].v, &clock);
		else
		{
			LOCAL_FCINFO(fcinfo, 1);
			Datum		r;

			InitFunctionCallInfoData(*fcinfo, &flinfo, 1, InvalidOid, NULL, NULL);
			fcinfo->args[0].value = JsonbPGetDatum(JsonbValueToJsonb(&b[i].v));
			fcinfo->args[0].isnull = false;
			r = FunctionCallInvoke(fcinfo);
			problem = fcinfo->isnull ? NULL : TextDatumGetCString(r);
		}
		MemoryContextSwitchTo(old);
		b[i].problem = problem ? pstrdup(problem) : NULL;
		MemoryContextReset(per_item);
	}
	MemoryContextDelete(per_item);

	/* source keys that appear more than once */
	byk = palloc(sizeof(BatchItem *) * n);
	for (int i = 0; i < n; i++)
		if (b[i].source_system != NULL && b[i].source_id != NULL)
			byk[nk++] = &b[i];
	qsort(byk, nk, sizeof(BatchItem *), key_cmp);
	for (int i = 0; i < nk;)
	{
		int			j = i + 1;

		while (j < nk && strcmp(byk[i]->source_system, byk[j]->source_system) == 0 &&
			   strcmp(byk[i]->source_id, byk[j]->source_id) == 0)
			j++;
		if (j - i > 1)
			for (int x = i; x < j; x++)
				if (byk[x]->problem == NULL)
					byk[x]->problem = "source_id appears more than once in the batch";
		i = j;
	}

	/* the report */
	for (int i = 0; i < n; i++)
	{
		JsonbValue	k;
		JsonbValue	val;

		if (b[i].problem == NULL)
			continue;
		if (nproblems++ == 0)
			pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		k.type = jbvString;
		k.val.string.val = "item";
		k.val.string.len = 4;
		pushJsonbValue(&state, WJB_KEY, &k);
		val.type = jbvNumeric;
		val.val.numeric = int64_to_numeric(b[i].ord);
		pushJsonbValue(&state, WJB_VALUE, &val);
		/* a valid source_id has at most 200 characters: bound the others */
		push_text(&state, "source_id", deling_clip(b[i].source_id, 200));
		push_text(&state, "error", b[i].problem);
		pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	}
	if (nproblems == 0)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_ARRAY, NULL)));
}
