/*
 * json_writer.c
 *	  The one JSON writer (json_writer.h): text exactly as jsonb::text
 *	  prints the same value.
 *
 * jsonb keeps an object's keys sorted by length, then bytewise, and of a
 * repeated key only the last value (jsonb_util.c, lengthCompareJsonbPair
 * and uniqueifyJsonbObject); JsonbToCString separates members with ", "
 * and keys from values with ": ", escapes strings with escape_json and
 * prints numbers with numeric_out.  This writer appends each member where
 * it is written and remembers where it starts and its key; an object whose
 * keys came in that order is already right when it is closed, any other is
 * rewritten once in order, through a scratch buffer the size of that one
 * object.  A member's record (its offset and key) lives only while its
 * object is open.
 */
#include "postgres.h"

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonfuncs.h"

#include "json_writer.h"

/* a member of an open object: where its text starts, and its raw key */
typedef struct JwMember
{
	int			start;			/* offset of the key's opening quote */
	int			key_off;		/* the raw key, in keys */
	int			key_len;
} JwMember;

/* an open object or array */
typedef struct JwFrame
{
	bool		is_object;
	bool		key_pending;	/* a key was written, its value not yet */
	bool		sorted;			/* keys so far in jsonb order, none repeated */
	int			count;			/* members or elements written */
	int			first_member;	/* its members in members[] */
	int			keys_base;		/* keys.len when it was opened */
} JwFrame;

struct JsonWriter
{
	StringInfoData buf;			/* VARHDRSZ bytes for the text header, then the JSON */
	JwFrame    *frames;
	int			depth;
	int			frames_alloc;
	JwMember   *members;
	int			nmembers;
	int			members_alloc;
	StringInfoData keys;		/* raw keys of the members of open objects */
	bool		done;			/* the top-level value is complete */
};

/* a member being put in order when its object closes */
typedef struct JwSortItem
{
	const char *key;
	int			key_len;
	int			order;
	int			start;
	int			end;
} JwSortItem;

JsonWriter *
jw_create(void)
{
	JsonWriter *w = palloc0(sizeof(JsonWriter));

	initStringInfo(&w->buf);
	appendStringInfoSpaces(&w->buf, VARHDRSZ);
	initStringInfo(&w->keys);
	w->frames_alloc = 8;
	w->frames = palloc(sizeof(JwFrame) * w->frames_alloc);
	w->members_alloc = 32;
	w->members = palloc(sizeof(JwMember) * w->members_alloc);
	return w;
}

/*
 * jw_reserve: room for about this much output at once, so that a large
 * output is not copied as its buffer doubles (a copy is a moment with both
 * in memory); what is never written is never touched.  At most 512 MB is
 * reserved ahead; beyond that the buffer grows as it is written.
 */
void
jw_reserve(JsonWriter *w, Size bytes)
{
	enlargeStringInfo(&w->buf, (int) Min(bytes, (Size) 512 * 1024 * 1024));
}

