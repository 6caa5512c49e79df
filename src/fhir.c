/*
 * fhir.c
 *	  The jsonb FHIR builders of 0.1.0 (deling.news2_fhir,
 *	  deling.municipal_service_fhir, deling.fhir_bundle and
 *	  deling.fhir_bundle_parts) and deling.fhir_datetime.
 *
 * The resources are written as JSON text into one buffer and parsed into
 * jsonb once; the Bundle is built with pushJsonbValue.  Their successors
 * return json written once by the JSON writer (json_writer.c) and are
 * never re-parsed: fhir_news2.c, fhir_services.c, fhir_patient.c,
 * fhir_bundle.c.  These stay, unchanged in what they return, until the
 * reads are switched to those; what both need (dates, ids, the Patient
 * id, rows, stops) is in fhir_common.c, the constants in fhir_constants.h.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/md5.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "pgtime.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rangetypes.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "deling.h"
#include "fhir_common.h"
#include "fhir_constants.h"

#define UCUM	FHIR_CS_UCUM
#define LOINC	FHIR_CS_LOINC
#define SNOMED	FHIR_CS_SNOMED
#define PROFILE FHIR_PROFILE_VITAL_SIGNS_BASE

PG_FUNCTION_INFO_V1(deling_fhir_datetime);

/*
 * fhir_datetime(timestamptz): a FHIR dateTime/instant in Norwegian local
 * time with its offset; NULL for infinity.  Every resource has one or two.
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

/* Small writers: "key": value pairs, each preceded by a comma unless first. */
static void
key(StringInfo buf, const char *k)
{
	char		last = buf->len > 0 ? buf->data[buf->len - 1] : '\0';

	if (last != '{' && last != '[')
		appendStringInfoChar(buf, ',');
	escape_json(buf, k);
	appendStringInfoChar(buf, ':');
}

static void
kv_str(StringInfo buf, const char *k, const char *v)
{
	key(buf, k);
	escape_json(buf, v);
}

static void
kv_raw(StringInfo buf, const char *k, const char *v)
{
	key(buf, k);
	appendStringInfoString(buf, v);
}

/* "coding": [{"system": s, "code": c, "display": d}], without display when d is NULL */
static void
kv_coding(StringInfo buf, const char *system, const char *code, const char *display)
{
	key(buf, "coding");
	appendStringInfoString(buf, "[{");
	kv_str(buf, "system", system);
	kv_str(buf, "code", code);
	if (display)
		kv_str(buf, "display", display);
	appendStringInfoString(buf, "}]");
}

/*
 * "identifier": [{"system": s, "value": id}], the row's key in its EPJ: a
 * source system that is an absolute URI (urn:oid:, urn:uuid:, http://,
 * https://) is the system as the sender wrote it, so the sender finds its
 * own identifier; another name is a NamingSystem under FHIR_SYSTEM_SOURCE
 * (fhir_source_system).
 */
static void
kv_source_identifier(StringInfo buf, const char *source_system, const char *source_id)
{
	key(buf, "identifier");
	appendStringInfoString(buf, "[{");
	kv_str(buf, "system", fhir_source_system(source_system));
	kv_str(buf, "value", source_id);
	appendStringInfoString(buf, "}]");
}

/* "k": ts as a FHIR dateTime (oslo_datetime); nothing, and false, for an infinite ts */
static bool
kv_datetime(StringInfo buf, const char *k, TimestampTz ts)
{
	if (TIMESTAMP_NOT_FINITE(ts))
		return false;
	key(buf, k);
	appendStringInfoChar(buf, '"');
	fhir_datetime_append(buf, ts);
	appendStringInfoChar(buf, '"');
	return true;
}

/* "k": a CodeableConcept of one coding */
static void
kv_concept(StringInfo buf, const char *k, const char *system, const char *code, const char *display)
{
	key(buf, k);
	appendStringInfoChar(buf, '{');
	kv_coding(buf, system, code, display);
	appendStringInfoChar(buf, '}');
}

/* "valueQuantity": {"value": v, "unit": u, "system": UCUM, "code": c} */
static void
kv_quantity(StringInfo buf, const char *value, const char *unit, const char *code)
{
	key(buf, "valueQuantity");
	appendStringInfoChar(buf, '{');
	kv_raw(buf, "value", value);
	kv_str(buf, "unit", unit);
	kv_str(buf, "system", UCUM);
	kv_str(buf, "code", code);
	appendStringInfoChar(buf, '}');
}

