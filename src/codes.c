/*
 * codes.c
 *	  The code systems diagnoses come in: structure checks, canonical forms,
 *	  chapters, and a citizen's block on one code or a chapter of codes.
 *
 * ICPC-2 (WONCA; Norway's edition from Helsedirektoratet): a chapter
 * letter (17 chapters: A B D F H K L N P R S T U W X Y Z) and two digits
 * 01-99 (component 1 symptoms 01-29, process components 2-6 30-69,
 * component 7 diagnoses 70-99); process codes are also written without a
 * chapter, "-30" to "-69"; the Norwegian edition subdivides some rubrics
 * with a fourth digit (A191, A981, R991, W781, ...), never a process code.
 *
 * ICD-10 as Norway writes it: a letter and two digits (the category), a
 * dot, and one or two further characters; the Norwegian edition adds
 * lower-case letters: placeholders n, s, t (third character) and x
 * (fourth) in external-cause codes (V0n.0a, T4n, X6n.x) and a final
 * letter (I21.0a, V80.xa).  Input with or without the dot is accepted;
 * the canonical form has the dot (FHIR R4 "ICD codes SHALL be represented
 * with the period included", and Helsedirektoratet's code list), e.g.
 * F32.1.  Every category lies in one of WHO's 22 chapters (A00-B99 ...
 * U00-U85); a code outside them is refused.
 *
 * SNOMED CT concept ids: 6-18 digits, not starting with 0, a Verhoeff
 * check digit last, and partition identifier 00 (international) or 10
 * (extension, with a 7-digit namespace before it) in the second and third
 * digits from the right.
 *
 * The sources for each rule are in notes/diagnoser-notes.md.  Every
 * function here is immutable, allocation-light and runs per row read.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "fhir_constants.h"

typedef enum CodeSystem
{
	CS_NONE = -1,
	CS_ICPC2 = 0,
	CS_ICD10,
	CS_SNOMED
} CodeSystem;

/*
 * the short names deling stores and blocks use, and the FHIR system URIs it
 * sends (fhir_constants.h, which the declared services' templates read too;
 * why these: docs/services/diagnoser.md)
 */
static const char *const cs_key[] = {"icpc-2", "icd-10", "snomed-ct"};
static const char *const cs_uri[] = {
	FHIR_CS_ICPC2,				/* FHIR R4; no-basis NamingSystem: preferred */
	FHIR_CS_ICD10_NO,			/* HL7 Norway kodeverk CodeSystem.url (7110) */
	FHIR_CS_SNOMED				/* FHIR R4 */
};

/* other names a sender may use for the same code systems */
static const struct
{
	const char *name;
	CodeSystem	cs;
}			cs_alias[] =
{
	{FHIR_CS_ICPC2, CS_ICPC2},
	{FHIR_CS_ICPC2_VOLVEN, CS_ICPC2},	/* Volven 7170 */
	{"urn:oid:2.16.840.1.113883.6.139", CS_ICPC2},	/* HL7 OID for ICPC-2 */
	{FHIR_CS_ICD10_NO, CS_ICD10},
	{FHIR_CS_ICD10_VOLVEN, CS_ICD10},	/* Volven 7110 */
	{"http://hl7.org/fhir/sid/icd-10", CS_ICD10},	/* WHO ICD-10 */
	{FHIR_CS_SNOMED, CS_SNOMED},
	{"urn:oid:2.16.840.1.113883.6.96", CS_SNOMED},	/* HL7 OID for SNOMED CT */
};

static const char icpc2_chapters[] = "ABDFHKLNPRSTUWXYZ";

