/*
 * fhir_template.c
 *	  deling.fhir_render(template jsonb, context jsonb): FHIR resources of
 *	  new services from a template (machinery-spec section 2), written with
 *	  the JSON writer; deling.fhir_render_entries, the entries of many rows.
 *
 * A template is a JSON value rendered against a context object:
 *   - "{{path}}" (the whole string): the context value at path (keys
 *     separated by dots, an array element by its number from 0), its JSON
 *     type kept; missing or null: the member or element is left out;
 *   - "urn:uuid:{{id}}": each placeholder's value as text in the string; a
 *     null or missing one leaves the string out;
 *   - filters {{path|date}} (YYYY-MM-DD, a time's date in Norway),
 *     {{path|datetime}} (FHIR dateTime in Europe/Oslo with its offset; a
 *     date stays a date; a time without an offset is Norwegian time),
 *     {{path|string}}, {{path|integer}}, {{path|decimal}};
 *   - {{const:name}}: deling.fhir_constant(name);
 *   - objects render key by key, dropping keys that render nothing; an
 *     object or array that renders nothing, a null and an empty string are
 *     left out (FHIR JSON has no empty objects, arrays or strings, and no
 *     nulls), also inside context values placed whole;
 *   - {"$each": "path", "$as": "name", "$template": T} as an element of an
 *     array: T for each element of the array at path (available as name,
 *     which hides a context key of that name), spliced into the array;
 *   - {"$if": "path", "$then": T, "$else": T2}: T when the value at path
 *     is present and not null, false, "", [] or {}; else T2 (or nothing);
 *   - {"$map": "path", "$cases": {"value": T, ...}, "$default": T}: the
 *     case named by the value at path (as text), else $default (or nothing).
 * The whole template is checked before anything is rendered, whatever the
 * data: an unknown filter, constant or directive, a directive with keys it
 * does not take, $each outside an array, a path or $as that is not one,
 * an unclosed {{ are 22023 naming where in the template.  A context value
 * a filter cannot take is 22P02 (integer, decimal) or 22007 (date,
 * datetime), naming the placeholder; $each over a value that is not an
 * array is 22023.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "fhir_common.h"
#include "fhir_constants.h"

typedef enum Filter
{
	F_NONE, F_DATE, F_DATETIME, F_STRING, F_INTEGER, F_DECIMAL
} Filter;

static const char *const filter_names[] = {"", "date", "datetime", "string", "integer", "decimal"};

/* one {{...}} of a string */
typedef struct Placeholder
{
	int			start;			/* offset of "{{" */
	int			end;			/* offset after "}}" */
	const char *expr;			/* path or constant name, trimmed */
	int			expr_len;
	bool		is_const;
	Filter		filter;
	const char *filter_name;	/* as written, for a message */
	int			filter_len;
} Placeholder;

/* a $each variable in scope */
typedef struct TplVar
{
	const char *name;
	int			len;
	JsonbValue	value;
} TplVar;

typedef struct Render
{
	JsonWriter *w;
	JsonbContainer *context;
	TplVar	   *vars;
	int			nvars;
	int			vars_alloc;
	const char *placeholder;	/* the one being evaluated, for messages */
	int			placeholder_len;
} Render;

static inline bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * next_placeholder: the next {{...}} of s from *pos; false when there is
 * none.  Malformed ones (unclosed, empty, an unknown filter) are errors
 * naming where (at) in the template.
 */