/* "meta": {"profile": [PROFILE name]} */
static void
kv_profile(StringInfo buf, const char *name)
{
	key(buf, "meta");
	appendStringInfo(buf, "{\"profile\":[\"" PROFILE "%s\"]}", name);
}

/*
 * the FHIR identifier of a person number of a kind (deling.fnr_kind, as
 * deling.fhir_pid_identifier): no-basis's OIDs; an H-nummer in FHIR_SYSTEM_HNR with
 * no-basis's type HNR (code system 8327)
 */
static void
append_pid_identifier(StringInfo buf, const char *pid, const char *kind)
{
	appendStringInfoChar(buf, '{');
	if (strcmp(kind, "hnr") == 0)
	{
		key(buf, "type");
		appendStringInfoChar(buf, '{');
		kv_coding(buf, FHIR_CS_IDENTIFIER_TYPE_8327, "HNR", NULL);
		appendStringInfoChar(buf, '}');
	}
	kv_str(buf, "system", fhir_pid_system(kind));
	kv_str(buf, "value", pid);
	appendStringInfoChar(buf, '}');
}

/*
 * "k": a reference to the citizen's Patient (fhir_patient_id) with the person
 * number as its identifier, as every resource about them has.
 */
static void
kv_patient(StringInfo buf, const char *k, const char *pid, const char *kind)
{
	key(buf, k);
	appendStringInfo(buf, "{\"reference\":\"urn:uuid:%s\"", fhir_patient_id(pid));
	key(buf, "identifier");
	append_pid_identifier(buf, pid, kind);
	appendStringInfoChar(buf, '}');
}

/* attribute fetchers for the composite argument */
static Datum
attr(HeapTupleHeader row, const char *name, bool *isnull)
{
	return GetAttributeByName(row, name, isnull);
}

static char *
attr_text(HeapTupleHeader row, const char *name)
{
	bool		isnull;
	Datum		d = attr(row, name, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static char *
attr_numeric(HeapTupleHeader row, const char *name)
{
	bool		isnull;
	Datum		d = attr(row, name, &isnull);

	return isnull ? NULL : DatumGetCString(DirectFunctionCall1(numeric_out, d));
}

/*
 * clinical_response: "monitoring; response" for a total and risk from Chart
 * 3 (deling.news2_clinical_response), through a plan kept per backend.
 */
static char *
clinical_response(int total, const char *risk)
{
	static SPIPlanPtr plan = NULL;
	MemoryContext caller = CurrentMemoryContext;
	Datum		args[2];
	char	   *result;

	SPI_connect();
	if (plan == NULL)
	{
		Oid			types[2] = {INT4OID, TEXTOID};

		plan = SPI_prepare("SELECT r.monitoring || '; ' || r.response FROM deling.news2_clinical_response r "
						   "WHERE r.risk = $2 AND $1 BETWEEN r.min_total AND r.max_total", 2, types);
		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the NEWS2 clinical response lookup: %s",
				 SPI_result_code_string(SPI_result));
	}
	args[0] = Int32GetDatum(total);
	args[1] = CStringGetTextDatum(risk);
	if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("NEWS2 total %d does not go with risk \"%s\"", total, risk)));
	result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	result = MemoryContextStrdup(caller, result ? result : "");
	SPI_finish();
	return result;
}

/* The fields every Observation of the measurement shares. */
static void
common_fields(StringInfo buf, const Measurement *m)
{
	kv_str(buf, "status", m->status);
	kv_patient(buf, "subject", m->pid, m->pid_kind);
	if (!kv_datetime(buf, "effectiveDateTime", m->measured_at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("NEWS2 measurement has no finite measured_at")));
	kv_datetime(buf, "issued", m->received_at);
	if (m->recorded_by || m->unit_orgnr || m->unit_name)
	{
		key(buf, "performer");
		appendStringInfoChar(buf, '[');
		if (m->recorded_by)
		{
			appendStringInfoString(buf, "{\"type\":\"Practitioner\",\"identifier\":{"
								   "\"system\":\"" FHIR_SYSTEM_HPR "\"");
			kv_str(buf, "value", m->recorded_by);
			appendStringInfoString(buf, "}}");
		}
		if (m->unit_orgnr || m->unit_name)
		{
			if (m->recorded_by)
				appendStringInfoChar(buf, ',');
			appendStringInfoString(buf, "{\"type\":\"Organization\"");
			if (m->unit_orgnr)
			{
				key(buf, "identifier");
				appendStringInfoString(buf, "{\"system\":\"" FHIR_SYSTEM_ORGNR "\"");
				kv_str(buf, "value", m->unit_orgnr);
				appendStringInfoChar(buf, '}');
			}
			if (m->unit_name)
				kv_str(buf, "display", m->unit_name);
			appendStringInfoChar(buf, '}');
		}
		appendStringInfoChar(buf, ']');
	}
}