/* jsonb's key order: shorter first, then bytewise */
static inline int
key_cmp(const char *a, int alen, const char *b, int blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

static int
sort_item_cmp(const void *a, const void *b)
{
	const JwSortItem *x = a;
	const JwSortItem *y = b;
	int			c = key_cmp(x->key, x->key_len, y->key, y->key_len);

	if (c != 0)
		return c;
	return x->order - y->order;
}

/* begin_value: the separator or the pending key before a value */
static void
begin_value(JsonWriter *w)
{
	JwFrame    *top;

	if (w->depth == 0)
	{
		if (w->done)
			elog(ERROR, "JSON writer: a second top-level value");
		return;
	}
	top = &w->frames[w->depth - 1];
	if (top->is_object)
	{
		if (!top->key_pending)
			elog(ERROR, "JSON writer: an object member without a key");
		top->key_pending = false;
	}
	else
	{
		if (top->count > 0)
			appendBinaryStringInfo(&w->buf, ", ", 2);
		top->count++;
	}
}

static inline void
end_value(JsonWriter *w)
{
	if (w->depth == 0)
		w->done = true;
}

static void
push_frame(JsonWriter *w, bool is_object)
{
	JwFrame    *f;

	begin_value(w);
	if (w->depth == w->frames_alloc)
	{
		w->frames_alloc *= 2;
		w->frames = repalloc(w->frames, sizeof(JwFrame) * w->frames_alloc);
	}
	f = &w->frames[w->depth++];
	f->is_object = is_object;
	f->key_pending = false;
	f->sorted = true;
	f->count = 0;
	f->first_member = w->nmembers;
	f->keys_base = w->keys.len;
	appendStringInfoChar(&w->buf, is_object ? '{' : '[');
}

void
jw_object_begin(JsonWriter *w)
{
	push_frame(w, true);
}

void
jw_array_begin(JsonWriter *w)
{
	push_frame(w, false);
}

/*
 * sort_members: rewrite the open object's members in jsonb's order, a
 * repeated key keeping its last value.  The members' text runs from the
 * first member's start to the end of the buffer, ", " between them.
 */
static void
sort_members(JsonWriter *w, JwFrame *f)
{
	int			n = f->count;
	JwMember   *m = &w->members[f->first_member];
	JwSortItem *items = palloc(sizeof(JwSortItem) * n);
	int			from = m[0].start;
	StringInfoData out;
	int			kept = 0;

	for (int i = 0; i < n; i++)
	{
		items[i].key = w->keys.data + m[i].key_off;
		items[i].key_len = m[i].key_len;
		items[i].order = i;
		items[i].start = m[i].start;
		items[i].end = i + 1 < n ? m[i + 1].start - 2 : w->buf.len;
	}
	qsort(items, n, sizeof(JwSortItem), sort_item_cmp);
	initStringInfo(&out);
	enlargeStringInfo(&out, w->buf.len - from);
	for (int i = 0; i < n; i++)
	{
		/* of equal keys (adjacent, in the order written) only the last */
		if (i + 1 < n && key_cmp(items[i].key, items[i].key_len, items[i + 1].key, items[i + 1].key_len) == 0)
			continue;
		if (kept++ > 0)
			appendBinaryStringInfo(&out, ", ", 2);
		appendBinaryStringInfo(&out, w->buf.data + items[i].start, items[i].end - items[i].start);
	}
	memcpy(w->buf.data + from, out.data, out.len);
	w->buf.len = from + out.len;
	w->buf.data[w->buf.len] = '\0';
	f->count = kept;
	pfree(out.data);
	pfree(items);
}

static void
pop_frame(JsonWriter *w, bool is_object)
{
	JwFrame    *f;

	if (w->depth == 0 || w->frames[w->depth - 1].is_object != is_object)
		elog(ERROR, "JSON writer: %s closed without being open", is_object ? "an object" : "an array");
	f = &w->frames[w->depth - 1];
	if (f->key_pending)
		elog(ERROR, "JSON writer: a key without a value");
	if (is_object && !f->sorted)
		sort_members(w, f);
	w->nmembers = f->first_member;
	w->keys.len = f->keys_base;
	w->depth--;
	appendStringInfoChar(&w->buf, is_object ? '}' : ']');
	end_value(w);
}

void
jw_object_end(JsonWriter *w)
{
	pop_frame(w, true);
}

void
jw_array_end(JsonWriter *w)
{
	pop_frame(w, false);
}

void
jw_key_len(JsonWriter *w, const char *key, int len)
{
	JwFrame    *f;
	JwMember   *m;

	if (w->depth == 0 || !w->frames[w->depth - 1].is_object)
		elog(ERROR, "JSON writer: a key outside an object");
	f = &w->frames[w->depth - 1];
	if (f->key_pending)
		elog(ERROR, "JSON writer: a key without a value");
	if (f->count > 0)
	{
		JwMember   *prev = &w->members[w->nmembers - 1];

		appendBinaryStringInfo(&w->buf, ", ", 2);
		if (f->sorted && key_cmp(w->keys.data + prev->key_off, prev->key_len, key, len) >= 0)
			f->sorted = false;
	}
	if (w->nmembers == w->members_alloc)
	{
		w->members_alloc *= 2;
		w->members = repalloc(w->members, sizeof(JwMember) * w->members_alloc);
	}
	m = &w->members[w->nmembers++];
	m->start = w->buf.len;
	m->key_off = w->keys.len;
	m->key_len = len;
	appendBinaryStringInfo(&w->keys, key, len);
	jw_escape(&w->buf, key, len);
	appendBinaryStringInfo(&w->buf, ": ", 2);
	f->count++;
	f->key_pending = true;
}

void
jw_key(JsonWriter *w, const char *key)
{
	jw_key_len(w, key, strlen(key));
}

/*
 * jw_escape: a JSON string as escape_json (json.c) writes it: \b \f \n \r
 * \t \" \\ by name, other bytes below 0x20 as \u00xx, every other byte as
 * it is.  Runs of plain bytes are copied at once.
 */
void
jw_escape(StringInfo buf, const char *s, int len)
{
	const char *run = s;
	const char *end = s + len;
	const char *p;

	enlargeStringInfo(buf, len + 2);
	buf->data[buf->len++] = '"';
	for (p = s; p < end; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (p > run)
			appendBinaryStringInfo(buf, run, p - run);
		switch (c)
		{
			case '\b':
				appendBinaryStringInfo(buf, "\\b", 2);
				break;
			case '\f':
				appendBinaryStringInfo(buf, "\\f", 2);
				break;
			case '\n':
				appendBinaryStringInfo(buf, "\\n", 2);
				break;
			case '\r':
				appendBinaryStringInfo(buf, "\\r", 2);
				break;
			case '\t':
				appendBinaryStringInfo(buf, "\\t", 2);
				break;
			case '"':
				appendBinaryStringInfo(buf, "\\\"", 2);
				break;
			case '\\':
				appendBinaryStringInfo(buf, "\\\\", 2);
				break;
			default:
				appendStringInfo(buf, "\\u%04x", (int) c);
				break;
		}
		run = p + 1;
	}
	if (p > run)
		appendBinaryStringInfo(buf, run, p - run);
	appendStringInfoChar(buf, '"');
}

void
jw_string_len(JsonWriter *w, const char *s, int len)
{
	begin_value(w);
	jw_escape(&w->buf, s, len);
	end_value(w);
}

void
jw_string(JsonWriter *w, const char *s)
{
	jw_string_len(w, s, strlen(s));
}

void
jw_int(JsonWriter *w, int64 v)
{
	begin_value(w);
	appendStringInfo(&w->buf, INT64_FORMAT, v);
	end_value(w);
}

/*
 * jw_numeric: as numeric_out prints it; NaN and the infinities, which are
 * no JSON numbers, as strings (as to_jsonb writes them).
 */
void
jw_numeric(JsonWriter *w, Numeric n)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));

	if (numeric_is_nan(n) || numeric_is_inf(n))
		jw_string(w, s);
	else
		jw_number(w, s);
	pfree(s);
}

