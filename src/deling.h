/*
 * deling.h
 *	  Shared declarations of the deling extension.
 */
#ifndef DELING_H
#define DELING_H

#include "fmgr.h"
#include "utils/jsonb.h"

/* context.c: the caller context settings, defined once at preload */
extern void deling_context_define_gucs(void);
extern uint64 deling_context_generation(void);
/* context.c: the context's kind ('' for none) and the integration's kommune */
extern const char *context_kind(void);
extern struct varlena *context_current_kommune(void);

/* jwt.c: a verified token's payload; token_cache.c: the cache, at preload */
extern Jsonb *jwt_payload(text *token);
extern void deling_token_cache_init(void);

/* access_log.c: access-log settings and its drain worker, at preload */
extern void deling_access_log_init(void);

/* kpr.c: KPR settings, at preload */
extern void deling_kpr_init(void);

/* citus.c: on a Citus cluster, which node this is and the worker guards */
extern void deling_citus_init(void);
extern bool deling_citus_worker(void);
extern void deling_citus_refuse_on_worker(const char *what);
extern const char *deling_citus_session_show(const char *what, const char *value);

/* identifiers.c: 'fnr', 'dnr', 'hnr' or 'fhnr' for an identity number */
extern Datum deling_fnr_kind(PG_FUNCTION_ARGS);

/* news2.c: scoring of a stored measurement, for the FHIR renderer */
typedef struct News2Values
{
	int32		resp_rate;
	int32		spo2;
	int32		spo2_scale;
	bool		on_oxygen;
	int32		systolic_bp;
	int32		pulse;
	char		acvpu;			/* 'A', 'C', 'V', 'P' or 'U' */
	struct NumericData *temperature;	/* detoasted */
} News2Values;
extern void deling_news2_chart(const News2Values *v, int sub[7], int *total, const char **risk);

/* identifiers.c, news2.c: the item checks of batch ingest (ingest.c) call them directly */
extern Datum deling_fnr_problem(PG_FUNCTION_ARGS);
extern Datum deling_orgnr_valid(PG_FUNCTION_ARGS);
extern Datum deling_news2_problem(PG_FUNCTION_ARGS);

/* access_log_entry.c: a caller-supplied text bounded as deling.clip bounds it */
extern char *deling_clip(const char *v, int max);

#endif							/* DELING_H */
