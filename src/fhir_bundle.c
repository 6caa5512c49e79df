/*
 * fhir_bundle.c
 *	  deling.fhir_bundle_json: a FHIR Bundle from parts of json entries,
 *	  written once with the JSON writer; deling.fhir_entry_json (a resource
 *	  as a part of one entry) and deling.json_canonical (any JSON text as
 *	  jsonb prints it).
 *
 * The entries are read in one pass of the JSON parser over each part (no
 * jsonb is built): each entry's resource is written to the Bundle as it is
 * parsed, its id (for fullUrl) and mode are picked up on the way.  The
 * Bundle's members are written in jsonb's key order, so the writer never
 * moves the large "entry" member; only each entry (search, fullUrl,
 * resource) is put in order, at the size of one resource.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonfuncs.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/uuid.h"

#include "fhir_common.h"
#include "fhir_constants.h"

/*
 * The parse of one part: a JSON array of entries {"mode": m, "resource":
 * {...}}.  Levels are the parser's (lex_level): the part's array is level
 * 0, an entry's fields level 2, its resource's fields level 3.
 */
typedef struct EntryParse
{
	JsonWriter *w;
	JsonLexContext *lex;
	bool		searchset;
	int			entries;		/* entries written so far, all parts */
	bool		in_resource;	/* the resource's events go to the writer */
	bool		has_resource;
	bool		pending_mode;	/* the scalar that follows is the entry's mode */
	bool		pending_id;		/* the scalar that follows is the resource's id */
	char	   *mode;
	char	   *id;
} EntryParse;

static void
entry_end(EntryParse *p)
{
	JsonWriter *w = p->w;

	if (!p->has_resource)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Bundle entry has no resource object")));
	if (p->id)
	{
		char	   *url = psprintf("urn:uuid:%s", p->id);

		jw_key(w, "fullUrl");
		jw_string(w, url);
		pfree(url);
	}
	if (p->searchset && p->mode)
	{
		jw_key(w, "search");
		jw_object_begin(w);
		jw_kv_string(w, "mode", p->mode);
		jw_object_end(w);
	}
	jw_object_end(w);
	if (p->id)
		pfree(p->id);
	if (p->mode)
		pfree(p->mode);
	p->id = p->mode = NULL;
}