/* jw_number: a number already in numeric_out's form */
void
jw_number(JsonWriter *w, const char *text)
{
	begin_value(w);
	appendStringInfoString(&w->buf, text);
	end_value(w);
}

/*
 * jw_append_number: a JSON number token as jsonb prints it.  jsonb keeps a
 * number as numeric, so numeric_out decides: a token of the form
 * -?(0|[1-9][0-9]*)(.[0-9]+)? that is not a negative zero is printed as it
 * is (numeric keeps its digits and scale); any other (exponents, -0) goes
 * through numeric_in and numeric_out.
 */
void
jw_append_number(StringInfo buf, const char *token, int len)
{
	const char *p = token;
	const char *end = token + len;
	bool		negative = false;
	bool		nonzero = false;
	bool		plain = true;

	if (p < end && *p == '-')
	{
		negative = true;
		p++;
	}
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9')
	{
		nonzero = true;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	else
		plain = false;
	if (plain && p < end && *p == '.')
	{
		p++;
		if (p == end || *p < '0' || *p > '9')
			plain = false;
		while (p < end && *p >= '0' && *p <= '9')
		{
			if (*p != '0')
				nonzero = true;
			p++;
		}
	}
	if (plain && p == end && (!negative || nonzero))
		appendBinaryStringInfo(buf, token, len);
	else
	{
		char	   *cstr = pnstrdup(token, len);
		Datum		n = DirectFunctionCall3(numeric_in, CStringGetDatum(cstr),
										   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
		char	   *out = DatumGetCString(DirectFunctionCall1(numeric_out, n));

		appendStringInfoString(buf, out);
		pfree(out);
		pfree(cstr);
	}
}

/* jw_number_token: a JSON number token, written as jsonb prints it */
void
jw_number_token(JsonWriter *w, const char *token, int len)
{
	begin_value(w);
	jw_append_number(&w->buf, token, len);
	end_value(w);
}

void
jw_bool(JsonWriter *w, bool v)
{
	begin_value(w);
	if (v)
		appendBinaryStringInfo(&w->buf, "true", 4);
	else
		appendBinaryStringInfo(&w->buf, "false", 5);
	end_value(w);
}

void
jw_null(JsonWriter *w)
{
	begin_value(w);
	appendBinaryStringInfo(&w->buf, "null", 4);
	end_value(w);
}

/* jw_raw: a value this writer (or jsonb_out) already wrote, as it is */
void
jw_raw(JsonWriter *w, const char *json, int len)
{
	begin_value(w);
	appendBinaryStringInfo(&w->buf, json, len);
	end_value(w);
}

/* jw_json: any JSON text, parsed once and written in jsonb's form */
typedef struct JwParse
{
	JsonWriter *w;
} JwParse;

static void
jp_object_start(void *state)
{
	jw_object_begin(((JwParse *) state)->w);
}

static void
jp_object_end(void *state)
{
	jw_object_end(((JwParse *) state)->w);
}

static void
jp_array_start(void *state)
{
	jw_array_begin(((JwParse *) state)->w);
}

static void
jp_array_end(void *state)
{
	jw_array_end(((JwParse *) state)->w);
}

static void
jp_field(void *state, char *fname, bool isnull)
{
	jw_key(((JwParse *) state)->w, fname);
	pfree(fname);
}

static void
jp_scalar(void *state, char *token, JsonTokenType type)
{
	JsonWriter *w = ((JwParse *) state)->w;

	switch (type)
	{
		case JSON_TOKEN_STRING:
			jw_string(w, token);
			break;
		case JSON_TOKEN_NUMBER:
			jw_number_token(w, token, strlen(token));
			break;
		case JSON_TOKEN_TRUE:
			jw_bool(w, true);
			break;
		case JSON_TOKEN_FALSE:
			jw_bool(w, false);
			break;
		default:
			jw_null(w);
			break;
	}
	if (token)
		pfree(token);
}

void
jw_json(JsonWriter *w, text *json)
{
	JsonLexContext *lex = makeJsonLexContext(json, true);
	JwParse		state = {w};
	JsonSemAction sem = {0};

	sem.semstate = &state;
	sem.object_start = jp_object_start;
	sem.object_end = jp_object_end;
	sem.array_start = jp_array_start;
	sem.array_end = jp_array_end;
	sem.object_field_start = jp_field;
	sem.scalar = jp_scalar;
	pg_parse_json_or_ereport(lex, &sem);
	if (lex->strval)
	{
		pfree(lex->strval->data);
		pfree(lex->strval);
	}
	pfree(lex);
}

/* jw_jsonb: a jsonb value (its keys are in order already) */
void
jw_jsonb(JsonWriter *w, JsonbContainer *container)
{
	JsonbIterator *it = JsonbIteratorInit(container);
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		raw_scalar = false;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
				if (v.val.array.rawScalar)
					raw_scalar = true;
				else
					jw_array_begin(w);
				break;
			case WJB_END_ARRAY:
				if (raw_scalar)
					raw_scalar = false;
				else
					jw_array_end(w);
				break;
			case WJB_BEGIN_OBJECT:
				jw_object_begin(w);
				break;
			case WJB_END_OBJECT:
				jw_object_end(w);
				break;
			case WJB_KEY:
				jw_key_len(w, v.val.string.val, v.val.string.len);
				break;
			default:
				switch (v.type)
				{
					case jbvString:
						jw_string_len(w, v.val.string.val, v.val.string.len);
						break;
					case jbvNumeric:
						jw_numeric(w, v.val.numeric);
						break;
					case jbvBool:
						jw_bool(w, v.val.boolean);
						break;
					default:
						jw_null(w);
						break;
				}
				break;
		}
	}
}

