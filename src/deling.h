/*
 * deling.h
 *	  Shared declarations of the deling extension.
 */
#ifndef DELING_H
#define DELING_H

/* context.c: the caller context settings, defined once at preload */
extern void deling_context_define_gucs(void);

/* access_log.c: access-log settings and its drain worker, at preload */
extern void deling_access_log_init(void);

/* kpr.c: KPR settings, at preload */
extern void deling_kpr_init(void);

#endif							/* DELING_H */
