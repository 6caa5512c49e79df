/*
 * score.c
 *	  Standardized assessment instruments (kartlegginger) scored natively:
 *	  an instrument is data, a JSON definition of its items, the answers
 *	  each allows with their points (or numeric ranges mapped to points),
 *	  groups of alternative items, and the bands its total falls in.  The
 *	  scorer takes the definition and the items of one assessment and gives
 *	  the total and the band, or names what is wrong with the items.
 *
 * A definition is parsed once per backend (a small cache keyed by its
 * bytes; each call site remembers its entry in fn_extra) into the structs
 * below; scoring an assessment then looks each item up in the items object
 * (a binary search of jsonb's sorted keys), matches its value, and adds up.
 * The same parser checks a definition for deling.instrument's CHECK
 * constraint, so a definition in the table can always be scored.
 *
 * The definition format:
 *
 *	{"code": "braden", "name": "...",
 *	 "scale": coding, "panel": coding, "total": coding, "band_coding": coding,
 *	 "items": [{"code": "moisture", "name": "...", "coding": coding,
 *				"required": true,
 *				"answers": [{"points": 1, "system": "...", "code": "...", "display": "..."}, ...]
 *			   | "unit": "kg/m2", "min": 5, "max": 100,
 *				"ranges": [{"below": 19, "points": 0, "display": "..."}, ..., {"points": 3}]}],
 *	 "alternatives": [["F1", "F2"]],
 *	 "bands": [{"band": "high", "min": 10, "max": 12, "system": "...", "code": "...", "display": "..."}],
 *	 "sources": ["..."], "notes": "..."}
 *
 * where a coding is {"system": "...", "code": "...", "display": "..."}.  An
 * instrument without "total" (IPLOS) has no total and no bands: each item
 * stands alone.  LOINC codes (system http://loinc.org) of items, totals,
 * panels and band codings must carry a valid mod-10 check digit (LOINC
 * Users' Guide); LOINC answer codes (LA...) are checked for their form
 * only, their check-digit scheme is not documented in any source found.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "deling.h"

#define LOINC_SYSTEM "http://loinc.org"

/* limits that keep a definition small and every total within int32 */
#define MAX_ITEMS 100
#define MAX_ANSWERS 50
#define MAX_RANGES 50
#define MAX_BANDS 50
#define MAX_POINTS 1000
#define MAX_CODE_LEN 40
#define MAX_TEXT_LEN 1000

typedef struct InsCoding
{
	char	   *system;			/* NULL when the coding is absent */
	char	   *code;
	char	   *display;		/* may be NULL */
} InsCoding;

typedef struct InsAnswer
{
	int32		points;
	Numeric		num;			/* points as numeric, to match input numbers */
	InsCoding	coding;			/* system and code NULL when uncoded */
	char	   *display;
} InsAnswer;

typedef struct InsRange
{
	Numeric		below;			/* NULL for the last range (no upper bound) */
	int32		points;
	char	   *display;		/* may be NULL */
} InsRange;

typedef struct InsItem
{
	char	   *code;
	int			code_len;
	char	   *name;
	InsCoding	coding;
	bool		required;		/* false for optional items and group members */
	int			group;			/* index into alternatives, or -1 */
	InsAnswer  *answers;		/* answer items */
	int			nanswers;
	InsRange   *ranges;			/* measured items */
	int			nranges;
	char	   *unit;
	Numeric		min;			/* plausibility limits of a measured item, */
	Numeric		max;			/* inclusive; NULL when none */
	int32		min_points;
	int32		max_points;
} InsItem;

typedef struct InsBand
{
	char	   *band;
	int32		min;
	int32		max;
	InsCoding	coding;			/* system and code NULL when uncoded */
	char	   *display;
} InsBand;

typedef struct Instrument
{
	char	   *code;
	InsItem    *items;
	int			nitems;
	int		  **groups;			/* each: item indexes, -1 terminated */
	int			ngroups;
	bool		has_total;
	int32		total_min;
	int32		total_max;
	InsBand    *bands;
	int			nbands;
} Instrument;

/* A definition parsed, or the problem that kept it from being parsed. */
typedef struct InsCacheEntry
{
	uint32		hash;
	Size		len;			/* VARSIZE of the jsonb, 0 for an empty slot */
	char	   *bytes;
	Instrument *ins;			/* NULL when the definition is not valid */
	char	   *problem;
	MemoryContext cxt;
	uint64		filled;			/* when the slot was filled: tells a reused slot apart */
	uint64		used;			/* last use, for eviction */
} InsCacheEntry;

#define CACHE_SIZE 8
static InsCacheEntry ins_cache[CACHE_SIZE];
static uint64 ins_clock = 0;
static MemoryContext ins_cache_cxt = NULL;

/*
 * What a call site remembers in fn_extra: its entry, as it was, and the
 * raw datum it came from when that was compressed or toasted (a definition
 * read from deling.instrument row after row is the same stored value, so
 * its raw bytes, the compressed data or the toast pointer, identify it
 * without decompressing it for each row; fn_extra lives for one execution
 * of the query, under one snapshot).
 */
typedef struct InsCallCache
{
	InsCacheEntry *entry;
	uint64		filled;
	char	   *raw;
	Size		rawlen;			/* 0: no raw datum remembered */
	Size		rawcap;
} InsCallCache;

/* ------------------------------------------------------------------------
 * Parsing a definition
 * ------------------------------------------------------------------------
 */

/* parse state: the problem found, if any, stops the parse */
typedef struct Parse
{
	const char *ins;			/* the instrument's code, once known */
	char	   *problem;
} Parse;

static bool pg_attribute_printf(2, 3)
fail(Parse *p, const char *fmt,...)
{
	StringInfoData buf;
	va_list		args;

	if (p->problem != NULL)
		return false;
	initStringInfo(&buf);
	appendStringInfo(&buf, "instrument definition%s%s: ", p->ins ? " " : "", p->ins ? p->ins : "");
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	p->problem = buf.data;
	return false;
}

