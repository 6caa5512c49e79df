/*
 * fhir_news2.c
 *	  deling.news2_entries_json and deling.news2_summary_entries_json: the
 *	  FHIR searchset entries of a set of NEWS2 measurements as json, written
 *	  once with the JSON writer.
 *
 * One call renders every measurement of a read (an array of rows, so no
 * function call per row), in order: each NEWS2 total Observation (mode
 * match), then, with its vital signs, its seven vital-sign Observations
 * (mode include).  The text is what the 0.1.0 jsonb builder
 * (deling.news2_fhir) printed for each row, byte for byte:
 * sql/17_fhir_json.sql checks it against a re-statement of that builder in
 * SQL on every stored row, make bench on 2,000 citizens.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "fhir_common.h"
#include "fhir_constants.h"

/* "category": [{"coding": [observation-category code]}] */
static void
category(JsonWriter *w, const char *code, const char *display)
{
	jw_key(w, "category");
	jw_array_begin(w);
	jw_object_begin(w);
	jw_key(w, "coding");
	jw_array_begin(w);
	fw_coding(w, FHIR_CS_OBSERVATION_CATEGORY, code, display);
	jw_array_end(w);
	jw_object_end(w);
	jw_array_end(w);
}

/* The fields every Observation of the measurement shares. */
static void
common_fields(JsonWriter *w, const Measurement *m)
{
	jw_kv_string(w, "status", m->status);
	fw_patient_reference(w, "subject", m->pid, m->pid_kind);
	if (TIMESTAMP_NOT_FINITE(m->measured_at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("NEWS2 measurement has no finite measured_at")));
	fw_datetime(w, "effectiveDateTime", m->measured_at);
	fw_datetime(w, "issued", m->received_at);
	if (m->recorded_by || m->unit_orgnr || m->unit_name)
	{
		jw_key(w, "performer");
		jw_array_begin(w);
		if (m->recorded_by)
		{
			jw_object_begin(w);
			jw_kv_string(w, "type", "Practitioner");
			jw_key(w, "identifier");
			jw_object_begin(w);
			jw_kv_string(w, "value", m->recorded_by);
			jw_kv_string(w, "system", FHIR_SYSTEM_HPR);
			jw_object_end(w);
			jw_object_end(w);
		}
		if (m->unit_orgnr || m->unit_name)
		{
			jw_object_begin(w);
			jw_kv_string(w, "type", "Organization");
			jw_kv_string(w, "display", m->unit_name);
			if (m->unit_orgnr)
			{
				jw_key(w, "identifier");
				fw_orgnr_identifier(w, m->unit_orgnr);
			}
			jw_object_end(w);
		}
		jw_array_end(w);
	}
}

/* UK Core ACVPU value set (SNOMED CT) beside the platform's letter */
static const char *const acvpu[5][4] = {
	{"A", "Alert", "248234008", "Mentally alert"},
	{"C", "New confusion", "130987000", "Acute confusion"},
	{"V", "Voice", "300202002", "Responds to voice"},
	{"P", "Pain", "450847001", "Responds to pain"},
	{"U", "Unresponsive", "422768004", "Unresponsive"},
};