static bool
next_placeholder(const char *s, int len, int *pos, Placeholder *ph, const char *at)
{
	const char *open = NULL;
	const char *close;
	const char *p;
	const char *e;
	const char *bar;

	for (p = s + *pos; p + 1 < s + len; p++)
		if (p[0] == '{' && p[1] == '{')
		{
			open = p;
			break;
		}
	if (open == NULL)
		return false;
	close = NULL;
	for (p = open + 2; p + 1 < s + len; p++)
		if (p[0] == '}' && p[1] == '}')
		{
			close = p;
			break;
		}
	if (close == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template at %s: \"{{\" without \"}}\" in \"%.*s\"", at, len, s)));
	ph->start = open - s;
	ph->end = close + 2 - s;
	*pos = ph->end;
	/* expression [| filter], trimmed */
	p = open + 2;
	e = close;
	bar = memchr(p, '|', e - p);
	ph->filter = F_NONE;
	ph->filter_name = NULL;
	ph->filter_len = 0;
	if (bar)
	{
		const char *f = bar + 1;
		const char *fe = e;
		bool		known = false;

		while (f < fe && is_space(*f))
			f++;
		while (fe > f && is_space(fe[-1]))
			fe--;
		ph->filter_name = f;
		ph->filter_len = fe - f;
		for (int i = 1; i < (int) lengthof(filter_names); i++)
			if ((int) strlen(filter_names[i]) == fe - f && memcmp(filter_names[i], f, fe - f) == 0)
			{
				ph->filter = (Filter) i;
				known = true;
			}
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("template at %s: unknown filter \"%.*s\" in \"%.*s\"", at, (int) (fe - f), f, len, s),
					 errhint("The filters are date, datetime, string, integer and decimal.")));
		e = bar;
	}
	while (p < e && is_space(*p))
		p++;
	while (e > p && is_space(e[-1]))
		e--;
	ph->is_const = e - p >= 6 && memcmp(p, "const:", 6) == 0;
	if (ph->is_const)
	{
		p += 6;
		while (p < e && is_space(*p))
			p++;
	}
	ph->expr = p;
	ph->expr_len = e - p;
	if (ph->expr_len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template at %s: an empty placeholder in \"%.*s\"", at, len, s)));
	return true;
}

/* check_path: dot-separated, no empty segment, no braces or bars */
static void
check_path(const char *path, int len, const char *at, const char *what)
{
	bool		ok = len > 0;

	for (int i = 0; ok && i < len; i++)
	{
		char		c = path[i];

		if (c == '{' || c == '}' || c == '|' || is_space(c) ||
			(c == '.' && (i == 0 || i == len - 1 || path[i - 1] == '.')))
			ok = false;
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template at %s: %s \"%.*s\" is not a path (keys separated by dots)", at, what, len, path)));
}

/* check_string: every placeholder of a template string */
static void
check_string(const char *s, int len, const char *at)
{
	int			pos = 0;
	Placeholder ph;

	while (next_placeholder(s, len, &pos, &ph, at))
	{
		if (ph.is_const)
		{
			char	   *name = pnstrdup(ph.expr, ph.expr_len);

			if (deling_fhir_constant_value(name) == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("template at %s: unknown constant \"%s\"", at, name),
						 errhint("deling.fhir_constants() lists them.")));
			pfree(name);
		}
		else
			check_path(ph.expr, ph.expr_len, at, "placeholder");
	}
}

/* a key of an object container, or NULL */
static JsonbValue *
member(JsonbContainer *c, const char *key, JsonbValue *result)
{
	return getKeyJsonValueFromContainer(c, key, strlen(key), result);
}

static bool
is_string(JsonbValue *v)
{
	return v->type == jbvString;
}

static bool
is_object(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

/* the directive an object is, by its $-keys, or NULL for a plain object */
static const char *
directive_of(JsonbContainer *obj, const char *at)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		has_dollar = false,
				has_plain = false;
	const char *kind = NULL;
	static const char *const allowed[3][4] = {
		{"$each", "$as", "$template", NULL},
		{"$if", "$then", "$else", NULL},
		{"$map", "$cases", "$default", NULL},
	};

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		if (v.val.string.len > 0 && v.val.string.val[0] == '$')
		{
			has_dollar = true;
			for (int d = 0; d < 3; d++)
				if ((int) strlen(allowed[d][0]) == v.val.string.len &&
					memcmp(allowed[d][0], v.val.string.val, v.val.string.len) == 0)
				{
					if (kind != NULL)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("template at %s: %s and %s cannot be combined", at, kind, allowed[d][0])));
					kind = allowed[d][0];
				}
		}
		else
			has_plain = true;
	}
	if (!has_dollar)
		return NULL;
	if (kind == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template at %s: an object with $-keys must be a $each, $if or $map directive", at)));
	/* every key must be one the directive takes */
	it = JsonbIteratorInit(obj);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		bool		ok = false;

		if (tok != WJB_KEY)
			continue;
		for (int d = 0; d < 3; d++)
			if (strcmp(allowed[d][0], kind) == 0)
				for (int k = 0; allowed[d][k]; k++)
					if ((int) strlen(allowed[d][k]) == v.val.string.len &&
						memcmp(allowed[d][k], v.val.string.val, v.val.string.len) == 0)
						ok = true;
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("template at %s: %s does not take \"%.*s\"", at, kind, v.val.string.len, v.val.string.val),
					 has_plain ? errhint("A directive is an object of its own keys only.") : 0));
	}
	return kind;
}

static void check_value(JsonbValue *t, bool in_array, StringInfo at);