/*
 * key: the value at key in an object container, or false.
 */
static bool
key(JsonbContainer *obj, const char *k, JsonbValue *v)
{
	return getKeyJsonValueFromContainer(obj, k, strlen(k), v) != NULL;
}

static bool
is_object(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

static bool
is_array(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

/*
 * only_keys: every key of the object is one of allowed (a typo in a
 * definition is an error, not a silently ignored setting).
 */
static bool
only_keys(Parse *p, JsonbContainer *obj, const char *what, const char *const *allowed)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		bool		ok = false;

		if (tok != WJB_KEY)
			continue;
		for (const char *const *a = allowed; *a; a++)
			if ((int) strlen(*a) == v.val.string.len && memcmp(*a, v.val.string.val, v.val.string.len) == 0)
				ok = true;
		if (!ok)
			return fail(p, "%s has an unknown key \"%s\"", what, pnstrdup(v.val.string.val, v.val.string.len));
	}
	return true;
}

/*
 * text_value: a non-empty string of at most MAX_TEXT_LEN bytes, copied.
 */
static bool
text_value(Parse *p, JsonbValue *v, const char *what, char **out)
{
	if (v->type != jbvString || v->val.string.len == 0 || v->val.string.len > MAX_TEXT_LEN)
		return fail(p, "%s must be a non-empty string of at most %d bytes", what, MAX_TEXT_LEN);
	*out = pnstrdup(v->val.string.val, v->val.string.len);
	return true;
}

/*
 * code_text: an identifier as definitions use them for instruments, items
 * and bands: a letter, then letters, digits, and extra (e.g. "_" or "-").
 */
static bool
code_text(Parse *p, JsonbValue *v, const char *what, const char *extra, char **out)
{
	const char *s;

	if (v->type != jbvString || v->val.string.len == 0 || v->val.string.len > MAX_CODE_LEN)
		return fail(p, "%s must be a string of 1-%d characters", what, MAX_CODE_LEN);
	s = v->val.string.val;
	for (int i = 0; i < v->val.string.len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			  (i > 0 && ((s[i] >= '0' && s[i] <= '9') || strchr(extra, s[i]) != NULL))))
			return fail(p, "%s \"%s\" must be a letter followed by letters, digits or %s",
						what, pnstrdup(s, v->val.string.len), extra);
	*out = pnstrdup(s, v->val.string.len);
	return true;
}

/*
 * loinc_check_digit: the LOINC Users' Guide mod-10 check digit of the
 * digits before the hyphen: from the right, the digits in odd positions
 * joined as a number and doubled, the digits in even positions written in
 * front, the digits of the result summed; the check digit is what brings
 * the sum to the next multiple of ten.
 */
static int
loinc_check_digit(const char *digits, int n)
{
	char		odd[16],
				even[16],
				doubled[24],
				all[40];
	int			no = 0,
				ne = 0,
				sum = 0;
	uint64		oddnum;

	/* odd and even positions counted from the right, kept left to right */
	for (int i = 0; i < n; i++)
	{
		int			from_right = n - i;

		if (from_right % 2 == 1)
			odd[no++] = digits[i];
		else
			even[ne++] = digits[i];
	}
	odd[no] = even[ne] = '\0';
	oddnum = strtoull(odd, NULL, 10);
	snprintf(doubled, sizeof(doubled), UINT64_FORMAT, oddnum * 2);
	snprintf(all, sizeof(all), "%s%s", even, doubled);
	for (const char *c = all; *c; c++)
		sum += *c - '0';
	return (10 - sum % 10) % 10;
}

/*
 * loinc_problem: NULL for a LOINC term code (1-7 digits, hyphen, check
 * digit) whose check digit is right; answer codes (LA...) are allowed where
 * answer says so and checked for their form only.
 */
static char *
loinc_problem(const char *code, bool answer)
{
	const char *s = code;
	const char *dash = strchr(code, '-');
	int			n;

	if (answer && strncmp(s, "LA", 2) == 0)
		s += 2;
	n = dash ? (int) (dash - s) : -1;
	if (dash == NULL || n < 1 || n > 7 || strlen(dash) != 2 || dash[1] < '0' || dash[1] > '9' ||
		strspn(s, "0123456789") != (size_t) n)
		return psprintf("\"%s\" is not a LOINC %s", code, answer ? "code or answer code (LA...)" : "code");
	if (s != code)
		return NULL;
	if (loinc_check_digit(s, n) != dash[1] - '0')
		return psprintf("LOINC code %s has a wrong check digit (%.*s-%d would be right)",
						code, n, s, loinc_check_digit(s, n));
	return NULL;
}

/*
 * coding: {"system", "code", "display"} with system and code required.
 */
static bool
coding(Parse *p, JsonbValue *v, const char *what, bool answer, InsCoding *out)
{
	static const char *const keys[] = {"system", "code", "display", NULL};
	JsonbValue	f;
	char	   *problem;

	if (!is_object(v))
		return fail(p, "%s must be an object {\"system\", \"code\", \"display\"}", what);
	if (!only_keys(p, v->val.binary.data, what, keys))
		return false;
	if (!key(v->val.binary.data, "system", &f) || !text_value(p, &f, psprintf("%s's system", what), &out->system))
		return fail(p, "%s needs a system", what);
	if (!key(v->val.binary.data, "code", &f) || !text_value(p, &f, psprintf("%s's code", what), &out->code))
		return fail(p, "%s needs a code", what);
	out->display = NULL;
	if (key(v->val.binary.data, "display", &f) && !text_value(p, &f, psprintf("%s's display", what), &out->display))
		return false;
	if (strcmp(out->system, LOINC_SYSTEM) == 0 && (problem = loinc_problem(out->code, answer)) != NULL)
		return fail(p, "%s: %s", what, problem);
	return true;
}

/*
 * flat_coding: the optional "system" and "code" of an answer or a band,
 * written in the object itself; both or neither.
 */
