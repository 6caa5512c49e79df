/*
 * jwt.c
 *	  JSON Web Token handling with OpenSSL: base64url decoding, RS256
 *	  signature verification, and JWK (RSA) to PEM conversion.
 *
 * Only RS256 is accepted, whatever the token's header says: "none", HS256
 * (the public-key-as-HMAC-secret trick) and every other algorithm are
 * refused before any key is touched.  Claim checks (iss, aud, exp, HelseID
 * claims) are policy and live in SQL (src/sql/30_context.sql); this file
 * answers one question: did the holder of this key sign these bytes?
 */
#include "postgres.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "common/jsonapi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "deling.h"

/* Longest token accepted; HelseID tokens are a few kilobytes. */
#define JWT_MAX_LENGTH 16384

/* Smallest RSA modulus accepted for a trusted key, in bits. */
#define RSA_MIN_BITS 2048

/*
 * base64url_value: the 6-bit value of one base64url character, or -1.
 */
static int
base64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * base64url_decode: decode unpadded base64url (RFC 7515 section 2).
 * Returns a palloc'd buffer, or NULL when the input is not base64url.
 */
static unsigned char *
base64url_decode(const char *in, int len, int *outlen)
{
	unsigned char *out;
	uint32		acc = 0;
	int			bits = 0;
	int			n = 0;

	if (len % 4 == 1)
		return NULL;
	out = palloc(len * 3 / 4 + 1);
	for (int i = 0; i < len; i++)
	{
		int			v = base64url_value(in[i]);

		if (v < 0)
		{
			pfree(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			out[n++] = (unsigned char) ((acc >> bits) & 0xFF);
		}
	}
	/* leftover bits must be zero, or the encoding is not canonical */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
	{
		pfree(out);
		return NULL;
	}
	*outlen = n;
	return out;
}

/*
 * invalid_token: raise SQLSTATE 28000 with a message naming the problem.
 */
static void
invalid_token(const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("invalid token: %s", problem)));
}

/*
 * json_object_from_b64: decode a base64url segment holding a JSON object
 * into jsonb; a segment that is not one is an invalid token.
 */
static Jsonb *
json_object_from_b64(const char *seg, int len, const char *what)
{
	int			jlen;
	unsigned char *json = base64url_decode(seg, len, &jlen);
	JsonLexContext *lex;
	Jsonb	   *jb;
	char	   *cstr;

	if (json == NULL)
		invalid_token(psprintf("%s is not base64url", what));
	cstr = pnstrdup((char *) json, jlen);
	if (strlen(cstr) != (size_t) jlen ||
		pg_verify_mbstr_len(PG_UTF8, cstr, jlen, true) < 0)
		invalid_token(psprintf("%s is not UTF-8 text", what));
	lex = makeJsonLexContextCstringLen(cstr, jlen, PG_UTF8, true);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		invalid_token(psprintf("%s is not JSON", what));
	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(cstr)));
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		invalid_token(psprintf("%s is not a JSON object", what));
	return jb;
}

/*
 * split_token: find the two dots of a compact JWS: exactly three segments,
 * header and payload not empty (an empty signature is refused after the
 * algorithm check, so that "alg": "none" gets its own message).
 */
static void
split_token(const char *tok, int len, int *dot1, int *dot2)
{
	int			dots = 0;

	if (len > JWT_MAX_LENGTH)
		invalid_token("longer than 16384 characters");
	*dot1 = *dot2 = -1;
	for (int i = 0; i < len; i++)
		if (tok[i] == '.')
		{
			if (dots == 0)
				*dot1 = i;
			else if (dots == 1)
				*dot2 = i;
			dots++;
		}
	if (dots != 2)
		invalid_token("not three dot-separated parts (header.payload.signature)");
	if (*dot1 == 0 || *dot2 == *dot1 + 1)
		invalid_token("empty header or payload");
}

/*
 * object_string: the string value of a member of a JSON object, or NULL when
 * it is absent; a member of another type raises sqlstate, naming the member
 * as "<what> member \"key\"".  Used for JOSE headers and JWKs alike.
 */
static char *
object_string(Jsonb *obj, const char *key, int sqlstate, const char *what)
{
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(&obj->root, key, strlen(key), &v) == NULL)
		return NULL;
	if (v.type != jbvString)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("%s member \"%s\" is not a string", what, key)));
	return pnstrdup(v.val.string.val, v.val.string.len);
}

PG_FUNCTION_INFO_V1(deling_jwt_header);

/*
 * jwt_header(token): the decoded, unverified JOSE header, so that SQL can
 * look up the trusted key named by "kid" before verification.
 */
