/*
 * fhir_common.c
 *	  What deling's FHIR renderers share (fhir_common.h), and the SQL
 *	  functions that give SQL the same: deling.fhir_datetime,
 *	  deling.fhir_name_uuid, deling.fhir_source_system.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/md5.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "pgtime.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rangetypes.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "fhir_common.h"
#include "fhir_constants.h"

/* the value of a hexadecimal digit */
static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c - 'A' + 10;
}

/* Europe/Oslo, loaded once per backend */
static pg_tz *
oslo_tz(void)
{
	static pg_tz *oslo = NULL;

	if (oslo == NULL)
	{
		oslo = pg_tzset("Europe/Oslo");
		if (oslo == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("time zone \"Europe/Oslo\" is not in this server's time zone database")));
	}
	return oslo;
}

/*
 * fhir_datetime_append: ts as a FHIR dateTime in Norwegian local time with
 * its UTC offset (2026-11-20T08:00:00+01:00); false for an infinite ts.
 */
bool
fhir_datetime_append(StringInfo buf, TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	const char *tzn;
	int			off;

	if (TIMESTAMP_NOT_FINITE(ts))
		return false;
	if (timestamp2tm(ts, &tz, &tm, &fsec, &tzn, oslo_tz()) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	off = -tz;					/* timestamp2tm gives seconds west of UTC */
	appendStringInfo(buf, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
					 tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
					 off < 0 ? '-' : '+', abs(off) / 3600, abs(off) % 3600 / 60);
	return true;
}

/* fhir_oslo_date: the date in Norway at ts ((ts AT TIME ZONE 'Europe/Oslo')::date) */
DateADT
fhir_oslo_date(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	const char *tzn;

	if (timestamp2tm(ts, &tz, &tm, &fsec, &tzn, oslo_tz()) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
}

/*
 * fhir_date_str: date as a FHIR date (YYYY-MM-DD); false for an infinite
 * date.  A FHIR date has a four-digit year, so other years are an error.
 */
bool
fhir_date_str(DateADT date, char out[11])
{
	int			year,
				month,
				day;

	if (DATE_NOT_FINITE(date))
		return false;
	j2date(date + POSTGRES_EPOCH_JDATE, &year, &month, &day);
	if (year < 1 || year > 9999)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("date %s has no FHIR form (years 1-9999)",
						DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(date))))));
	snprintf(out, 11, "%04d-%02d-%02d", year, month, day);
	return true;
}

/*
 * fhir_name_uuid: the RFC 4122 name-based UUID (version 3, MD5, section
 * 4.3) of a name in the platform's namespace (FHIR_NAME_UUID_NAMESPACE), as
 * deling.fhir_name_uuid computes it: the ids of resources derived from a
 * stored row (a measurement's vital signs, a kommune's unit), stable across
 * reads.  Never for a person: a name one can guess gives the same id
 * (Patient ids are random, deling.patient_index).
 */
void
fhir_name_uuid(const char *name, char out[37])
{
	static uint8 ns[16];
	static bool ns_ready = false;
	size_t		len = strlen(name);
	uint8	   *data;
	uint8		sum[16];
	const char *errstr = NULL;

	if (!ns_ready)
	{
		const char *p = FHIR_NAME_UUID_NAMESPACE;

		for (int i = 0; i < 16; i++)
		{
			if (*p == '-')
				p++;
			ns[i] = (uint8) ((hex_digit(p[0]) << 4) | hex_digit(p[1]));
			p += 2;
		}
		ns_ready = true;
	}
	data = palloc(sizeof(ns) + len);
	memcpy(data, ns, sizeof(ns));
	memcpy(data + sizeof(ns), name, len);
	if (!pg_md5_binary(data, sizeof(ns) + len, sum, &errstr))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute MD5: %s", errstr ? errstr : "unknown error")));
	pfree(data);
	sum[6] = (sum[6] & 0x0f) | 0x30;	/* version 3 */
	sum[8] = (sum[8] & 0x3f) | 0x80;	/* variant RFC 4122 */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 sum[0], sum[1], sum[2], sum[3], sum[4], sum[5], sum[6], sum[7],
			 sum[8], sum[9], sum[10], sum[11], sum[12], sum[13], sum[14], sum[15]);
}