/* vital_fields: the fields of one vital-sign Observation particular to it */
static void
vital_fields(JsonWriter *w, const Measurement *m, const char *name)
{
	char		n[16];

	if (strcmp(name, "bp") == 0)
	{
		fw_profile(w, FHIR_PROFILE_BP);
		fw_concept(w, "code", FHIR_CS_LOINC, "85354-9", "Blood pressure panel with all children optional");
		jw_key(w, "component");
		jw_array_begin(w);
		jw_object_begin(w);
		fw_concept(w, "code", FHIR_CS_LOINC, "8480-6", "Systolic blood pressure");
		snprintf(n, sizeof(n), "%d", m->v.systolic_bp);
		fw_quantity(w, "valueQuantity", n, "mmHg", "mm[Hg]");
		jw_object_end(w);
		/* R4 bp requires DiastolicBP (1..1); NEWS2 does not hold it (vs-3) */
		jw_object_begin(w);
		fw_concept(w, "code", FHIR_CS_LOINC, "8462-4", "Diastolic blood pressure");
		fw_concept(w, "dataAbsentReason", FHIR_CS_DATA_ABSENT_REASON, "unsupported", "Unsupported");
		jw_object_end(w);
		jw_array_end(w);
	}
	else if (strcmp(name, "consciousness") == 0)
	{
		int			a = 0;

		while (a < 4 && acvpu[a][0][0] != m->v.acvpu)
			a++;
		fw_concept(w, "code", FHIR_CS_SNOMED, "1104441000000107",
				   "ACVPU (alert, new confusion, voice, pain, unresponsive) scale score");
		jw_key(w, "valueCodeableConcept");
		jw_object_begin(w);
		jw_key(w, "coding");
		jw_array_begin(w);
		fw_coding(w, FHIR_CS_SNOMED, acvpu[a][2], acvpu[a][3]);
		fw_coding(w, FHIR_CS_ACVPU, acvpu[a][0], acvpu[a][1]);
		jw_array_end(w);
		jw_object_end(w);
	}
	else if (strcmp(name, "oxygen") == 0)
	{
		/* UK Core InspiredOxygen: coded room air or on oxygen, the flow as value */
		if (m->v.on_oxygen)
			fw_concept(w, "code", FHIR_CS_SNOMED, "371825009", "Patient on oxygen");
		else
			fw_concept(w, "code", FHIR_CS_SNOMED, "722742002", "Breathing room air");
		if (m->oxygen_flow)
			fw_quantity(w, "valueQuantity", m->oxygen_flow, "litre per minute", "l/min");
	}
	else if (strcmp(name, "pulse") == 0)
	{
		fw_profile(w, FHIR_PROFILE_HEARTRATE);
		fw_concept(w, "code", FHIR_CS_LOINC, "8867-4", "Heart rate");
		snprintf(n, sizeof(n), "%d", m->v.pulse);
		fw_quantity(w, "valueQuantity", n, "beats/minute", "/min");
	}
	else if (strcmp(name, "resp") == 0)
	{
		fw_profile(w, FHIR_PROFILE_RESPRATE);
		fw_concept(w, "code", FHIR_CS_LOINC, "9279-1", "Respiratory rate");
		snprintf(n, sizeof(n), "%d", m->v.resp_rate);
		fw_quantity(w, "valueQuantity", n, "breaths/minute", "/min");
	}
	else if (strcmp(name, "spo2") == 0)
	{
		fw_profile(w, FHIR_PROFILE_OXYGENSAT);
		jw_key(w, "code");
		jw_object_begin(w);
		jw_key(w, "coding");
		jw_array_begin(w);
		fw_coding(w, FHIR_CS_LOINC, "2708-6", "Oxygen saturation in Arterial blood");
		fw_coding(w, FHIR_CS_LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry");
		jw_array_end(w);
		jw_object_end(w);
		snprintf(n, sizeof(n), "%d", m->v.spo2);
		fw_quantity(w, "valueQuantity", n, "%", "%");
	}
	else
	{
		fw_profile(w, FHIR_PROFILE_BODYTEMP);
		fw_concept(w, "code", FHIR_CS_LOINC, "8310-5", "Body temperature");
		fw_quantity(w, "valueQuantity", m->temperature, "C", "Cel");
	}
}

/* The sub-score components of the total, in chart order. */
static void
score_components(JsonWriter *w, const Measurement *m, const int sub[7])
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

	jw_key(w, "component");
	jw_array_begin(w);
	for (int i = 0; i < 7; i++)
	{
		char		n[16];

		jw_object_begin(w);
		if (i == 1)
			fw_concept(w, "code", FHIR_CS_SNOMED,
					   m->v.spo2_scale == 1 ? "1104311000000102" : "1104321000000108",
					   m->v.spo2_scale == 1 ? "Oxygen saturation scale 1 score" : "Oxygen saturation scale 2 score");
		else
			fw_concept(w, "code", FHIR_CS_SNOMED, codes[i][0], codes[i][1]);
		snprintf(n, sizeof(n), "%d", sub[i]);
		fw_quantity(w, "valueQuantity", n, "score", "{ScoreOf}");
		jw_object_end(w);
	}
	jw_array_end(w);
}

static const char *
risk_display(const char *risk)
{
	if (strcmp(risk, "low") == 0)
		return "Low clinical risk";
	if (strcmp(risk, "low-medium") == 0)
		return "Low-medium clinical risk (single parameter 3)";
	if (strcmp(risk, "medium") == 0)
		return "Medium clinical risk";
	return "High clinical risk";
}

/*
 * measurement_entries: the entries of one measurement: its NEWS2 total
 * (match) with the seven sub-scores as components, the risk and the Chart
 * 3 response as interpretation and, with vital_signs, derivedFrom its
 * vital signs, which follow (include).
 */