/* check_member: the template value under a key (at.key) */
static void
check_member(JsonbContainer *obj, const char *key, bool required, bool in_array, StringInfo at, const char *kind)
{
	JsonbValue	v;
	int			saved = at->len;

	if (member(obj, key, &v) == NULL)
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("template at %s: %s needs %s", at->data, kind, key)));
		return;
	}
	appendStringInfo(at, ".%s", key);
	check_value(&v, in_array, at);
	at->len = saved;
	at->data[saved] = '\0';
}

/* check_path_member: a directive's path (a string that is a path) */
static void
check_path_member(JsonbContainer *obj, const char *key, StringInfo at)
{
	JsonbValue	v;

	if (member(obj, key, &v) == NULL || !is_string(&v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template at %s: %s must be a path (a string)", at->data, key)));
	check_path(v.val.string.val, v.val.string.len, at->data, key);
}

/*
 * check_value: the whole template, whatever the data will be (at: where,
 * as $.key[0].key).
 */
static void
check_value(JsonbValue *t, bool in_array, StringInfo at)
{
	int			saved = at->len;

	check_stack_depth();
	if (t->type == jbvString)
		check_string(t->val.string.val, t->val.string.len, at->data);
	else if (t->type == jbvBinary && JsonContainerIsObject(t->val.binary.data))
	{
		JsonbContainer *obj = t->val.binary.data;
		const char *kind = directive_of(obj, at->data);

		if (kind == NULL)
		{
			JsonbIterator *it = JsonbIteratorInit(obj);
			JsonbValue	v;
			JsonbIteratorToken tok;

			while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
			{
				if (tok == WJB_KEY)
					appendStringInfo(at, ".%.*s", v.val.string.len, v.val.string.val);
				else if (tok == WJB_VALUE)
				{
					check_value(&v, false, at);
					at->len = saved;
					at->data[saved] = '\0';
				}
			}
		}
		else if (strcmp(kind, "$each") == 0)
		{
			JsonbValue	as;

			if (!in_array)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("template at %s: $each is only allowed as an element of an array", at->data)));
			check_path_member(obj, "$each", at);
			if (member(obj, "$as", &as) == NULL || !is_string(&as) || as.val.string.len == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("template at %s: $each needs $as, the name of its element", at->data)));
			for (int i = 0; i < as.val.string.len; i++)
			{
				char		c = as.val.string.val[i];

				if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("template at %s: $as \"%.*s\" is not a name (letters, digits, _)", at->data,
									as.val.string.len, as.val.string.val)));
			}
			check_member(obj, "$template", true, false, at, "$each");
		}
		else if (strcmp(kind, "$if") == 0)
		{
			check_path_member(obj, "$if", at);
			check_member(obj, "$then", true, false, at, "$if");
			check_member(obj, "$else", false, false, at, "$if");
		}
		else
		{
			JsonbValue	cases;

			check_path_member(obj, "$map", at);
			if (member(obj, "$cases", &cases) == NULL || !is_object(&cases))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("template at %s: $map needs $cases, an object of the values' templates", at->data)));
			{
				JsonbIterator *it = JsonbIteratorInit(cases.val.binary.data);
				JsonbValue	v;
				JsonbIteratorToken tok;

				while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
				{
					if (tok == WJB_KEY)
						appendStringInfo(at, ".$cases.%.*s", v.val.string.len, v.val.string.val);
					else if (tok == WJB_VALUE)
					{
						check_value(&v, false, at);
						at->len = saved;
						at->data[saved] = '\0';
					}
				}
			}
			check_member(obj, "$default", false, false, at, "$map");
		}
	}
	else if (t->type == jbvBinary)
	{
		JsonbIterator *it = JsonbIteratorInit(t->val.binary.data);
		JsonbValue	v;
		JsonbIteratorToken tok;
		int			i = 0;

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
			if (tok == WJB_ELEM)
			{
				appendStringInfo(at, "[%d]", i++);
				check_value(&v, true, at);
				at->len = saved;
				at->data[saved] = '\0';
			}
	}
}

/*
 * check_template: the whole template, once per template (fn_extra keeps the
 * last one checked: a read renders every row with the same template).
 */
