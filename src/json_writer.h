/*
 * json_writer.h
 *	  The one way deling writes JSON: a text writer whose output is exactly
 *	  what jsonb::text prints for the same value.
 *
 * Objects may be written in any key order: when an object is closed its
 * members are put in jsonb's order (shorter keys first, then bytewise, a
 * repeated key keeping its last value), so the text is the same as jsonb's
 * whatever order a renderer writes.  Separators are ": " and ", ", strings
 * are escaped as escape_json escapes them, numbers are printed as
 * numeric_out prints them.  The output is built in one buffer that becomes
 * the result datum itself (no copy); the only other memory is one small
 * record per member of each open object.
 */
#ifndef JSON_WRITER_H
#define JSON_WRITER_H

#include "lib/stringinfo.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

typedef struct JsonWriter JsonWriter;

/* a point to return to (jw_rollback): what was written after it is undone */
typedef struct JwMark
{
	int			len;
	int			depth;
	int			count;
	int			keys_len;
	bool		sorted;
	bool		key_pending;
	bool		done;
} JwMark;

extern JsonWriter *jw_create(void);
extern void jw_reserve(JsonWriter *w, Size bytes);

/* containers */
extern void jw_object_begin(JsonWriter *w);
extern void jw_object_end(JsonWriter *w);
extern void jw_array_begin(JsonWriter *w);
extern void jw_array_end(JsonWriter *w);

/* a member's key; its value is the next value written */
extern void jw_key(JsonWriter *w, const char *key);
extern void jw_key_len(JsonWriter *w, const char *key, int len);

/* scalars */
extern void jw_string(JsonWriter *w, const char *s);
extern void jw_string_len(JsonWriter *w, const char *s, int len);
extern void jw_int(JsonWriter *w, int64 v);
extern void jw_numeric(JsonWriter *w, Numeric n);
extern void jw_number(JsonWriter *w, const char *text);
extern void jw_number_token(JsonWriter *w, const char *token, int len);
extern void jw_bool(JsonWriter *w, bool v);
extern void jw_null(JsonWriter *w);

/* values already JSON */
extern void jw_raw(JsonWriter *w, const char *json, int len);
extern void jw_json(JsonWriter *w, text *json);
extern void jw_jsonb(JsonWriter *w, JsonbContainer *container);

/* "key": value in one call; the string ones write nothing for NULL */
extern void jw_kv_string(JsonWriter *w, const char *key, const char *value);
extern void jw_kv_int(JsonWriter *w, const char *key, int64 value);
extern void jw_kv_number(JsonWriter *w, const char *key, const char *value);

/* undoing what was written (a template's member that renders nothing) */
extern JwMark jw_mark(JsonWriter *w);
extern void jw_rollback(JsonWriter *w, JwMark mark);

/* the output: the writer must be back at the top level with one value */
extern text *jw_finish(JsonWriter *w);

/* the JSON string of s as escape_json writes it, appended to buf */
extern void jw_escape(StringInfo buf, const char *s, int len);

/* a JSON number token in numeric_out's form (numeric_in when needed) */
extern void jw_append_number(StringInfo buf, const char *token, int len);

#endif							/* JSON_WRITER_H */
