/*
 * bcn_api_json.h - JSON output of the read API, appended to a fixed buffer
 * (bcn_mbuf.h: on overflow `overflow` is set and the caller gives up or
 * rolls back).
 *
 * Why this exists: review text is the only free text we answer with and it
 * comes from users.  It is stored as valid UTF-8 (the contract checks it on
 * ingest and PostgreSQL's UTF8 encoding enforces it), so it passes through
 * byte for byte, except what JSON requires escaped: '"', '\\' and the C0
 * controls (as \n, \r, \t, \b, \f or \u00XX).  DEL (0x7f) is escaped too,
 * so that no raw control byte reaches a client's log.
 */
#ifndef BCN_API_JSON_H
#define BCN_API_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "bcn_mbuf.h"

/* Append bytes as they are. */
void bcn_api_json_raw(struct bcn_mbuf *m, const char *s, size_t n);
/* Append s[0..n) as a quoted, escaped JSON string. */
void bcn_api_json_str(struct bcn_mbuf *m, const char *s, size_t n);
/* Append a quoted lowercase UUID. */
void bcn_api_json_uuid(struct bcn_mbuf *m, const uint8_t u[16]);
/* Bytes bcn_api_json_str would append for s[0..n) (incl. the quotes). */
size_t bcn_api_json_str_len(const char *s, size_t n);

#endif