static void
check_template(FunctionCallInfo fcinfo, Jsonb *template)
{
	Size		size = VARSIZE(template);
	Jsonb	   *last = fcinfo->flinfo->fn_extra;
	JsonbValue	root;
	StringInfoData at;

	if (last != NULL && VARSIZE(last) == size && memcmp(last, template, size) == 0)
		return;
	initStringInfo(&at);
	appendStringInfoChar(&at, '$');
	if (JB_ROOT_IS_SCALAR(template))
	{
		JsonbValue *v = getIthJsonbValueFromContainer(&template->root, 0);

		root = *v;
	}
	else
	{
		root.type = jbvBinary;
		root.val.binary.data = &template->root;
		root.val.binary.len = size - VARHDRSZ;
	}
	check_value(&root, false, &at);
	pfree(at.data);
	if (last != NULL)
		pfree(last);
	last = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, size);
	memcpy(last, template, size);
	fcinfo->flinfo->fn_extra = last;
}

/* --- rendering --- */

/* lookup: the context value at path (variables first); false when missing */
static bool
lookup(Render *r, const char *path, int len, JsonbValue *result)
{
	const char *seg = path;
	const char *end = path + len;
	const char *dot = memchr(seg, '.', end - seg);
	int			seglen = (dot ? dot : end) - seg;
	JsonbValue	cur;
	bool		found = false;

	for (int i = r->nvars - 1; i >= 0; i--)
		if (r->vars[i].len == seglen && memcmp(r->vars[i].name, seg, seglen) == 0)
		{
			cur = r->vars[i].value;
			found = true;
			break;
		}
	if (!found)
	{
		if (getKeyJsonValueFromContainer(r->context, seg, seglen, &cur) == NULL)
			return false;
	}
	while (dot)
	{
		seg = dot + 1;
		dot = memchr(seg, '.', end - seg);
		seglen = (dot ? dot : end) - seg;
		if (cur.type != jbvBinary)
			return false;
		if (JsonContainerIsObject(cur.val.binary.data))
		{
			JsonbValue	next;

			if (getKeyJsonValueFromContainer(cur.val.binary.data, seg, seglen, &next) == NULL)
				return false;
			cur = next;
		}
		else
		{
			int			index = 0;
			JsonbValue *next;

			for (int i = 0; i < seglen; i++)
			{
				if (seg[i] < '0' || seg[i] > '9' || index > 100000000)
					return false;
				index = index * 10 + (seg[i] - '0');
			}
			next = getIthJsonbValueFromContainer(cur.val.binary.data, index);
			if (next == NULL)
				return false;
			cur = *next;
		}
	}
	*result = cur;
	return cur.type != jbvNull;
}

/* truthy: present and not null, false, "", [] or {} */
static bool
truthy(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return false;
		case jbvBool:
			return v->val.boolean;
		case jbvString:
			return v->val.string.len > 0;
		case jbvBinary:
			return JsonContainerSize(v->val.binary.data) > 0;
		default:
			return true;
	}
}

/* the scalar as text (a string's value, a number as numeric_out prints it) */
static char *
scalar_text(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			return NULL;
	}
}

static void
bad_value(Render *r, int sqlstate, JsonbValue *v, const char *what)
{
	char	   *text = scalar_text(v);

	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("template placeholder %.*s: %s%s%s is not %s", r->placeholder_len, r->placeholder,
					text ? "\"" : "", text ? text : (v->type == jbvBinary ? "a JSON object or array" : "null"),
					text ? "\"" : "", what)));
}

