/*
 * news2.c
 *	  National Early Warning Score 2 (RCP 2017), scored natively: the seven
 *	  sub-scores, the total, the clinical risk, and input validation.
 *
 * The chart (shared/domain/news2.md) is implemented as integer comparisons,
 * run once per backend to fill a table per vital sign that rows are scored
 * by; temperature is compared as numeric against constants parsed once per
 * backend (two or three comparisons, no numeric arithmetic), so a value
 * with more decimals falls in the band whose upper bound it does not
 * exceed: 35.05 scores 1.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "deling.h"

/* Sub-scores in chart order. */
enum
{
	SUB_RESP,
	SUB_SPO2,
	SUB_AIR_OXYGEN,
	SUB_SYSTOLIC,
	SUB_PULSE,
	SUB_CONSCIOUSNESS,
	SUB_TEMPERATURE,
	N_SUB
};

static const char *const risk_names[] = {"low", "low-medium", "medium", "high"};

/* Plausible ranges of the integer vital signs (all start at 0). */
#define RESP_MAX 80
#define SPO2_MAX 100
#define SYSTOLIC_MAX 350
#define PULSE_MAX 300

/*
 * Chart 1 sub-scores of every plausible integer value, filled once from the
 * band functions below: a row is scored by table lookups, which cost the
 * same whatever the values, where the chain of comparisons mispredicts on
 * varied data.  SpO2 has three tables: scale 1, scale 2 on air or at most
 * 92 %, scale 2 on oxygen above 92 %.
 */
static uint8 resp_table[RESP_MAX + 1];
static uint8 spo2_table[3][SPO2_MAX + 1];
static uint8 systolic_table[SYSTOLIC_MAX + 1];
static uint8 pulse_table[PULSE_MAX + 1];

/* ACVPU level of a one-letter consciousness value (either case), else 0. */
static char acvpu_letter[256];

typedef struct News2Input
{
	int32		resp_rate;
	int32		spo2;
	int32		spo2_scale;
	bool		on_oxygen;
	int32		systolic_bp;
	int32		pulse;
	char		acvpu;			/* 'A', 'C', 'V', 'P', 'U', or 0 if unknown */
	text	   *consciousness;	/* as given, for the message; NULL if stored */
	Datum		temperature;	/* numeric, possibly still packed */
	int			temperature_score;	/* -1 when outside 25.0-45.0 or NaN */
} News2Input;

typedef struct News2Result
{
	int			sub[N_SUB];
	int			total;
	int			risk;			/* index into risk_names */
} News2Result;

/* Temperature band edges and plausibility limits, parsed once. */
static Numeric t_min,
			t_35,
			t_36,
			t_38,
			t_39,
			t_max;

/*
 * numeric_const: parse a numeric constant into TopMemoryContext.
 */
static Numeric
numeric_const(const char *s)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	Numeric		n = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
														ObjectIdGetDatum(InvalidOid),
														Int32GetDatum(-1)));

	MemoryContextSwitchTo(old);
	return n;
}

/* The Chart 1 bands of the integer vital signs, the chart's one definition. */
static int
resp_band(int rr)
{
	return rr <= 8 ? 3 : rr <= 11 ? 1 : rr <= 20 ? 0 : rr <= 24 ? 2 : 3;
}

static int
spo2_band(int scale_table, int s)
{
	if (scale_table == 0)
		return s <= 91 ? 3 : s <= 93 ? 2 : s <= 95 ? 1 : 0;
	if (scale_table == 1)
		return s <= 83 ? 3 : s <= 85 ? 2 : s <= 87 ? 1 : 0;
	return s <= 94 ? 1 : s <= 96 ? 2 : 3;
}

static int
systolic_band(int bp)
{
	return bp <= 90 ? 3 : bp <= 100 ? 2 : bp <= 110 ? 1 : bp <= 219 ? 0 : 3;
}

static int
pulse_band(int hr)
{
	return hr <= 40 ? 3 : hr <= 50 ? 1 : hr <= 90 ? 0 : hr <= 110 ? 1 : hr <= 130 ? 2 : 3;
}

/*
 * news2_init: the temperature band edges and the lookup tables, once per
 * backend.
 */
