/*
 * bcn_ch.c - libcurl INSERT client with endpoint failover.  See bcn_ch.h.
 *
 * One easy handle per stream keeps one keep-alive connection to the current
 * endpoint (TCP_NODELAY, no Expect: 100-continue round trip).  The body is
 * handed to curl as a pointer (CURLOPT_POSTFIELDS, no copy).  The answer is
 * kept in two fixed buffers: its first 4 KiB and its last 512 bytes, so an
 * exception appended at the end of a long streamed 200 is still seen.
 *
 * RowBinary inserts name their columns (the table's plan, from DESCRIBE:
 * bcn_etl_rowbin.h) in the URL; bcn_ch_query runs DESCRIBE and the UUID
 * probe on the same connection.
 *
 * Compression: none.  Measured on loopback (docs/etl.md), gzip of the body
 * costs the ETL more CPU than the bytes it saves; on a real network,
 * ClickHouse accepts Content-Encoding: gzip and this is where it would go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include "bcn_ch.h"
#include "bcn_stat.h"

#define HEAD_MAX 4096
#define TAIL_MAX 512

struct bcn_ch {
	CURL *h;
	struct curl_slist *hdrs;
	int nep, ntab, cur;
	char **url;             /* [ep * ntab + table] */
	int64_t timeout_ms;
	char head[HEAD_MAX];    /* first bytes of the answer */
	size_t head_len;
	char tail[TAIL_MAX];    /* last bytes of the answer */
	size_t tail_len;
	size_t total;
	int hdr_code;           /* X-ClickHouse-Exception-Code */
	char cerr[CURL_ERROR_SIZE];
	/* RowBinary URLs are built per insert (the column list comes from the
	 * table's plan): the parts, and the buffer */
	char **ep;              /* [ep] "http://host:port" */
	char **tab;             /* [table] */
	char *database, *settings;
	char urlbuf[4096];
	char *cap_buf;          /* bcn_ch_query: the whole answer goes here too */
	size_t cap_len, cap_max;
};

/* Body callback: runs on the stream thread inside curl_easy_perform, once
 * per chunk of the answer. */
static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
	struct bcn_ch *ch = ud;
	size_t n = sz * nm;
	if (ch->head_len < HEAD_MAX) {
		size_t k = HEAD_MAX - ch->head_len < n ? HEAD_MAX - ch->head_len : n;
		memcpy(ch->head + ch->head_len, p, k);
		ch->head_len += k;
	}
	if (n >= TAIL_MAX) {
		memcpy(ch->tail, p + n - TAIL_MAX, TAIL_MAX);
		ch->tail_len = TAIL_MAX;
	} else {
		size_t keep = ch->tail_len + n > TAIL_MAX ? TAIL_MAX - n : ch->tail_len;
		memmove(ch->tail, ch->tail + ch->tail_len - keep, keep);
		memcpy(ch->tail + keep, p, n);
		ch->tail_len = keep + n;
	}
	ch->total += n;
	if (ch->cap_buf && ch->cap_len < ch->cap_max) {
		size_t k = ch->cap_max - ch->cap_len < n ? ch->cap_max - ch->cap_len : n;
		memcpy(ch->cap_buf + ch->cap_len, p, k);
		ch->cap_len += k;
	}
	return n;
}

/* Header callback: runs on the stream thread inside curl_easy_perform, once
 * per header line of the answer. */
static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
	struct bcn_ch *ch = ud;
	size_t n = sz * nm;
	static const char k[] = "X-ClickHouse-Exception-Code:";
	if (n > sizeof(k) && !strncasecmp(p, k, sizeof(k) - 1)) {
		int v = 0;
		for (size_t i = sizeof(k) - 1; i < n && v < 100000; i++)
			if (p[i] >= '0' && p[i] <= '9')
				v = v * 10 + (p[i] - '0');
			else if (p[i] != ' ')
				break;
		ch->hdr_code = v;
	}
	return n;
}

static char *url_for(const struct bcn_ch_conf *c, const char *ep, const char *table)
{
	size_t n = strlen(ep) + strlen(c->database) + strlen(table) + strlen(c->settings) + 256;
	char *u = malloc(n);
	if (!u)
		return NULL;
	snprintf(u, n,
		 "%s/?database=%s&query=INSERT%%20INTO%%20%s.%s%%20FORMAT%%20JSONEachRow"
		 "&input_format_skip_unknown_fields=1&max_insert_block_size=1048576%s%s",
		 ep, c->database, c->database, table, c->settings[0] ? "&" : "", c->settings);
	return u;
}

