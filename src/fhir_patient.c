/*
 * fhir_patient.c
 *	  deling.fhir_patient_json: the citizen's no-basis Patient as json,
 *	  written once (deling.fhir_patient built it in SQL as jsonb).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "fhir_common.h"
#include "fhir_constants.h"

/* identifiers.c */
extern Datum deling_fnr_birth_date(PG_FUNCTION_ARGS);

PG_FUNCTION_INFO_V1(deling_fhir_patient_json);

/*
 * fhir_patient_json(pid, kommuner): the no-basis Patient of a citizen from
 * the newest of their registrations in the kommuner given: the Patient id
 * (deling.fhir_patient_id: P0002 for a person in none of the kommuner the
 * caller reaches), the identity number, name, gender, and the birth date
 * (registered, or the one the number encodes).  The same text as
 * deling.fhir_patient's jsonb printed.
 */
Datum
deling_fhir_patient_json(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	char	   *pid = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Datum		args[2];
	char	   *family = NULL,
			   *given = NULL,
			   *sex = NULL;
	bool		has_birth_date = false;
	DateADT		birth_date = 0;
	MemoryContext caller = CurrentMemoryContext;
	JsonWriter *w;

	args[0] = PG_GETARG_DATUM(1);
	args[1] = PG_GETARG_DATUM(0);
	SPI_connect();
	if (plan == NULL)
	{
		Oid			types[2] = {TEXTARRAYOID, TEXTOID};

		plan = SPI_prepare("SELECT c.family_name, c.given_name, c.sex, c.birth_date FROM deling.citizen c "
						   "WHERE c.kommune_nr = ANY ($1) AND c.pid = $2 ORDER BY c.updated_at DESC LIMIT 1",
						   2, types);
		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the citizen lookup: %s", SPI_result_code_string(SPI_result));
	}
	if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look the citizen up");
	if (SPI_processed == 1)
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		char	   *v;
		bool		isnull;
		Datum		bd;

		if ((v = SPI_getvalue(t, d, 1)) != NULL)
			family = MemoryContextStrdup(caller, v);
		if ((v = SPI_getvalue(t, d, 2)) != NULL)
			given = MemoryContextStrdup(caller, v);
		if ((v = SPI_getvalue(t, d, 3)) != NULL)
			sex = MemoryContextStrdup(caller, v);
		bd = SPI_getbinval(t, d, 4, &isnull);
		if (!isnull)
		{
			has_birth_date = true;
			birth_date = DatumGetDateADT(bd);
		}
	}
	SPI_finish();
	if (!has_birth_date)
	{
		bool		isnull;
		Datum		bd = fhir_call_nullable(deling_fnr_birth_date, PG_GETARG_DATUM(0), &isnull);

		if (!isnull)
		{
			has_birth_date = true;
			birth_date = DatumGetDateADT(bd);
		}
	}

	w = jw_create();
	jw_object_begin(w);
	jw_kv_string(w, "id", fhir_patient_id(pid));
	fw_profile(w, FHIR_PROFILE_NO_BASIS_PATIENT);
	if (family || given)
	{
		jw_key(w, "name");
		jw_array_begin(w);
		jw_object_begin(w);
		if (given)
		{
			jw_key(w, "given");
			jw_array_begin(w);
			jw_string(w, given);
			jw_array_end(w);
		}
		jw_kv_string(w, "family", family);
		jw_object_end(w);
		jw_array_end(w);
	}
	jw_kv_string(w, "gender", sex);
	if (has_birth_date)
		fw_date(w, "birthDate", birth_date);
	jw_key(w, "identifier");
	jw_array_begin(w);
	fw_pid_identifier(w, pid, fhir_pid_kind(pid));
	jw_array_end(w);
	jw_kv_string(w, "resourceType", "Patient");
	jw_object_end(w);
	PG_RETURN_TEXT_P(jw_finish(w));
}