/* is s (len) of the form YYYY-MM-DD and nothing more? */
static bool
looks_like_date(const char *s, int len)
{
	if (len != 10)
		return false;
	for (int i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return false;
	return true;
}

/* the number of n digits at s */
static int
number_at(const char *s, int n)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* is the YYYY-MM-DD at s a day of the calendar (years 1-9999)? */
static bool
calendar_day(const char *s)
{
	int			y = number_at(s, 4),
				m = number_at(s + 5, 2),
				d = number_at(s + 8, 2);

	return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= day_tab[isleap(y) ? 1 : 0][m - 1];
}

/* is s a JSON-style number ([+-]digits[.digits][e[+-]digits]) and nothing more? */
static bool
looks_like_number(const char *s)
{
	const char *p = s;
	bool		digits = false;

	if (*p == '+' || *p == '-')
		p++;
	while (*p >= '0' && *p <= '9')
		p++, digits = true;
	if (*p == '.')
	{
		p++;
		while (*p >= '0' && *p <= '9')
			p++, digits = true;
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

static bool
digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * iso_datetime: is s an ISO 8601 date and time, YYYY-MM-DD[T ]HH:MM[:SS[.f]]
 * with an optional offset (Z, +HH, +HH:MM, +HHMM)?  Only this form is read,
 * so that no setting (DateStyle) changes what a value means.  *offset says
 * whether it has an offset.
 */
static bool
iso_datetime(const char *s, int len, bool *offset)
{
	int			i = 16;

	if (len < 16 || !looks_like_date(s, 10) || !calendar_day(s) || (s[10] != 'T' && s[10] != ' ') ||
		!digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || number_at(s + 11, 2) > 23 || number_at(s + 14, 2) > 59)
		return false;
	if (i < len && s[i] == ':')
	{
		if (i + 3 > len || !digits(s + i + 1, 2) || number_at(s + i + 1, 2) > 59)
			return false;
		i += 3;
		if (i < len && s[i] == '.')
		{
			i++;
			if (i >= len || !digits(s + i, 1))
				return false;
			while (i < len && digits(s + i, 1))
				i++;
		}
	}
	*offset = i < len;
	if (i == len)
		return true;
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len)
		return true;
	if (s[i] != '+' && s[i] != '-')
		return false;
	i++;
	if (i + 2 > len || !digits(s + i, 2) || number_at(s + i, 2) > 15)
		return false;
	i += 2;
	if (i == len)
		return true;
	if (s[i] == ':')
		i++;
	return i + 2 == len && digits(s + i, 2) && number_at(s + i, 2) <= 59;
}

/* the instant a date-and-time string names: with an offset as given, else Norwegian time */
static TimestampTz
parse_instant(Render *r, JsonbValue *v)
{
	char	   *s;
	bool		has_offset;
	Datum		d;

	if (!iso_datetime(v->val.string.val, v->val.string.len, &has_offset))
		bad_value(r, ERRCODE_INVALID_DATETIME_FORMAT, v, "an ISO 8601 date and time");
	s = pnstrdup(v->val.string.val, v->val.string.len);
	if (has_offset)
		d = DirectFunctionCall3(timestamptz_in, CStringGetDatum(s), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	else
		d = DirectFunctionCall2(timestamp_zone, CStringGetTextDatum("Europe/Oslo"),
								DirectFunctionCall3(timestamp_in, CStringGetDatum(s),
													ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	pfree(s);
	return DatumGetTimestampTz(d);
}

/* a YYYY-MM-DD string checked as a day of the calendar: its FHIR form (itself) */
static char *
parse_date(Render *r, JsonbValue *v)
{
	if (!calendar_day(v->val.string.val))
		bad_value(r, ERRCODE_INVALID_DATETIME_FORMAT, v, "a date");
	return pnstrdup(v->val.string.val, 10);
}

/*
 * apply_filter: the value a filter makes of v (strings allocated here);
 * a value it cannot take is an error naming the placeholder.
 */
static void
apply_filter(Render *r, Filter f, JsonbValue *v)
{
	switch (f)
	{
		case F_NONE:
			return;
		case F_STRING:
			{
				char	   *s = scalar_text(v);

				if (s == NULL)
					bad_value(r, ERRCODE_INVALID_PARAMETER_VALUE, v, "a string, number or boolean");
				v->type = jbvString;
				v->val.string.val = s;
				v->val.string.len = strlen(s);
				return;
			}
		case F_DATE:
		case F_DATETIME:
			{
				StringInfoData s;

				if (v->type != jbvString)
					bad_value(r, ERRCODE_INVALID_DATETIME_FORMAT, v, f == F_DATE ? "a date" : "a date and time");
				if (looks_like_date(v->val.string.val, v->val.string.len))
				{
					char	   *d = parse_date(r, v);

					v->val.string.val = d;
					v->val.string.len = strlen(d);
					return;
				}
				initStringInfo(&s);
				if (f == F_DATE)
				{
					char		d[11];

					if (!fhir_date_str(fhir_oslo_date(parse_instant(r, v)), d))
						bad_value(r, ERRCODE_INVALID_DATETIME_FORMAT, v, "a date");
					appendStringInfoString(&s, d);
				}
				else if (!fhir_datetime_append(&s, parse_instant(r, v)))
					bad_value(r, ERRCODE_INVALID_DATETIME_FORMAT, v, "a finite date and time");
				v->val.string.val = s.data;
				v->val.string.len = s.len;
				return;
			}
		case F_INTEGER:
		case F_DECIMAL:
			{
				Numeric		n;

				if (v->type == jbvNumeric)
					n = v->val.numeric;
				else if (v->type == jbvString)
				{
					char	   *s = pnstrdup(v->val.string.val, v->val.string.len);
					Datum		d;

					if (!looks_like_number(s))
						bad_value(r, ERRCODE_INVALID_TEXT_REPRESENTATION, v, f == F_INTEGER ? "an integer" : "a decimal");
					d = DirectFunctionCall3(numeric_in, CStringGetDatum(s), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
					n = DatumGetNumeric(d);
				}
				else
				{
					bad_value(r, ERRCODE_INVALID_TEXT_REPRESENTATION, v, f == F_INTEGER ? "an integer" : "a decimal");
					n = NULL;	/* not reached */
				}
				if (numeric_is_nan(n) || numeric_is_inf(n))
					bad_value(r, ERRCODE_INVALID_TEXT_REPRESENTATION, v, f == F_INTEGER ? "an integer" : "a decimal");
				if (f == F_INTEGER)
				{
					Numeric		whole = DatumGetNumeric(DirectFunctionCall2(numeric_trunc, NumericGetDatum(n), Int32GetDatum(0)));

					if (!DatumGetBool(DirectFunctionCall2(numeric_eq, NumericGetDatum(n), NumericGetDatum(whole))))
						bad_value(r, ERRCODE_INVALID_TEXT_REPRESENTATION, v, "an integer");
					n = whole;
				}
				v->type = jbvNumeric;
				v->val.numeric = n;
				return;
			}
	}
}

/* evaluate: a placeholder's value (filtered); false for missing or null */
static bool
evaluate(Render *r, const char *s, Placeholder *ph, JsonbValue *v)
{
	r->placeholder = s + ph->start;
	r->placeholder_len = ph->end - ph->start;
	if (ph->is_const)
	{
		char	   *name = pnstrdup(ph->expr, ph->expr_len);
		const char *value = deling_fhir_constant_value(name);

		pfree(name);
		v->type = jbvString;
		v->val.string.val = (char *) value;
		v->val.string.len = strlen(value);
	}
	else if (!lookup(r, ph->expr, ph->expr_len, v))
		return false;
	apply_filter(r, ph->filter, v);
	return true;
}

static bool write_value(Render *r, JsonbValue *v);

/*
 * write_container: a context object or array placed whole, without its
 * nulls, empty strings and the objects and arrays left empty by that;
 * false (nothing written) when nothing is left.
 */
static bool
write_container(Render *r, JsonbContainer *c)
{
	JwMark		start = jw_mark(r->w);
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		object = JsonContainerIsObject(c);
	int			written = 0;
	JwMark		m = start;

	check_stack_depth();
	if (object)
		jw_object_begin(r->w);
	else
		jw_array_begin(r->w);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			m = jw_mark(r->w);
			jw_key_len(r->w, v.val.string.val, v.val.string.len);
		}
		else if (tok == WJB_VALUE || tok == WJB_ELEM)
		{
			if (tok == WJB_ELEM)
				m = jw_mark(r->w);
			if (write_value(r, &v))
				written++;
			else
				jw_rollback(r->w, m);
		}
	}
	if (written == 0)
	{
		jw_rollback(r->w, start);
		return false;
	}
	if (object)
		jw_object_end(r->w);
	else
		jw_array_end(r->w);
	return true;
}

/* write_value: a context value; false (nothing written) for null, "" and empties */
static bool
write_value(Render *r, JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return false;
		case jbvString:
			if (v->val.string.len == 0)
				return false;
			jw_string_len(r->w, v->val.string.val, v->val.string.len);
			return true;
		case jbvNumeric:
			jw_numeric(r->w, v->val.numeric);
			return true;
		case jbvBool:
			jw_bool(r->w, v->val.boolean);
			return true;
		case jbvBinary:
			return write_container(r, v->val.binary.data);
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	return false;
}

/* render_string: a template string: one placeholder whole, or interpolated */
static bool
render_string(Render *r, const char *s, int len)
{
	int			pos = 0;
	Placeholder ph;
	StringInfoData out;
	int			literal = 0;

	if (!next_placeholder(s, len, &pos, &ph, "$"))
	{
		if (len == 0)
			return false;
		jw_string_len(r->w, s, len);
		return true;
	}
	if (ph.start == 0 && ph.end == len)
	{
		JsonbValue	v;

		if (!evaluate(r, s, &ph, &v))
			return false;
		return write_value(r, &v);
	}
	initStringInfo(&out);
	pos = 0;
	while (next_placeholder(s, len, &pos, &ph, "$"))
	{
		JsonbValue	v;
		char	   *text;

		appendBinaryStringInfo(&out, s + literal, ph.start - literal);
		literal = ph.end;
		if (!evaluate(r, s, &ph, &v))
		{
			pfree(out.data);
			return false;
		}
		text = scalar_text(&v);
		if (text == NULL)
			bad_value(r, ERRCODE_INVALID_PARAMETER_VALUE, &v, "text to put in a string");
		appendStringInfoString(&out, text);
		pfree(text);
	}
	appendBinaryStringInfo(&out, s + literal, len - literal);
	if (out.len == 0)
	{
		pfree(out.data);
		return false;
	}
	jw_string_len(r->w, out.data, out.len);
	pfree(out.data);
	return true;
}

static bool render(Render *r, JsonbValue *t);

/* a directive's path value */
static bool
directive_path(Render *r, JsonbContainer *obj, const char *key, JsonbValue *value)
{
	JsonbValue	path;

	member(obj, key, &path);
	r->placeholder = path.val.string.val;
	r->placeholder_len = path.val.string.len;
	return lookup(r, path.val.string.val, path.val.string.len, value);
}

/* render_member: the template under a directive's key, if it has it */
static bool
render_member(Render *r, JsonbContainer *obj, const char *key)
{
	JsonbValue	t;

	if (member(obj, key, &t) == NULL)
		return false;
	return render(r, &t);
}

/* render_each: a $each's elements, spliced into the open array; how many */
static int
render_each(Render *r, JsonbContainer *obj)
{
	JsonbValue	list;
	JsonbValue	as;
	JsonbValue	t;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			written = 0;

	if (!directive_path(r, obj, "$each", &list))
		return 0;
	if (list.type != jbvBinary || !JsonContainerIsArray(list.val.binary.data))
	{
		JsonbValue	path;

		member(obj, "$each", &path);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("template $each \"%.*s\": the value is not an array", path.val.string.len, path.val.string.val)));
	}
	member(obj, "$as", &as);
	member(obj, "$template", &t);
	if (r->nvars == r->vars_alloc)
	{
		r->vars_alloc = r->vars_alloc ? r->vars_alloc * 2 : 4;
		r->vars = r->vars ? repalloc(r->vars, sizeof(TplVar) * r->vars_alloc) : palloc(sizeof(TplVar) * r->vars_alloc);
	}
	r->nvars++;
	it = JsonbIteratorInit(list.val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		TplVar	   *var = &r->vars[r->nvars - 1];

		if (tok != WJB_ELEM)
			continue;
		var->name = as.val.string.val;
		var->len = as.val.string.len;
		var->value = v;
		if (render(r, &t))
			written++;
	}
	r->nvars--;
	return written;
}

/* render_object: a plain object or a directive */
static bool
render_object(Render *r, JsonbContainer *obj)
{
	JsonbValue	v;
	JwMark		start;
	int			written = 0;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JwMark		m = {0};

	if (getKeyJsonValueFromContainer(obj, "$if", 3, &v) != NULL)
	{
		JsonbValue	value;

		if (directive_path(r, obj, "$if", &value) && truthy(&value))
			return render_member(r, obj, "$then");
		return render_member(r, obj, "$else");
	}
	if (getKeyJsonValueFromContainer(obj, "$map", 4, &v) != NULL)
	{
		JsonbValue	value;
		JsonbValue	cases;
		JsonbValue	t;
		char	   *key;

		member(obj, "$cases", &cases);
		if (directive_path(r, obj, "$map", &value) && (key = scalar_text(&value)) != NULL &&
			getKeyJsonValueFromContainer(cases.val.binary.data, key, strlen(key), &t) != NULL)
			return render(r, &t);
		return render_member(r, obj, "$default");
	}
	start = jw_mark(r->w);
	jw_object_begin(r->w);
	it = JsonbIteratorInit(obj);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			m = jw_mark(r->w);
			jw_key_len(r->w, v.val.string.val, v.val.string.len);
		}
		else if (tok == WJB_VALUE)
		{
			if (render(r, &v))
				written++;
			else
				jw_rollback(r->w, m);
		}
	}
	if (written == 0)
	{
		jw_rollback(r->w, start);
		return false;
	}
	jw_object_end(r->w);
	return true;
}