char *
fhir_uuid_str(Datum uuid)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, uuid));
}

/*
 * fhir_patient_id: the citizen's Patient id, deling.fhir_patient_id (the
 * random UUID kept per person in deling.patient_index, whichever kommune
 * holds them), remembered for the last person within the transaction: a
 * Bundle is about one person, and the id of a person never changes.
 */
const char *
fhir_patient_id(const char *pid)
{
	static Oid	fn = InvalidOid;
	static FmgrInfo flinfo;
	static LocalTransactionId lxid = InvalidLocalTransactionId;
	static char last_pid[32];
	static char last_id[UUID_LEN * 2 + 5];
	Datum		id;
	char	   *s;

	if (lxid == MyProc->lxid && strcmp(last_pid, pid) == 0)
		return last_id;
	/* the function's OID changes when the extension is re-created */
	if (!OidIsValid(fn) || !SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(fn)))
	{
		Oid			argtypes[1] = {TEXTOID};

		fn = LookupFuncName(list_make2(makeString("deling"), makeString("fhir_patient_id")), 1, argtypes, false);
		fmgr_info_cxt(fn, &flinfo, TopMemoryContext);
	}
	id = FunctionCall1(&flinfo, CStringGetTextDatum(pid));
	s = fhir_uuid_str(id);
	strlcpy(last_id, s, sizeof(last_id));
	pfree(s);
	if (strlen(pid) < sizeof(last_pid))
	{
		strlcpy(last_pid, pid, sizeof(last_pid));
		lxid = MyProc->lxid;
	}
	else
		lxid = InvalidLocalTransactionId;
	return last_id;
}

/* the kind of a person number, by deling.fnr_kind */
char *
fhir_pid_kind(const char *pid)
{
	return TextDatumGetCString(DirectFunctionCall1(deling_fnr_kind, CStringGetTextDatum(pid)));
}

/*
 * the identifier system of a person number of a kind (deling.fnr_kind):
 * no-basis's OIDs; an H-nummer, which has no national system, in the
 * platform's NamingSystem (with no-basis's type HNR, fw_pid_identifier)
 */
static const char *
fhir_pid_system(const char *kind)
{
	if (strcmp(kind, "fnr") == 0)
		return FHIR_SYSTEM_FNR;
	if (strcmp(kind, "dnr") == 0)
		return FHIR_SYSTEM_DNR;
	if (strcmp(kind, "fhnr") == 0)
		return FHIR_SYSTEM_FHNR;
	return FHIR_SYSTEM_HNR;
}

/*
 * fhir_source_system: the system of a row's identifier in its EPJ: a source
 * system that is an absolute URI (urn:oid:, urn:uuid:, http://, https://)
 * as the sender wrote it, so the sender finds its own identifier; another
 * name is a NamingSystem under FHIR_SYSTEM_SOURCE.
 */
static const char *
fhir_source_system(const char *source_system)
{
	if (strncmp(source_system, "urn:oid:", 8) == 0 ||
		strncmp(source_system, "urn:uuid:", 9) == 0 ||
		strncmp(source_system, "http://", 7) == 0 ||
		strncmp(source_system, "https://", 8) == 0)
		return source_system;
	return psprintf(FHIR_SYSTEM_SOURCE "%s", source_system);
}

/* fhir_call_nullable: fn(arg), which may return NULL (DirectFunctionCall may not) */
Datum
fhir_call_nullable(PGFunction fn, Datum arg, bool *isnull)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = arg;
	fcinfo->args[0].isnull = false;
	result = (*fn) (fcinfo);
	*isnull = fcinfo->isnull;
	return result;
}

/*
 * row_reader_create: a reader of rows of a composite type by column name;
 * a name the type does not have is an error (the table changed).
 */
RowReader *
row_reader_create(Oid typid, int32 typmod, const char *const *names, int ncols)
{
	RowReader  *r = palloc0(sizeof(RowReader));

	r->typid = typid;
	r->typmod = typmod;
	r->tupdesc = lookup_rowtype_tupdesc_copy(typid, typmod);
	r->ncols = ncols;
	r->names = names;
	r->attnums = palloc(sizeof(int) * ncols);
	for (int c = 0; c < ncols; c++)
	{
		r->attnums[c] = -1;
		for (int a = 0; a < r->tupdesc->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(r->tupdesc, a);

			if (!att->attisdropped && strcmp(NameStr(att->attname), names[c]) == 0)
			{
				r->attnums[c] = a;
				break;
			}
		}
		if (r->attnums[c] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("type %s has no column \"%s\"", format_type_be(typid), names[c])));
	}
	r->values = palloc(sizeof(Datum) * r->tupdesc->natts);
	r->nulls = palloc(sizeof(bool) * r->tupdesc->natts);
	return r;
}