/* vital_fields: the fields of one vital-sign Observation particular to it */
static void
vital_fields(StringInfo buf, const Measurement *m, const char *name)
{
	char		n[16];

	if (strcmp(name, "bp") == 0)
	{
		kv_profile(buf, "bp");
		kv_concept(buf, "code", LOINC, "85354-9", "Blood pressure panel with all children optional");
		key(buf, "component");
		appendStringInfoString(buf, "[{");
		kv_concept(buf, "code", LOINC, "8480-6", "Systolic blood pressure");
		snprintf(n, sizeof(n), "%d", m->v.systolic_bp);
		kv_quantity(buf, n, "mmHg", "mm[Hg]");
		/* R4 bp requires DiastolicBP (1..1); NEWS2 does not hold it (vs-3) */
		appendStringInfoString(buf, "},{");
		kv_concept(buf, "code", LOINC, "8462-4", "Diastolic blood pressure");
		kv_concept(buf, "dataAbsentReason", FHIR_CS_DATA_ABSENT_REASON,
				   "unsupported", "Unsupported");
		appendStringInfoString(buf, "}]");
	}
	else if (strcmp(name, "consciousness") == 0)
	{
		/* UK Core ACVPU value set (SNOMED CT) first, the platform's letter second */
		static const char *const acvpu[5][4] = {
			{"A", "Alert", "248234008", "Mentally alert"},
			{"C", "New confusion", "130987000", "Acute confusion"},
			{"V", "Voice", "300202002", "Responds to voice"},
			{"P", "Pain", "450847001", "Responds to pain"},
			{"U", "Unresponsive", "422768004", "Unresponsive"},
		};
		int			a = 0;

		while (a < 4 && acvpu[a][0][0] != m->v.acvpu)
			a++;
		kv_concept(buf, "code", SNOMED, "1104441000000107",
				   "ACVPU (alert, new confusion, voice, pain, unresponsive) scale score");
		key(buf, "valueCodeableConcept");
		appendStringInfoString(buf, "{\"coding\":[{");
		kv_str(buf, "system", SNOMED);
		kv_str(buf, "code", acvpu[a][2]);
		kv_str(buf, "display", acvpu[a][3]);
		appendStringInfoString(buf, "},{");
		kv_str(buf, "system", FHIR_CS_ACVPU);
		kv_str(buf, "code", acvpu[a][0]);
		kv_str(buf, "display", acvpu[a][1]);
		appendStringInfoString(buf, "}]}");
	}
	else if (strcmp(name, "oxygen") == 0)
	{
		/* UK Core InspiredOxygen: coded room air or on oxygen, the flow as value */
		if (m->v.on_oxygen)
			kv_concept(buf, "code", SNOMED, "371825009", "Patient on oxygen");
		else
			kv_concept(buf, "code", SNOMED, "722742002", "Breathing room air");
		if (m->oxygen_flow)
			kv_quantity(buf, m->oxygen_flow, "litre per minute", "l/min");
	}
	else if (strcmp(name, "pulse") == 0)
	{
		kv_profile(buf, "heartrate");
		kv_concept(buf, "code", LOINC, "8867-4", "Heart rate");
		snprintf(n, sizeof(n), "%d", m->v.pulse);
		kv_quantity(buf, n, "beats/minute", "/min");
	}
	else if (strcmp(name, "resp") == 0)
	{
		kv_profile(buf, "resprate");
		kv_concept(buf, "code", LOINC, "9279-1", "Respiratory rate");
		snprintf(n, sizeof(n), "%d", m->v.resp_rate);
		kv_quantity(buf, n, "breaths/minute", "/min");
	}
	else if (strcmp(name, "spo2") == 0)
	{
		kv_profile(buf, "oxygensat");
		key(buf, "code");
		appendStringInfoString(buf, "{\"coding\":[{\"system\":\"" LOINC "\",\"code\":\"2708-6\","
							   "\"display\":\"Oxygen saturation in Arterial blood\"},"
							   "{\"system\":\"" LOINC "\",\"code\":\"59408-5\","
							   "\"display\":\"Oxygen saturation in Arterial blood by Pulse oximetry\"}]}");
		snprintf(n, sizeof(n), "%d", m->v.spo2);
		kv_quantity(buf, n, "%", "%");
	}
	else
	{
		kv_profile(buf, "bodytemp");
		kv_concept(buf, "code", LOINC, "8310-5", "Body temperature");
		kv_quantity(buf, m->temperature, "C", "Cel");
	}
}

