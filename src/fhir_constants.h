/*
 * fhir_constants.h
 *	  Every FHIR constant deling writes or reads, defined once: identifier
 *	  and naming systems, code systems, profile and extension URLs, and the
 *	  namespace of name-based ids.  C uses these macros; SQL reads the same
 *	  values by name with deling.fhir_constant(name) (fhir_constants.c holds
 *	  the name of each), so no SQL function spells a constant the C code
 *	  also spells.  Sources: docs/news2.md and docs/municipal-services.md
 *	  (profiles followed), /work/notes/fhir-profiles.md.
 */
#ifndef FHIR_CONSTANTS_H
#define FHIR_CONSTANTS_H

/* person and organisation identifiers: HL7 Norway no-basis (urn:oid: preferred) */
#define FHIR_SYSTEM_FNR			"urn:oid:2.16.578.1.12.4.1.4.1"
#define FHIR_SYSTEM_DNR			"urn:oid:2.16.578.1.12.4.1.4.2"
#define FHIR_SYSTEM_FHNR		"urn:oid:2.16.578.1.12.4.1.4.3"
#define FHIR_SYSTEM_HPR			"urn:oid:2.16.578.1.12.4.1.4.4"
#define FHIR_SYSTEM_ORGNR		"urn:oid:2.16.578.1.12.4.1.4.101"
/* no-basis's non-preferred URIs and its literal for H-numbers (read on ingest) */
#define FHIR_SYSTEM_FNR_URI		"http://hl7.no/fhir/NamingSystem/FNR"
#define FHIR_SYSTEM_DNR_URI		"http://hl7.no/fhir/NamingSystem/DNR"
#define FHIR_SYSTEM_FHNR_URI	"http://hl7.no/fhir/NamingSystem/FHNR"
#define FHIR_SYSTEM_HNR_NO_BASIS "HNR"

/*
 * The platform's own NamingSystems: H-numbers (no national system), and the
 * ids of a source system that is not an absolute URI (its name appended).
 */
#define FHIR_SYSTEM_HNR			"https://deling.nhn.no/fhir/NamingSystem/h-nummer"
#define FHIR_SYSTEM_SOURCE		"https://deling.nhn.no/fhir/NamingSystem/source/"

/* code systems */
#define FHIR_CS_IDENTIFIER_TYPE_8327 "urn:oid:2.16.578.1.12.4.1.1.8327"
#define FHIR_CS_SERVICE_TYPE_9151 "urn:oid:2.16.578.1.12.4.1.1.9151"
#define FHIR_CS_OKT_STAY_TYPE	"http://hl7.no/fhir/ig/okt/CodeSystem/OktStayTypeCs"
#define FHIR_CS_SNOMED			"http://snomed.info/sct"
#define FHIR_CS_LOINC			"http://loinc.org"
#define FHIR_CS_UCUM			"http://unitsofmeasure.org"
#define FHIR_CS_ICPC2			"http://hl7.org/fhir/sid/icpc-2"
#define FHIR_CS_ICPC2_VOLVEN	"urn:oid:2.16.578.1.12.4.1.1.7170"
#define FHIR_CS_ICD10_VOLVEN	"urn:oid:2.16.578.1.12.4.1.1.7110"
#define FHIR_CS_ICD10_NO		"http://hl7.org/fhir/sid/icd-10-no"
#define FHIR_CS_OBSERVATION_CATEGORY "http://terminology.hl7.org/CodeSystem/observation-category"
#define FHIR_CS_DATA_ABSENT_REASON "http://terminology.hl7.org/CodeSystem/data-absent-reason"
#define FHIR_CS_V3_OBSERVATION_VALUE "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
#define FHIR_CS_CONDITION_CLINICAL "http://terminology.hl7.org/CodeSystem/condition-clinical"
#define FHIR_CS_CONDITION_VER_STATUS "http://terminology.hl7.org/CodeSystem/condition-ver-status"
#define FHIR_CS_CONDITION_CATEGORY "http://terminology.hl7.org/CodeSystem/condition-category"
#define FHIR_CS_PURPOSE_OF_USE	"urn:oid:2.16.840.1.113883.1.11.20448"
#define FHIR_CS_AUDIT_EVENT_TYPE "http://terminology.hl7.org/CodeSystem/audit-event-type"
#define FHIR_CS_RESTFUL_INTERACTION "http://hl7.org/fhir/restful-interaction"
#define FHIR_CS_SECURITY_ROLE_TYPE "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
#define FHIR_CS_AUDIT_ENTITY_TYPE "http://terminology.hl7.org/CodeSystem/audit-entity-type"
/* the platform's own code systems */
#define FHIR_CS_NEWS2_RISK		"https://deling.nhn.no/fhir/CodeSystem/news2-risk"
#define FHIR_CS_ACVPU			"https://deling.nhn.no/fhir/CodeSystem/acvpu"

/* profiles */
#define FHIR_PROFILE_NO_BASIS_PATIENT "http://hl7.no/fhir/StructureDefinition/no-basis-Patient"
#define FHIR_PROFILE_NO_BASIS_ORGANIZATION "http://hl7.no/fhir/StructureDefinition/no-basis-Organization"
#define FHIR_PROFILE_OKT_EPISODE_OF_CARE "http://hl7.no/fhir/ig/okt/StructureDefinition/OktEpisodeOfCare"
#define FHIR_PROFILE_VITAL_SIGNS_BASE "http://hl7.org/fhir/StructureDefinition/"
#define FHIR_PROFILE_BP			FHIR_PROFILE_VITAL_SIGNS_BASE "bp"
#define FHIR_PROFILE_HEARTRATE	FHIR_PROFILE_VITAL_SIGNS_BASE "heartrate"
#define FHIR_PROFILE_RESPRATE	FHIR_PROFILE_VITAL_SIGNS_BASE "resprate"
#define FHIR_PROFILE_OXYGENSAT	FHIR_PROFILE_VITAL_SIGNS_BASE "oxygensat"
#define FHIR_PROFILE_BODYTEMP	FHIR_PROFILE_VITAL_SIGNS_BASE "bodytemp"

/* extensions (HL7 Norway OKT 0.2.0) */
#define FHIR_EXT_OKT_WEEKLY_EXTENT_RATIO "http://hl7.no/fhir/ig/okt/StructureDefinition/WeeklyExtentRatio"
#define FHIR_EXT_OKT_SERVICE_DESCRIPTION "http://hl7.no/fhir/ig/okt/StructureDefinition/ServiceDescriptionMarkdown"

/*
 * The namespace of the RFC 4122 name-based (version 3) ids of resources
 * derived from stored rows (vital signs, units); never for persons.
 */
#define FHIR_NAME_UUID_NAMESPACE "0341a34c-8e55-435b-8c4b-1ad6c95f9cdb"

/* fhir_constants.c: the value of a constant by its SQL name, NULL if none */
extern const char *deling_fhir_constant_value(const char *name);

#endif							/* FHIR_CONSTANTS_H */