void
jw_kv_string(JsonWriter *w, const char *key, const char *value)
{
	if (value == NULL)
		return;
	jw_key(w, key);
	jw_string(w, value);
}

void
jw_kv_int(JsonWriter *w, const char *key, int64 value)
{
	jw_key(w, key);
	jw_int(w, value);
}

void
jw_kv_number(JsonWriter *w, const char *key, const char *value)
{
	if (value == NULL)
		return;
	jw_key(w, key);
	jw_number(w, value);
}

JwMark
jw_mark(JsonWriter *w)
{
	JwMark		m;

	m.len = w->buf.len;
	m.depth = w->depth;
	m.keys_len = w->keys.len;
	m.done = w->done;
	if (w->depth > 0)
	{
		JwFrame    *f = &w->frames[w->depth - 1];

		m.count = f->count;
		m.sorted = f->sorted;
		m.key_pending = f->key_pending;
	}
	else
	{
		m.count = 0;
		m.sorted = true;
		m.key_pending = false;
	}
	return m;
}

/* jw_rollback: undo everything written since the mark */
void
jw_rollback(JsonWriter *w, JwMark mark)
{
	if (w->depth < mark.depth)
		elog(ERROR, "JSON writer: rollback to a closed container");
	w->depth = mark.depth;
	if (w->depth > 0)
	{
		JwFrame    *f = &w->frames[w->depth - 1];

		f->count = mark.count;
		f->sorted = mark.sorted;
		f->key_pending = mark.key_pending;
		w->nmembers = f->first_member + (f->is_object ? f->count : 0);
	}
	else
	{
		w->nmembers = 0;
	}
	w->done = mark.done;
	w->keys.len = mark.keys_len;
	w->buf.len = mark.len;
	w->buf.data[w->buf.len] = '\0';
}

/*
 * jw_finish: the output as a text (json) datum: the buffer itself, its
 * first VARHDRSZ bytes made the header.  The writer's other memory is freed.
 */
text *
jw_finish(JsonWriter *w)
{
	text	   *result;

	if (w->depth != 0 || !w->done)
		elog(ERROR, "JSON writer: finished with %d open containers", w->depth);
	result = (text *) w->buf.data;
	SET_VARSIZE(result, w->buf.len);
	pfree(w->keys.data);
	pfree(w->frames);
	pfree(w->members);
	pfree(w);
	return result;
}