/* render_array: elements, $each spliced in */
static bool
render_array(Render *r, JsonbContainer *arr)
{
	JwMark		start = jw_mark(r->w);
	JsonbIterator *it = JsonbIteratorInit(arr);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			written = 0;

	jw_array_begin(r->w);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		JsonbValue	each;

		if (tok != WJB_ELEM)
			continue;
		if (is_object(&v) && getKeyJsonValueFromContainer(v.val.binary.data, "$each", 5, &each) != NULL)
			written += render_each(r, v.val.binary.data);
		else
		{
			JwMark		m = jw_mark(r->w);

			if (render(r, &v))
				written++;
			else
				jw_rollback(r->w, m);
		}
	}
	if (written == 0)
	{
		jw_rollback(r->w, start);
		return false;
	}
	jw_array_end(r->w);
	return true;
}

/* render: a template value; false when it renders nothing (nothing written) */
static bool
render(Render *r, JsonbValue *t)
{
	check_stack_depth();
	switch (t->type)
	{
		case jbvNull:
			return false;
		case jbvString:
			return render_string(r, t->val.string.val, t->val.string.len);
		case jbvNumeric:
			jw_numeric(r->w, t->val.numeric);
			return true;
		case jbvBool:
			jw_bool(r->w, t->val.boolean);
			return true;
		case jbvBinary:
			if (JsonContainerIsObject(t->val.binary.data))
				return render_object(r, t->val.binary.data);
			return render_array(r, t->val.binary.data);
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) t->type);
	}
	return false;
}