static void
measurement_entries(JsonWriter *w, const Measurement *m, ClinicalResponses *responses, bool vital_signs)
{
	char		ids[7][37];
	int			sub[7];
	int			total;
	const char *risk;
	char		n[16];

	deling_news2_chart(&m->v, sub, &total, &risk);
	if (vital_signs)
		for (int i = 0; i < 7; i++)
			fhir_name_uuid(psprintf("%s:%s", m->id, fhir_vital_names[i]), ids[i]);

	jw_object_begin(w);
	jw_kv_string(w, "mode", "match");
	jw_key(w, "resource");
	jw_object_begin(w);
	jw_kv_string(w, "id", m->id);
	fw_concept(w, "code", FHIR_CS_SNOMED, "1104051000000101",
			   "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score");
	category(w, "survey", "Survey");
	score_components(w, m, sub);
	fw_source_identifier(w, m->source_system, m->source_id);
	if (vital_signs)
	{
		jw_key(w, "derivedFrom");
		jw_array_begin(w);
		for (int i = 0; i < 7; i++)
		{
			char		ref[48];

			snprintf(ref, sizeof(ref), "urn:uuid:%s", ids[i]);
			jw_object_begin(w);
			jw_kv_string(w, "reference", ref);
			jw_object_end(w);
		}
		jw_array_end(w);
	}
	snprintf(n, sizeof(n), "%d", total);
	fw_quantity(w, "valueQuantity", n, "score", "{ScoreOf}");
	jw_key(w, "interpretation");
	jw_array_begin(w);
	jw_object_begin(w);
	jw_kv_string(w, "text", clinical_response_of(responses, total, risk));
	jw_key(w, "coding");
	jw_array_begin(w);
	fw_coding(w, FHIR_CS_NEWS2_RISK, risk, risk_display(risk));
	jw_array_end(w);
	jw_object_end(w);
	jw_array_end(w);
	jw_kv_string(w, "resourceType", "Observation");
	common_fields(w, m);
	jw_object_end(w);
	jw_object_end(w);

	for (int i = 0; vital_signs && i < 7; i++)
	{
		jw_object_begin(w);
		jw_kv_string(w, "mode", "include");
		jw_key(w, "resource");
		jw_object_begin(w);
		jw_kv_string(w, "id", ids[i]);
		category(w, "vital-signs", "Vital Signs");
		vital_fields(w, m, fhir_vital_names[i]);
		jw_kv_string(w, "resourceType", "Observation");
		common_fields(w, m);
		jw_object_end(w);
		jw_object_end(w);
	}
}

/*
 * news2_entries: the searchset entries of the measurements of rows, in the
 * order given, as one JSON array (empty for no rows); the first
 * with_vital_signs of them with their vital signs, the rest as totals
 * alone.  A NULL element is an error.
 */
static text *
news2_entries(ArrayType *rows, int with_vital_signs)
{
	Oid			elemtype = ARR_ELEMTYPE(rows);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	RowReader  *reader = NULL;
	ClinicalResponses *responses = NULL;
	MemoryContext row_cxt;
	MemoryContext old;
	JsonWriter *w;

	if (ARR_NDIM(rows) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("NEWS2 rows must be a one-dimensional array")));
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(rows, elemtype, typlen, typbyval, typalign, &elems, &nulls, &n);
	if (n > 0)
	{
		reader = measurement_reader(elemtype, -1);
		responses = clinical_responses_load();
	}
	w = jw_create();
	/* about 9.5 kB a measurement with its vital signs, 1.2 kB without */
	jw_reserve(w, (Size) Min(n, with_vital_signs) * 11 * 1024 + (Size) Max(n - with_vital_signs, 0) * 1536);
	jw_array_begin(w);
	/* what one measurement needs, freed after it: the output stays */
	row_cxt = AllocSetContextCreate(CurrentMemoryContext, "news2_entries_json row", ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < n; i++)
	{
		Measurement m;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("NEWS2 row %d is NULL", i + 1)));
		old = MemoryContextSwitchTo(row_cxt);
		read_measurement(reader, DatumGetHeapTupleHeader(elems[i]), &m);
		measurement_entries(w, &m, responses, i < with_vital_signs);
		MemoryContextSwitchTo(old);
		MemoryContextReset(row_cxt);
	}
	MemoryContextDelete(row_cxt);
	jw_array_end(w);
	return jw_finish(w);
}

PG_FUNCTION_INFO_V1(deling_news2_entries_json);

/*
 * news2_entries_json(rows deling.news2_measurement[], vital_signs boolean):
 * the searchset entries of the measurements, each with its vital signs or
 * (vital_signs false) each a total alone; a read's renderer.
 */
Datum
deling_news2_entries_json(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(news2_entries(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_BOOL(1) ? PG_INT32_MAX : 0));
}

PG_FUNCTION_INFO_V1(deling_news2_summary_entries_json);

/*
 * news2_summary_entries_json(rows deling.news2_measurement[]): NEWS2 in
 * the legevakt summary, the latest measurement (the first row) with its
 * vital signs and the ones before it as totals alone (the trend), in one
 * array written once.
 */
Datum
deling_news2_summary_entries_json(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(news2_entries(PG_GETARG_ARRAYTYPE_P(0), 1));
}

PG_FUNCTION_INFO_V1(deling_news2_fhir);

/*
 * 0.1.0's news2_fhir(m deling.news2_measurement, vital_signs boolean), for
 * a database not yet updated (fhir_json_to_jsonb): the entries of one
 * measurement as jsonb.
 */
Datum
deling_news2_fhir(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	Datum		elem = PointerGetDatum(row);
	ArrayType  *rows = construct_array(&elem, 1, HeapTupleHeaderGetTypeId(row), -1, false, TYPALIGN_DOUBLE);

	return fhir_json_to_jsonb(news2_entries(rows, PG_GETARG_BOOL(1) ? 1 : 0));
}
