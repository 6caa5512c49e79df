-- deling 0.1.0 -> 0.2.0, assembled by the Makefile from src/sql/0.2.0/*.sql.
\echo Use "ALTER EXTENSION deling UPDATE TO '0.2.0'" to load this file. \quit
