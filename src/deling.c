/*
 * deling.c
 *	  Module entry point: refuses to load outside shared_preload_libraries
 *	  and defines the extension's settings.
 *
 * The caller context lives in PGC_SUSET settings that only this library's
 * C code assigns; they must exist before any session can try to SET them,
 * and the access log needs a background worker: so the library has to be
 * preloaded.  Loading it any other way (CREATE
 * EXTENSION, LOAD) fails with a message telling the DBA what to configure.
 */
#include "postgres.h"

#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "deling.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init: define the settings; refuse late loading so that no session
 * can create placeholder deling.* settings before the real ones exist.
 */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("deling must be loaded at server start"),
				 errhint("Set shared_preload_libraries = 'deling' and wal_level = logical in postgresql.conf, then restart the server.")));

	/*
	 * PL/pgSQL now, not when a backend first needs it: the read-only caller
	 * settings' show hooks run deling's PL/pgSQL lookups, and a library
	 * loaded while pg_settings is being read would add settings under it.
	 */
	load_file("$libdir/plpgsql", false);
	deling_context_define_gucs();
	deling_access_log_init();
	deling_token_cache_init();
	deling_kpr_init();
	deling_citus_init();
	/* after every deling.* setting exists: no placeholders, no typos */
	MarkGUCPrefixReserved("deling");
}

PG_FUNCTION_INFO_V1(deling_preloaded);

/*
 * preloaded(): true.  IMMUTABLE, so the planner calls it once when it plans
 * a statement under the integrations' read policies, which name it: on a
 * server started without deling in shared_preload_libraries that call
 * loads the library, which refuses (_PG_init), and the statement fails.
 * The policies themselves read only current_setting, which on such a
 * server would read a placeholder any session can SET.
 */
Datum
deling_preloaded(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(deling_in_extension_script);

/*
 * in_extension_script(): true while CREATE or ALTER EXTENSION runs a
 * script: a sharing service is declared by a release script, whose objects
 * become members of the extension (and its tables are registered for
 * pg_dump), never from a plain session.
 */
Datum
deling_in_extension_script(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(creating_extension);
}
