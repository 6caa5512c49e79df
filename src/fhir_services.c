/*
 * fhir_services.c
 *	  deling.municipal_services_entries_json: the FHIR entries of a set of
 *	  municipal services (an HL7 Norway OKT EpisodeOfCare each, then the
 *	  Organizations of their units) as json, written once; and
 *	  deling.fhir_unit_json, one unit's Organization.
 *
 * What came from other tables in SQL (the code's display, the kommune's
 * name and orgnr) is read once per call for every service given; the
 * EpisodeOfCare status of the day is deling.municipal_service_fhir_status
 * (called, not copied: its rules are defined there once).  The text is
 * deling.municipal_services_entries's jsonb printed, byte for byte.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "fhir_common.h"
#include "fhir_constants.h"

/* the columns of deling.municipal_service a renderer reads */
enum
{
	S_KOMMUNE_NR, S_SERVICE_ID, S_PID, S_SERVICE_CODE, S_SOURCE_SYSTEM, S_SOURCE_ID, S_WEEKLY_HOURS,
	S_DESCRIPTION, S_STAY_TYPE, S_UNIT_NAME, S_UNIT_ORGNR, S_UNIT_PHONE, S_RECEIVED_AT, S_STOPS,
	S_PERIOD_START, S_PERIOD_END, S_NCOLS
};
static const char *const service_columns[S_NCOLS] = {
	"kommune_nr", "service_id", "pid", "service_code", "source_system", "source_id", "weekly_hours",
	"description", "stay_type", "unit_name", "unit_orgnr", "unit_phone", "received_at", "stops",
	"period_start", "period_end"
};

/* a kommune as a unit's Organization needs it */
typedef struct Kommune
{
	char	   *kommune_nr;
	char	   *name;
	char	   *orgnr;
} Kommune;

/* a service's code with its display */
typedef struct ServiceType
{
	char	   *code;
	char	   *name;
} ServiceType;

/* a unit's Organization, rendered, with its id */
typedef struct Unit
{
	char		id[37];
	text	   *json;
} Unit;

/*
 * lookup_rows: run a kept plan "... WHERE x = ANY ($1)" over the values
 * given and return its rows (columns as text), in the caller's context.
 */
static char ***
lookup_rows(SPIPlanPtr *plan, const char *query, int ncols, Datum *keys, int nkeys, int *nrows)
{
	MemoryContext caller = CurrentMemoryContext;
	Datum		arg;
	char	 ***rows;

	arg = PointerGetDatum(construct_array(keys, nkeys, TEXTOID, -1, false, TYPALIGN_INT));
	SPI_connect();
	if (*plan == NULL)
	{
		Oid			types[1] = {TEXTARRAYOID};

		*plan = SPI_prepare(query, 1, types);
		if (*plan == NULL || SPI_keepplan(*plan) != 0)
			elog(ERROR, "could not prepare \"%s\": %s", query, SPI_result_code_string(SPI_result));
	}
	if (SPI_execute_plan(*plan, &arg, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run \"%s\"", query);
	*nrows = SPI_processed;
	rows = MemoryContextAlloc(caller, sizeof(char **) * Max(*nrows, 1));
	for (int i = 0; i < *nrows; i++)
	{
		rows[i] = MemoryContextAlloc(caller, sizeof(char *) * ncols);
		for (int c = 0; c < ncols; c++)
		{
			char	   *v = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1);

			rows[i][c] = v ? MemoryContextStrdup(caller, v) : NULL;
		}
	}
	SPI_finish();
	return rows;
}

static Kommune *
find_kommune(Kommune *list, int n, const char *kommune_nr)
{
	for (int i = 0; i < n; i++)
		if (strcmp(list[i].kommune_nr, kommune_nr) == 0)
			return &list[i];
	return NULL;
}

