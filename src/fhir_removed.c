/*
 * fhir_removed.c
 *	  The C functions of the jsonb FHIR builders of 0.1.0 (deling.news2_fhir,
 *	  deling.municipal_service_fhir, deling.fhir_bundle and
 *	  deling.fhir_bundle_parts), which the json renderers replaced in 0.3.0.
 *
 * The released install script deling--0.1.0.sql, which every install runs
 * before its updates, creates those functions, and PostgreSQL checks that a
 * C function's symbol exists when the function is created; the update to
 * 0.3.0 drops them again.  So each symbol stays, and all it does is refuse:
 * it is reached only in a database whose extension has not been updated to
 * the library installed.
 */
#include "postgres.h"

#include "fmgr.h"

static void removed(const char *function) pg_attribute_noreturn();

static void
removed(const char *function)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s was removed in deling 0.3.0", function),
			 errhint("ALTER EXTENSION deling UPDATE: its reads render FHIR with the json renderers.")));
}

PG_FUNCTION_INFO_V1(deling_news2_fhir);
Datum
deling_news2_fhir(PG_FUNCTION_ARGS)
{
	removed("deling.news2_fhir");
}

PG_FUNCTION_INFO_V1(deling_municipal_service_fhir);
Datum
deling_municipal_service_fhir(PG_FUNCTION_ARGS)
{
	removed("deling.municipal_service_fhir");
}

PG_FUNCTION_INFO_V1(deling_fhir_bundle);
Datum
deling_fhir_bundle(PG_FUNCTION_ARGS)
{
	removed("deling.fhir_bundle");
}

PG_FUNCTION_INFO_V1(deling_fhir_bundle_parts);
Datum
deling_fhir_bundle_parts(PG_FUNCTION_ARGS)
{
	removed("deling.fhir_bundle_parts");
}