static bool
flat_coding(Parse *p, JsonbContainer *obj, const char *what, InsCoding *out)
{
	JsonbValue	s,
				c;
	bool		has_s = key(obj, "system", &s),
				has_c = key(obj, "code", &c);
	char	   *problem;

	memset(out, 0, sizeof(*out));
	if (!has_s && !has_c)
		return true;
	if (has_s != has_c)
		return fail(p, "%s needs both a system and a code, or neither", what);
	if (!text_value(p, &s, psprintf("%s's system", what), &out->system) ||
		!text_value(p, &c, psprintf("%s's code", what), &out->code))
		return false;
	if (strcmp(out->system, LOINC_SYSTEM) == 0 && (problem = loinc_problem(out->code, true)) != NULL)
		return fail(p, "%s: %s", what, problem);
	return true;
}

/*
 * int_value: a JSON number that is a whole number within [lo, hi].
 */
static bool
int_value(Parse *p, JsonbValue *v, const char *what, int32 lo, int32 hi, int32 *out)
{
	bool		err = false;
	int32		i;

	if (v->type != jbvNumeric || numeric_is_nan(v->val.numeric) || numeric_is_inf(v->val.numeric))
		return fail(p, "%s must be a whole number", what);
	i = numeric_int4_opt_error(v->val.numeric, &err);
	if (err || DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(v->val.numeric),
												 NumericGetDatum(int64_to_numeric(i)))) != 0)
		return fail(p, "%s must be a whole number", what);
	if (i < lo || i > hi)
		return fail(p, "%s must be within %d-%d", what, lo, hi);
	*out = i;
	return true;
}

/*
 * num_value: a finite JSON number, copied.
 */
static bool
num_value(Parse *p, JsonbValue *v, const char *what, Numeric *out)
{
	if (v->type != jbvNumeric || numeric_is_nan(v->val.numeric) || numeric_is_inf(v->val.numeric))
		return fail(p, "%s must be a number", what);
	*out = (Numeric) palloc(VARSIZE_ANY(v->val.numeric));
	memcpy(*out, v->val.numeric, VARSIZE_ANY(v->val.numeric));
	return true;
}

static int
num_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a), NumericGetDatum(b)));
}

static char *
num_text(Numeric n)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));
}

/*
 * parse_answers: an answer item's answers, points and codes unique.
 */
static bool
parse_answers(Parse *p, InsItem *item, JsonbValue *v)
{
	static const char *const keys[] = {"points", "system", "code", "display", NULL};
	int			n;

	if (!is_array(v) || (n = JsonContainerSize(v->val.binary.data)) < 1 || n > MAX_ANSWERS)
		return fail(p, "item \"%s\": answers must be an array of 1-%d answers", item->code, MAX_ANSWERS);
	item->answers = palloc0(sizeof(InsAnswer) * n);
	item->nanswers = n;
	for (int i = 0; i < n; i++)
	{
		JsonbValue *a = getIthJsonbValueFromContainer(v->val.binary.data, i);
		InsAnswer  *ans = &item->answers[i];
		char	   *what = psprintf("item \"%s\" answer %d", item->code, i + 1);
		JsonbValue	f;

		if (!is_object(a))
			return fail(p, "%s must be an object", what);
		if (!only_keys(p, a->val.binary.data, what, keys))
			return false;
		if (!key(a->val.binary.data, "points", &f))
			return fail(p, "%s has no points", what);
		if (!int_value(p, &f, psprintf("%s's points", what), -MAX_POINTS, MAX_POINTS, &ans->points))
			return false;
		ans->num = int64_to_numeric(ans->points);
		if (!key(a->val.binary.data, "display", &f) || !text_value(p, &f, psprintf("%s's display", what), &ans->display))
			return fail(p, "%s needs a display", what);
		if (!flat_coding(p, a->val.binary.data, what, &ans->coding))
			return false;
		for (int j = 0; j < i; j++)
		{
			if (item->answers[j].points == ans->points)
				return fail(p, "item \"%s\": two answers have the points %d", item->code, ans->points);
			if (ans->coding.code && item->answers[j].coding.code &&
				strcmp(item->answers[j].coding.code, ans->coding.code) == 0)
				return fail(p, "item \"%s\": two answers have the code %s", item->code, ans->coding.code);
		}
		if (i == 0 || ans->points < item->min_points)
			item->min_points = ans->points;
		if (i == 0 || ans->points > item->max_points)
			item->max_points = ans->points;
	}
	return true;
}

/*
 * parse_ranges: a measured item's ranges: every range but the last has a
 * "below" (its exclusive upper bound), increasing; the last has none.
 */
static bool
parse_ranges(Parse *p, InsItem *item, JsonbValue *v)
{
	static const char *const keys[] = {"below", "points", "display", NULL};
	int			n;

	if (!is_array(v) || (n = JsonContainerSize(v->val.binary.data)) < 1 || n > MAX_RANGES)
		return fail(p, "item \"%s\": ranges must be an array of 1-%d ranges", item->code, MAX_RANGES);
	item->ranges = palloc0(sizeof(InsRange) * n);
	item->nranges = n;
	for (int i = 0; i < n; i++)
	{
		JsonbValue *r = getIthJsonbValueFromContainer(v->val.binary.data, i);
		InsRange   *rg = &item->ranges[i];
		char	   *what = psprintf("item \"%s\" range %d", item->code, i + 1);
		JsonbValue	f;
		bool		has_below;

		if (!is_object(r))
			return fail(p, "%s must be an object", what);
		if (!only_keys(p, r->val.binary.data, what, keys))
			return false;
		if (!key(r->val.binary.data, "points", &f))
			return fail(p, "%s has no points", what);
		if (!int_value(p, &f, psprintf("%s's points", what), -MAX_POINTS, MAX_POINTS, &rg->points))
			return false;
		if (key(r->val.binary.data, "display", &f) && !text_value(p, &f, psprintf("%s's display", what), &rg->display))
			return false;
		has_below = key(r->val.binary.data, "below", &f);
		if (has_below != (i < n - 1))
			return fail(p, "item \"%s\": every range but the last needs \"below\" (its upper bound, exclusive), "
						"and the last has none", item->code);
		if (has_below)
		{
			if (!num_value(p, &f, psprintf("%s's below", what), &rg->below))
				return false;
			if (i > 0 && num_cmp(item->ranges[i - 1].below, rg->below) >= 0)
				return fail(p, "item \"%s\": the ranges' \"below\" must increase", item->code);
		}
		if (i == 0 || rg->points < item->min_points)
			item->min_points = rg->points;
		if (i == 0 || rg->points > item->max_points)
			item->max_points = rg->points;
	}
	return true;
}