static void
ep_object_start(void *state)
{
	EntryParse *p = state;

	if (p->in_resource)
		jw_object_begin(p->w);
	else if (p->lex->lex_level == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Bundle entries must be a JSON array")));
	else if (p->lex->lex_level == 1)
	{
		/* an entry */
		p->has_resource = false;
		p->pending_mode = p->pending_id = false;
		p->mode = p->id = NULL;
		jw_object_begin(p->w);
	}
}

static void
ep_object_end(void *state)
{
	EntryParse *p = state;

	if (p->in_resource)
		jw_object_end(p->w);
	else if (p->lex->lex_level == 1)
		entry_end(p);
}

static void
ep_array_start(void *state)
{
	EntryParse *p = state;

	if (p->in_resource)
		jw_array_begin(p->w);
}

static void
ep_array_end(void *state)
{
	EntryParse *p = state;

	if (p->in_resource)
		jw_array_end(p->w);
}

static void
ep_element_start(void *state, bool isnull)
{
	EntryParse *p = state;

	if (p->lex->lex_level == 1)
	{
		p->entries++;
		if (p->lex->token_type != JSON_TOKEN_OBJECT_START)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Bundle entry %d is not an object", p->entries)));
	}
}

static void
ep_field_start(void *state, char *fname, bool isnull)
{
	EntryParse *p = state;
	int			level = p->lex->lex_level;

	if (p->in_resource)
	{
		if (level == 3 && strcmp(fname, "id") == 0)
		{
			p->pending_id = true;
			p->id = NULL;		/* of repeated keys the last counts */
		}
		jw_key(p->w, fname);
	}
	else if (level == 2 && strcmp(fname, "resource") == 0)
	{
		if (p->lex->token_type != JSON_TOKEN_OBJECT_START)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Bundle entry has no resource object")));
		jw_key(p->w, "resource");
		p->in_resource = true;
		p->has_resource = true;
		p->id = NULL;
	}
	else if (level == 2 && strcmp(fname, "mode") == 0)
	{
		p->pending_mode = true;
		p->mode = NULL;
	}
	pfree(fname);
}

static void
ep_field_end(void *state, char *fname, bool isnull)
{
	EntryParse *p = state;
	int			level = p->lex->lex_level;

	if (level == 2)
	{
		p->in_resource = false;
		p->pending_mode = false;
	}
	else if (level == 3)
		p->pending_id = false;
}

static void
ep_scalar(void *state, char *token, JsonTokenType type)
{
	EntryParse *p = state;
	int			level = p->lex->lex_level;

	if (level == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Bundle entries must be a JSON array")));
	if (p->in_resource)
	{
		switch (type)
		{
			case JSON_TOKEN_STRING:
				if (p->pending_id && level == 3)
					p->id = pstrdup(token);
				jw_string(p->w, token);
				break;
			case JSON_TOKEN_NUMBER:
				jw_number_token(p->w, token, strlen(token));
				break;
			case JSON_TOKEN_TRUE:
				jw_bool(p->w, true);
				break;
			case JSON_TOKEN_FALSE:
				jw_bool(p->w, false);
				break;
			default:
				jw_null(p->w);
				break;
		}
	}
	else if (p->pending_mode && level == 2 && type == JSON_TOKEN_STRING)
		p->mode = pstrdup(token);
	if (token)
		pfree(token);
}

/* parse_part: the entries of one part, written to the Bundle's entry array */
static void
parse_part(EntryParse *p, text *part)
{
	JsonLexContext *lex = makeJsonLexContext(part, true);
	JsonSemAction sem = {0};

	p->lex = lex;
	p->in_resource = false;
	sem.semstate = p;
	sem.object_start = ep_object_start;
	sem.object_end = ep_object_end;
	sem.array_start = ep_array_start;
	sem.array_end = ep_array_end;
	sem.array_element_start = ep_element_start;
	sem.object_field_start = ep_field_start;
	sem.object_field_end = ep_field_end;
	sem.scalar = ep_scalar;
	pg_parse_json_or_ereport(lex, &sem);
	if (lex->strval)
	{
		pfree(lex->strval->data);
		pfree(lex->strval);
	}
	pfree(lex);
}

/* outcome_suppressed: does the OperationOutcome say information was withheld? */
static bool
outcome_suppressed(Jsonb *outcome)
{
	JsonbValue	issues;
	JsonbValue *first;
	JsonbValue	code;

	if (getKeyJsonValueFromContainer(&outcome->root, "issue", 5, &issues) == NULL ||
		issues.type != jbvBinary || !JsonContainerIsArray(issues.val.binary.data))
		return false;
	first = getIthJsonbValueFromContainer(issues.val.binary.data, 0);
	if (first == NULL || first->type != jbvBinary)
		return false;
	return getKeyJsonValueFromContainer(first->val.binary.data, "code", 4, &code) != NULL &&
		code.type == jbvString && code.val.string.len == 10 &&
		strncmp(code.val.string.val, "suppressed", 10) == 0;
}

/*
 * build_bundle: a Bundle (searchset with the total of matches when given,
 * or collection) of the entries of the parts, in order, each part a JSON
 * array of {"mode", "resource"} (a NULL part is empty); each entry gets
 * fullUrl urn:uuid:<resource id> and, in a searchset, search.mode.  An
 * OperationOutcome about withheld or emergency-opened information becomes
 * the last entry (mode outcome), and withheld information also marks the
 * Bundle REDACTED; links (a JSON array of {relation, url}) become
 * Bundle.link.  No entry array when there are no entries (FHIR JSON has no
 * empty arrays).  The text is deling.fhir_bundle_parts's (and with links
 * deling.fhir_bundle's) jsonb printed, byte for byte.
 */
static text *
build_bundle(text *type_text, text **parts, int nparts, bool has_matches, int32 matches,
			 Jsonb *outcome, Jsonb *links)
{
	char	   *type = text_to_cstring(type_text);
	bool		searchset = strcmp(type, "searchset") == 0;
	StringInfoData stamp;
	JsonWriter *w;
	JwMark		before_entries;
	EntryParse	p = {0};
	Size		size = 1024;

	if (!searchset && strcmp(type, "collection") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Bundle type \"%s\" is not searchset or collection", type)));
	if (links != NULL && (!JB_ROOT_IS_ARRAY(links) || JB_ROOT_IS_SCALAR(links)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Bundle links must be a JSON array")));
	if (outcome != NULL && !JB_ROOT_IS_OBJECT(outcome))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the OperationOutcome of a Bundle must be a JSON object")));
	initStringInfo(&stamp);
	fhir_datetime_append(&stamp, GetCurrentTransactionStartTimestamp());

	/*
	 * Room for the whole Bundle at once: the entries as given and a tenth for
	 * what each gets (fullUrl, search), so that the largest read is not
	 * copied while it is written.
	 */
	for (int i = 0; i < nparts; i++)
		if (parts[i])
			size += VARSIZE_ANY_EXHDR(parts[i]) + VARSIZE_ANY_EXHDR(parts[i]) / 10;
	if (outcome)
		size += 2 * VARSIZE(outcome);
	if (links)
		size += 2 * VARSIZE(links);

	/* the members in jsonb's order: id, link, meta, type, entry, total, timestamp, resourceType */
	w = jw_create();
	jw_reserve(w, size);
	jw_object_begin(w);
	jw_kv_string(w, "id", fhir_uuid_str(DirectFunctionCall1(gen_random_uuid, (Datum) 0)));
	if (links != NULL && JB_ROOT_COUNT(links) > 0)
	{
		jw_key(w, "link");
		jw_jsonb(w, &links->root);
	}
	jw_key(w, "meta");
	jw_object_begin(w);
	if (outcome != NULL && outcome_suppressed(outcome))
	{
		jw_key(w, "security");
		jw_array_begin(w);
		fw_coding(w, FHIR_CS_V3_OBSERVATION_VALUE, "REDACTED", "redacted");
		jw_array_end(w);
	}
	jw_kv_string(w, "lastUpdated", stamp.data);
	jw_object_end(w);
	jw_kv_string(w, "type", type);

	before_entries = jw_mark(w);
	jw_key(w, "entry");
	jw_array_begin(w);
	p.w = w;
	p.searchset = searchset;
	for (int i = 0; i < nparts; i++)
		if (parts[i])
			parse_part(&p, parts[i]);
	if (outcome != NULL)
	{
		JsonbValue	id;

		jw_object_begin(w);
		if (getKeyJsonValueFromContainer(&outcome->root, "id", 2, &id) != NULL && id.type == jbvString)
		{
			jw_key(w, "fullUrl");
			jw_string(w, psprintf("urn:uuid:%.*s", id.val.string.len, id.val.string.val));
		}
		jw_key(w, "resource");
		jw_jsonb(w, &outcome->root);
		if (searchset)
		{
			jw_key(w, "search");
			jw_object_begin(w);
			jw_kv_string(w, "mode", "outcome");
			jw_object_end(w);
		}
		jw_object_end(w);
	}
	jw_array_end(w);
	if (p.entries == 0 && outcome == NULL)
		jw_rollback(w, before_entries);

	if (searchset && has_matches)
		jw_kv_int(w, "total", matches);
	jw_kv_string(w, "timestamp", stamp.data);
	jw_kv_string(w, "resourceType", "Bundle");
	jw_object_end(w);
	return jw_finish(w);
}

/* a jsonb value as JSON text */
static text *
jsonb_text(Jsonb *j)
{
	return cstring_to_text(JsonbToCString(NULL, &j->root, VARSIZE(j)));
}

/*
 * bundle_parts: the parts of a Bundle, an array of json (or of jsonb, 0.1.0's
 * fhir_bundle_parts), as JSON texts; a NULL part stays NULL (empty).
 */
static text **
bundle_parts(ArrayType *array, Oid elemtype, int *nparts)
{
	Datum	   *elems;
	bool	   *nulls;
	text	  **parts;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the parts of a Bundle must be a one-dimensional array")));
	deconstruct_array(array, elemtype, -1, false, TYPALIGN_INT, &elems, &nulls, nparts);
	parts = palloc(sizeof(text *) * Max(*nparts, 1));
	for (int i = 0; i < *nparts; i++)
		parts[i] = nulls[i] ? NULL
			: elemtype == JSONBOID ? jsonb_text(DatumGetJsonbP(elems[i]))
			: DatumGetTextPP(elems[i]);
	return parts;
}

/*
 * bundle_of_args_at: build_bundle with the SQL functions' common trailing
 * arguments from argument m on: matches (m), outcome (m + 1) and, where the
 * function has it, links (m + 2), each NULL for none
 */
static text *
bundle_of_args_at(FunctionCallInfo fcinfo, int m, text *type_text, text **parts, int nparts)
{
	return build_bundle(type_text, parts, nparts, !PG_ARGISNULL(m),
						PG_ARGISNULL(m) ? 0 : PG_GETARG_INT32(m),
						PG_ARGISNULL(m + 1) ? NULL : PG_GETARG_JSONB_P(m + 1),
						PG_NARGS() < m + 3 || PG_ARGISNULL(m + 2) ? NULL : PG_GETARG_JSONB_P(m + 2));
}

/* bundle_of_args: bundle_of_args_at with matches the third argument */
static text *
bundle_of_args(FunctionCallInfo fcinfo, text *type_text, text **parts, int nparts)
{
	return bundle_of_args_at(fcinfo, 2, type_text, parts, nparts);
}

PG_FUNCTION_INFO_V1(deling_fhir_bundle_json);

/*
 * fhir_bundle_json(type, parts json[], matches, outcome jsonb, links jsonb):
 * the Bundle of any number of parts (build_bundle).
 */
Datum
deling_fhir_bundle_json(PG_FUNCTION_ARGS)
{
	int			nparts;
	text	  **parts;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a Bundle needs a type and its entries")));
	parts = bundle_parts(PG_GETARG_ARRAYTYPE_P(1), JSONOID, &nparts);
	PG_RETURN_TEXT_P(bundle_of_args(fcinfo, PG_GETARG_TEXT_PP(0), parts, nparts));
}

PG_FUNCTION_INFO_V1(deling_fhir_searchset_json);

/*
 * fhir_searchset_json(entries json, include json, matches, outcome, links):
 * a read's searchset Bundle from its entries and what it includes (the
 * Patient), each a part as in fhir_bundle_json; its own arguments, not an
 * array, so the entries are not copied into one (the largest read's are
 * ten megabytes).
 */
Datum
deling_fhir_searchset_json(PG_FUNCTION_ARGS)
{
	text	   *parts[2];

	parts[0] = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	parts[1] = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	PG_RETURN_TEXT_P(bundle_of_args(fcinfo, cstring_to_text("searchset"), parts, 2));
}

/*
 * render_entries: the entries a renderer (a function of rows_type, its other
 * arguments defaulted, returning json) gives for rows, evaluated as the
 * call renderer(rows) would be in SQL (its EXECUTE privilege checked, its
 * defaults filled in), in CurrentMemoryContext; NULL when it returns NULL.
 */
static text *
render_entries(Oid renderer, Datum rows, Oid rows_type)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(renderer));
	Form_pg_proc proc;
	FuncExpr   *call;
	ExprState  *state;
	ExprContext *econtext;
	Datum		entries;
	bool		isnull;

	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("renderer %u does not exist", renderer)));
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	if (proc->prorettype != JSONOID || proc->proretset || proc->pronargs < 1 ||
		proc->proargtypes.values[0] != rows_type || proc->pronargs - proc->pronargdefaults > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("renderer %s must be a function of %s (its other arguments defaulted) that returns json",
						format_procedure(renderer), format_type_be(rows_type))));
	call = makeFuncExpr(renderer, JSONOID,
						list_make1(makeConst(rows_type, -1, InvalidOid, -1, rows, false, false)),
						InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	call->args = expand_function_arguments(call->args, false, JSONOID, tuple);
	ReleaseSysCache(tuple);

	econtext = CreateStandaloneExprContext();
	state = ExecInitExpr((Expr *) call, NULL);
	entries = ExecEvalExpr(state, econtext, &isnull);
	FreeExprContext(econtext, true);
	return isnull ? NULL : DatumGetTextPP(entries);
}

