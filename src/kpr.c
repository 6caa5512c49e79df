/*
 * kpr.c
 *	  KPR reporting: validation of the continuous-report message XPR(ipl)
 *	  56.0.0 against its official XSD with libxml2, under core's
 *	  pg_xml_init/pg_xml_done error handling.
 *
 * The XSD files are installed with the extension (share/extension/deling/
 * xpr-ipl-56.0.0); the parsed schema is cached for the life of the backend.
 * A document that is not well-formed XML raises 2200M; a well-formed one
 * returns the list of schema errors (empty when valid), so DBAs and tests
 * see every problem at once.
 */
#include "postgres.h"

#include <libxml/parser.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlschemas.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/xml.h"

#include "deling.h"

/* The parsed XPR(ipl) schema and the file it came from. */
static bool kpr_test_mode = false;
static xmlSchemaPtr xpr_schema = NULL;
static char *xpr_schema_path = NULL;

/* the test mode is the coordinator's: refused when read on a Citus worker (citus.c) */
static const char *
kpr_test_mode_show(void)
{
	return deling_citus_session_show("a read of deling.kpr_test_mode", kpr_test_mode ? "on" : "off");
}

/*
 * deling_kpr_init: KPR settings, defined at preload.
 */
void
deling_kpr_init(void)
{
	DefineCustomBoolVariable("deling.kpr_test_mode",
							 "Include synthetic (Tenor) test persons in KPR reporting; never in production.",
							 NULL, &kpr_test_mode, false, PGC_SUSET, 0, NULL, NULL, kpr_test_mode_show);
}

/*
 * xpr_ipl_schema_path: where the extension installed XPR(ipl).xsd.
 */
static char *
xpr_ipl_schema_path(void)
{
	char		sharepath[MAXPGPATH];

	get_share_path(my_exec_path, sharepath);
	return psprintf("%s/extension/deling/xpr-ipl-56.0.0/XPR(ipl).xsd", sharepath);
}

/*
 * collect_error: libxml2 structured-error callback for validation; keeps
 * each error as "line N: message" in the List the context points to.
 */
static void
collect_error(void *ctx, xmlErrorPtr err)
{
	List	  **errors = (List **) ctx;
	char	   *msg = pstrdup(err->message ? err->message : "unknown schema error");
	int			len = strlen(msg);

	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	*errors = lappend(*errors, psprintf("line %d: %s", err->line, msg));
}

PG_FUNCTION_INFO_V1(deling_xpr_ipl_validate);

/*
 * xpr_ipl_validate(message text): the schema errors of an XPR(ipl) 56.0.0
 * message as text[] (empty when it is valid).
 */
Datum
deling_xpr_ipl_validate(PG_FUNCTION_ARGS)
{
	text	   *message = PG_GETARG_TEXT_PP(0);
	char	   *path = xpr_ipl_schema_path();
	PgXmlErrorContext *xmlerrcxt;
	List	   *errors = NIL;
	xmlDocPtr	volatile doc = NULL;
	xmlSchemaValidCtxtPtr volatile vctxt = NULL;
	Datum	   *elems;
	ListCell   *lc;
	int			i = 0;

	xmlerrcxt = pg_xml_init(PG_XML_STRICTNESS_ALL);
	PG_TRY();
	{
		if (xpr_schema == NULL || strcmp(xpr_schema_path, path) != 0)
		{
			xmlSchemaParserCtxtPtr pctxt = xmlSchemaNewParserCtxt(path);
			xmlSchemaPtr schema = NULL;
			List	   *load_errors = NIL;

			/*
			 * Schema-parser messages carry no XML parser context, which
			 * core's handler (set by pg_xml_init) expects: collect them here.
			 */
			if (pctxt)
			{
				/*
				 * pg_xml_init installed core's entity loader, which loads no
				 * file at all (against XXE in untrusted documents).  Our own
				 * installed XSD files and their includes may be read, never
				 * anything from the network; the message itself is parsed
				 * with core's loader back in place.
				 */
				xmlExternalEntityLoader core_loader = xmlGetExternalEntityLoader();

				xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
				xmlSchemaSetParserStructuredErrors(pctxt, collect_error, &load_errors);
				schema = xmlSchemaParse(pctxt);
				xmlSetExternalEntityLoader(core_loader);
				xmlSchemaFreeParserCtxt(pctxt);
			}
			if (schema == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_FILE),
						 errmsg("could not load the XPR(ipl) schema from \"%s\"", path),
						 load_errors ? errdetail("%s", (char *) linitial(load_errors)) : 0));
			if (xpr_schema)
				xmlSchemaFree(xpr_schema);
			xpr_schema = schema;
			xpr_schema_path = MemoryContextStrdup(TopMemoryContext, path);
		}
		doc = xmlReadMemory(VARDATA_ANY(message), VARSIZE_ANY_EXHDR(message), NULL, NULL, XML_PARSE_NONET);
		if (doc == NULL)
			xml_ereport(xmlerrcxt, ERROR, ERRCODE_INVALID_XML_DOCUMENT,
						"the XPR(ipl) message is not well-formed XML");
		vctxt = xmlSchemaNewValidCtxt(xpr_schema);
		if (vctxt == NULL)
			xml_ereport(xmlerrcxt, ERROR, ERRCODE_OUT_OF_MEMORY, "could not create a schema validation context");
		xmlSchemaSetValidStructuredErrors(vctxt, collect_error, &errors);
		if (xmlSchemaValidateDoc(vctxt, doc) != 0 && errors == NIL)
			errors = lappend(errors, pstrdup("the message does not validate against XPR(ipl).xsd"));
	}
	PG_CATCH();
	{
		if (vctxt)
			xmlSchemaFreeValidCtxt(vctxt);
		if (doc)
			xmlFreeDoc(doc);
		pg_xml_done(xmlerrcxt, true);
		PG_RE_THROW();
	}
	PG_END_TRY();
	xmlSchemaFreeValidCtxt(vctxt);
	xmlFreeDoc(doc);
	pg_xml_done(xmlerrcxt, false);

	elems = palloc(sizeof(Datum) * (list_length(errors) + 1));
	foreach(lc, errors)
		elems[i++] = CStringGetTextDatum((char *) lfirst(lc));
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, i, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * json_string: a jsonb scalar as a palloc'd C string (strings unquoted).
 */
