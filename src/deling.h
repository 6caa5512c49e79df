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

#endif							/* DELING_H */