/* the kommuner given, from deling.kommune */
static Kommune *
load_kommuner(Datum *numbers, int n, int *count)
{
	static SPIPlanPtr plan = NULL;
	char	 ***rows = lookup_rows(&plan, "SELECT k.kommune_nr, k.name, k.orgnr FROM deling.kommune k "
									"WHERE k.kommune_nr = ANY ($1)", 3, numbers, n, count);
	Kommune    *list = palloc(sizeof(Kommune) * Max(*count, 1));

	for (int i = 0; i < *count; i++)
	{
		list[i].kommune_nr = rows[i][0];
		list[i].name = rows[i][1];
		list[i].orgnr = rows[i][2];
	}
	return list;
}

/*
 * write_unit: a unit of a kommune as a no-basis Organization, part of its
 * kommune (deling.fhir_unit): name the unit's or "<kommune> kommune",
 * orgnr, phone, and partOf the kommune unless the unit is the kommune.
 */
static void
write_unit(JsonWriter *w, const Kommune *k, const char *orgnr, const char *name, const char *phone, char id[37])
{
	char	   *kommune = psprintf("%s kommune", k->name);

	fhir_name_uuid(psprintf("deling-unit:%s:%s:%s", k->kommune_nr, orgnr ? orgnr : "", name ? name : ""), id);
	jw_object_begin(w);
	jw_kv_string(w, "id", id);
	jw_kv_string(w, "name", name ? name : kommune);
	fw_profile(w, FHIR_PROFILE_NO_BASIS_ORGANIZATION);
	if (orgnr == NULL || strcmp(orgnr, k->orgnr) != 0)
	{
		jw_key(w, "partOf");
		jw_object_begin(w);
		jw_kv_string(w, "display", kommune);
		jw_key(w, "identifier");
		fw_orgnr_identifier(w, k->orgnr);
		jw_object_end(w);
	}
	if (phone)
	{
		jw_key(w, "telecom");
		jw_array_begin(w);
		jw_object_begin(w);
		jw_kv_string(w, "use", "work");
		jw_kv_string(w, "value", phone);
		jw_kv_string(w, "system", "phone");
		jw_object_end(w);
		jw_array_end(w);
	}
	if (orgnr)
	{
		jw_key(w, "identifier");
		jw_array_begin(w);
		fw_orgnr_identifier(w, orgnr);
		jw_array_end(w);
	}
	jw_kv_string(w, "resourceType", "Organization");
	jw_object_end(w);
}

/* units by id, then by their text: the order deling.municipal_services_entries gave */
static int
unit_cmp(const void *a, const void *b)
{
	const Unit *x = a;
	const Unit *y = b;
	int			c = strcmp(x->id, y->id);
	int			lx = VARSIZE_ANY_EXHDR(x->json);
	int			ly = VARSIZE_ANY_EXHDR(y->json);

	if (c != 0)
		return c;
	c = memcmp(VARDATA_ANY(x->json), VARDATA_ANY(y->json), Min(lx, ly));
	return c != 0 ? c : lx - ly;
}

/*
 * write_episode: one service as an entry (mode match) whose resource is an
 * OKT EpisodeOfCare: type from code list 9151 (and the stay type), status
 * and the onhold periods of temporary stops, period, the Patient, the
 * responsible unit as managingOrganization, the weekly extent and the
 * description as OKT extensions.
 */