static void
news2_init(void)
{
	for (int v = 0; v <= RESP_MAX; v++)
		resp_table[v] = resp_band(v);
	for (int t = 0; t < 3; t++)
		for (int v = 0; v <= SPO2_MAX; v++)
			spo2_table[t][v] = spo2_band(t, v);
	for (int v = 0; v <= SYSTOLIC_MAX; v++)
		systolic_table[v] = systolic_band(v);
	for (int v = 0; v <= PULSE_MAX; v++)
		pulse_table[v] = pulse_band(v);
	for (const char *c = "ACVPU"; *c; c++)
		acvpu_letter[(unsigned char) *c] = acvpu_letter[(unsigned char) pg_tolower(*c)] = *c;

	t_min = numeric_const("25.0");
	t_35 = numeric_const("35.0");
	t_36 = numeric_const("36.0");
	t_38 = numeric_const("38.0");
	t_39 = numeric_const("39.0");
	t_max = numeric_const("45.0");
}

/*
 * num_le: a <= b for two (already detoasted) numerics.
 */
static inline bool
num_le(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a),
											 NumericGetDatum(b))) <= 0;
}

/*
 * temperature_score: the Chart 1 score of a temperature, or -1 when it is
 * outside 25.0-45.0 (NaN sorts above every number, so it lands there too).
 * A decision tree: two or three comparisons, range check included.
 */
static int
temperature_score(Numeric t)
{
	if (num_le(t, t_38))
	{
		if (!num_le(t, t_36))
			return 0;
		if (!num_le(t, t_35))
			return 1;
		return num_le(t_min, t) ? 3 : -1;
	}
	if (num_le(t, t_39))
		return 1;
	return num_le(t, t_max) ? 2 : -1;
}

/*
 * Temperature scores remembered by the stored bytes of the numeric.  A
 * stored temperature is a short packed numeric (37.4 is six bytes); over a
 * table there are a few hundred distinct values, so scoring a row looks its
 * bytes up here instead of unpacking the numeric into a palloc'd copy and
 * comparing it with the band edges through fmgr (docs/benchmarks.md).
 */
#define TEMP_MEMO_SIZE 512
static struct
{
	uint64		bytes;
	uint8		len;			/* data length + 1; 0: empty */
	int8		score;
}			temp_memo[TEMP_MEMO_SIZE];

/*
 * temperature_score_datum: temperature_score of a numeric datum, through
 * the memo when it is a short packed value of at most eight data bytes.
 */
static int
temperature_score_datum(Datum d)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);
	uint64		key = 0;
	int			len;
	int			slot;
	int			score;

	if (!VARATT_IS_SHORT(v) || VARSIZE_SHORT(v) - VARHDRSZ_SHORT > (int) sizeof(key))
		return temperature_score(DatumGetNumeric(d));
	len = VARSIZE_SHORT(v) - VARHDRSZ_SHORT;

	/*
	 * The key in a register: for 4-8 bytes (every temperature in range) the
	 * first four and the last four, which with len determine them all; a
	 * memcpy of len bytes read back as one word would stall the load on
	 * the partial stores, and a loop over len bytes mispredicts its end.
	 */
	if (len >= 4)
	{
		uint32		first,
					last;

		memcpy(&first, VARDATA_SHORT(v), sizeof(first));
		memcpy(&last, VARDATA_SHORT(v) + len - sizeof(last), sizeof(last));
		key = ((uint64) last << 32) | first;
	}
	else
		for (int i = 0; i < len; i++)
			key = (key << 8) | (uint8) VARDATA_SHORT(v)[i];
	slot = (int) (((key ^ (uint64) len) * UINT64CONST(0x9E3779B97F4A7C15)) >> 55) % TEMP_MEMO_SIZE;
	if (temp_memo[slot].len == len + 1 && temp_memo[slot].bytes == key)
		return temp_memo[slot].score;
	score = temperature_score(DatumGetNumeric(d));
	temp_memo[slot].bytes = key;
	temp_memo[slot].len = len + 1;
	temp_memo[slot].score = score;
	return score;
}

/*
 * parse_acvpu: ACVPU letter for a consciousness level given as a letter or
 * a word (case-insensitive, surrounding blanks ignored); 0 when unknown.
 */
static char
parse_acvpu(text *t)
{
	static const struct
	{
		const char *word;
		char		level;
	}			words[] = {
		{"a", 'A'}, {"alert", 'A'},
		{"c", 'C'}, {"confusion", 'C'}, {"new confusion", 'C'}, {"new-confusion", 'C'},
		{"v", 'V'}, {"voice", 'V'},
		{"p", 'P'}, {"pain", 'P'},
		{"u", 'U'}, {"unresponsive", 'U'},
	};
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);

	/* the usual case: one letter */
	if (len == 1)
		return acvpu_letter[(unsigned char) *s];
	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	for (int i = 0; i < (int) lengthof(words); i++)
		if ((int) strlen(words[i].word) == len && pg_strncasecmp(s, words[i].word, len) == 0)
			return words[i].level;
	return 0;
}

