/*
 * test_util.c - shared fixtures and helpers of the unit tier (see test_util.h).
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "test_util.h"

int tfx_init(struct tfx *f, const char *keylist)
{
	memset(f, 0, sizeof(*f));
	bcn_ingest_cfg_defaults(&f->cfg);
	f->r = calloc(1, sizeof(*f->r));
	if (!f->r) {
		CU_FAIL("tfx_init: out of memory");
		return -1;
	}
	if (keylist) {
		if (bcn_jwt_keys_parse(&f->keys, keylist, 1) != 0) {
			CU_FAIL("tfx_init: bcn_jwt_keys_parse failed");
			return -1;
		}
		f->jwt = bcn_jwt_cache_new(&f->keys, 6);
		if (!f->jwt) {
			CU_FAIL("tfx_init: bcn_jwt_cache_new failed");
			return -1;
		}
	}
	bcn_ingest_init(&f->in, &f->cfg, f->jwt, 3);
	return 0;
}

void tfx_free(struct tfx *f)
{
	bcn_jwt_cache_free(f->jwt);
	free(f->r);
	memset(f, 0, sizeof(*f));
}

int tfx_ingest(struct tfx *f, enum bcn_format fmt, const void *buf, size_t len,
	       const char *auth, int64_t now_ms, enum bcn_source src)
{
	return bcn_ingest(&f->in, fmt, buf, len, auth, auth ? strlen(auth) : 0, now_ms, src, f->r);
}

int tfx_json(struct tfx *f, const char *json)
{
	return tfx_ingest(f, BCN_FMT_JSON, json, strlen(json), NULL, T_NOW, BCN_SRC_UDP);
}

size_t t_sign(const char *key, const char *sub, int64_t exp_s, char *out, size_t cap)
{
	size_t n = bcn_jwt_sign((const uint8_t *)key, strlen(key), sub, exp_s, out, cap);
	if (!n) {
		CU_FAIL("bcn_jwt_sign failed");
		if (cap)
			out[0] = '\0';
	}
	return n;
}

size_t t_b64url(const uint8_t *in, size_t n, char *out)
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = al[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = al[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	return o;
}

size_t t_craft(const char *key, const char *hdr, const char *payload, char *out, size_t cap)
{
	size_t need = (strlen(hdr) + strlen(payload)) * 2 + 64;
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned ml = 0;

	if (cap < need) {
		CU_FAIL("t_craft: buffer too small");
		return 0;
	}
	size_t o = t_b64url((const uint8_t *)hdr, strlen(hdr), out);
	out[o++] = '.';
	o += t_b64url((const uint8_t *)payload, strlen(payload), out + o);
	if (!HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)out, o, mac, &ml)) {
		CU_FAIL("t_craft: HMAC failed");
		return 0;
	}
	out[o++] = '.';
	o += t_b64url(mac, ml, out + o);
	return o;
}

static int hexnib(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

size_t t_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t cap)
{
	if (hexlen % 2 || hexlen / 2 > cap)
		return (size_t)-1;
	for (size_t i = 0; i < hexlen / 2; i++) {
		int hi = hexnib(hex[2 * i]), lo = hexnib(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return (size_t)-1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return hexlen / 2;
}

void t_uuid(const char *s, uint8_t out[16])
{
	char hex[33];
	size_t o = 0;
	for (const char *p = s; *p && o < 32; p++)
		if (*p != '-')
			hex[o++] = *p;
	if (o != 32 || t_unhex(hex, 32, out, 16) != 16) {
		CU_FAIL("t_uuid: bad UUID literal");
		memset(out, 0, 16);
	}
}

char *t_subst(const char *tmpl, const char *const *names, const char *const *vals, int n)
{
	size_t cap = strlen(tmpl) + 1;
	for (int i = 0; i < n; i++)
		for (const char *p = strstr(tmpl, names[i]); p; p = strstr(p + 1, names[i]))
			cap += strlen(vals[i]);
	char *out = malloc(cap), *o = out;
	if (!out)
		return NULL;
	for (const char *p = tmpl; *p;) {
		int hit = -1;
		for (int i = 0; i < n && hit < 0; i++)
			if (strncmp(p, names[i], strlen(names[i])) == 0)
				hit = i;
		if (hit >= 0) {
			size_t vl = strlen(vals[hit]);
			memcpy(o, vals[hit], vl);
			o += vl;
			p += strlen(names[hit]);
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

char *t_repeat(const char *unit, size_t count)
{
	size_t ul = strlen(unit);
	char *s = malloc(ul * count + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < count; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * count] = '\0';
	return s;
}

int t_reason_of(const char *name)
{
	for (unsigned i = 0; i < BCN_R__COUNT; i++)
		if (strcmp(bcn_reason_name(i), name) == 0)
			return (int)i;
	return -1;
}

int t_type_of(const char *name)
{
	unsigned t = bcn_type_from(name, strlen(name));
	return t ? (int)t : -1;
}

char *t_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, fp);
		n += got;
		if (n < cap)
			break;
		cap *= 2;
		char *nb = realloc(buf, cap + 1);
		if (!nb) {
			free(buf);
			buf = NULL;
		}
		buf = nb;
	}
	fclose(fp);
	if (!buf)
		return NULL;
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}