void
row_reader_read(RowReader *r, HeapTupleHeader row)
{
	HeapTupleData tuple;

	if (HeapTupleHeaderGetTypeId(row) != r->typid)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("a row of type %s was expected", format_type_be(r->typid))));
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	heap_deform_tuple(&tuple, r->tupdesc, r->values, r->nulls);
}

Datum
row_value(RowReader *r, int col, bool *isnull)
{
	*isnull = r->nulls[r->attnums[col]];
	return r->values[r->attnums[col]];
}

char *
row_text(RowReader *r, int col)
{
	bool		isnull;
	Datum		d = row_value(r, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

char *
row_numeric_str(RowReader *r, int col)
{
	bool		isnull;
	Datum		d = row_value(r, col, &isnull);

	return isnull ? NULL : DatumGetCString(DirectFunctionCall1(numeric_out, d));
}

/* the columns of deling.news2_measurement a renderer reads */
enum
{
	M_ID, M_PID, M_STATUS, M_SOURCE_SYSTEM, M_SOURCE_ID, M_RESP_RATE, M_SPO2, M_SPO2_SCALE,
	M_SYSTOLIC_BP, M_PULSE, M_ON_OXYGEN, M_CONSCIOUSNESS, M_TEMPERATURE, M_OXYGEN_FLOW,
	M_RECORDED_BY, M_UNIT_NAME, M_UNIT_ORGNR, M_MEASURED_AT, M_RECEIVED_AT, M_NCOLS
};
static const char *const measurement_columns[M_NCOLS] = {
	"measurement_id", "pid", "status", "source_system", "source_id", "resp_rate", "spo2", "spo2_scale",
	"systolic_bp", "pulse", "on_oxygen", "consciousness", "temperature", "oxygen_flow",
	"recorded_by", "unit_name", "unit_orgnr", "measured_at", "received_at"
};

const char *const fhir_vital_names[7] = {
	"bp", "consciousness", "oxygen", "pulse", "resp", "spo2", "temperature"
};

RowReader *
measurement_reader(Oid typid, int32 typmod)
{
	return row_reader_create(typid, typmod, measurement_columns, M_NCOLS);
}

static int32
measurement_int(RowReader *r, int col)
{
	bool		isnull;
	Datum		d = row_value(r, col, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("NEWS2 measurement has no %s", measurement_columns[col])));
	return DatumGetInt32(d);
}

/*
 * read_measurement: the fields of a deling.news2_measurement row; NOT NULL
 * columns missing (a hand-built row) are an error, not a crash.
 */
void
read_measurement(RowReader *r, HeapTupleHeader row, Measurement *m)
{
	bool		isnull;
	Datum		d;

	row_reader_read(r, row);
	d = row_value(r, M_ID, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("NEWS2 measurement has no measurement_id")));
	m->id = fhir_uuid_str(d);
	m->pid = row_text(r, M_PID);
	m->status = row_text(r, M_STATUS);
	m->source_system = row_text(r, M_SOURCE_SYSTEM);
	m->source_id = row_text(r, M_SOURCE_ID);
	m->v.resp_rate = measurement_int(r, M_RESP_RATE);
	m->v.spo2 = measurement_int(r, M_SPO2);
	m->v.spo2_scale = measurement_int(r, M_SPO2_SCALE);
	m->v.systolic_bp = measurement_int(r, M_SYSTOLIC_BP);
	m->v.pulse = measurement_int(r, M_PULSE);
	d = row_value(r, M_ON_OXYGEN, &isnull);
	m->v.on_oxygen = !isnull && DatumGetBool(d);
	d = row_value(r, M_CONSCIOUSNESS, &isnull);
	m->v.acvpu = 0;
	if (!isnull)
	{
		char	   *c = TextDatumGetCString(d);

		m->v.acvpu = *c;
		pfree(c);
	}
	d = row_value(r, M_TEMPERATURE, &isnull);
	m->v.temperature = isnull ? NULL : DatumGetNumeric(d);
	m->temperature = row_numeric_str(r, M_TEMPERATURE);
	m->oxygen_flow = row_numeric_str(r, M_OXYGEN_FLOW);
	m->recorded_by = row_text(r, M_RECORDED_BY);
	m->unit_name = row_text(r, M_UNIT_NAME);
	m->unit_orgnr = row_text(r, M_UNIT_ORGNR);
	d = row_value(r, M_MEASURED_AT, &isnull);
	m->measured_at = isnull ? DT_NOEND : DatumGetTimestampTz(d);
	d = row_value(r, M_RECEIVED_AT, &isnull);
	m->received_at = isnull ? DT_NOEND : DatumGetTimestampTz(d);
	if (m->pid == NULL || m->status == NULL || m->source_system == NULL || m->source_id == NULL ||
		m->v.temperature == NULL || m->v.acvpu == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("NEWS2 measurement lacks a required field")));
	m->pid_kind = fhir_pid_kind(m->pid);
}

