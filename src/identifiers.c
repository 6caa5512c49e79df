/*
 * identifiers.c
 *	  Norwegian identity numbers (fødselsnummer, D-, H-, FH-nummer and the
 *	  synthetic Tenor variant) and organisasjonsnummer, exactly per
 *	  shared/domain/identifiers.md: both K1 rules (before and from 2032),
 *	  K2, century from the individnummer, and real calendar dates.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"

/* What an identity number is, once parsed. */
typedef enum PidKind
{
	PID_FNR,					/* fødselsnummer */
	PID_DNR,					/* D-nummer: day + 40 */
	PID_HNR,					/* H-nummer or NAV synthetic: month + 40 */
	PID_FHNR					/* felles hjelpenummer: first digit 8 or 9 */
} PidKind;

typedef struct PidInfo
{
	PidKind		kind;
	bool		tenor;			/* Skatteetaten synthetic: month + 80 */
	int			year;			/* birth date; 0 for FH-nummer */
	int			month;
	int			day;
	int			individ;
} PidInfo;

static const int k1_weights[10] = {3, 7, 6, 1, 8, 9, 4, 5, 2, 1};
static const int k2_weights[10] = {5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
static const int orgnr_weights[8] = {3, 2, 7, 6, 5, 4, 3, 2};

/*
 * mod11_check: 11 - (sum mod 11), with 11 -> 0; 10 means "no valid digit".
 */
static int
mod11_check(const int *d, const int *w, int n)
{
	int			sum = 0;
	int			c;

	for (int i = 0; i < n; i++)
		sum += d[i] * w[i];
	c = 11 - sum % 11;
	return c == 11 ? 0 : c;
}

/*
 * pid_parse: check an identity number; on failure return false with *why
 * naming the problem (length, check digit or date).
 */
static bool
pid_parse(const char *s, int len, PidInfo *info, const char **why)
{
	int			d[11];
	int			sum = 0;
	int			day,
				month,
				yy,
				century;

	if (len != 11)
	{
		*why = "must be exactly 11 digits";
		return false;
	}
	for (int i = 0; i < 11; i++)
	{
		if (s[i] < '0' || s[i] > '9')
		{
			*why = "must contain digits only";
			return false;
		}
		d[i] = s[i] - '0';
	}

	/* K1: the 2032 rule accepts remainders 0-3 and includes the old rule */
	for (int i = 0; i < 10; i++)
		sum += d[i] * k1_weights[i];
	if (sum % 11 > 3)
	{
		*why = "check digit K1 (10th digit) is wrong";
		return false;
	}
	if (mod11_check(d, k2_weights, 10) != d[10])
	{
		*why = "check digit K2 (11th digit) is wrong";
		return false;
	}

	memset(info, 0, sizeof(PidInfo));
	info->individ = d[6] * 100 + d[7] * 10 + d[8];
	if (d[0] >= 8)
	{
		info->kind = PID_FHNR;
		return true;
	}

	day = d[0] * 10 + d[1];
	month = d[2] * 10 + d[3];
	yy = d[4] * 10 + d[5];
	info->kind = PID_FNR;
	if (d[0] >= 4)
	{
		info->kind = PID_DNR;
		day -= 40;
	}
	if (month > 80)
	{
		info->tenor = true;
		month -= 80;
	}
	else if (month > 40)
	{
		if (info->kind == PID_DNR)
		{
			*why = "date part is not a real date (D-nummer with month + 40)";
			return false;
		}
		info->kind = PID_HNR;
		month -= 40;
	}

	if (info->individ <= 499)
		century = 1900;
	else if (info->individ <= 749 && yy >= 54)
		century = 1800;
	else if (yy <= 39)
		century = 2000;
	else if (info->individ >= 900)
		century = 1900;
	else
	{
		*why = "individnummer does not fit the birth year (no century)";
		return false;
	}

	if (month < 1 || month > 12 || day < 1 ||
		day > day_tab[isleap(century + yy)][month - 1])
	{
		*why = "date part is not a real calendar date";
		return false;
	}
	info->year = century + yy;
	info->month = month;
	info->day = day;
	return true;
}

PG_FUNCTION_INFO_V1(deling_fnr_valid);

/*
 * fnr_valid(text): true when the text is a valid identity number of any
 * kind (fødselsnummer, D-, H-, FH-nummer, synthetic).
 */
Datum
deling_fnr_valid(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	PidInfo		info;
	const char *why;

	PG_RETURN_BOOL(pid_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &info, &why));
}

/*
 * pid_parse_or_error: parse, raising a message that names the problem.
 */
static void
pid_parse_or_error(text *t, PidInfo *info)
{
	const char *why;

	if (!pid_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), info, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid identity number \"%s\": %s",
						text_to_cstring(t), why)));
}

PG_FUNCTION_INFO_V1(deling_fnr_check);