Datum
deling_jwt_header(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *tok = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	int			dot1,
				dot2;

	split_token(tok, len, &dot1, &dot2);
	PG_RETURN_JSONB_P(json_object_from_b64(tok, dot1, "header"));
}

/*
 * load_rsa_public_key: parse a PEM public key; NULL with *why set when it is
 * not an RSA key of at least RSA_MIN_BITS.
 */
static EVP_PKEY *
load_rsa_public_key(const char *pem, const char **why)
{
	BIO		   *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY   *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	if (pkey == NULL)
		*why = "not a PEM public key";
	else if (EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA)
		*why = "not an RSA key";
	else if (EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS)
		*why = "RSA key shorter than 2048 bits";
	else
		return pkey;
	EVP_PKEY_free(pkey);
	return NULL;
}

/*
 * Parsed trusted keys, per backend, by their PEM text.  OpenSSL 3 takes
 * most of a millisecond to decode a PEM key and every request verifies its
 * token again; a handful of keys (HelseID rotates one or two) cover all.
 */
#define KEY_CACHE_SIZE 8
static struct
{
	char	   *pem;			/* in TopMemoryContext */
	EVP_PKEY   *pkey;
}			key_cache[KEY_CACHE_SIZE];
static int	key_cache_next;

/*
 * cached_rsa_public_key: load_rsa_public_key, remembered by PEM text.  The
 * returned key belongs to the cache; the caller must not free it.
 */
static EVP_PKEY *
cached_rsa_public_key(const char *pem, const char **why)
{
	EVP_PKEY   *pkey;
	int			slot;

	for (int i = 0; i < KEY_CACHE_SIZE; i++)
		if (key_cache[i].pem != NULL && strcmp(key_cache[i].pem, pem) == 0)
			return key_cache[i].pkey;
	pkey = load_rsa_public_key(pem, why);
	if (pkey == NULL)
		return NULL;
	slot = key_cache_next;
	key_cache_next = (key_cache_next + 1) % KEY_CACHE_SIZE;
	if (key_cache[slot].pem != NULL)
	{
		pfree(key_cache[slot].pem);
		EVP_PKEY_free(key_cache[slot].pkey);
	}
	key_cache[slot].pem = MemoryContextStrdup(TopMemoryContext, pem);
	key_cache[slot].pkey = pkey;
	return pkey;
}

PG_FUNCTION_INFO_V1(deling_jwt_verify_rs256);

/*
 * jwt_verify_rs256(token, key_pem): verify an RS256 compact JWS against an
 * RSA public key and return its payload as jsonb.  Any other "alg", a
 * "crit" header, a malformed token or a bad signature raise SQLSTATE 28000;
 * the payload is parsed only once its signature has verified.
 */
Datum
deling_jwt_verify_rs256(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	char	   *pem = text_to_cstring(PG_GETARG_TEXT_PP(1));
	const char *tok = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	int			dot1,
				dot2;
	Jsonb	   *header;
	Jsonb	   *payload;
	char	   *alg;
	unsigned char *sig;
	int			siglen;
	EVP_PKEY   *pkey;
	EVP_MD_CTX *md;
	const char *why = NULL;
	int			rc;

	split_token(tok, len, &dot1, &dot2);
	header = json_object_from_b64(tok, dot1, "header");
	alg = object_string(header, "alg", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, "invalid token: header");
	if (alg == NULL)
		invalid_token("header has no \"alg\"");
	if (strcmp(alg, "RS256") != 0)
		invalid_token(psprintf("algorithm \"%s\" is not accepted (only RS256)", alg));
	if (getKeyJsonValueFromContainer(&header->root, "crit", 4, &(JsonbValue) {0}) != NULL)
		invalid_token("header has \"crit\" extensions, which are not supported");
	sig = base64url_decode(tok + dot2 + 1, len - dot2 - 1, &siglen);
	if (sig == NULL || siglen == 0)
		invalid_token("signature is empty or not base64url");

	pkey = cached_rsa_public_key(pem, &why);
	if (pkey == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trusted key is unusable: %s", why)));
	if (siglen != EVP_PKEY_get_size(pkey))
		rc = 0;
	else
	{
		md = EVP_MD_CTX_new();
		rc = md != NULL &&
			EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
			EVP_DigestVerify(md, sig, siglen, (const unsigned char *) tok, dot2) == 1;
		EVP_MD_CTX_free(md);
	}
	if (!rc)
		invalid_token("signature does not verify with the key named by \"kid\"");
	/* only signed bytes are parsed */
	payload = json_object_from_b64(tok + dot1 + 1, dot2 - dot1 - 1, "payload");
	PG_RETURN_JSONB_P(payload);
}

/*
 * jwt_payload: the payload of a compact JWS as jsonb, NOT verified: only
 * for a token whose signature has verified already (the token cache reads
 * its time claims).
 */
Jsonb *
jwt_payload(text *token)
{
	const char *tok = VARDATA_ANY(token);
	int			len = VARSIZE_ANY_EXHDR(token);
	int			dot1,
				dot2;

	split_token(tok, len, &dot1, &dot2);
	return json_object_from_b64(tok + dot1 + 1, dot2 - dot1 - 1, "payload");
}

/*
 * jwk_member: a base64url member of a JWK decoded to bytes.
 */
static unsigned char *
jwk_member(Jsonb *jwk, const char *key, int *len)
{
	JsonbValue	v;
	unsigned char *out;

	if (getKeyJsonValueFromContainer(&jwk->root, key, strlen(key), &v) == NULL ||
		v.type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JWK has no string member \"%s\"", key)));
	out = base64url_decode(v.val.string.val, v.val.string.len, len);
	if (out == NULL || *len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JWK member \"%s\" is not base64url", key)));
	return out;
}

