-- ---------------------------------------------------------------------------
-- 02 media types: what the api functions answer, for PostgREST's media type
-- handlers.  PostgREST (12 and 13) serves a function with the media type of
-- the domain it returns when a client asks for that media type, so
-- Accept: application/fhir+json (what FHIR clients send) gets the FHIR
-- reads with Content-Type: application/fhir+json instead of 406.
-- ---------------------------------------------------------------------------

-- A domain over json, never jsonb: PostgREST reads every result column in
-- binary and sends the bytes of the type's send function as the HTTP body.
-- jsonb_send puts a version byte 0x01 before the text, so a jsonb domain
-- would answer every FHIR read with a stray 0x01 before the "{" (PostgREST's
-- own test suite shows that byte); json_send sends the text only.  The
-- functions build their resources as jsonb and return them as
-- jsonb::json::api."application/fhir+json" (the jsonb text form: same JSON).
CREATE DOMAIN api."application/fhir+json" AS json;
COMMENT ON DOMAIN api."application/fhir+json" IS
    'FHIR R4 JSON: PostgREST serves a function returning this domain with Content-Type application/fhir+json to clients that send Accept: application/fhir+json (a domain over json, not jsonb, so the body has no leading 0x01 byte)';
REVOKE USAGE ON DOMAIN api."application/fhir+json" FROM PUBLIC;