/*
 * news2_read_args: the eight SQL arguments as a News2Input.  The caller is
 * STRICT, so none is NULL.  The temperature stays packed (see the memo).
 */
static void
news2_read_args(FunctionCallInfo fcinfo, News2Input *in)
{
	if (t_min == NULL)
		news2_init();
	in->resp_rate = PG_GETARG_INT32(0);
	in->spo2 = PG_GETARG_INT32(1);
	in->spo2_scale = PG_GETARG_INT32(2);
	in->on_oxygen = PG_GETARG_BOOL(3);
	in->systolic_bp = PG_GETARG_INT32(4);
	in->pulse = PG_GETARG_INT32(5);
	in->consciousness = PG_GETARG_TEXT_PP(6);
	in->acvpu = parse_acvpu(in->consciousness);
	in->temperature = PG_GETARG_DATUM(7);
	in->temperature_score = temperature_score_datum(in->temperature);
}

/*
 * news2_problem_of: NULL when the input can be scored, else a message naming
 * the parameter and value; *sqlstate is 22003 for a number out of its
 * plausible range and 22023 for a value that is not allowed at all.
 */
static char *
news2_problem_of(const News2Input *in, int *sqlstate)
{
	*sqlstate = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
	if (in->resp_rate < 0 || in->resp_rate > RESP_MAX)
		return psprintf("NEWS2 resp_rate %d is outside 0-%d /min", in->resp_rate, RESP_MAX);
	if (in->spo2 < 0 || in->spo2 > SPO2_MAX)
		return psprintf("NEWS2 spo2 %d is outside 0-%d %%", in->spo2, SPO2_MAX);
	if (in->systolic_bp < 0 || in->systolic_bp > SYSTOLIC_MAX)
		return psprintf("NEWS2 systolic_bp %d is outside 0-%d mmHg", in->systolic_bp, SYSTOLIC_MAX);
	if (in->pulse < 0 || in->pulse > PULSE_MAX)
		return psprintf("NEWS2 pulse %d is outside 0-%d /min", in->pulse, PULSE_MAX);
	if (in->temperature_score < 0)
		return psprintf("NEWS2 temperature %s is outside 25.0-45.0 °C",
						DatumGetCString(DirectFunctionCall1(numeric_out,
															in->temperature)));
	*sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
	if (in->spo2_scale != 1 && in->spo2_scale != 2)
		return psprintf("NEWS2 spo2_scale %d is not 1 or 2", in->spo2_scale);
	if (in->acvpu == 0)
		return psprintf("NEWS2 consciousness \"%s\" is not one of A, C, V, P, U "
						"(alert, new confusion, voice, pain, unresponsive)",
						in->consciousness ? text_to_cstring(in->consciousness) : "");
	return NULL;
}

/*
 * news2_compute: score input that news2_problem_of passed (every integer
 * within its table) per Chart 1, and classify per Chart 2.
 */
static void
news2_compute(const News2Input *in, News2Result *r)
{
	int			spo2 = in->spo2_scale == 1 ? 0 : (in->spo2 > 92 && in->on_oxygen) ? 2 : 1;
	bool		any3 = false;

	r->sub[SUB_RESP] = resp_table[in->resp_rate];
	r->sub[SUB_SPO2] = spo2_table[spo2][in->spo2];
	r->sub[SUB_AIR_OXYGEN] = in->on_oxygen ? 2 : 0;
	r->sub[SUB_SYSTOLIC] = systolic_table[in->systolic_bp];
	r->sub[SUB_PULSE] = pulse_table[in->pulse];
	r->sub[SUB_CONSCIOUSNESS] = in->acvpu == 'A' ? 0 : 3;
	r->sub[SUB_TEMPERATURE] = in->temperature_score;

	r->total = 0;
	for (int i = 0; i < N_SUB; i++)
	{
		r->total += r->sub[i];
		any3 |= (r->sub[i] == 3);
	}
	r->risk = r->total >= 7 ? 3 : r->total >= 5 ? 2 : any3 ? 1 : 0;
}