/* NEWS2 Chart 3 (deling.news2_clinical_response), read once per render */
typedef struct ClinicalResponse
{
	char	   *risk;
	int			min_total;
	int			max_total;
	char	   *text;
} ClinicalResponse;

struct ClinicalResponses
{
	int			n;
	ClinicalResponse *rows;
};

ClinicalResponses *
clinical_responses_load(void)
{
	static SPIPlanPtr plan = NULL;
	MemoryContext caller = CurrentMemoryContext;
	ClinicalResponses *c = palloc0(sizeof(ClinicalResponses));

	SPI_connect();
	if (plan == NULL)
	{
		plan = SPI_prepare("SELECT r.risk, r.min_total, r.max_total, r.monitoring || '; ' || r.response "
						   "FROM deling.news2_clinical_response r", 0, NULL);
		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the NEWS2 clinical response lookup: %s",
				 SPI_result_code_string(SPI_result));
	}
	if (SPI_execute_plan(plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the NEWS2 clinical responses");
	c->n = SPI_processed;
	c->rows = MemoryContextAlloc(caller, sizeof(ClinicalResponse) * Max(c->n, 1));
	for (int i = 0; i < c->n; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *s;

		s = SPI_getvalue(t, d, 1);
		c->rows[i].risk = MemoryContextStrdup(caller, s ? s : "");
		c->rows[i].min_total = DatumGetInt32(SPI_getbinval(t, d, 2, &isnull));
		c->rows[i].max_total = DatumGetInt32(SPI_getbinval(t, d, 3, &isnull));
		s = SPI_getvalue(t, d, 4);
		c->rows[i].text = MemoryContextStrdup(caller, s ? s : "");
	}
	SPI_finish();
	return c;
}

const char *
clinical_response_of(ClinicalResponses *c, int total, const char *risk)
{
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->rows[i].risk, risk) == 0 && total >= c->rows[i].min_total && total <= c->rows[i].max_total)
			return c->rows[i].text;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("NEWS2 total %d does not go with risk \"%s\"", total, risk)));
	return NULL;				/* keep the compiler quiet */
}

