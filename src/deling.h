/*
 * deling.h
 *	  Shared declarations of the deling extension.
 */
#ifndef DELING_H
#define DELING_H

/* context.c: the caller context settings, defined once at preload */
extern void deling_context_define_gucs(void);

#endif							/* DELING_H */