/*
 * parse_item: one item of "items".
 */
static bool
parse_item(Parse *p, InsItem *item, JsonbValue *v, int index)
{
	static const char *const keys[] = {"code", "name", "coding", "required", "answers", "ranges", "unit", "min", "max", NULL};
	JsonbContainer *obj;
	JsonbValue	f;
	char	   *what = psprintf("item %d", index + 1);
	bool		has_answers,
				has_ranges;

	if (!is_object(v))
		return fail(p, "%s must be an object", what);
	obj = v->val.binary.data;
	if (!key(obj, "code", &f))
		return fail(p, "%s has no code", what);
	if (!code_text(p, &f, psprintf("%s's code", what), "_", &item->code))
		return false;
	item->code_len = strlen(item->code);
	what = psprintf("item \"%s\"", item->code);
	if (!only_keys(p, obj, what, keys))
		return false;
	if (!key(obj, "name", &f) || !text_value(p, &f, psprintf("%s's name", what), &item->name))
		return fail(p, "%s needs a name", what);
	if (!key(obj, "coding", &f))
		return fail(p, "%s needs a coding (its LOINC code, or a code of the platform's own code system)", what);
	if (!coding(p, &f, psprintf("%s's coding", what), false, &item->coding))
		return false;
	item->required = true;
	if (key(obj, "required", &f))
	{
		if (f.type != jbvBool)
			return fail(p, "%s: required must be true or false", what);
		item->required = f.val.boolean;
	}
	item->group = -1;
	has_answers = key(obj, "answers", &f);
	if (has_answers && !parse_answers(p, item, &f))
		return false;
	has_ranges = key(obj, "ranges", &f);
	if (has_answers == has_ranges)
		return fail(p, "%s needs either answers or ranges", what);
	if (has_ranges)
	{
		if (!parse_ranges(p, item, &f))
			return false;
		if (!key(obj, "unit", &f) || !text_value(p, &f, psprintf("%s's unit", what), &item->unit))
			return fail(p, "%s is measured: it needs a unit (UCUM)", what);
		if (key(obj, "min", &f) && !num_value(p, &f, psprintf("%s's min", what), &item->min))
			return false;
		if (key(obj, "max", &f) && !num_value(p, &f, psprintf("%s's max", what), &item->max))
			return false;
		if (item->min && item->max && num_cmp(item->min, item->max) > 0)
			return fail(p, "%s: min is above max", what);
	}
	else if (key(obj, "unit", &f) || key(obj, "min", &f) || key(obj, "max", &f))
		return fail(p, "%s has answers: unit, min and max belong to measured items (ranges)", what);
	return true;
}

static int
find_item(Instrument *ins, const char *code, int len)
{
	for (int i = 0; i < ins->nitems; i++)
		if (ins->items[i].code_len == len && memcmp(ins->items[i].code, code, len) == 0)
			return i;
	return -1;
}

/*
 * parse_alternatives: groups of items of which exactly one is given.
 */
static bool
parse_alternatives(Parse *p, Instrument *ins, JsonbValue *v)
{
	int			n;

	if (!is_array(v) || (n = JsonContainerSize(v->val.binary.data)) > MAX_ITEMS)
		return fail(p, "alternatives must be an array of arrays of item codes");
	ins->groups = palloc0(sizeof(int *) * (n + 1));
	ins->ngroups = n;
	for (int g = 0; g < n; g++)
	{
		JsonbValue *grp = getIthJsonbValueFromContainer(v->val.binary.data, g);
		int			m;

		if (!is_array(grp) || (m = JsonContainerSize(grp->val.binary.data)) < 2 || m > MAX_ITEMS)
			return fail(p, "alternatives %d must be an array of at least two item codes", g + 1);
		ins->groups[g] = palloc(sizeof(int) * (m + 1));
		for (int j = 0; j < m; j++)
		{
			JsonbValue *c = getIthJsonbValueFromContainer(grp->val.binary.data, j);
			int			i;

			if (c->type != jbvString || (i = find_item(ins, c->val.string.val, c->val.string.len)) < 0)
				return fail(p, "alternatives %d: %s is not an item of the instrument", g + 1,
							c->type == jbvString ? psprintf("\"%.*s\"", c->val.string.len, c->val.string.val) : "a non-string");
			if (ins->items[i].group >= 0)
				return fail(p, "item \"%s\" is in more than one group of alternatives, or twice in one",
							ins->items[i].code);
			ins->items[i].group = g;
			ins->items[i].required = false;
			ins->groups[g][j] = i;
		}
		ins->groups[g][m] = -1;
	}
	return true;
}

/*
 * total_range: the least and greatest total the items can add up to.
 */
static void
total_range(Instrument *ins)
{
	int64		lo = 0,
				hi = 0;

	for (int i = 0; i < ins->nitems; i++)
	{
		InsItem    *it = &ins->items[i];

		if (it->group >= 0)
			continue;
		lo += it->required ? it->min_points : Min(0, it->min_points);
		hi += it->required ? it->max_points : Max(0, it->max_points);
	}
	for (int g = 0; g < ins->ngroups; g++)
	{
		int32		glo = PG_INT32_MAX,
					ghi = PG_INT32_MIN;

		for (int *i = ins->groups[g]; *i >= 0; i++)
		{
			glo = Min(glo, ins->items[*i].min_points);
			ghi = Max(ghi, ins->items[*i].max_points);
		}
		lo += glo;
		hi += ghi;
	}
	ins->total_min = (int32) lo;	/* |points| <= 1000, items <= 100 */
	ins->total_max = (int32) hi;
}

