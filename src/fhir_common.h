/*
 * fhir_common.h
 *	  What deling's FHIR renderers share: Norwegian dateTimes and dates,
 *	  name-based ids, the citizen's Patient id and identifier, rows read by
 *	  column name, a NEWS2 measurement, a service's temporary stops, and
 *	  the small FHIR datatypes written with the JSON writer.
 */
#ifndef FHIR_COMMON_H
#define FHIR_COMMON_H

#include "access/htup_details.h"
#include "utils/array.h"
#include "utils/date.h"
#include "utils/timestamp.h"

#include "deling.h"
#include "json_writer.h"

/* times: Europe/Oslo with its offset (2026-11-20T08:00:00+01:00) */
extern bool fhir_datetime_append(StringInfo buf, TimestampTz ts);
extern DateADT fhir_oslo_date(TimestampTz ts);
/* a FHIR date YYYY-MM-DD; false for an infinite date, an error outside years 1-9999 */
extern bool fhir_date_str(DateADT date, char out[11]);

/* ids: name-based UUIDs (version 3) in the platform's namespace; the Patient id */
extern void fhir_name_uuid(const char *name, char out[37]);
extern const char *fhir_patient_id(const char *pid);
extern char *fhir_uuid_str(Datum uuid);

/* identity numbers: their kind (fnr, dnr, fhnr, hnr) */
extern char *fhir_pid_kind(const char *pid);

/* JSON text as jsonb: what the 0.1.0 builders, kept for a database not yet
 * updated, return */
extern Datum fhir_json_to_jsonb(text *json);

/* a NULL-returning PGFunction called with one argument */
extern Datum fhir_call_nullable(PGFunction fn, Datum arg, bool *isnull);

/* rows of a composite type read by column name */
typedef struct RowReader
{
	Oid			typid;
	int32		typmod;
	TupleDesc	tupdesc;
	int			ncols;
	const char *const *names;
	int		   *attnums;		/* per name, 0-based */
	Datum	   *values;			/* per attribute of the row */
	bool	   *nulls;
} RowReader;

extern RowReader *row_reader_create(Oid typid, int32 typmod, const char *const *names, int ncols);
extern void row_reader_read(RowReader *r, HeapTupleHeader row);
extern Datum row_value(RowReader *r, int col, bool *isnull);
extern char *row_text(RowReader *r, int col);
extern char *row_numeric_str(RowReader *r, int col);

/* one NEWS2 measurement */
typedef struct Measurement
{
	News2Values v;
	char	   *id;
	char	   *pid;
	char	   *pid_kind;
	TimestampTz measured_at;
	TimestampTz received_at;
	char	   *status;
	char	   *oxygen_flow;	/* NULL when not given */
	char	   *temperature;
	char	   *recorded_by;
	char	   *unit_name;
	char	   *unit_orgnr;
	char	   *source_system;
	char	   *source_id;
} Measurement;

extern RowReader *measurement_reader(Oid typid, int32 typmod);
extern void read_measurement(RowReader *r, HeapTupleHeader row, Measurement *m);

/* the seven vital signs, in the order the entries list them (by name) */
extern const char *const fhir_vital_names[7];

/* NEWS2 Chart 3: "monitoring; response" for a total and risk */
typedef struct ClinicalResponses ClinicalResponses;
extern ClinicalResponses *clinical_responses_load(void);
extern const char *clinical_response_of(ClinicalResponses *c, int total, const char *risk);

/* a service's temporary stops, as onhold periods within its period */
typedef struct Stop
{
	int			order;			/* position in the array, for a stable sort */
	bool		has_start;
	bool		has_end;
	DateADT		start;
	DateADT		end;
} Stop;

extern int	service_stops(ArrayType *stops, bool has_period_start, DateADT period_start,
						  bool has_period_end, DateADT period_end, Stop **list);

/* small FHIR datatypes, written with the JSON writer */
extern void fw_coding(JsonWriter *w, const char *system, const char *code, const char *display);
extern void fw_concept(JsonWriter *w, const char *key, const char *system, const char *code, const char *display);
extern void fw_quantity(JsonWriter *w, const char *key, const char *value, const char *unit, const char *code);
extern void fw_datetime(JsonWriter *w, const char *key, TimestampTz ts);
extern void fw_date(JsonWriter *w, const char *key, DateADT date);
extern void fw_profile(JsonWriter *w, const char *profile);
extern void fw_pid_identifier(JsonWriter *w, const char *pid, const char *kind);
extern void fw_patient_reference(JsonWriter *w, const char *key, const char *pid, const char *kind);
extern void fw_source_identifier(JsonWriter *w, const char *source_system, const char *source_id);
extern void fw_orgnr_identifier(JsonWriter *w, const char *orgnr);
extern void fw_reference(JsonWriter *w, const char *key, const char *uuid, const char *display);

#endif							/* FHIR_COMMON_H */