static void
write_episode(JsonWriter *w, RowReader *r, const char *status, const char *display, const Kommune *k)
{
	bool		isnull;
	Datum		d;
	Datum		service_id = row_value(r, S_SERVICE_ID, &isnull);
	char	   *kommune_nr = row_text(r, S_KOMMUNE_NR);
	char	   *pid = row_text(r, S_PID);
	char	   *code = row_text(r, S_SERVICE_CODE);
	char	   *source_system = row_text(r, S_SOURCE_SYSTEM);
	char	   *source_id = row_text(r, S_SOURCE_ID);
	char	   *weekly_hours = row_numeric_str(r, S_WEEKLY_HOURS);
	char	   *description = row_text(r, S_DESCRIPTION);
	char	   *stay_type = row_text(r, S_STAY_TYPE);
	char	   *unit_name = row_text(r, S_UNIT_NAME);
	char	   *unit_orgnr = row_text(r, S_UNIT_ORGNR);
	char		unit[37];
	bool		no_start,
				no_end;
	Datum		start = row_value(r, S_PERIOD_START, &no_start);
	Datum		end = row_value(r, S_PERIOD_END, &no_end);

	if (isnull || kommune_nr == NULL || pid == NULL || code == NULL || source_system == NULL || source_id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("municipal service lacks a required field")));
	jw_object_begin(w);
	jw_kv_string(w, "mode", "match");
	jw_key(w, "resource");
	jw_object_begin(w);
	jw_kv_string(w, "id", fhir_uuid_str(service_id));
	jw_key(w, "meta");
	jw_object_begin(w);
	jw_key(w, "profile");
	jw_array_begin(w);
	jw_string(w, FHIR_PROFILE_OKT_EPISODE_OF_CARE);
	jw_array_end(w);
	d = row_value(r, S_RECEIVED_AT, &isnull);
	if (!isnull)
		fw_datetime(w, "lastUpdated", DatumGetTimestampTz(d));
	jw_object_end(w);

	jw_key(w, "type");
	jw_array_begin(w);
	jw_object_begin(w);
	jw_key(w, "coding");
	jw_array_begin(w);
	fw_coding(w, FHIR_CS_SERVICE_TYPE_9151, code, display);
	jw_array_end(w);
	jw_object_end(w);
	/* OKT's stay-type value set (closed type slicing): dagopphold, korttidsopphold */
	if (stay_type && (strcmp(stay_type, "dagopphold") == 0 || strcmp(stay_type, "korttidsopphold") == 0))
	{
		/* initcap of the stay type, one lower-case word by the table's check */
		char	   *initcap = pstrdup(stay_type);

		initcap[0] = pg_toupper((unsigned char) initcap[0]);
		jw_object_begin(w);
		jw_key(w, "coding");
		jw_array_begin(w);
		fw_coding(w, FHIR_CS_OKT_STAY_TYPE, stay_type, initcap);
		jw_array_end(w);
		jw_object_end(w);
	}
	jw_array_end(w);

	jw_key(w, "period");
	jw_object_begin(w);
	if (!no_start)
		fw_date(w, "start", DatumGetDateADT(start));
	if (!no_end)
		fw_date(w, "end", DatumGetDateADT(end));
	jw_object_end(w);
	jw_kv_string(w, "status", status);
	fw_patient_reference(w, "patient", pid, fhir_pid_kind(pid));

	if (weekly_hours || description)
	{
		jw_key(w, "extension");
		jw_array_begin(w);
		if (weekly_hours)
		{
			jw_object_begin(w);
			jw_kv_string(w, "url", FHIR_EXT_OKT_WEEKLY_EXTENT_RATIO);
			jw_key(w, "valueRatio");
			jw_object_begin(w);
			fw_quantity(w, "numerator", weekly_hours, "h", "h");
			fw_quantity(w, "denominator", "1", "wk", "wk");
			jw_object_end(w);
			jw_object_end(w);
		}
		if (description)
		{
			jw_object_begin(w);
			jw_kv_string(w, "url", FHIR_EXT_OKT_SERVICE_DESCRIPTION);
			jw_kv_string(w, "valueMarkdown", description);
			jw_object_end(w);
		}
		jw_array_end(w);
	}
	fw_source_identifier(w, source_system, source_id);
	jw_kv_string(w, "resourceType", "EpisodeOfCare");

	d = row_value(r, S_STOPS, &isnull);
	if (!isnull)
	{
		Stop	   *stops;
		int			n = service_stops(DatumGetArrayTypeP(d),
									  !no_start && !DATE_NOT_FINITE(DatumGetDateADT(start)),
									  no_start ? 0 : DatumGetDateADT(start),
									  !no_end && !DATE_NOT_FINITE(DatumGetDateADT(end)),
									  no_end ? 0 : DatumGetDateADT(end), &stops);

		if (n > 0)
		{
			jw_key(w, "statusHistory");
			jw_array_begin(w);
			for (int i = 0; i < n; i++)
			{
				jw_object_begin(w);
				jw_kv_string(w, "status", "onhold");
				jw_key(w, "period");
				jw_object_begin(w);
				if (stops[i].has_end)
					fw_date(w, "end", stops[i].end);
				if (stops[i].has_start)
					fw_date(w, "start", stops[i].start);
				jw_object_end(w);
				jw_object_end(w);
			}
			jw_array_end(w);
		}
	}

	fhir_name_uuid(psprintf("deling-unit:%s:%s:%s", kommune_nr, unit_orgnr ? unit_orgnr : "",
							unit_name ? unit_name : ""), unit);
	fw_reference(w, "managingOrganization", unit,
				 unit_name ? unit_name : k ? psprintf("%s kommune", k->name) : NULL);
	jw_object_end(w);
	jw_object_end(w);
}

