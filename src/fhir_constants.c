/*
 * fhir_constants.c
 *	  The SQL names of the FHIR constants of fhir_constants.h, and
 *	  deling.fhir_constant(name) / deling.fhir_constants() that read them.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "fhir_constants.h"

typedef struct FhirConstant
{
	const char *name;
	const char *value;
} FhirConstant;

/* by name; names are system.*, codesystem.*, profile.*, extension.*, namespace.* */
static const FhirConstant constants[] = {
	{"codesystem.8327", FHIR_CS_IDENTIFIER_TYPE_8327},
	{"codesystem.9151", FHIR_CS_SERVICE_TYPE_9151},
	{"codesystem.acvpu", FHIR_CS_ACVPU},
	{"codesystem.audit_entity_type", FHIR_CS_AUDIT_ENTITY_TYPE},
	{"codesystem.audit_event_type", FHIR_CS_AUDIT_EVENT_TYPE},
	{"codesystem.condition_category", FHIR_CS_CONDITION_CATEGORY},
	{"codesystem.condition_clinical", FHIR_CS_CONDITION_CLINICAL},
	{"codesystem.condition_ver_status", FHIR_CS_CONDITION_VER_STATUS},
	{"codesystem.data_absent_reason", FHIR_CS_DATA_ABSENT_REASON},
	{"codesystem.icd10_no", FHIR_CS_ICD10_NO},
	{"codesystem.icd10_volven", FHIR_CS_ICD10_VOLVEN},
	{"codesystem.icpc2", FHIR_CS_ICPC2},
	{"codesystem.icpc2_volven", FHIR_CS_ICPC2_VOLVEN},
	{"codesystem.loinc", FHIR_CS_LOINC},
	{"codesystem.news2_risk", FHIR_CS_NEWS2_RISK},
	{"codesystem.observation_category", FHIR_CS_OBSERVATION_CATEGORY},
	{"codesystem.okt_stay_type", FHIR_CS_OKT_STAY_TYPE},
	{"codesystem.purpose_of_use", FHIR_CS_PURPOSE_OF_USE},
	{"codesystem.restful_interaction", FHIR_CS_RESTFUL_INTERACTION},
	{"codesystem.security_role_type", FHIR_CS_SECURITY_ROLE_TYPE},
	{"codesystem.snomed", FHIR_CS_SNOMED},
	{"codesystem.ucum", FHIR_CS_UCUM},
	{"codesystem.v3_observation_value", FHIR_CS_V3_OBSERVATION_VALUE},
	{"extension.okt_service_description", FHIR_EXT_OKT_SERVICE_DESCRIPTION},
	{"extension.okt_weekly_extent_ratio", FHIR_EXT_OKT_WEEKLY_EXTENT_RATIO},
	{"namespace.name_uuid", FHIR_NAME_UUID_NAMESPACE},
	{"profile.bodytemp", FHIR_PROFILE_BODYTEMP},
	{"profile.bp", FHIR_PROFILE_BP},
	{"profile.heartrate", FHIR_PROFILE_HEARTRATE},
	{"profile.no_basis_organization", FHIR_PROFILE_NO_BASIS_ORGANIZATION},
	{"profile.no_basis_patient", FHIR_PROFILE_NO_BASIS_PATIENT},
	{"profile.okt_episode_of_care", FHIR_PROFILE_OKT_EPISODE_OF_CARE},
	{"profile.oxygensat", FHIR_PROFILE_OXYGENSAT},
	{"profile.resprate", FHIR_PROFILE_RESPRATE},
	{"system.dnr", FHIR_SYSTEM_DNR},
	{"system.dnr_uri", FHIR_SYSTEM_DNR_URI},
	{"system.fhnr", FHIR_SYSTEM_FHNR},
	{"system.fhnr_uri", FHIR_SYSTEM_FHNR_URI},
	{"system.fnr", FHIR_SYSTEM_FNR},
	{"system.fnr_uri", FHIR_SYSTEM_FNR_URI},
	{"system.hnr", FHIR_SYSTEM_HNR},
	{"system.hnr_no_basis", FHIR_SYSTEM_HNR_NO_BASIS},
	{"system.hpr", FHIR_SYSTEM_HPR},
	{"system.orgnr", FHIR_SYSTEM_ORGNR},
	{"system.source", FHIR_SYSTEM_SOURCE},
};

#define NCONSTANTS ((int) lengthof(constants))

const char *
deling_fhir_constant_value(const char *name)
{
	int			lo = 0,
				hi = NCONSTANTS - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(name, constants[mid].name);

		if (c == 0)
			return constants[mid].value;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

PG_FUNCTION_INFO_V1(deling_fhir_constant);

/* fhir_constant(name): the constant's value; 22023 for an unknown name */
Datum
deling_fhir_constant(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *value = deling_fhir_constant_value(name);

	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown FHIR constant \"%s\"", name),
				 errhint("deling.fhir_constants() lists them.")));
	PG_RETURN_TEXT_P(cstring_to_text(value));
}

PG_FUNCTION_INFO_V1(deling_fhir_constants);

/* fhir_constants(): every constant, by name */
Datum
deling_fhir_constants(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < NCONSTANTS; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(constants[i].name);
		values[1] = CStringGetTextDatum(constants[i].value);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