/* The sub-score components of the total, in chart order. */
static void
score_components(StringInfo buf, const Measurement *m, const int sub[7])
{
	static const char *const codes[7][2] = {
		{"1104301000000104", "Respiration rate score"},
		{NULL, NULL},			/* SpO2: depends on the scale */
		{"1104331000000105", "Air or oxygen score"},
		{"1104341000000101", "Systolic blood pressure score"},
		{"1104351000000103", "Pulse score"},
		{"1104361000000100", "Consciousness score"},
		{"1104371000000107", "Temperature score"},
	};

	key(buf, "component");
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < 7; i++)
	{
		char		n[16];

		if (i > 0)
			appendStringInfoChar(buf, ',');
		appendStringInfoChar(buf, '{');
		if (i == 1)
			kv_concept(buf, "code", SNOMED,
					   m->v.spo2_scale == 1 ? "1104311000000102" : "1104321000000108",
					   m->v.spo2_scale == 1 ? "Oxygen saturation scale 1 score" : "Oxygen saturation scale 2 score");
		else
			kv_concept(buf, "code", SNOMED, codes[i][0], codes[i][1]);
		snprintf(n, sizeof(n), "%d", sub[i]);
		kv_quantity(buf, n, "score", "{ScoreOf}");
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoChar(buf, ']');
}

PG_FUNCTION_INFO_V1(deling_news2_fhir);

/*
 * news2_fhir(deling.news2_measurement, vital_signs boolean): the FHIR
 * resources of one NEWS2 measurement as searchset entries: the NEWS2 total
 * Observation (mode match) with the seven sub-scores as components and the
 * risk and the Chart 3 response as interpretation; with vital_signs, also
 * derivedFrom its seven vital-sign Observations, which follow (mode
 * include).  Without, the total alone (the legevakt's trend).
 */