PG_FUNCTION_INFO_V1(deling_fhir_searchset_of);

/*
 * fhir_searchset_of(renderer regproc, rows anyarray, include json, matches,
 * outcome, links): fhir_searchset_json(renderer(rows), include, ...), the
 * entries rendered here in a memory context of their own that is freed as
 * soon as the Bundle is written, so that a read does not hold them while
 * its Bundle is returned (for the largest read ten megabytes less at its
 * peak).  NULL rows: no entries.
 */
Datum
deling_fhir_searchset_of(PG_FUNCTION_ARGS)
{
	MemoryContext render_cxt;
	MemoryContext old;
	text	   *parts[2];
	text	   *bundle;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a searchset needs the renderer of its entries")));
	render_cxt = AllocSetContextCreate(CurrentMemoryContext, "fhir_searchset_of entries",
									   ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(render_cxt);
	parts[0] = PG_ARGISNULL(1) ? NULL
		: render_entries(PG_GETARG_OID(0), PG_GETARG_DATUM(1), get_fn_expr_argtype(fcinfo->flinfo, 1));
	MemoryContextSwitchTo(old);
	parts[1] = PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2);
	bundle = bundle_of_args_at(fcinfo, 3, cstring_to_text("searchset"), parts, 2);
	MemoryContextDelete(render_cxt);
	PG_RETURN_TEXT_P(bundle);
}

