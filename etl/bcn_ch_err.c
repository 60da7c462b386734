/*
 * bcn_ch_err.c - reading ClickHouse's answers: exception codes in bodies,
 * the row hint, and what each code means for the ETL.  See bcn_ch.h.
 *
 * The code lists come from ClickHouse's ErrorCodes.cpp.  Only codes that are
 * certainly about the inserted values are DATA (a DATA verdict sends rows to
 * the DLQ); an unknown code is TRANSIENT, so an unexpected error blocks the
 * stream and raises beacon_etl_errors_total rather than dropping data.
 */
#include <stdio.h>
#include <string.h>
#include "bcn_ch.h"

const char *bcn_ch_kind_name(unsigned k)
{
	static const char *const n[BCN_CH__NKINDS] = { "ok", "data", "config", "transient",
						       "transport" };
	return k < BCN_CH__NKINDS ? n[k] : "?";
}

/* Values that cannot be parsed or stored as the column's type. */
static const int data_codes[] = {
	6,   /* CANNOT_PARSE_TEXT */
	25,  /* CANNOT_PARSE_ESCAPE_SEQUENCE */
	26,  /* CANNOT_PARSE_QUOTED_STRING */
	27,  /* CANNOT_PARSE_INPUT_ASSERTION_FAILED */
	32,  /* ATTEMPT_TO_READ_AFTER_EOF */
	33,  /* CANNOT_READ_ALL_DATA */
	38,  /* CANNOT_PARSE_DATE */
	41,  /* CANNOT_PARSE_DATETIME */
	53,  /* TYPE_MISMATCH */
	69,  /* ARGUMENT_OUT_OF_BOUND */
	70,  /* CANNOT_CONVERT_TYPE */
	72,  /* CANNOT_PARSE_NUMBER */
	117, /* INCORRECT_DATA (e.g. duplicate key in JSONEachRow) */
	131, /* TOO_LARGE_STRING_SIZE */
	349, /* CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN */
	376, /* CANNOT_PARSE_UUID */
	377, /* ILLEGAL_SYNTAX_FOR_DATA_TYPE */
	441, /* CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING */
	467, /* CANNOT_PARSE_BOOL */
	691, /* UNKNOWN_ELEMENT_OF_ENUM */
};

/* The request or the server's set-up is wrong: an operator must act. */
static const int config_codes[] = {
	8,   /* THERE_IS_NO_COLUMN */
	16,  /* NO_SUCH_COLUMN_IN_TABLE */
	60,  /* UNKNOWN_TABLE */
	62,  /* SYNTAX_ERROR */
	73,  /* UNKNOWN_FORMAT */
	81,  /* UNKNOWN_DATABASE */
	115, /* UNKNOWN_SETTING */
	164, /* READONLY */
	192, /* UNKNOWN_USER */
	193, /* WRONG_PASSWORD */
	194, /* REQUIRED_PASSWORD */
	195, /* IP_ADDRESS_NOT_ALLOWED */
	497, /* ACCESS_DENIED */
	516, /* AUTHENTICATION_FAILED */
};

static int in(const int *v, size_t n, int code)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == code)
			return 1;
	return 0;
}

int bcn_ch_parse_exception(const char *body, size_t len, int *row)
{
	int code = 0;
	size_t i = 0, at = 0;
	if (row)
		*row = 0;
	while (i + 6 < len) {
		const char *c = memchr(body + i, 'C', len - i - 6);
		if (!c)
			break;
		i = (size_t)(c - body);
		if (memcmp(c, "Code: ", 6)) {
			i++;
			continue;
		}
		size_t j = i + 6;
		long v = 0;
		while (j < len && body[j] >= '0' && body[j] <= '9' && v < 100000)
			v = v * 10 + (body[j++] - '0');
		if (j > i + 6 && j < len && (body[j] == ',' || body[j] == '.') && v > 0 && v < 100000) {
			code = (int)v;
			at = j;
			break;
		}
		i++;
	}
	if (!code || !row)
		return code;
	static const char k[] = "(at row ";
	for (size_t p = at; p + sizeof(k) - 1 < len; p++) {
		if (memcmp(body + p, k, sizeof(k) - 1))
			continue;
		size_t j = p + sizeof(k) - 1;
		long v = 0;
		while (j < len && body[j] >= '0' && body[j] <= '9' && v < 100000000)
			v = v * 10 + (body[j++] - '0');
		if (j < len && body[j] == ')' && v > 0 && v < 100000000)
			*row = (int)v;
		break;
	}
	return code;
}

enum bcn_ch_kind bcn_ch_classify(int curl_ok, long http_status, int code)
{
	if (!curl_ok)
		return BCN_CH_TRANSPORT;
	if (code > 0) {
		if (in(data_codes, sizeof(data_codes) / sizeof(data_codes[0]), code))
			return BCN_CH_DATA;
		if (in(config_codes, sizeof(config_codes) / sizeof(config_codes[0]), code))
			return BCN_CH_CONFIG;
		return BCN_CH_TRANSIENT;
	}
	if (http_status >= 200 && http_status < 300)
		return BCN_CH_OK;
	if (http_status >= 500 || http_status == 429 || http_status == 408 || http_status == 0)
		return BCN_CH_TRANSIENT;
	return BCN_CH_CONFIG;
}