/* the root of a jsonb as a template value */
static JsonbValue
root_value(Jsonb *j)
{
	JsonbValue	v;

	if (JB_ROOT_IS_SCALAR(j))
		return *getIthJsonbValueFromContainer(&j->root, 0);
	v.type = jbvBinary;
	v.val.binary.data = &j->root;
	v.val.binary.len = VARSIZE(j) - VARHDRSZ;
	return v;
}

static void
check_context(Jsonb *context)
{
	if (!JB_ROOT_IS_OBJECT(context))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the context of a template must be a JSON object")));
}

PG_FUNCTION_INFO_V1(deling_fhir_render);

/*
 * fhir_render(template, context): the template rendered against the
 * context (an object), as json; NULL when it renders nothing.
 */
Datum
deling_fhir_render(PG_FUNCTION_ARGS)
{
	Jsonb	   *template = PG_GETARG_JSONB_P(0);
	Jsonb	   *context = PG_GETARG_JSONB_P(1);
	Render		r = {0};
	JsonbValue	t;

	check_template(fcinfo, template);
	check_context(context);
	r.w = jw_create();
	r.context = &context->root;
	t = root_value(template);
	if (!render(&r, &t))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(jw_finish(r.w));
}

PG_FUNCTION_INFO_V1(deling_fhir_render_entries);