struct bcn_ch *bcn_ch_new(const struct bcn_ch_conf *c, char *err, size_t errlen)
{
	struct bcn_ch *ch = calloc(1, sizeof(*ch));
	if (!ch || c->nendpoints < 1 || c->ntables < 1) {
		snprintf(err, errlen, "clickhouse client: out of memory or nothing to insert into");
		free(ch);
		return NULL;
	}
	ch->nep = c->nendpoints;
	ch->ntab = c->ntables;
	ch->timeout_ms = c->timeout_ms;
	ch->url = calloc((size_t)(ch->nep * ch->ntab), sizeof(char *));
	if (!ch->url)
		goto oom;
	for (int e = 0; e < ch->nep; e++)
		for (int t = 0; t < ch->ntab; t++)
			if (!(ch->url[e * ch->ntab + t] = url_for(c, c->endpoints[e], c->tables[t])))
				goto oom;
	ch->ep = calloc((size_t)ch->nep, sizeof(char *));
	ch->tab = calloc((size_t)ch->ntab, sizeof(char *));
	ch->database = strdup(c->database);
	ch->settings = strdup(c->settings);
	if (!ch->ep || !ch->tab || !ch->database || !ch->settings)
		goto oom;
	for (int e = 0; e < ch->nep; e++)
		if (!(ch->ep[e] = strdup(c->endpoints[e])))
			goto oom;
	for (int t = 0; t < ch->ntab; t++)
		if (!(ch->tab[t] = strdup(c->tables[t])))
			goto oom;
	ch->h = curl_easy_init();
	if (!ch->h) {
		snprintf(err, errlen, "clickhouse client: curl_easy_init failed");
		bcn_ch_free(ch);
		return NULL;
	}
	char hdr[256];
	snprintf(hdr, sizeof(hdr), "X-ClickHouse-User: %s", c->user);
	ch->hdrs = curl_slist_append(ch->hdrs, hdr);
	if (c->password && c->password[0]) {
		snprintf(hdr, sizeof(hdr), "X-ClickHouse-Key: %s", c->password);
		ch->hdrs = curl_slist_append(ch->hdrs, hdr);
	}
	ch->hdrs = curl_slist_append(ch->hdrs, "Expect:");
	ch->hdrs = curl_slist_append(ch->hdrs, "Content-Type: application/x-ndjson");
	if (!ch->hdrs)
		goto oom;
	curl_easy_setopt(ch->h, CURLOPT_HTTPHEADER, ch->hdrs);
	curl_easy_setopt(ch->h, CURLOPT_POST, 1L);
	curl_easy_setopt(ch->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(ch->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(ch->h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(ch->h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	curl_easy_setopt(ch->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(ch->h, CURLOPT_WRITEDATA, ch);
	curl_easy_setopt(ch->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(ch->h, CURLOPT_HEADERDATA, ch);
	curl_easy_setopt(ch->h, CURLOPT_ERRORBUFFER, ch->cerr);
	curl_easy_setopt(ch->h, CURLOPT_PROXY, "");
	curl_easy_setopt(ch->h, CURLOPT_PROTOCOLS_STR, "http");
	return ch;
oom:
	snprintf(err, errlen, "clickhouse client: out of memory");
	bcn_ch_free(ch);
	return NULL;
}

/* The first line of the error text into r->msg. */
static void first_line(struct bcn_ch_result *r, const char *p, size_t n)
{
	size_t k = 0;
	while (k < n && k < sizeof(r->msg) - 1 && p[k] != '\n' && p[k] != '\r')
		k++;
	memcpy(r->msg, p, k);
	r->msg[k] = 0;
}

/* POST body[0..len) to url; fill *r.  The stream thread's (or inserter's)
 * one request at a time on ch's connection. */
static enum bcn_ch_kind perform(struct bcn_ch *ch, const char *url, const char *body, size_t len,
				int64_t timeout_ms, struct bcn_ch_result *r)
{
	memset(r, 0, sizeof(*r));
	ch->head_len = ch->tail_len = ch->total = 0;
	ch->hdr_code = 0;
	ch->cerr[0] = 0;
	r->endpoint = ch->cur;
	curl_easy_setopt(ch->h, CURLOPT_URL, url);
	curl_easy_setopt(ch->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(ch->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(ch->h, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : ch->timeout_ms));
	CURLcode cc = curl_easy_perform(ch->h);
	double t = 0;
	curl_easy_getinfo(ch->h, CURLINFO_TOTAL_TIME, &t);
	r->seconds = t;
	if (unlikely(cc != CURLE_OK)) {
		r->kind = BCN_CH_TRANSPORT;
		snprintf(r->msg, sizeof(r->msg), "%s", ch->cerr[0] ? ch->cerr : curl_easy_strerror(cc));
		ch->cur = (ch->cur + 1) % ch->nep;
		return r->kind;
	}
	curl_easy_getinfo(ch->h, CURLINFO_RESPONSE_CODE, &r->status);
	int row = 0, code = ch->hdr_code;
	int bcode = bcn_ch_parse_exception(ch->head, ch->head_len, &row);
	if (!bcode && ch->total > ch->head_len)
		bcode = bcn_ch_parse_exception(ch->tail, ch->tail_len, &row);
	if (!code)
		code = bcode;
	r->code = code;
	r->row = row;
	r->kind = bcn_ch_classify(1, r->status, code);
	if (unlikely(r->kind != BCN_CH_OK)) {
		if (ch->head_len)
			first_line(r, ch->head, ch->head_len);
		else
			snprintf(r->msg, sizeof(r->msg), "HTTP %ld with an empty body", r->status);
		if (r->kind == BCN_CH_TRANSIENT && !code)
			ch->cur = (ch->cur + 1) % ch->nep;
	}
	return r->kind;
}

enum bcn_ch_kind bcn_ch_insert(struct bcn_ch *ch, int table, const char *body, size_t len,
			       int64_t timeout_ms, struct bcn_ch_result *r)
{
	return perform(ch, ch->url[ch->cur * ch->ntab + table], body, len, timeout_ms, r);
}

enum bcn_ch_kind bcn_ch_insert_rowbinary(struct bcn_ch *ch, int table, const char *collist,
					 const void *body, size_t len, int64_t timeout_ms,
					 struct bcn_ch_result *r)
{
	int w = snprintf(ch->urlbuf, sizeof(ch->urlbuf),
			 "%s/?database=%s&query=INSERT%%20INTO%%20%s.%s%%20%s%%20FORMAT%%20RowBinary"
			 "&max_insert_block_size=1048576%s%s",
			 ch->ep[ch->cur], ch->database, ch->database, ch->tab[table], collist,
			 ch->settings[0] ? "&" : "", ch->settings);
	if (w < 0 || (size_t)w >= sizeof(ch->urlbuf)) {
		memset(r, 0, sizeof(*r));
		r->kind = BCN_CH_CONFIG;
		snprintf(r->msg, sizeof(r->msg), "RowBinary INSERT URL too long");
		return r->kind;
	}
	return perform(ch, ch->urlbuf, body, len, timeout_ms, r);
}

enum bcn_ch_kind bcn_ch_query(struct bcn_ch *ch, const char *sql, char *out, size_t cap,
			      size_t *outlen, int64_t timeout_ms, struct bcn_ch_result *r)
{
	snprintf(ch->urlbuf, sizeof(ch->urlbuf), "%s/?database=%s", ch->ep[ch->cur], ch->database);
	ch->cap_buf = out;
	ch->cap_len = 0;
	ch->cap_max = cap;
	enum bcn_ch_kind k = perform(ch, ch->urlbuf, sql, strlen(sql), timeout_ms, r);
	*outlen = ch->cap_len;
	ch->cap_buf = NULL;
	if (k == BCN_CH_OK && ch->total > cap) {
		r->kind = k = BCN_CH_TRANSIENT;
		snprintf(r->msg, sizeof(r->msg), "answer larger than %zu bytes", cap);
	}
	return k;
}

int bcn_ch_endpoint(const struct bcn_ch *ch)
{
	return ch->cur;
}

void bcn_ch_free(struct bcn_ch *ch)
{
	if (!ch)
		return;
	if (ch->h)
		curl_easy_cleanup(ch->h);
	curl_slist_free_all(ch->hdrs);
	if (ch->url)
		for (int i = 0; i < ch->nep * ch->ntab; i++)
			free(ch->url[i]);
	free(ch->url);
	if (ch->ep)
		for (int i = 0; i < ch->nep; i++)
			free(ch->ep[i]);
	if (ch->tab)
		for (int i = 0; i < ch->ntab; i++)
			free(ch->tab[i]);
	free(ch->ep);
	free(ch->tab);
	free(ch->database);
	free(ch->settings);
	free(ch);
}