/*
 * parse_bands: the bands of the total, in increasing order, each starting
 * right after the one before, together covering every total the items can
 * add up to.
 */
static bool
parse_bands(Parse *p, Instrument *ins, JsonbValue *v)
{
	static const char *const keys[] = {"band", "min", "max", "system", "code", "display", NULL};
	int			n;

	if (!is_array(v) || (n = JsonContainerSize(v->val.binary.data)) < 1 || n > MAX_BANDS)
		return fail(p, "bands must be an array of 1-%d bands", MAX_BANDS);
	ins->bands = palloc0(sizeof(InsBand) * n);
	ins->nbands = n;
	for (int i = 0; i < n; i++)
	{
		JsonbValue *b = getIthJsonbValueFromContainer(v->val.binary.data, i);
		InsBand    *band = &ins->bands[i];
		char	   *what = psprintf("band %d", i + 1);
		JsonbValue	f;

		if (!is_object(b))
			return fail(p, "%s must be an object", what);
		if (!key(b->val.binary.data, "band", &f) || !code_text(p, &f, psprintf("%s's band", what), "-", &band->band))
			return fail(p, "%s needs a band (its code, e.g. \"high\")", what);
		what = psprintf("band \"%s\"", band->band);
		if (!only_keys(p, b->val.binary.data, what, keys))
			return false;
		if (!key(b->val.binary.data, "min", &f) ||
			!int_value(p, &f, psprintf("%s's min", what), -MAX_ITEMS * MAX_POINTS, MAX_ITEMS * MAX_POINTS, &band->min))
			return fail(p, "%s needs a min (a whole number)", what);
		if (!key(b->val.binary.data, "max", &f) ||
			!int_value(p, &f, psprintf("%s's max", what), -MAX_ITEMS * MAX_POINTS, MAX_ITEMS * MAX_POINTS, &band->max))
			return fail(p, "%s needs a max (a whole number)", what);
		if (band->min > band->max)
			return fail(p, "%s: min %d is above max %d", what, band->min, band->max);
		if (i > 0 && band->min != ins->bands[i - 1].max + 1)
			return fail(p, "%s must start at %d, right after band \"%s\" (bands are in increasing order, without gaps)",
						what, ins->bands[i - 1].max + 1, ins->bands[i - 1].band);
		if (!key(b->val.binary.data, "display", &f) || !text_value(p, &f, psprintf("%s's display", what), &band->display))
			return fail(p, "%s needs a display", what);
		if (!flat_coding(p, b->val.binary.data, what, &band->coding))
			return false;
		for (int j = 0; j < i; j++)
			if (strcmp(ins->bands[j].band, band->band) == 0)
				return fail(p, "two bands are called \"%s\"", band->band);
	}
	if (ins->bands[0].min > ins->total_min || ins->bands[n - 1].max < ins->total_max)
		return fail(p, "the bands cover %d-%d, but the total can be %d-%d",
					ins->bands[0].min, ins->bands[n - 1].max, ins->total_min, ins->total_max);
	return true;
}

/* fail, and return NULL from a function returning a pointer */
#define FAIL_NULL(...) \
	do { \
		fail(p, __VA_ARGS__); \
		return NULL; \
	} while (0)

/*
 * parse_definition: the Instrument a definition describes, or NULL with
 * p->problem set.  Allocates in CurrentMemoryContext.
 */
static Instrument *
parse_definition(Parse *p, Jsonb *def)
{
	static const char *const keys[] = {"code", "name", "scale", "panel", "total", "band_coding", "items",
	"alternatives", "bands", "sources", "notes", NULL};
	Instrument *ins = palloc0(sizeof(Instrument));
	JsonbContainer *root = &def->root;
	JsonbValue	v;
	InsCoding	unused;
	char	   *name;
	bool		ok;

	if (!JB_ROOT_IS_OBJECT(def))
		FAIL_NULL("it must be a JSON object");
	if (!key(root, "code", &v))
		FAIL_NULL("it has no code");
	if (!code_text(p, &v, "its code", "-", &ins->code))
		return NULL;
	p->ins = ins->code;
	ok = only_keys(p, root, "the definition", keys) &&
		((key(root, "name", &v) && text_value(p, &v, "its name", &name)) || fail(p, "it needs a name")) &&
		(!key(root, "scale", &v) || coding(p, &v, "scale", false, &unused)) &&
		(!key(root, "panel", &v) || coding(p, &v, "panel", false, &unused)) &&
		(!key(root, "sources", &v) || is_array(&v) || fail(p, "sources must be an array of strings")) &&
		(!key(root, "notes", &v) || v.type == jbvString || fail(p, "notes must be a string"));
	if (!ok)
		return NULL;

	if (!key(root, "items", &v) || !is_array(&v) ||
		(ins->nitems = JsonContainerSize(v.val.binary.data)) < 1 || ins->nitems > MAX_ITEMS)
		FAIL_NULL("items must be an array of 1-%d items", MAX_ITEMS);
	ins->items = palloc0(sizeof(InsItem) * ins->nitems);
	for (int i = 0; i < ins->nitems; i++)
	{
		if (!parse_item(p, &ins->items[i], getIthJsonbValueFromContainer(v.val.binary.data, i), i))
			return NULL;
		if (find_item(ins, ins->items[i].code, ins->items[i].code_len) != i)
			FAIL_NULL("two items are called \"%s\"", ins->items[i].code);
	}
	if (key(root, "alternatives", &v) && !parse_alternatives(p, ins, &v))
		return NULL;
	total_range(ins);

	ins->has_total = key(root, "total", &v) && v.type != jbvNull;
	if (ins->has_total && !coding(p, &v, "total", false, &unused))
		return NULL;
	if (key(root, "bands", &v) &&
		!((ins->has_total || fail(p, "it has bands but no total")) && parse_bands(p, ins, &v)))
		return NULL;
	if (key(root, "band_coding", &v) &&
		!((ins->nbands > 0 || fail(p, "it has a band_coding but no bands")) &&
		  coding(p, &v, "band_coding", false, &unused)))
		return NULL;
	return ins;
}