/*
 * deling_news2_chart: the Chart 1 sub-scores, total and Chart 2 risk of a
 * stored measurement (valid by its table's constraints, and checked like
 * the input before the table lookups), for the FHIR renderer; the
 * temperature must be detoasted.
 */
void
deling_news2_chart(const News2Values *v, int sub[7], int *total, const char **risk)
{
	News2Input	in;
	News2Result r;
	int			sqlstate;

	if (t_min == NULL)
		news2_init();
	in.resp_rate = v->resp_rate;
	in.spo2 = v->spo2;
	in.spo2_scale = v->spo2_scale;
	in.on_oxygen = v->on_oxygen;
	in.systolic_bp = v->systolic_bp;
	in.pulse = v->pulse;
	in.acvpu = v->acvpu;
	in.consciousness = NULL;
	in.temperature = NumericGetDatum(v->temperature);
	in.temperature_score = temperature_score(v->temperature);
	if (news2_problem_of(&in, &sqlstate) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored NEWS2 measurement cannot be scored")));
	news2_compute(&in, &r);
	memcpy(sub, r.sub, sizeof(r.sub));
	*total = r.total;
	*risk = risk_names[r.risk];
}

/*
 * news2_evaluate: read, validate (raising the named problem) and score.
 */
static void
news2_evaluate(FunctionCallInfo fcinfo, News2Result *r)
{
	News2Input	in;
	int			sqlstate;
	char	   *problem;

	news2_read_args(fcinfo, &in);
	problem = news2_problem_of(&in, &sqlstate);
	if (problem != NULL)
		ereport(ERROR, (errcode(sqlstate), errmsg_internal("%s", problem)));
	news2_compute(&in, r);
}

PG_FUNCTION_INFO_V1(deling_news2_score);

/*
 * news2_score(...): the NEWS2 total, 0-20.
 */
Datum
deling_news2_score(PG_FUNCTION_ARGS)
{
	News2Result r;

	news2_evaluate(fcinfo, &r);
	PG_RETURN_INT32(r.total);
}

PG_FUNCTION_INFO_V1(deling_news2_risk);

/*
 * news2_risk(...): 'low', 'low-medium', 'medium' or 'high' (Chart 2).
 */
Datum
deling_news2_risk(PG_FUNCTION_ARGS)
{
	News2Result r;

	news2_evaluate(fcinfo, &r);
	PG_RETURN_TEXT_P(cstring_to_text(risk_names[r.risk]));
}

PG_FUNCTION_INFO_V1(deling_news2_subscores);

/*
 * news2_subscores(...): the seven sub-scores, the total and the risk as a
 * deling.news2_subscores row, for FHIR components and the chart view.
 */
Datum
deling_news2_subscores(PG_FUNCTION_ARGS)
{
	News2Result r;
	TupleDesc	tupdesc;
	Datum		values[N_SUB + 2];
	bool		nulls[N_SUB + 2] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("news2_subscores must be called in a context that accepts a record")));
	news2_evaluate(fcinfo, &r);
	for (int i = 0; i < N_SUB; i++)
		values[i] = Int32GetDatum(r.sub[i]);
	values[N_SUB] = Int32GetDatum(r.total);
	values[N_SUB + 1] = CStringGetTextDatum(risk_names[r.risk]);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

PG_FUNCTION_INFO_V1(deling_news2_problem);

/*
 * news2_problem(...): NULL when the input can be scored, otherwise the
 * message news2_score would raise; lets batch ingest report every bad item
 * without a subtransaction per item.
 */
Datum
deling_news2_problem(PG_FUNCTION_ARGS)
{
	News2Input	in;
	int			sqlstate;
	char	   *problem;

	news2_read_args(fcinfo, &in);
	problem = news2_problem_of(&in, &sqlstate);
	if (problem == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(problem));
}

PG_FUNCTION_INFO_V1(deling_news2_acvpu);

/*
 * news2_acvpu(text): the ACVPU letter for a consciousness level given as a
 * letter or word, NULL when it is none of them.
 */
Datum
deling_news2_acvpu(PG_FUNCTION_ARGS)
{
	char		level;
	char		buf[2];

	if (t_min == NULL)			/* the letters' table, as news2_read_args */
		news2_init();
	level = parse_acvpu(PG_GETARG_TEXT_PP(0));
	buf[0] = level;
	buf[1] = '\0';
	if (level == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}