/* the counting of fhir_bundle_entries: the elements of the top level's "entry" */
typedef struct EntryCount
{
	JsonLexContext *lex;
	bool		in_entry;
	int			entries;
} EntryCount;

/* json_space: JSON's whitespace */
static inline bool
json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * ec_field_start: whether this top-level member is "entry", read from the
 * input: the parser is past the member's colon (prev_token_terminator) and
 * gives no key without de-escaping every string.  The key is "entry" when
 * the colon follows "entry" whose opening quote follows the object's { or
 * a comma (a key's first quote can follow nothing else), whitespace apart.
 */
static void
ec_field_start(void *state, char *fname, bool isnull)
{
	EntryCount *c = state;
	const char *start = c->lex->input;
	const char *p = c->lex->prev_token_terminator - 2;	/* before the colon */

	if (c->lex->lex_level != 1)
		return;
	while (p >= start && json_space(*p))
		p--;
	c->in_entry = p - start >= 6 && memcmp(p - 6, "\"entry\"", 7) == 0;
	if (c->in_entry)
	{
		for (p -= 7; p >= start && json_space(*p); p--)
			;
		c->in_entry = p >= start && (*p == '{' || *p == ',');
	}
	if (c->in_entry)
		c->entries = 0;			/* of repeated keys the last counts */
}

/* ec_element_start: an element of the top level's "entry" is an entry */
static void
ec_element_start(void *state, bool isnull)
{
	EntryCount *c = state;

	if (c->in_entry && c->lex->lex_level == 2)
		c->entries++;
}

PG_FUNCTION_INFO_V1(deling_fhir_bundle_entries);

/*
 * fhir_bundle_entries(bundle json): the number of a Bundle's entries
 * (elements of its top-level "entry"), counted in one pass of the JSON
 * parser without a copy of the Bundle or of its strings; 0 when it has
 * none.
 */
Datum
deling_fhir_bundle_entries(PG_FUNCTION_ARGS)
{
	JsonLexContext *lex = makeJsonLexContext(PG_GETARG_TEXT_PP(0), false);
	JsonSemAction sem = {0};
	EntryCount	c = {0};

	c.lex = lex;
	sem.semstate = &c;
	sem.object_field_start = ec_field_start;
	sem.array_element_start = ec_element_start;
	pg_parse_json_or_ereport(lex, &sem);
	PG_RETURN_INT32(c.entries);
}

PG_FUNCTION_INFO_V1(deling_fhir_entry_json);

/*
 * fhir_entry_json(mode, resource json): a part of one entry,
 * [{"mode": mode, "resource": resource}], for fhir_bundle_json (the
 * Patient of a read, an OperationOutcome of a service's own); without a
 * mode (NULL) the entry has none.
 */
Datum
deling_fhir_entry_json(PG_FUNCTION_ARGS)
{
	JsonWriter *w;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("an entry needs a resource")));
	w = jw_create();
	jw_array_begin(w);
	jw_object_begin(w);
	if (!PG_ARGISNULL(0))
	{
		jw_key(w, "mode");
		jw_string(w, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	}
	jw_key(w, "resource");
	jw_json(w, PG_GETARG_TEXT_PP(1));
	jw_object_end(w);
	jw_array_end(w);
	PG_RETURN_TEXT_P(jw_finish(w));
}