/* WHO ICD-10 chapters I-XXII: first and last three-character category */
static const char *const icd10_chapters[][2] = {
	{"A00", "B99"}, {"C00", "D48"}, {"D50", "D89"}, {"E00", "E90"},
	{"F00", "F99"}, {"G00", "G99"}, {"H00", "H59"}, {"H60", "H95"},
	{"I00", "I99"}, {"J00", "J99"}, {"K00", "K93"}, {"L00", "L99"},
	{"M00", "M99"}, {"N00", "N99"}, {"O00", "O99"}, {"P00", "P96"},
	{"Q00", "Q99"}, {"R00", "R99"}, {"S00", "T98"}, {"V01", "Y98"},
	{"Z00", "Z99"}, {"U00", "U85"}
};

/* Verhoeff: the dihedral group D5 and the position permutation */
static const uint8 verhoeff_d[10][10] = {
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
	{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
	{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
	{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
	{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
	{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
	{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
	{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
	{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}
};
static const uint8 verhoeff_p[8][10] = {
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
	{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
	{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
	{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
	{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
	{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
	{7, 0, 4, 6, 9, 1, 3, 2, 5, 8}
};

/* A code in its canonical form (at most 18 characters: a SNOMED CT id). */
#define CODE_MAX 18
typedef struct Code
{
	CodeSystem	cs;
	int			len;
	char		text[CODE_MAX + 1];
} Code;

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_UPPER(c) ((c) >= 'A' && (c) <= 'Z')
#define IS_LOWER(c) ((c) >= 'a' && (c) <= 'z')
#define UPPER(c) (IS_LOWER(c) ? (char) ((c) - 'a' + 'A') : (c))

/*
 * system_lookup: a code system by its short name (any case) or one of its
 * URIs (exactly); CS_NONE when unknown.
 */
static CodeSystem
system_lookup(const char *s, int len)
{
	for (int i = 0; i < (int) lengthof(cs_key); i++)
		if (len == (int) strlen(cs_key[i]) && pg_strncasecmp(s, cs_key[i], len) == 0)
			return (CodeSystem) i;
	for (int i = 0; i < (int) lengthof(cs_alias); i++)
		if (len == (int) strlen(cs_alias[i].name) && memcmp(s, cs_alias[i].name, len) == 0)
			return cs_alias[i].cs;
	return CS_NONE;
}

/*
 * icpc2_parse: check an ICPC-2 code; on success fill *c with the canonical
 * form (chapter letter in capitals) and return NULL, else return the
 * problem.
 */
static const char *
icpc2_parse(const char *s, int len, Code *c)
{
	int			n;

	if (len == 0)
		return "an ICPC-2 code must not be empty";
	if (len > 4)
		return "too long: an ICPC-2 code is a chapter letter and two digits (a Norwegian subdivision adds one digit)";
	if (s[0] == '-')
	{
		if (len != 3 || !IS_DIGIT(s[1]) || !IS_DIGIT(s[2]))
			return "a process code without a chapter is a dash and two digits, -30 to -69";
		n = (s[1] - '0') * 10 + (s[2] - '0');
		if (n < 30 || n > 69)
			return "a process code without a chapter runs from -30 to -69";
	}
	else
	{
		char		ch = UPPER(s[0]);

		if (!IS_UPPER(ch))
			return "an ICPC-2 code starts with its chapter letter (or a dash for a process code)";
		if (strchr(icpc2_chapters, ch) == NULL)
			return "not an ICPC-2 chapter letter: the 17 chapters are A B D F H K L N P R S T U W X Y Z";
		if (len < 3)
			return "an ICPC-2 code has two digits after the chapter letter";
		for (int i = 1; i < len; i++)
			if (!IS_DIGIT(s[i]))
				return "an ICPC-2 code has only digits after the chapter letter";
		n = (s[1] - '0') * 10 + (s[2] - '0');
		if (n == 0)
			return "ICPC-2 rubrics run from 01 to 99 in each chapter";
		if (len == 4 && n >= 30 && n <= 69)
			return "process codes (30-69) have no subdivisions";
	}
	c->cs = CS_ICPC2;
	c->len = len;
	memcpy(c->text, s, len);
	c->text[0] = UPPER(s[0]);
	c->text[len] = '\0';
	return NULL;
}

/* the ICPC-2 component (1-7) of a canonical code */
static int
icpc2_component(const Code *c)
{
	int			n = (c->text[1] - '0') * 10 + (c->text[2] - '0');

	if (n <= 29)
		return 1;
	if (n <= 49)
		return 2;
	if (n <= 59)
		return 3;
	if (n <= 61)
		return 4;
	if (n == 62)
		return 5;
	if (n <= 69)
		return 6;
	return 7;
}

/*
 * icd10_chapter_of: the index of the chapter holding a three-character
 * category (first three characters of cat); a placeholder third character
 * (n, s, t) stands for the group x0-x9, which belongs to the first chapter
 * it overlaps.  -1 when no chapter holds it.
 */
static int
icd10_chapter_of(const char *cat)
{
	char		lo[3] = {cat[0], cat[1], cat[2]};
	char		hi[3] = {cat[0], cat[1], cat[2]};

	if (!IS_DIGIT(cat[2]))
	{
		lo[2] = '0';
		hi[2] = '9';
	}
	for (int i = 0; i < (int) lengthof(icd10_chapters); i++)
		if (memcmp(hi, icd10_chapters[i][0], 3) >= 0 && memcmp(lo, icd10_chapters[i][1], 3) <= 0)
			return i;
	return -1;
}

/*
 * icd10_parse: check an ICD-10 code written with or without the dot; on
 * success fill *c with the canonical form (capital first letter, a dot
 * after the category when more follows) and return NULL, else return the
 * problem.
 */
static const char *
icd10_parse(const char *s, int len, Code *c)
{
	char		b[5];			/* the code without its dot */
	int			n = 0;
	bool		dot = false;

	if (len == 0)
		return "an ICD-10 code must not be empty";
	if (len > 6)
		return "too long: an ICD-10 code is a category of three characters and at most two more (A00.00)";
	if (!IS_UPPER(UPPER(s[0])))
		return "an ICD-10 code starts with a letter";
	b[n++] = UPPER(s[0]);
	for (int i = 1; i < len; i++)
	{
		if (s[i] == '.')
		{
			if (i != 3 || dot)
				return "the dot in an ICD-10 code follows the three-character category (F32.1)";
			dot = true;
			continue;
		}
		if (n == 5)
			return "too long: an ICD-10 code is a category of three characters and at most two more (A00.00)";
		/* the Norwegian edition's letters are lower case (V0n, I21.0a) */
		b[n++] = IS_UPPER(s[i]) ? (char) (s[i] - 'A' + 'a') : s[i];
	}
	if (n < 3)
		return "an ICD-10 category is a letter and two digits (F32)";
	if (dot && n == 3)
		return "a dot in an ICD-10 code must be followed by the subdivision (F32.1)";
	if (!IS_DIGIT(b[1]) || !(IS_DIGIT(b[2]) || b[2] == 'n' || b[2] == 's' || b[2] == 't'))
		return "an ICD-10 category is a letter and two digits (F32; the Norwegian edition also has V0n, V2s, V2t, T4n)";
	if (n >= 4 && !(IS_DIGIT(b[3]) || b[3] == 'x'))
		return "the subdivision of an ICD-10 code is a digit (or x in a Norwegian external-cause code)";
	if (n == 5 && !(IS_DIGIT(b[4]) || IS_LOWER(b[4])))
		return "the fifth character of an ICD-10 code is a digit or a Norwegian extension letter (I21.0a)";
	if (icd10_chapter_of(b) < 0)
		return "the category is in no ICD-10 chapter (A00-B99 ... U00-U85)";
	c->cs = CS_ICD10;
	memcpy(c->text, b, 3);
	c->len = 3;
	if (n > 3)
	{
		c->text[c->len++] = '.';
		memcpy(c->text + c->len, b + 3, n - 3);
		c->len += n - 3;
	}
	c->text[c->len] = '\0';
	return NULL;
}

/*
 * snomed_parse: check a SNOMED CT concept id; on success fill *c (the id
 * as given) and return NULL, else return the problem.
 */
static const char *
snomed_parse(const char *s, int len, Code *c)
{
	int			check = 0;

	if (len == 0)
		return "a SNOMED CT concept id must not be empty";
	if (len > 18)
		return "a SNOMED CT concept id has 6 to 18 digits";
	for (int i = 0; i < len; i++)
		if (!IS_DIGIT(s[i]))
			return "a SNOMED CT concept id has digits only";
	if (len < 6)
		return "a SNOMED CT concept id has 6 to 18 digits";
	if (s[0] == '0')
		return "a SNOMED CT concept id does not start with 0";
	for (int i = 0; i < len; i++)
		check = verhoeff_d[check][verhoeff_p[i % 8][s[len - 1 - i] - '0']];
	if (check != 0)
		return "the check digit (the last digit) of the SNOMED CT id is wrong (Verhoeff)";
	switch ((s[len - 3] - '0') * 10 + (s[len - 2] - '0'))
	{
		case 0:
			break;
		case 10:
			if (len < 11)
				return "an extension concept id (partition 10) has a 7-digit namespace before its partition, so at least 11 digits";
			break;
		case 1:
		case 11:
			return "a SNOMED CT description id (partition 01 or 11), not a concept id";
		case 2:
		case 12:
			return "a SNOMED CT relationship id (partition 02 or 12), not a concept id";
		case 16:
			return "a SNOMED CT postcoordinated expression id (partition 16), not a concept id";
		default:
			return "the partition identifier (second and third digits from the right) is not one SNOMED CT defines";
	}
	c->cs = CS_SNOMED;
	c->len = len;
	memcpy(c->text, s, len);
	c->text[len] = '\0';
	return NULL;
}

static const char *
code_parse(CodeSystem cs, const char *s, int len, Code *c)
{
	if (cs == CS_NONE)
		return "unknown code system (icpc-2, icd-10 or snomed-ct)";
	/* longer codes are refused as too long by each system's parser */
	for (int i = 0; i < len && i < 32; i++)
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
			return "a code has no spaces (one code per diagnosis)";
	switch (cs)
	{
		case CS_ICPC2:
			return icpc2_parse(s, len, c);
		case CS_ICD10:
			return icd10_parse(s, len, c);
		case CS_SNOMED:
			return snomed_parse(s, len, c);
		default:
			return "unknown code system (icpc-2, icd-10 or snomed-ct)";
	}
}

/*
 * A citizen's block on codes, parsed: one code (and its subdivisions), a
 * chapter letter, or an ICD-10 range of categories.
 */
typedef enum BlockKind
{
	BLOCK_CODE,
	BLOCK_LETTER,
	BLOCK_RANGE
} BlockKind;

typedef struct Block
{
	CodeSystem	cs;
	BlockKind	kind;
	Code		code;			/* BLOCK_CODE */
	char		letter;			/* BLOCK_LETTER */
	char		lo[4];			/* BLOCK_RANGE, categories */
	char		hi[4];
} Block;

/* a range end: a capital letter and two digits (the first letter in any case) */
static bool
range_end(const char *s, char *out)
{
	out[0] = UPPER(s[0]);
	out[1] = s[1];
	out[2] = s[2];
	out[3] = '\0';
	return IS_UPPER(out[0]) && IS_DIGIT(s[1]) && IS_DIGIT(s[2]);
}

/*
 * block_parse: "<system>:<code>", "<system>:<chapter letter>" or
 * "icd-10:<category>-<category>"; NULL and *b filled, or the problem.
 */
static const char *
block_parse(const char *s, int len, Block *b)
{
	const char *colon = NULL;
	const char *v;
	int			vlen;

	/* a URI has colons of its own: the code follows the last one */
	for (int i = len - 1; i >= 0 && colon == NULL; i--)
		if (s[i] == ':')
			colon = s + i;
	if (colon == NULL)
		return "a code block is <system>:<code>, <system>:<chapter> or icd-10:<range> (icd-10:F32.1, icpc-2:P, icd-10:F00-F99)";
	b->cs = system_lookup(s, colon - s);
	if (b->cs == CS_NONE)
		return "unknown code system in the block (icpc-2, icd-10 or snomed-ct)";
	v = colon + 1;
	vlen = len - (v - s);
	if (vlen == 1 && b->cs != CS_SNOMED)
	{
		b->kind = BLOCK_LETTER;
		b->letter = UPPER(v[0]);
		if (b->cs == CS_ICPC2 && (!IS_UPPER(b->letter) || strchr(icpc2_chapters, b->letter) == NULL))
			return "not an ICPC-2 chapter letter: the 17 chapters are A B D F H K L N P R S T U W X Y Z";
		if (b->cs == CS_ICD10 && !IS_UPPER(b->letter))
			return "an ICD-10 chapter block is a letter (F) or a range of categories (F00-F99)";
		return NULL;
	}
	if (b->cs == CS_ICD10 && memchr(v, '-', vlen) != NULL)
	{
		b->kind = BLOCK_RANGE;
		if (vlen != 7 || v[3] != '-' || !range_end(v, b->lo) || !range_end(v + 4, b->hi))
			return "an ICD-10 range is two categories, each a letter and two digits (C00-D48)";
		if (memcmp(b->lo, b->hi, 3) > 0)
			return "an ICD-10 range starts with its lower category (C00-D48)";
		return NULL;
	}
	b->kind = BLOCK_CODE;
	return code_parse(b->cs, v, vlen, &b->code);
}

/* block_text: the canonical form of a parsed block */
static text *
block_text(const Block *b)
{
	char		buf[64];

	switch (b->kind)
	{
		case BLOCK_LETTER:
			snprintf(buf, sizeof(buf), "%s:%c", cs_key[b->cs], b->letter);
			break;
		case BLOCK_RANGE:
			snprintf(buf, sizeof(buf), "%s:%s-%s", cs_key[b->cs], b->lo, b->hi);
			break;
		default:
			snprintf(buf, sizeof(buf), "%s:%s", cs_key[b->cs], b->code.text);
			break;
	}
	return cstring_to_text(buf);
}

/*
 * block_covers: does a parsed block cover a code of system cs as stored
 * (s, len)?  A block on one code covers its subdivisions too (icd-10:F32
 * covers F32.1, icpc-2:A98 covers A981); a row code that cannot be parsed
 * is covered by every block of its system, so a malformed code is
 * withheld rather than shown against the citizen's will.
 */
static bool
block_covers(const Block *b, CodeSystem cs, const char *s, int len)
{
	Code		c;

	if (cs != b->cs)
		return false;
	if (code_parse(cs, s, len, &c) != NULL)
		return true;
	switch (b->kind)
	{
		case BLOCK_LETTER:
			return c.text[0] == b->letter;
		case BLOCK_RANGE:
			{
				char		lo[3] = {c.text[0], c.text[1], c.text[2]};
				char		hi[3] = {c.text[0], c.text[1], c.text[2]};

				if (!IS_DIGIT(c.text[2]))
				{
					lo[2] = '0';
					hi[2] = '9';
				}
				return memcmp(hi, b->lo, 3) >= 0 && memcmp(lo, b->hi, 3) <= 0;
			}
		default:
			if (c.len < b->code.len || memcmp(c.text, b->code.text, b->code.len) != 0)
				return false;
			/* the same code, or one of its subdivisions */
			return c.len == b->code.len || cs != CS_SNOMED;
	}
}

/* block_parse_or_error: a stored block that does not parse fails the read */
static void
block_parse_or_error(text *t, Block *b)
{
	const char *why = block_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), b);

	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed code block: %s", why)));
}

static CodeSystem
system_arg(text *t)
{
	return system_lookup(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

PG_FUNCTION_INFO_V1(deling_code_problem);

/*
 * code_problem(system, code): NULL when the code is well-formed in the
 * system (short name or URI), else what is wrong with it.
 */
Datum
deling_code_problem(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(1);
	Code		c;
	const char *why = code_parse(system_arg(PG_GETARG_TEXT_PP(0)), VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &c);

	if (why == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(why));
}

/* the one-system checks, for a declaration's field check */
static Datum
problem_in(CodeSystem cs, text *t)
{
	Code		c;
	const char *why = code_parse(cs, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &c);

	if (why == NULL)
		return (Datum) 0;
	return PointerGetDatum(cstring_to_text(why));
}

PG_FUNCTION_INFO_V1(deling_icpc2_problem);

/* icpc2_problem(code): NULL for a well-formed ICPC-2 code, else the problem */
Datum
deling_icpc2_problem(PG_FUNCTION_ARGS)
{
	Datum		d = problem_in(CS_ICPC2, PG_GETARG_TEXT_PP(0));

	if (d == (Datum) 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(d);
}

PG_FUNCTION_INFO_V1(deling_icd10_problem);

/* icd10_problem(code): NULL for a well-formed ICD-10 code, else the problem */
Datum
deling_icd10_problem(PG_FUNCTION_ARGS)
{
	Datum		d = problem_in(CS_ICD10, PG_GETARG_TEXT_PP(0));

	if (d == (Datum) 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(d);
}

PG_FUNCTION_INFO_V1(deling_snomed_problem);

/* snomed_problem(code): NULL for a well-formed SNOMED CT concept id, else the problem */
Datum
deling_snomed_problem(PG_FUNCTION_ARGS)
{
	Datum		d = problem_in(CS_SNOMED, PG_GETARG_TEXT_PP(0));

	if (d == (Datum) 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(d);
}

PG_FUNCTION_INFO_V1(deling_code_canonical);

/*
 * code_canonical(system, code): the form deling stores and sends (ICD-10
 * with its dot, capital chapter letters); NULL when malformed.
 */
Datum
deling_code_canonical(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(1);
	Code		c;

	if (code_parse(system_arg(PG_GETARG_TEXT_PP(0)), VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &c) != NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(c.text, c.len));
}

PG_FUNCTION_INFO_V1(deling_icd10_canonical);

/* icd10_canonical(code): F321 and f32.1 -> F32.1; NULL when malformed */
Datum
deling_icd10_canonical(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	Code		c;

	if (icd10_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &c) != NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(c.text, c.len));
}

PG_FUNCTION_INFO_V1(deling_code_chapter);

/*
 * code_chapter(system, code): the ICPC-2 chapter letter, the ICD-10
 * chapter's range (F00-F99); NULL for SNOMED CT (no chapters), an ICPC-2
 * process code without a chapter (-30) and a malformed code.
 */
Datum
deling_code_chapter(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(1);
	Code		c;
	char		buf[8];

	if (code_parse(system_arg(PG_GETARG_TEXT_PP(0)), VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &c) != NULL)
		PG_RETURN_NULL();
	if (c.cs == CS_ICPC2 && c.text[0] != '-')
		PG_RETURN_TEXT_P(cstring_to_text_with_len(c.text, 1));
	if (c.cs == CS_ICD10)
	{
		int			i = icd10_chapter_of(c.text);

		snprintf(buf, sizeof(buf), "%s-%s", icd10_chapters[i][0], icd10_chapters[i][1]);
		PG_RETURN_TEXT_P(cstring_to_text(buf));
	}
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(deling_icpc2_component);

/*
 * icpc2_component(code): 1 symptoms, 2-6 process (diagnostic/preventive,
 * treatment, results, administrative, referrals/other), 7 diagnoses; NULL
 * when malformed.
 */
Datum
deling_icpc2_component(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	Code		c;

	if (icpc2_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &c) != NULL)
		PG_RETURN_NULL();
	PG_RETURN_INT32(icpc2_component(&c));
}

PG_FUNCTION_INFO_V1(deling_code_system_key);

/*
 * code_system_key(name or URI): icpc-2, icd-10 or snomed-ct for any name
 * deling accepts for the system (its FHIR URIs, the Volven OIDs); NULL
 * when unknown.
 */
Datum
deling_code_system_key(PG_FUNCTION_ARGS)
{
	CodeSystem	cs = system_arg(PG_GETARG_TEXT_PP(0));

	if (cs == CS_NONE)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(cs_key[cs]));
}

PG_FUNCTION_INFO_V1(deling_code_system_uri);

/* code_system_uri(name or URI): the FHIR system URI deling sends; 22023 when unknown */
Datum
deling_code_system_uri(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	CodeSystem	cs = system_arg(t);

	if (cs == CS_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown code system \"%s\"", text_to_cstring(t)),
				 errhint("The code systems are icpc-2, icd-10 and snomed-ct.")));
	PG_RETURN_TEXT_P(cstring_to_text(cs_uri[cs]));
}

PG_FUNCTION_INFO_V1(deling_code_block_problem);

/* code_block_problem(block): NULL for a well-formed block, else the problem */
Datum
deling_code_block_problem(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	Block		b;
	const char *why;

	if (VARSIZE_ANY_EXHDR(t) > 100)
		why = "a code block has at most 100 characters";
	else
		why = block_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &b);
	if (why == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(why));
}

PG_FUNCTION_INFO_V1(deling_code_block_canonical);

/*
 * code_block_canonical(block): the form a block is stored in (short system
 * name, canonical code or chapter): ICD-10:f321 -> icd-10:F32.1; NULL
 * when malformed.
 */
Datum
deling_code_block_canonical(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	Block		b;

	if (block_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &b) != NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(block_text(&b));
}

PG_FUNCTION_INFO_V1(deling_code_block_matches);

/*
 * code_block_matches(block, system, code): true when the block covers the
 * code (the code itself or a subdivision, its chapter letter, its ICD-10
 * range); a malformed block raises 22023 rather than let a read pass it.
 */
Datum
deling_code_block_matches(PG_FUNCTION_ARGS)
{
	text	   *code = PG_GETARG_TEXT_PP(2);
	Block		b;

	block_parse_or_error(PG_GETARG_TEXT_PP(0), &b);
	PG_RETURN_BOOL(block_covers(&b, system_arg(PG_GETARG_TEXT_PP(1)),
								VARDATA_ANY(code), VARSIZE_ANY_EXHDR(code)));
}

PG_FUNCTION_INFO_V1(deling_code_blocks_match);

/*
 * code_blocks_match(blocks[], system, code): true when any of the blocks
 * covers the code (NULL elements are skipped); one call per row read.
 */
Datum
deling_code_blocks_match(PG_FUNCTION_ARGS)
{
	ArrayType  *blocks = PG_GETARG_ARRAYTYPE_P(0);
	CodeSystem	cs = system_arg(PG_GETARG_TEXT_PP(1));
	text	   *code = PG_GETARG_TEXT_PP(2);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	bool		covered = false;

	if (ARR_NDIM(blocks) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("code blocks must be a one-dimensional array")));
	deconstruct_array(blocks, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n && !covered; i++)
	{
		Block		b;

		if (nulls[i])
			continue;
		block_parse_or_error(DatumGetTextPP(elems[i]), &b);
		covered = block_covers(&b, cs, VARDATA_ANY(code), VARSIZE_ANY_EXHDR(code));
	}
	pfree(elems);
	pfree(nulls);
	PG_RETURN_BOOL(covered);
}
