-- deling 0.2.0 -> 0.3.0, assembled by the Makefile from src/sql/0.3.0/*.sql.
\echo Use "ALTER EXTENSION deling UPDATE TO '0.3.0'" to load this file. \quit