PG_FUNCTION_INFO_V1(deling_json_canonical);

/*
 * json_canonical(json): the same JSON as the JSON writer writes it, which
 * is as jsonb prints it (j::jsonb::text, without building the jsonb).
 */
Datum
deling_json_canonical(PG_FUNCTION_ARGS)
{
	JsonWriter *w = jw_create();

	jw_json(w, PG_GETARG_TEXT_PP(0));
	PG_RETURN_TEXT_P(jw_finish(w));
}

PG_FUNCTION_INFO_V1(deling_fhir_bundle);

/*
 * 0.1.0's fhir_bundle(type, entries jsonb, matches, outcome, links) and
 * fhir_bundle_parts(type, parts jsonb[], matches, outcome), for a database
 * not yet updated (fhir_json_to_jsonb): the Bundle as jsonb.
 */
Datum
deling_fhir_bundle(PG_FUNCTION_ARGS)
{
	text	   *entries;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a Bundle needs a type and its entries")));
	entries = jsonb_text(PG_GETARG_JSONB_P(1));
	return fhir_json_to_jsonb(bundle_of_args(fcinfo, PG_GETARG_TEXT_PP(0), &entries, 1));
}

PG_FUNCTION_INFO_V1(deling_fhir_bundle_parts);

Datum
deling_fhir_bundle_parts(PG_FUNCTION_ARGS)
{
	int			nparts;
	text	  **parts;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a Bundle needs a type and its entries")));
	parts = bundle_parts(PG_GETARG_ARRAYTYPE_P(1), JSONBOID, &nparts);
	return fhir_json_to_jsonb(bundle_of_args(fcinfo, PG_GETARG_TEXT_PP(0), parts, nparts));
}
