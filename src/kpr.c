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
#include "utils/memutils.h"
#include "utils/xml.h"

#include "deling.h"

/* The parsed XPR(ipl) schema and the file it came from. */
static bool kpr_test_mode = false;
static xmlSchemaPtr xpr_schema = NULL;
static char *xpr_schema_path = NULL;

/*
 * deling_kpr_init: KPR settings, defined at preload.
 */
void
deling_kpr_init(void)
{
	DefineCustomBoolVariable("deling.kpr_test_mode",
							 "Include synthetic (Tenor) test persons in KPR reporting; never in production.",
							 NULL, &kpr_test_mode, false, PGC_SUSET, 0, NULL, NULL, NULL);
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