/* stops ordered by their first day, those without one first, then as stored */
static int
stop_cmp(const void *a, const void *b)
{
	const Stop *x = a;
	const Stop *y = b;

	if (x->has_start != y->has_start)
		return x->has_start ? 1 : -1;
	if (x->has_start && x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->order - y->order;
}

/*
 * service_stops: a service's temporary stops (a daterange[]: [first day,
 * day after the last)) as onhold periods, by first day.  Each lies within
 * the service's period (period_start, and period_end when has_end): a stop
 * is clipped to it, and one wholly outside is left out, so a finished
 * service, which has an end, has no open statusHistory.  Ingest refuses
 * such stops; these are rows stored before it did.
 */
int
service_stops(ArrayType *stops, bool has_period_start, DateADT period_start,
			  bool has_period_end, DateADT period_end, Stop **result)
{
	TypeCacheEntry *typcache;
	Datum	   *ranges;
	bool	   *nulls;
	int			n;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Stop	   *list;
	int			count = 0;

	if (ARR_ELEMTYPE(stops) != DATERANGEOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("a service's stops must be a daterange[]")));
	get_typlenbyvalalign(DATERANGEOID, &typlen, &typbyval, &typalign);
	deconstruct_array(stops, DATERANGEOID, typlen, typbyval, typalign, &ranges, &nulls, &n);
	typcache = lookup_type_cache(DATERANGEOID, TYPECACHE_RANGE_INFO);
	list = palloc(sizeof(Stop) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		RangeBound	lower,
					upper;
		bool		empty;
		Stop	   *stop = &list[count];

		if (nulls[i])
			continue;
		range_deserialize(typcache, DatumGetRangeTypeP(ranges[i]), &lower, &upper, &empty);
		if (empty)
			continue;
		stop->order = i;
		stop->has_start = !lower.infinite;
		stop->start = stop->has_start ? DatumGetDateADT(lower.val) : 0;
		if (has_period_start && (!stop->has_start || stop->start < period_start))
		{
			stop->has_start = true;
			stop->start = period_start;
		}
		stop->has_end = !upper.infinite;
		/* daterange is canonical: the upper bound is the day after the last */
		stop->end = stop->has_end ? DatumGetDateADT(upper.val) - (upper.inclusive ? 0 : 1) : 0;
		if (has_period_end && (!stop->has_end || stop->end > period_end))
		{
			stop->has_end = true;
			stop->end = period_end;
		}
		if (stop->has_start && stop->has_end && stop->end < stop->start)
			continue;			/* wholly outside the period */
		count++;
	}
	pfree(ranges);
	pfree(nulls);
	if (count > 1)
		qsort(list, count, sizeof(Stop), stop_cmp);
	*result = list;
	return count;
}

/* {"system": s, "code": c, "display": d}, without display when d is NULL */
void
fw_coding(JsonWriter *w, const char *system, const char *code, const char *display)
{
	jw_object_begin(w);
	jw_kv_string(w, "code", code);
	jw_kv_string(w, "system", system);
	jw_kv_string(w, "display", display);
	jw_object_end(w);
}

/* "key": a CodeableConcept of one coding */
void
fw_concept(JsonWriter *w, const char *key, const char *system, const char *code, const char *display)
{
	jw_key(w, key);
	jw_object_begin(w);
	jw_key(w, "coding");
	jw_array_begin(w);
	fw_coding(w, system, code, display);
	jw_array_end(w);
	jw_object_end(w);
}

/* "key": {"value": v, "unit": u, "system": UCUM, "code": c} */
void
fw_quantity(JsonWriter *w, const char *key, const char *value, const char *unit, const char *code)
{
	jw_key(w, key);
	jw_object_begin(w);
	jw_kv_string(w, "code", code);
	jw_kv_string(w, "unit", unit);
	jw_kv_number(w, "value", value);
	jw_kv_string(w, "system", FHIR_CS_UCUM);
	jw_object_end(w);
}

/* "key": ts as a FHIR dateTime; nothing for an infinite ts */
void
fw_datetime(JsonWriter *w, const char *key, TimestampTz ts)
{
	StringInfoData s;

	if (TIMESTAMP_NOT_FINITE(ts))
		return;
	initStringInfo(&s);
	fhir_datetime_append(&s, ts);
	jw_key(w, key);
	jw_string_len(w, s.data, s.len);
	pfree(s.data);
}

/* "key": a FHIR date; nothing for an infinite date */
void
fw_date(JsonWriter *w, const char *key, DateADT date)
{
	char		s[11];

	if (!fhir_date_str(date, s))
		return;
	jw_key(w, key);
	jw_string(w, s);
}

/* "meta": {"profile": [profile]} */
void
fw_profile(JsonWriter *w, const char *profile)
{
	jw_key(w, "meta");
	jw_object_begin(w);
	jw_key(w, "profile");
	jw_array_begin(w);
	jw_string(w, profile);
	jw_array_end(w);
	jw_object_end(w);
}

/*
 * the FHIR identifier of a person number of a kind: no-basis's OIDs; an
 * H-nummer in the platform's NamingSystem with no-basis's type HNR (code
 * system 8327)
 */