static char *
json_string(JsonbValue *v)
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
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("XML attribute values must be strings, numbers or booleans")));
	}
	return NULL;					/* keep compiler quiet */
}

/*
 * add_element: build the element a jsonb object describes -- {"name": ...,
 * "attrs": {...}, "children": [...]} -- under parent (or as the document's
 * root when parent is NULL), in the XPR(ipl) namespace.
 */
static xmlNodePtr
add_element(xmlDocPtr doc, xmlNodePtr parent, xmlNsPtr *ns, JsonbContainer *obj)
{
	JsonbValue	v;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	xmlNodePtr	node;
	char	   *name;

	if (getKeyJsonValueFromContainer(obj, "name", 4, &v) == NULL || v.type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("every element needs a \"name\"")));
	name = pnstrdup(v.val.string.val, v.val.string.len);
	if (parent == NULL)
	{
		node = xmlNewDocNode(doc, NULL, (const xmlChar *) name, NULL);
		xmlDocSetRootElement(doc, node);
		*ns = xmlNewNs(node, (const xmlChar *) "http://www.npr.no/xmlstds/56_0_0_ipl", NULL);
		xmlSetNs(node, *ns);
	}
	else
		node = xmlNewChild(parent, *ns, (const xmlChar *) name, NULL);
	if (node == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not create element \"%s\"", name)));

	if (getKeyJsonValueFromContainer(obj, "attrs", 5, &v) != NULL && v.type == jbvBinary)
	{
		char	   *key = NULL;

		it = JsonbIteratorInit(v.val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (tok == WJB_KEY)
				key = pnstrdup(v.val.string.val, v.val.string.len);
			else if (tok == WJB_VALUE && v.type != jbvNull)
				xmlNewProp(node, (const xmlChar *) key, (const xmlChar *) json_string(&v));
		}
	}
	if (getKeyJsonValueFromContainer(obj, "children", 8, &v) != NULL && v.type == jbvBinary)
	{
		it = JsonbIteratorInit(v.val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
			if (tok == WJB_ELEM && v.type == jbvBinary)
				add_element(doc, node, ns, v.val.binary.data);
	}
	return node;
}

PG_FUNCTION_INFO_V1(deling_xpr_ipl_build);

/*
 * xpr_ipl_build(message jsonb): the XPR(ipl) XML document (UTF-8) for a
 * message described as nested {"name", "attrs", "children"} objects; the
 * SQL layer decides what is reported, libxml2 writes the XML.
 */
Datum
deling_xpr_ipl_build(PG_FUNCTION_ARGS)
{
	Jsonb	   *message = PG_GETARG_JSONB_P(0);
	PgXmlErrorContext *xmlerrcxt;
	xmlDocPtr	volatile doc = NULL;
	xmlChar    *volatile buf = NULL;
	int			len = 0;
	xmlNsPtr	ns = NULL;
	text	   *result;

	if (!JB_ROOT_IS_OBJECT(message) || JB_ROOT_IS_SCALAR(message))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the message must be a JSON object")));
	xmlerrcxt = pg_xml_init(PG_XML_STRICTNESS_ALL);
	PG_TRY();
	{
		doc = xmlNewDoc((const xmlChar *) "1.0");
		if (doc == NULL)
			xml_ereport(xmlerrcxt, ERROR, ERRCODE_OUT_OF_MEMORY, "could not create an XML document");
		add_element(doc, NULL, &ns, &message->root);
		xmlDocDumpFormatMemoryEnc(doc, (xmlChar **) &buf, &len, "UTF-8", 1);
		if (buf == NULL)
			xml_ereport(xmlerrcxt, ERROR, ERRCODE_OUT_OF_MEMORY, "could not write the XML document");
	}
	PG_CATCH();
	{
		if (buf)
			xmlFree(buf);
		if (doc)
			xmlFreeDoc(doc);
		pg_xml_done(xmlerrcxt, true);
		PG_RE_THROW();
	}
	PG_END_TRY();
	result = cstring_to_text_with_len((const char *) buf, len);
	xmlFree(buf);
	xmlFreeDoc(doc);
	pg_xml_done(xmlerrcxt, false);
	PG_RETURN_TEXT_P(result);
}