Datum
deling_news2_fhir(PG_FUNCTION_ARGS)
{
	Measurement m;
	StringInfoData buf;
	char		ids[7][37];
	int			sub[7];
	int			total;
	const char *risk;
	char		n[16];
	bool		vital_signs = PG_GETARG_BOOL(1);

	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	RowReader  *reader = fcinfo->flinfo->fn_extra;

	if (reader == NULL || reader->typid != HeapTupleHeaderGetTypeId(row))
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		reader = measurement_reader(HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
		fcinfo->flinfo->fn_extra = reader;
		MemoryContextSwitchTo(old);
	}
	read_measurement(reader, row, &m);
	deling_news2_chart(&m.v, sub, &total, &risk);
	for (int i = 0; i < 7; i++)
		fhir_name_uuid(psprintf("%s:%s", m.id, fhir_vital_names[i]), ids[i]);

	initStringInfo(&buf);
	appendStringInfoString(&buf, "[{\"mode\":\"match\",\"resource\":{\"resourceType\":\"Observation\"");
	kv_str(&buf, "id", m.id);
	kv_source_identifier(&buf, m.source_system, m.source_id);
	key(&buf, "category");
	appendStringInfoString(&buf, "[{");
	kv_coding(&buf, FHIR_CS_OBSERVATION_CATEGORY, "survey", "Survey");
	appendStringInfoString(&buf, "}]");
	kv_concept(&buf, "code", SNOMED, "1104051000000101",
			   "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score");
	snprintf(n, sizeof(n), "%d", total);
	kv_quantity(&buf, n, "score", "{ScoreOf}");
	key(&buf, "interpretation");
	appendStringInfoString(&buf, "[{");
	kv_coding(&buf, FHIR_CS_NEWS2_RISK, risk,
			   strcmp(risk, "low") == 0 ? "Low clinical risk" :
			   strcmp(risk, "low-medium") == 0 ? "Low-medium clinical risk (single parameter 3)" :
			   strcmp(risk, "medium") == 0 ? "Medium clinical risk" : "High clinical risk");
	kv_str(&buf, "text", clinical_response(total, risk));
	appendStringInfoString(&buf, "}]");
	score_components(&buf, &m, sub);
	if (vital_signs)
	{
		key(&buf, "derivedFrom");
		appendStringInfoChar(&buf, '[');
		for (int i = 0; i < 7; i++)
			appendStringInfo(&buf, "%s{\"reference\":\"urn:uuid:%s\"}", i > 0 ? "," : "", ids[i]);
		appendStringInfoChar(&buf, ']');
	}
	common_fields(&buf, &m);
	appendStringInfoString(&buf, "}}");

	for (int i = 0; vital_signs && i < 7; i++)
	{
		appendStringInfoString(&buf, ",{\"mode\":\"include\",\"resource\":{\"resourceType\":\"Observation\"");
		kv_str(&buf, "id", ids[i]);
		key(&buf, "category");
		appendStringInfoString(&buf, "[{\"coding\":[{\"system\":\"" FHIR_CS_OBSERVATION_CATEGORY "\","
							   "\"code\":\"vital-signs\",\"display\":\"Vital Signs\"}]}]");
		vital_fields(&buf, &m, fhir_vital_names[i]);
		common_fields(&buf, &m);
		appendStringInfoString(&buf, "}}");
	}
	appendStringInfoChar(&buf, ']');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/*
 * kv_date: "k": d as a FHIR date (YYYY-MM-DD), unless d is NULL or infinite
 * (as to_char gives NULL for those, and the SQL builder stripped them).  A
 * FHIR date has a four-digit year, so other years are an error.
 */
static void
kv_date(StringInfo buf, const char *k, Datum d, bool isnull)
{
	char		date[11];

	if (isnull || !fhir_date_str(DatumGetDateADT(d), date))
		return;
	key(buf, k);
	appendStringInfo(buf, "\"%s\"", date);
}

/*
 * kv_status_history: "statusHistory": one onhold period per temporary stop
 * (a daterange[]: [first day, day after the last)), by first day; nothing
 * when there are none.  Each period lies within the service's period
 * (period_start, and period_end when has_end): a stop is clipped to it, and
 * one wholly outside is left out, so a finished service, which has an end,
 * has no open statusHistory.  Ingest refuses such stops; these are rows
 * stored before it did.
 */
static void
kv_status_history(StringInfo buf, ArrayType *stops, bool has_period_start, DateADT period_start,
				  bool has_period_end, DateADT period_end)
{
	Stop	   *list;
	int			count = service_stops(stops, has_period_start, period_start, has_period_end, period_end, &list);

	if (count == 0)
		return;
	key(buf, "statusHistory");
	appendStringInfoChar(buf, '[');
	for (int i = 0; i < count; i++)
	{
		appendStringInfoString(buf, i > 0 ? ",{\"status\":\"onhold\",\"period\":{" : "{\"status\":\"onhold\",\"period\":{");
		kv_date(buf, "start", DateADTGetDatum(list[i].start), !list[i].has_start);
		kv_date(buf, "end", DateADTGetDatum(list[i].end), !list[i].has_end);
		appendStringInfoString(buf, "}}");
	}
	appendStringInfoChar(buf, ']');
}

PG_FUNCTION_INFO_V1(deling_municipal_service_fhir);

/*
 * municipal_service_fhir(s deling.municipal_service, status, type_display,
 * kommune_name): the service as a searchset entry (mode match) whose
 * resource is an HL7 Norway OKT EpisodeOfCare: type from code list 9151
 * (and the stay type), status and the onhold periods of temporary stops,
 * period, the Patient, the responsible unit as managingOrganization, and
 * the weekly extent and description as OKT extensions.  The caller passes
 * what comes from other tables or the day: the EpisodeOfCare status
 * (deling.municipal_service_fhir_status), the code's display and the
 * kommune's name.  The same jsonb as the SQL builder it replaced
 * (tests/bench/fhir.sql keeps it and checks that they agree).
 */
Datum
deling_municipal_service_fhir(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row;
	StringInfoData buf;
	bool		isnull;
	Datum		d;
	char	   *kommune_nr,
			   *pid,
			   *code,
			   *source_system,
			   *source_id,
			   *weekly_hours,
			   *description,
			   *stay_type,
			   *unit_name,
			   *unit_orgnr,
			   *display;
	char		unit[37];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("an EpisodeOfCare needs a status")));
	row = PG_GETARG_HEAPTUPLEHEADER(0);
	kommune_nr = attr_text(row, "kommune_nr");
	pid = attr_text(row, "pid");
	code = attr_text(row, "service_code");
	source_system = attr_text(row, "source_system");
	source_id = attr_text(row, "source_id");
	d = attr(row, "service_id", &isnull);
	if (isnull || kommune_nr == NULL || pid == NULL || code == NULL || source_system == NULL || source_id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("municipal service lacks a required field")));
	weekly_hours = attr_numeric(row, "weekly_hours");
	description = attr_text(row, "description");
	stay_type = attr_text(row, "stay_type");
	unit_name = attr_text(row, "unit_name");
	unit_orgnr = attr_text(row, "unit_orgnr");

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"mode\":\"match\",\"resource\":{\"resourceType\":\"EpisodeOfCare\"");
	kv_str(&buf, "id", DatumGetCString(DirectFunctionCall1(uuid_out, d)));
	key(&buf, "meta");
	appendStringInfoString(&buf, "{\"profile\":[\"" FHIR_PROFILE_OKT_EPISODE_OF_CARE "\"]");
	d = attr(row, "received_at", &isnull);
	if (!isnull)
		kv_datetime(&buf, "lastUpdated", DatumGetTimestampTz(d));
	appendStringInfoChar(&buf, '}');
	if (weekly_hours || description)
	{
		key(&buf, "extension");
		appendStringInfoChar(&buf, '[');
		if (weekly_hours)
			appendStringInfo(&buf, "{\"url\":\"" FHIR_EXT_OKT_WEEKLY_EXTENT_RATIO "\","
							 "\"valueRatio\":{\"numerator\":{\"value\":%s,\"unit\":\"h\",\"system\":\"" UCUM "\",\"code\":\"h\"},"
							 "\"denominator\":{\"value\":1,\"unit\":\"wk\",\"system\":\"" UCUM "\",\"code\":\"wk\"}}}",
							 weekly_hours);
		if (description)
		{
			appendStringInfoString(&buf, weekly_hours ? ",{" : "{");
			kv_str(&buf, "url", FHIR_EXT_OKT_SERVICE_DESCRIPTION);
			kv_str(&buf, "valueMarkdown", description);
			appendStringInfoChar(&buf, '}');
		}
		appendStringInfoChar(&buf, ']');
	}
	kv_source_identifier(&buf, source_system, source_id);
	kv_str(&buf, "status", text_to_cstring(PG_GETARG_TEXT_PP(1)));
	d = attr(row, "stops", &isnull);
	if (!isnull)
	{
		bool		no_start,
					no_end;
		Datum		start = attr(row, "period_start", &no_start);
		Datum		end = attr(row, "period_end", &no_end);

		kv_status_history(&buf, DatumGetArrayTypeP(d), !no_start && !DATE_NOT_FINITE(DatumGetDateADT(start)),
						  no_start ? 0 : DatumGetDateADT(start),
						  !no_end && !DATE_NOT_FINITE(DatumGetDateADT(end)), no_end ? 0 : DatumGetDateADT(end));
	}
	key(&buf, "type");
	appendStringInfoString(&buf, "[{");
	kv_coding(&buf, FHIR_CS_SERVICE_TYPE_9151, code,
			  PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)));
	appendStringInfoChar(&buf, '}');
	/* OKT's stay-type value set (closed type slicing): dagopphold, korttidsopphold */
	if (stay_type && (strcmp(stay_type, "dagopphold") == 0 || strcmp(stay_type, "korttidsopphold") == 0))
	{
		/* initcap of the stay type, one lower-case word by the table's check */
		display = pstrdup(stay_type);
		display[0] = pg_toupper((unsigned char) display[0]);
		appendStringInfoString(&buf, ",{");
		kv_coding(&buf, FHIR_CS_OKT_STAY_TYPE, stay_type, display);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoChar(&buf, ']');
	kv_patient(&buf, "patient", pid, fhir_pid_kind(pid));
	fhir_name_uuid(psprintf("deling-unit:%s:%s:%s", kommune_nr, unit_orgnr ? unit_orgnr : "", unit_name ? unit_name : ""), unit);
	key(&buf, "managingOrganization");
	appendStringInfo(&buf, "{\"reference\":\"urn:uuid:%s\"", unit);
	if (unit_name)
		kv_str(&buf, "display", unit_name);
	else if (!PG_ARGISNULL(3))
		kv_str(&buf, "display", psprintf("%s kommune", text_to_cstring(PG_GETARG_TEXT_PP(3))));
	appendStringInfoChar(&buf, '}');
	key(&buf, "period");
	appendStringInfoChar(&buf, '{');
	d = attr(row, "period_start", &isnull);
	kv_date(&buf, "start", d, isnull);
	d = attr(row, "period_end", &isnull);
	kv_date(&buf, "end", d, isnull);
	appendStringInfoString(&buf, "}}}");
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/* push helpers for building jsonb directly: a string as key or value */
static void
push_string(JsonbParseState **st, JsonbIteratorToken tok, const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	pushJsonbValue(st, tok, &v);
}

#define push_key(st, k) push_string((st), WJB_KEY, (k))

/*
 * push_entry: one Bundle entry {fullUrl, resource, search: {mode}} from a
 * resource (jbvBinary object) and its search mode (search only in a
 * searchset, and only when there is a mode).
 */
static void
push_entry(JsonbParseState **st, JsonbValue *resource, JsonbValue *mode, bool searchset)
{
	JsonbValue	id;

	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	if (getKeyJsonValueFromContainer(resource->val.binary.data, "id", 2, &id) != NULL && id.type == jbvString)
	{
		push_key(st, "fullUrl");
		push_string(st, WJB_VALUE, psprintf("urn:uuid:%.*s", id.val.string.len, id.val.string.val));
	}
	push_key(st, "resource");
	pushJsonbValue(st, WJB_VALUE, resource);
	if (searchset && mode != NULL)
	{
		push_key(st, "search");
		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		push_key(st, "mode");
		pushJsonbValue(st, WJB_VALUE, mode);
		pushJsonbValue(st, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
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
 * or collection) from the entries of one or more JSON arrays, in order,
 * each entry {mode, resource}, with the links given (a JSON array of
 * {relation, url}, or NULL); an OperationOutcome about withheld or
 * emergency-opened information becomes the last entry, and withheld
 * information also marks the Bundle REDACTED.  No entry array when there
 * are none (FHIR JSON has no empty arrays).  Built as jsonb directly: each
 * pass over a large jsonb value in SQL (extract, build, aggregate,
 * concatenate) costs microseconds per kilobyte.
 */
static Jsonb *
build_bundle(const char *type, Jsonb **parts, int nparts, Datum matches, bool no_matches, Jsonb *outcome,
			 Jsonb *links)
{
	bool		searchset = strcmp(type, "searchset") == 0;
	JsonbParseState *st = NULL;
	JsonbValue	v;
	StringInfoData stamp;
	int			n = 0;
	int			seen = 0;

	if (!searchset && strcmp(type, "collection") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Bundle type \"%s\" is not searchset or collection", type)));
	for (int p = 0; p < nparts; p++)
	{
		if (!JB_ROOT_IS_ARRAY(parts[p]) || JB_ROOT_IS_SCALAR(parts[p]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Bundle entries must be a JSON array")));
		n += JB_ROOT_COUNT(parts[p]);
	}
	initStringInfo(&stamp);
	fhir_datetime_append(&stamp, GetCurrentTransactionStartTimestamp());

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	push_key(&st, "resourceType");
	push_string(&st, WJB_VALUE, "Bundle");
	push_key(&st, "id");
	push_string(&st, WJB_VALUE, DatumGetCString(DirectFunctionCall1(uuid_out, DirectFunctionCall1(gen_random_uuid, (Datum) 0))));
	push_key(&st, "meta");
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	push_key(&st, "lastUpdated");
	push_string(&st, WJB_VALUE, stamp.data);
	if (outcome != NULL && outcome_suppressed(outcome))
	{
		push_key(&st, "security");
		pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		push_key(&st, "system");
		push_string(&st, WJB_VALUE, FHIR_CS_V3_OBSERVATION_VALUE);
		push_key(&st, "code");
		push_string(&st, WJB_VALUE, "REDACTED");
		push_key(&st, "display");
		push_string(&st, WJB_VALUE, "redacted");
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
		pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	}
	pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	push_key(&st, "type");
	push_string(&st, WJB_VALUE, type);
	push_key(&st, "timestamp");
	push_string(&st, WJB_VALUE, stamp.data);
	if (searchset && !no_matches)
	{
		push_key(&st, "total");
		v.type = jbvNumeric;
		v.val.numeric = int64_to_numeric(DatumGetInt32(matches));
		pushJsonbValue(&st, WJB_VALUE, &v);
	}
	if (links != NULL)
	{
		if (!JB_ROOT_IS_ARRAY(links) || JB_ROOT_IS_SCALAR(links))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Bundle links must be a JSON array")));
		if (JB_ROOT_COUNT(links) > 0)
		{
			push_key(&st, "link");
			v.type = jbvBinary;
			v.val.binary.data = &links->root;
			v.val.binary.len = VARSIZE(links) - VARHDRSZ;
			pushJsonbValue(&st, WJB_VALUE, &v);
		}
	}
	if (n > 0 || outcome != NULL)
	{
		push_key(&st, "entry");
		pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
		for (int p = 0; p < nparts; p++)
		{
			for (int i = 0; i < (int) JB_ROOT_COUNT(parts[p]); i++)
			{
				JsonbValue *e = getIthJsonbValueFromContainer(&parts[p]->root, i);
				JsonbValue	resource;
				JsonbValue	mode;
				bool		has_mode;

				seen++;
				if (e == NULL || e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("Bundle entry %d is not an object", seen)));
				if (getKeyJsonValueFromContainer(e->val.binary.data, "resource", 8, &resource) == NULL ||
					resource.type != jbvBinary)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("Bundle entry has no resource object")));
				has_mode = getKeyJsonValueFromContainer(e->val.binary.data, "mode", 4, &mode) != NULL &&
					mode.type == jbvString;
				push_entry(&st, &resource, has_mode ? &mode : NULL, searchset);
			}
		}
		if (outcome != NULL)
		{
			JsonbValue	resource;
			JsonbValue	mode;

			resource.type = jbvBinary;
			resource.val.binary.data = &outcome->root;
			resource.val.binary.len = VARSIZE(outcome) - VARHDRSZ;
			mode.type = jbvString;
			mode.val.string.val = "outcome";
			mode.val.string.len = strlen("outcome");
			push_entry(&st, &resource, &mode, searchset);
		}
		pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

PG_FUNCTION_INFO_V1(deling_fhir_bundle);

/*
 * fhir_bundle(type, entries, matches, outcome, links): the Bundle of the
 * entries of one JSON array (build_bundle).
 */
Datum
deling_fhir_bundle(PG_FUNCTION_ARGS)
{
	Jsonb	   *entries;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a Bundle needs a type and its entries")));
	entries = PG_GETARG_JSONB_P(1);
	PG_RETURN_JSONB_P(build_bundle(text_to_cstring(PG_GETARG_TEXT_PP(0)), &entries, 1,
								   PG_GETARG_DATUM(2), PG_ARGISNULL(2),
								   PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3),
								   PG_NARGS() > 4 && !PG_ARGISNULL(4) ? PG_GETARG_JSONB_P(4) : NULL));
}

PG_FUNCTION_INFO_V1(deling_fhir_bundle_parts);

/*
 * fhir_bundle_parts(type, parts jsonb[], matches, outcome): the Bundle of
 * the entries of several JSON arrays, in order, as if they were concatenated
 * first: a reader assembling a Bundle from parts (the legevakt's summary)
 * saves a copy of the growing entries per part.  A NULL part is empty.
 */
Datum
deling_fhir_bundle_parts(PG_FUNCTION_ARGS)
{
	ArrayType  *array;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	Jsonb	  **parts;
	int			nparts = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a Bundle needs a type and its entries")));
	array = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the parts of a Bundle must be a one-dimensional array")));
	deconstruct_array(array, JSONBOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
	parts = palloc(sizeof(Jsonb *) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
		if (!nulls[i])
			parts[nparts++] = DatumGetJsonbP(elems[i]);
	PG_RETURN_JSONB_P(build_bundle(text_to_cstring(PG_GETARG_TEXT_PP(0)), parts, nparts,
								   PG_GETARG_DATUM(2), PG_ARGISNULL(2),
								   PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3), NULL));
}