void
fw_pid_identifier(JsonWriter *w, const char *pid, const char *kind)
{
	jw_object_begin(w);
	if (strcmp(kind, "hnr") == 0)
	{
		jw_key(w, "type");
		jw_object_begin(w);
		jw_key(w, "coding");
		jw_array_begin(w);
		fw_coding(w, FHIR_CS_IDENTIFIER_TYPE_8327, "HNR", NULL);
		jw_array_end(w);
		jw_object_end(w);
	}
	jw_kv_string(w, "value", pid);
	jw_kv_string(w, "system", fhir_pid_system(kind));
	jw_object_end(w);
}

/*
 * "key": a reference to the citizen's Patient (fhir_patient_id) with the
 * person number as its identifier, as every resource about them has.
 */
void
fw_patient_reference(JsonWriter *w, const char *key, const char *pid, const char *kind)
{
	char		ref[UUID_LEN * 2 + 14];

	snprintf(ref, sizeof(ref), "urn:uuid:%s", fhir_patient_id(pid));
	jw_key(w, key);
	jw_object_begin(w);
	jw_kv_string(w, "reference", ref);
	jw_key(w, "identifier");
	fw_pid_identifier(w, pid, kind);
	jw_object_end(w);
}

/* "identifier": [{"system": s, "value": id}], the row's key in its EPJ */
void
fw_source_identifier(JsonWriter *w, const char *source_system, const char *source_id)
{
	jw_key(w, "identifier");
	jw_array_begin(w);
	jw_object_begin(w);
	jw_kv_string(w, "value", source_id);
	jw_kv_string(w, "system", fhir_source_system(source_system));
	jw_object_end(w);
	jw_array_end(w);
}

/* {"value": orgnr, "system": <orgnr system>}, an organisation's Identifier */
void
fw_orgnr_identifier(JsonWriter *w, const char *orgnr)
{
	jw_object_begin(w);
	jw_kv_string(w, "value", orgnr);
	jw_kv_string(w, "system", FHIR_SYSTEM_ORGNR);
	jw_object_end(w);
}

/* "key": {"reference": "urn:uuid:<uuid>", "display": d} (display when given) */
void
fw_reference(JsonWriter *w, const char *key, const char *uuid, const char *display)
{
	char		ref[64];

	snprintf(ref, sizeof(ref), "urn:uuid:%s", uuid);
	jw_key(w, key);
	jw_object_begin(w);
	jw_kv_string(w, "display", display);
	jw_kv_string(w, "reference", ref);
	jw_object_end(w);
}

PG_FUNCTION_INFO_V1(deling_fhir_source_system);

/*
 * fhir_source_system(source_system): the identifier system of a row's
 * source id (fhir_source_system), for a template's context.
 */
Datum
deling_fhir_source_system(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(fhir_source_system(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}

/*
 * fhir_json_to_jsonb: JSON text (a json renderer's) as jsonb.  The 0.1.0
 * jsonb builders' symbols (deling.news2_fhir, municipal_service_fhir,
 * fhir_bundle, fhir_bundle_parts) stay, for a database still at 0.1.0 or
 * 0.2.0 whose library is already 0.3.0's (the released install script
 * creates those functions, and a package upgrade installs the library
 * before ALTER EXTENSION UPDATE drops them): each is its json renderer
 * with its result parsed into jsonb.
 */
Datum
fhir_json_to_jsonb(text *json)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(text_to_cstring(json)));
}

PG_FUNCTION_INFO_V1(deling_fhir_datetime);

/*
 * fhir_datetime(timestamptz): a FHIR dateTime/instant in Norwegian local
 * time with its offset (fhir_datetime_append); NULL for infinity.
 */
Datum
deling_fhir_datetime(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (!fhir_datetime_append(&buf, PG_GETARG_TIMESTAMPTZ(0)))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

PG_FUNCTION_INFO_V1(deling_fhir_name_uuid);

/*
 * fhir_name_uuid(name text): the name-based id of a resource derived from a
 * stored row (fhir_name_uuid), the one computation SQL and the renderers
 * share, in the namespace defined once in fhir_constants.h.
 */
Datum
deling_fhir_name_uuid(PG_FUNCTION_ARGS)
{
	char		id[37];

	fhir_name_uuid(text_to_cstring(PG_GETARG_TEXT_PP(0)), id);
	PG_RETURN_DATUM(DirectFunctionCall1(uuid_in, CStringGetDatum(id)));
}