/*
 * fnr_check(text): true for a valid identity number, otherwise an error
 * naming the problem; used by the deling.pid domain's CHECK.
 */
Datum
deling_fnr_check(PG_FUNCTION_ARGS)
{
	PidInfo		info;

	pid_parse_or_error(PG_GETARG_TEXT_PP(0), &info);
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(deling_fnr_problem);

/*
 * fnr_problem(text): NULL for a valid identity number, else what is wrong
 * with it; lets batch ingest report the problem without raising.
 */
Datum
deling_fnr_problem(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	PidInfo		info;
	const char *why;

	if (pid_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &info, &why))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(why));
}

PG_FUNCTION_INFO_V1(deling_fnr_kind);

/*
 * fnr_kind(text): 'fnr', 'dnr', 'hnr' or 'fhnr', which decides the FHIR
 * identifier system.
 */
Datum
deling_fnr_kind(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"fnr", "dnr", "hnr", "fhnr"};
	PidInfo		info;

	pid_parse_or_error(PG_GETARG_TEXT_PP(0), &info);
	PG_RETURN_TEXT_P(cstring_to_text(names[info.kind]));
}

PG_FUNCTION_INFO_V1(deling_fnr_synthetic);

/*
 * fnr_synthetic(text): true for a Skatteetaten Tenor test number (month +
 * 80); such persons are test data and never reported to KPR.
 */
Datum
deling_fnr_synthetic(PG_FUNCTION_ARGS)
{
	PidInfo		info;

	pid_parse_or_error(PG_GETARG_TEXT_PP(0), &info);
	PG_RETURN_BOOL(info.tenor);
}

PG_FUNCTION_INFO_V1(deling_fnr_birth_date);

/*
 * fnr_birth_date(text): the birth date encoded in the number, NULL for an
 * FH-nummer (which encodes none).
 */
Datum
deling_fnr_birth_date(PG_FUNCTION_ARGS)
{
	PidInfo		info;

	pid_parse_or_error(PG_GETARG_TEXT_PP(0), &info);
	if (info.kind == PID_FHNR)
		PG_RETURN_NULL();
	PG_RETURN_DATEADT(date2j(info.year, info.month, info.day) - POSTGRES_EPOCH_JDATE);
}

PG_FUNCTION_INFO_V1(deling_synthetic_fnr);

/*
 * synthetic_fnr(birth date, seq int): a deterministic Tenor test number
 * (month + 80) for the birth date, the seq-th valid one counting up through
 * the individnummer range of the birth year's century; valid under the old
 * K1 rule too.  NULL when the range has fewer than seq + 1 numbers.
 */
Datum
deling_synthetic_fnr(PG_FUNCTION_ARGS)
{
	DateADT		birth = PG_GETARG_DATEADT(0);
	int			seq = PG_GETARG_INT32(1);
	int			year,
				month,
				day,
				lo,
				hi;
	int			d[11];

	if (DATE_NOT_FINITE(birth))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("birth date must be finite")));
	j2date(birth + POSTGRES_EPOCH_JDATE, &year, &month, &day);
	if (year >= 1900 && year <= 1999)
		lo = 0, hi = 499;
	else if (year >= 2000 && year <= 2039)
		lo = 500, hi = 999;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("synthetic numbers are made for birth years 1900-2039, not %d", year)));
	if (seq < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("seq must not be negative")));

	d[0] = day / 10;
	d[1] = day % 10;
	d[2] = (month + 80) / 10;
	d[3] = (month + 80) % 10;
	d[4] = (year % 100) / 10;
	d[5] = year % 10;
	for (int individ = lo; individ <= hi; individ++)
	{
		d[6] = individ / 100;
		d[7] = (individ / 10) % 10;
		d[8] = individ % 10;
		d[9] = mod11_check(d, k1_weights, 9);
		if (d[9] == 10)
			continue;
		d[10] = mod11_check(d, k2_weights, 10);
		if (d[10] == 10)
			continue;
		if (seq-- == 0)
		{
			char		buf[12];

			for (int i = 0; i < 11; i++)
				buf[i] = (char) ('0' + d[i]);
			buf[11] = '\0';
			PG_RETURN_TEXT_P(cstring_to_text(buf));
		}
	}
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(deling_orgnr_valid);

/*
 * orgnr_valid(text): true for a 9-digit organisasjonsnummer with a correct
 * mod-11 check digit.
 */
Datum
deling_orgnr_valid(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(t);
	int			d[9];

	if (VARSIZE_ANY_EXHDR(t) != 9)
		PG_RETURN_BOOL(false);
	for (int i = 0; i < 9; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			PG_RETURN_BOOL(false);
		d[i] = s[i] - '0';
	}
	PG_RETURN_BOOL(mod11_check(d, orgnr_weights, 8) == d[8]);
}