/*
 * get_instrument: the parsed definition (cached), or NULL with *problem.
 */
static Instrument *
get_instrument(FunctionCallInfo fcinfo, Jsonb *def, char **problem)
{
	InsCallCache *cc = (InsCallCache *) fcinfo->flinfo->fn_extra;
	Size		len = VARSIZE(def);
	InsCacheEntry *e = NULL;

	/* this call site's last definition, still cached and the same */
	if (cc != NULL && cc->entry->filled == cc->filled && cc->entry->len == len &&
		memcmp(cc->entry->bytes, def, len) == 0)
		e = cc->entry;
	else
	{
		uint32		hash = hash_bytes((const unsigned char *) def, (int) len);

		for (int i = 0; i < CACHE_SIZE && e == NULL; i++)
			if (ins_cache[i].len == len && ins_cache[i].hash == hash && memcmp(ins_cache[i].bytes, def, len) == 0)
				e = &ins_cache[i];
		if (e == NULL)
		{
			Parse		p = {0};
			Instrument *ins;
			MemoryContext cxt,
						old;

			/* parse in a context that an error while parsing frees with the call */
			cxt = AllocSetContextCreate(CurrentMemoryContext, "deling instrument", ALLOCSET_SMALL_SIZES);
			old = MemoryContextSwitchTo(cxt);
			ins = parse_definition(&p, def);
			MemoryContextSwitchTo(old);

			if (ins_cache_cxt == NULL)
				ins_cache_cxt = AllocSetContextCreate(TopMemoryContext, "deling instrument cache",
													  ALLOCSET_SMALL_SIZES);
			e = &ins_cache[0];
			for (int i = 1; i < CACHE_SIZE; i++)
				if (ins_cache[i].used < e->used)
					e = &ins_cache[i];
			if (e->cxt != NULL)
				MemoryContextDelete(e->cxt);
			MemoryContextSetParent(cxt, ins_cache_cxt);
			e->cxt = cxt;
			e->bytes = MemoryContextAlloc(cxt, len);
			memcpy(e->bytes, def, len);
			e->len = len;
			e->hash = hash;
			e->ins = ins;
			e->problem = p.problem;
			e->filled = ++ins_clock;
		}
		if (cc == NULL)
			fcinfo->flinfo->fn_extra = cc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(InsCallCache));
		cc->entry = e;
		cc->filled = e->filled;
	}
	e->used = ++ins_clock;
	*problem = e->problem;
	return e->ins;
}

/*
 * get_instrument_datum: get_instrument of a jsonb datum, recognizing the
 * call site's last compressed or toasted datum by its raw bytes.
 */
static Instrument *
get_instrument_datum(FunctionCallInfo fcinfo, Datum d, char **problem)
{
	struct varlena *raw = (struct varlena *) DatumGetPointer(d);
	InsCallCache *cc = (InsCallCache *) fcinfo->flinfo->fn_extra;
	Size		rawlen = VARATT_IS_EXTENDED(raw) ? VARSIZE_ANY(raw) : 0;
	Instrument *ins;

	if (rawlen > 0 && cc != NULL && cc->rawlen == rawlen && cc->entry->filled == cc->filled &&
		memcmp(cc->raw, raw, rawlen) == 0)
	{
		cc->entry->used = ++ins_clock;
		*problem = cc->entry->problem;
		return cc->entry->ins;
	}
	ins = get_instrument(fcinfo, DatumGetJsonbP(d), problem);
	cc = (InsCallCache *) fcinfo->flinfo->fn_extra;
	cc->rawlen = 0;
	if (rawlen > 0)
	{
		if (cc->rawcap < rawlen)
		{
			if (cc->raw)
				pfree(cc->raw);
			cc->raw = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, rawlen);
			cc->rawcap = rawlen;
		}
		memcpy(cc->raw, raw, rawlen);
		cc->rawlen = rawlen;
	}
	return ins;
}

/* ------------------------------------------------------------------------
 * Scoring an assessment
 * ------------------------------------------------------------------------
 */

typedef struct Scored
{
	int32		total;
	int			band;			/* index into bands, or -1 */
	int			given;			/* items given */
	bool		present[MAX_ITEMS];
	int			answer[MAX_ITEMS];	/* answer index, or range index */
	JsonbValue	value[MAX_ITEMS];
} Scored;

/*
 * value_text: a JSON value as a message shows it.
 */
static char *
value_text(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNumeric:
			return num_text(v->val.numeric);
		case jbvString:
			return psprintf("\"%.*s\"", Min(v->val.string.len, 100), v->val.string.val);
		case jbvBool:
			return v->val.boolean ? "true" : "false";
		case jbvNull:
			return "null";
		default:
			return JsonContainerIsArray(v->val.binary.data) ? "an array" : "an object";
	}
}

/*
 * answers_text: an answer item's answers, for a message.
 */
static char *
answers_text(InsItem *item)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < item->nanswers; i++)
	{
		appendStringInfo(&buf, "%s%d", i ? ", " : "", item->answers[i].points);
		if (item->answers[i].coding.code)
			appendStringInfo(&buf, " (%s)", item->answers[i].coding.code);
	}
	return buf.data;
}

/*
 * item_points: the points of one item's value (and which answer or range
 * gave them), or false with *problem.
 * Answer items take the points of an answer, or an answer's code;
 * measured items take a number within their limits.
 */