/* the status function, deling.municipal_service_fhir_status(row, day) */
static void
status_function(Oid rowtype, FmgrInfo *flinfo)
{
	Oid			argtypes[2] = {rowtype, DATEOID};
	Oid			fn = LookupFuncName(list_make2(makeString("deling"), makeString("municipal_service_fhir_status")),
									2, argtypes, false);

	fmgr_info(fn, flinfo);
}

PG_FUNCTION_INFO_V1(deling_municipal_services_entries_json);

/*
 * municipal_services_entries_json(services deling.municipal_service[], day date):
 * the entries of the services, as deling.municipal_services_entries gave
 * them: an EpisodeOfCare per service (match), in the order given, with its
 * status on the day (default: today in Norway), then the distinct
 * Organizations of their units (include), by id.  One JSON array.
 */
Datum
deling_municipal_services_entries_json(PG_FUNCTION_ARGS)
{
	ArrayType  *services;
	Oid			elemtype;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	DateADT		day;
	RowReader  *r;
	FmgrInfo	status_fn;
	Datum	   *codes;
	Datum	   *kommune_nrs;
	int			nkommuner = 0,
				ntypes = 0,
				nunits = 0;
	Kommune    *kommuner = NULL;
	ServiceType *types = NULL;
	Unit	   *units;
	JsonWriter *w;
	MemoryContext row_cxt,
				old;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	services = PG_GETARG_ARRAYTYPE_P(0);
	day = PG_ARGISNULL(1) ? fhir_oslo_date(GetCurrentTransactionStartTimestamp()) : PG_GETARG_DATEADT(1);
	if (ARR_NDIM(services) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("services must be a one-dimensional array")));
	elemtype = ARR_ELEMTYPE(services);
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(services, elemtype, typlen, typbyval, typalign, &elems, &nulls, &n);
	w = jw_create();
	jw_array_begin(w);
	if (n == 0)
	{
		jw_array_end(w);
		PG_RETURN_TEXT_P(jw_finish(w));
	}

	/* the codes' displays and the kommuner, for every service at once */
	r = row_reader_create(elemtype, -1, service_columns, S_NCOLS);
	codes = palloc(sizeof(Datum) * n);
	kommune_nrs = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		char	   *code,
				   *kommune_nr;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("service %d is NULL", i + 1)));
		row_reader_read(r, DatumGetHeapTupleHeader(elems[i]));
		code = row_text(r, S_SERVICE_CODE);
		kommune_nr = row_text(r, S_KOMMUNE_NR);
		codes[i] = CStringGetTextDatum(code ? code : "");
		kommune_nrs[i] = CStringGetTextDatum(kommune_nr ? kommune_nr : "");
	}
	{
		static SPIPlanPtr plan = NULL;
		char	 ***rows = lookup_rows(&plan, "SELECT t.code, t.name FROM deling.service_type t WHERE t.code = ANY ($1)",
									   2, codes, n, &ntypes);

		types = palloc(sizeof(ServiceType) * Max(ntypes, 1));
		for (int i = 0; i < ntypes; i++)
		{
			types[i].code = rows[i][0];
			types[i].name = rows[i][1];
		}
	}
	kommuner = load_kommuner(kommune_nrs, n, &nkommuner);
	status_function(elemtype, &status_fn);

	units = palloc(sizeof(Unit) * n);
	row_cxt = AllocSetContextCreate(CurrentMemoryContext, "municipal_services_entries_json row", ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < n; i++)
	{
		char	   *code;
		char	   *kommune_nr;
		const char *display = NULL;
		Kommune    *k;
		char	   *status;
		Datum		status_datum;
		JsonWriter *uw;

		old = MemoryContextSwitchTo(row_cxt);
		row_reader_read(r, DatumGetHeapTupleHeader(elems[i]));
		code = row_text(r, S_SERVICE_CODE);
		kommune_nr = row_text(r, S_KOMMUNE_NR);
		for (int t = 0; code && t < ntypes; t++)
			if (strcmp(types[t].code, code) == 0)
				display = types[t].name;
		k = kommune_nr ? find_kommune(kommuner, nkommuner, kommune_nr) : NULL;
		status_datum = FunctionCall2(&status_fn, elems[i], DateADTGetDatum(day));
		status = TextDatumGetCString(status_datum);
		write_episode(w, r, status, display, k);

		/* its unit, rendered on its own (kept: the output's context) */
		if (k == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("service %d is of kommune %s, which is not on the platform", i + 1,
							kommune_nr ? kommune_nr : "NULL")));
		MemoryContextSwitchTo(old);
		uw = jw_create();
		MemoryContextSwitchTo(row_cxt);
		write_unit(uw, k, row_text(r, S_UNIT_ORGNR), row_text(r, S_UNIT_NAME), row_text(r, S_UNIT_PHONE),
				   units[nunits].id);
		MemoryContextSwitchTo(old);
		units[nunits++].json = jw_finish(uw);
		MemoryContextReset(row_cxt);
	}
	MemoryContextDelete(row_cxt);

	/* the distinct units, by id */
	if (nunits > 1)
		qsort(units, nunits, sizeof(Unit), unit_cmp);
	for (int i = 0; i < nunits; i++)
	{
		if (i > 0 && unit_cmp(&units[i - 1], &units[i]) == 0)
			continue;
		jw_object_begin(w);
		jw_kv_string(w, "mode", "include");
		jw_key(w, "resource");
		jw_raw(w, VARDATA_ANY(units[i].json), VARSIZE_ANY_EXHDR(units[i].json));
		jw_object_end(w);
	}
	jw_array_end(w);
	PG_RETURN_TEXT_P(jw_finish(w));
}