/*
 * fhir_render_entries(template, contexts jsonb[], mode): the template
 * rendered for each context, as searchset entries [{"mode": mode,
 * "resource": ...}, ...] in order (a context that renders nothing, or a
 * NULL one, gives no entry): a read's rows in one call.
 */
Datum
deling_fhir_render_entries(PG_FUNCTION_ARGS)
{
	Jsonb	   *template = PG_GETARG_JSONB_P(0);
	ArrayType  *contexts = PG_GETARG_ARRAYTYPE_P(1);
	char	   *mode = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	Render		r = {0};
	JsonbValue	t;
	MemoryContext row_cxt,
				old;

	if (ARR_NDIM(contexts) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the contexts must be a one-dimensional array")));
	check_template(fcinfo, template);
	deconstruct_array(contexts, JSONBOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	r.w = jw_create();
	t = root_value(template);
	jw_array_begin(r.w);
	row_cxt = AllocSetContextCreate(CurrentMemoryContext, "fhir_render_entries row", ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < n; i++)
	{
		Jsonb	   *context;
		JwMark		m;

		if (nulls[i])
			continue;
		old = MemoryContextSwitchTo(row_cxt);
		context = DatumGetJsonbP(elems[i]);
		check_context(context);
		r.context = &context->root;
		m = jw_mark(r.w);
		jw_object_begin(r.w);
		if (mode)
		{
			jw_key(r.w, "mode");
			jw_string(r.w, mode);
		}
		jw_key(r.w, "resource");
		if (render(&r, &t))
			jw_object_end(r.w);
		else
			jw_rollback(r.w, m);
		MemoryContextSwitchTo(old);
		MemoryContextReset(row_cxt);
		r.vars = NULL;			/* they were in row_cxt */
		r.vars_alloc = r.nvars = 0;
	}
	MemoryContextDelete(row_cxt);
	jw_array_end(r.w);
	PG_RETURN_TEXT_P(jw_finish(r.w));
}