static bool
item_points(Instrument *ins, int i, JsonbValue *v, int32 *points, int *answer, char **problem)
{
	InsItem    *item = &ins->items[i];

	if (item->nanswers > 0)
	{
		for (int a = 0; a < item->nanswers; a++)
		{
			InsAnswer  *ans = &item->answers[a];

			if ((v->type == jbvNumeric && num_cmp(v->val.numeric, ans->num) == 0) ||
				(v->type == jbvString && ans->coding.code && (int) strlen(ans->coding.code) == v->val.string.len &&
				 memcmp(ans->coding.code, v->val.string.val, v->val.string.len) == 0))
			{
				*points = ans->points;
				*answer = a;
				return true;
			}
		}
		*problem = psprintf("%s: item \"%s\" is %s, not one of its answers: %s",
							ins->code, item->code, value_text(v), answers_text(item));
		return false;
	}
	if (v->type != jbvNumeric || numeric_is_nan(v->val.numeric) || numeric_is_inf(v->val.numeric))
	{
		*problem = psprintf("%s: item \"%s\" is %s, not a number (%s)", ins->code, item->code, value_text(v), item->unit);
		return false;
	}
	if ((item->min && num_cmp(v->val.numeric, item->min) < 0) || (item->max && num_cmp(v->val.numeric, item->max) > 0))
	{
		*problem = psprintf("%s: item \"%s\" %s %s is outside %s-%s", ins->code, item->code,
							num_text(v->val.numeric), item->unit,
							item->min ? num_text(item->min) : "", item->max ? num_text(item->max) : "");
		return false;
	}
	for (int r = 0; r < item->nranges; r++)
		if (item->ranges[r].below == NULL || num_cmp(v->val.numeric, item->ranges[r].below) < 0)
		{
			*points = item->ranges[r].points;
			*answer = r;
			return true;
		}
	pg_unreachable();			/* the last range has no bound */
}

/*
 * score: the total and band of an assessment's items, or false with
 * *problem; has_sender_total: the sender gave sender_total.
 */
static bool
score(Instrument *ins, Jsonb *items, bool has_sender_total, int32 sender_total, Scored *s, char **problem)
{
	int			found = 0;

	s->total = 0;
	s->band = -1;
	s->given = 0;
	if (!JB_ROOT_IS_OBJECT(items) || JB_ROOT_IS_SCALAR(items))
	{
		*problem = psprintf("%s: the items must be a JSON object of item codes and their values", ins->code);
		return false;
	}
	for (int i = 0; i < ins->nitems; i++)
	{
		InsItem    *item = &ins->items[i];

		s->present[i] = getKeyJsonValueFromContainer(&items->root, item->code, item->code_len, &s->value[i]) != NULL;
		found += s->present[i];
		/* null is the same as not given */
		if (s->present[i] && s->value[i].type == jbvNull)
			s->present[i] = false;
	}
	if (found < (int) JB_ROOT_COUNT(items))
	{
		/* a key that is not an item: name it */
		JsonbIterator *it = JsonbIteratorInit(&items->root);
		JsonbValue	k;
		JsonbIteratorToken tok;
		StringInfoData known;

		initStringInfo(&known);
		for (int i = 0; i < ins->nitems; i++)
			appendStringInfo(&known, "%s%s", i ? ", " : "", ins->items[i].code);
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
			if (tok == WJB_KEY && find_item(ins, k.val.string.val, k.val.string.len) < 0)
			{
				*problem = psprintf("%s: unknown item \"%.*s\" (its items: %s)", ins->code,
									Min(k.val.string.len, 100), k.val.string.val, known.data);
				return false;
			}
	}
	for (int i = 0; i < ins->nitems; i++)
	{
		int32		points;

		if (!s->present[i])
			continue;
		if (!item_points(ins, i, &s->value[i], &points, &s->answer[i], problem))
			return false;
		s->total += points;
		s->given++;
	}
	for (int i = 0; i < ins->nitems; i++)
		if (ins->items[i].required && !s->present[i])
		{
			*problem = psprintf("%s: item \"%s\" is missing", ins->code, ins->items[i].code);
			return false;
		}
	for (int g = 0; g < ins->ngroups; g++)
	{
		int			n = 0;
		StringInfoData names;

		initStringInfo(&names);
		for (int *i = ins->groups[g]; *i >= 0; i++)
		{
			n += s->present[*i];
			appendStringInfo(&names, "%s\"%s\"", i == ins->groups[g] ? "" : ", ", ins->items[*i].code);
		}
		if (n != 1)
		{
			*problem = n == 0
				? psprintf("%s: one of the items %s is missing", ins->code, names.data)
				: psprintf("%s: items %s are alternatives: give exactly one, not %d", ins->code, names.data, n);
			return false;
		}
	}
	if (s->given == 0)
	{
		*problem = psprintf("%s: no items", ins->code);
		return false;
	}
	if (!ins->has_total)
	{
		s->total = 0;
		if (has_sender_total)
		{
			*problem = psprintf("%s has no total score, but the sender gave %d", ins->code, sender_total);
			return false;
		}
		return true;
	}
	if (has_sender_total && sender_total != s->total)
	{
		*problem = psprintf("%s: the sender's total %d disagrees with the items' total %d",
							ins->code, sender_total, s->total);
		return false;
	}
	for (int b = 0; b < ins->nbands; b++)
		if (s->total >= ins->bands[b].min && s->total <= ins->bands[b].max)
			s->band = b;
	return true;
}

/*
 * evaluate: the common part of the SQL functions: NULL definition or items
 * give false with *problem NULL (the caller decides what that means).
 */
static bool
evaluate(FunctionCallInfo fcinfo, bool check_total, Instrument **ins, Scored *s, char **problem)
{
	Jsonb	   *items;

	*problem = NULL;
	*ins = NULL;
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		return false;
	*ins = get_instrument_datum(fcinfo, PG_GETARG_DATUM(0), problem);
	items = PG_GETARG_JSONB_P(1);
	if (*ins == NULL)
		return false;
	return score(*ins, items, check_total && PG_NARGS() > 2 && !PG_ARGISNULL(2),
				 check_total && PG_NARGS() > 2 && !PG_ARGISNULL(2) ? PG_GETARG_INT32(2) : 0, s, problem);
}