PG_FUNCTION_INFO_V1(deling_fhir_unit_json);

/*
 * fhir_unit_json(kommune_nr, unit_orgnr, unit_name, unit_phone): the unit as
 * a no-basis Organization, part of its kommune, as deling.fhir_unit gave
 * it; NULL for a kommune that is not on the platform.
 */
Datum
deling_fhir_unit_json(PG_FUNCTION_ARGS)
{
	Datum		kommune_nr;
	int			count;
	Kommune    *k;
	JsonWriter *w;
	char		id[37];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	kommune_nr = PG_GETARG_DATUM(0);
	k = load_kommuner(&kommune_nr, 1, &count);
	if (count == 0)
		PG_RETURN_NULL();
	w = jw_create();
	write_unit(w, k,
			   PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)),
			   PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)),
			   PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3)), id);
	PG_RETURN_TEXT_P(jw_finish(w));
}

PG_FUNCTION_INFO_V1(deling_municipal_service_fhir);

/*
 * 0.1.0's municipal_service_fhir(s deling.municipal_service, status,
 * type_display, kommune_name), for a database not yet updated
 * (fhir_json_to_jsonb): the service's EpisodeOfCare entry (mode match) as
 * jsonb, with the status, the code's display and the kommune's name given.
 */
Datum
deling_municipal_service_fhir(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row;
	RowReader  *r;
	Kommune		k;
	JsonWriter *w;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("an EpisodeOfCare needs a status")));
	row = PG_GETARG_HEAPTUPLEHEADER(0);
	r = row_reader_create(HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row), service_columns, S_NCOLS);
	row_reader_read(r, row);
	k.kommune_nr = row_text(r, S_KOMMUNE_NR);
	k.name = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	k.orgnr = NULL;
	w = jw_create();
	write_episode(w, r, text_to_cstring(PG_GETARG_TEXT_PP(1)),
				  PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)), k.name ? &k : NULL);
	return fhir_json_to_jsonb(jw_finish(w));
}