PG_FUNCTION_INFO_V1(deling_jwk_to_pem);

/*
 * jwk_to_pem(jwk): convert an RSA signing JWK (as published in a JWKS) to a
 * PEM SubjectPublicKeyInfo, so JWKS imports store the same form as PEM keys.
 */
Datum
deling_jwk_to_pem(PG_FUNCTION_ARGS)
{
	Jsonb	   *jwk = PG_GETARG_JSONB_P(0);
	char	   *kty,
			   *use,
			   *alg;
	unsigned char *nbytes,
			   *ebytes;
	int			nlen,
				elen;
	BIGNUM	   *n,
			   *e;
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY   *pkey = NULL;
	BIO		   *out = NULL;
	char	   *data;
	long		dlen;
	text	   *result = NULL;
	const char *why = "could not build an RSA key from \"n\" and \"e\"";

	if (!JB_ROOT_IS_OBJECT(jwk) || JB_ROOT_IS_SCALAR(jwk))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JWK must be a JSON object")));
	kty = object_string(jwk, "kty", ERRCODE_INVALID_PARAMETER_VALUE, "JWK");
	use = object_string(jwk, "use", ERRCODE_INVALID_PARAMETER_VALUE, "JWK");
	alg = object_string(jwk, "alg", ERRCODE_INVALID_PARAMETER_VALUE, "JWK");
	if (kty == NULL || strcmp(kty, "RSA") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JWK \"kty\" must be \"RSA\"")));
	if (use != NULL && strcmp(use, "sig") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JWK \"use\" is \"%s\", not \"sig\"", use)));
	if (alg != NULL && strcmp(alg, "RS256") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JWK \"alg\" is \"%s\", not \"RS256\"", alg)));
	nbytes = jwk_member(jwk, "n", &nlen);
	ebytes = jwk_member(jwk, "e", &elen);

	n = BN_bin2bn(nbytes, nlen, NULL);
	e = BN_bin2bn(ebytes, elen, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (n && e && bld &&
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
		(params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
		(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL &&
		EVP_PKEY_fromdata_init(ctx) == 1 &&
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1)
	{
		if (EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS)
			why = "RSA key shorter than 2048 bits";
		else if ((out = BIO_new(BIO_s_mem())) != NULL &&
				 PEM_write_bio_PUBKEY(out, pkey) == 1 &&
				 (dlen = BIO_get_mem_data(out, &data)) > 0)
			result = cstring_to_text_with_len(data, (int) dlen);
	}
	BIO_free(out);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	if (result == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JWK is unusable: %s", why)));
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(deling_public_key_check);

/*
 * public_key_check(pem): normalise a PEM public key, refusing anything
 * that is not an RSA key of at least 2048 bits, before the DBA registers it.
 */
Datum
deling_public_key_check(PG_FUNCTION_ARGS)
{
	char	   *pem = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *why = NULL;
	EVP_PKEY   *pkey = load_rsa_public_key(pem, &why);
	BIO		   *out;
	char	   *data;
	long		dlen;
	text	   *result = NULL;

	if (pkey == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trusted key is unusable: %s", why)));
	out = BIO_new(BIO_s_mem());
	if (out != NULL && PEM_write_bio_PUBKEY(out, pkey) == 1 &&
		(dlen = BIO_get_mem_data(out, &data)) > 0)
		result = cstring_to_text_with_len(data, (int) dlen);
	BIO_free(out);
	EVP_PKEY_free(pkey);
	if (result == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not write the public key as PEM")));
	PG_RETURN_TEXT_P(result);
}