static void
raise_problem(const char *problem)
{
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg_internal("%s", problem)));
}

PG_FUNCTION_INFO_V1(deling_instrument_score);

/*
 * instrument_score(definition jsonb, items jsonb, total integer DEFAULT
 * NULL): the total and band (a deling.instrument_result); a sender's total
 * that disagrees with the items, or any other problem, raises 22023.  NULL
 * definition or items give NULL.
 */
Datum
deling_instrument_score(PG_FUNCTION_ARGS)
{
	Instrument *ins;
	Scored		s;
	char	   *problem;
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("instrument_score must be called in a context that accepts a record")));
	if (!evaluate(fcinfo, true, &ins, &s, &problem))
	{
		if (problem != NULL)
			raise_problem(problem);
		PG_RETURN_NULL();
	}
	values[0] = Int32GetDatum(s.total);
	nulls[0] = !ins->has_total;
	if (s.band >= 0)
	{
		InsBand    *b = &ins->bands[s.band];

		values[1] = CStringGetTextDatum(b->band);
		values[2] = b->coding.system ? CStringGetTextDatum(b->coding.system) : (Datum) 0;
		values[3] = b->coding.code ? CStringGetTextDatum(b->coding.code) : (Datum) 0;
		values[4] = CStringGetTextDatum(b->display);
		nulls[2] = b->coding.system == NULL;
		nulls[3] = b->coding.code == NULL;
	}
	else
		nulls[1] = nulls[2] = nulls[3] = nulls[4] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

PG_FUNCTION_INFO_V1(deling_instrument_problem);

/*
 * instrument_problem(definition jsonb, items jsonb, total integer DEFAULT
 * NULL): NULL when the items can be scored (and agree with the sender's
 * total), else what instrument_score would raise; lets batch ingest report
 * every bad item without a subtransaction per item.  A NULL definition (an
 * instrument not found) or NULL items are problems too.
 */
Datum
deling_instrument_problem(PG_FUNCTION_ARGS)
{
	Instrument *ins;
	Scored		s;
	char	   *problem;

	if (PG_ARGISNULL(0))
		PG_RETURN_TEXT_P(cstring_to_text("no instrument definition (unknown instrument)"));
	if (PG_ARGISNULL(1))
	{
		ins = get_instrument_datum(fcinfo, PG_GETARG_DATUM(0), &problem);
		if (ins != NULL)
			problem = psprintf("%s: no items", ins->code);
		PG_RETURN_TEXT_P(cstring_to_text(problem));
	}
	if (evaluate(fcinfo, true, &ins, &s, &problem))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(problem));
}

/*
 * push_string: a string key or value.
 */
static void
push_string(JsonbParseState **st, JsonbIteratorToken tok, const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	pushJsonbValue(st, tok, &v);
}

/*
 * push_coding: k: {"system", "code", "display"} (display: the answer's own,
 * else the coding's).
 */
static void
push_coding(JsonbParseState **st, const char *k, const InsCoding *c, const char *display)
{
	push_string(st, WJB_KEY, k);
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	if (c->system)
	{
		push_string(st, WJB_KEY, "system");
		push_string(st, WJB_VALUE, c->system);
		push_string(st, WJB_KEY, "code");
		push_string(st, WJB_VALUE, c->code);
	}
	if (display || c->display)
	{
		push_string(st, WJB_KEY, "display");
		push_string(st, WJB_VALUE, display ? display : c->display);
	}
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

PG_FUNCTION_INFO_V1(deling_instrument_items);

/*
 * instrument_items(definition jsonb, items jsonb): the items given, in
 * the definition's order, as the FHIR components need them: [{"item",
 * "points", "coding": item coding, "answer": {system, code, display} |
 * {display}, "value" and "unit" for a measured item}].  Raises 22023 like
 * instrument_score.
 */
Datum
deling_instrument_items(PG_FUNCTION_ARGS)
{
	Instrument *ins;
	Scored		s;
	char	   *problem;
	JsonbParseState *st = NULL;
	JsonbValue *res;
	JsonbValue	v;

	if (!evaluate(fcinfo, false, &ins, &s, &problem))
	{
		if (problem != NULL)
			raise_problem(problem);
		PG_RETURN_NULL();
	}
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < ins->nitems; i++)
	{
		InsItem    *item = &ins->items[i];
		int32		points;

		if (!s.present[i])
			continue;
		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		push_string(&st, WJB_KEY, "item");
		push_string(&st, WJB_VALUE, item->code);
		push_coding(&st, "coding", &item->coding, NULL);
		if (item->nanswers > 0)
		{
			points = item->answers[s.answer[i]].points;
			push_coding(&st, "answer", &item->answers[s.answer[i]].coding, item->answers[s.answer[i]].display);
		}
		else
		{
			points = item->ranges[s.answer[i]].points;
			push_string(&st, WJB_KEY, "value");
			pushJsonbValue(&st, WJB_VALUE, &s.value[i]);
			push_string(&st, WJB_KEY, "unit");
			push_string(&st, WJB_VALUE, item->unit);
			if (item->ranges[s.answer[i]].display)
			{
				push_string(&st, WJB_KEY, "answer");
				pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
				push_string(&st, WJB_KEY, "display");
				push_string(&st, WJB_VALUE, item->ranges[s.answer[i]].display);
				pushJsonbValue(&st, WJB_END_OBJECT, NULL);
			}
		}
		push_string(&st, WJB_KEY, "points");
		v.type = jbvNumeric;
		v.val.numeric = int64_to_numeric(points);
		pushJsonbValue(&st, WJB_VALUE, &v);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	res = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}

PG_FUNCTION_INFO_V1(deling_instrument_check);

/*
 * instrument_check(definition jsonb): NULL when the definition is valid,
 * else what is wrong with it (deling.instrument's CHECK constraint).
 */
Datum
deling_instrument_check(PG_FUNCTION_ARGS)
{
	char	   *problem;

	if (get_instrument_datum(fcinfo, PG_GETARG_DATUM(0), &problem) != NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(problem));
}
