#!/bin/sh
# A short human-readable report of the answers (docs/data-model.md) from a
# migrated ClickHouse, for `make run` and for exploring a dev stack.
#
#   ch-report.sh [--top N] URL        URL: any node's HTTP interface, e.g. $CLICKHOUSE_HTTP
#
# Prints: rows per raw table (distinct events and stored rows), top films by
# share watched, least-finished films, the continue-watching list of the user
# with the most unfinished films, language switches, film ratings, top pages
# and actions.  Exit 1 if the server cannot be queried.
set -eu
TOP=5
while [ $# -gt 0 ]; do
	case "$1" in
	--top) TOP=$2; shift 2 ;;
	-*) echo "usage: $0 [--top N] URL" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--top N] URL" >&2; exit 2; }
case "$TOP" in ''|*[!0-9]*) echo "ch-report: bad --top" >&2; exit 2 ;; esac
URL=${1%/}

section() { printf '\n== %s\n' "$1"; }
q() {
	curl -sS --fail-with-body --max-time 60 "$URL/?output_format_pretty_color=0" --data-binary "$1 FORMAT PrettyCompactMonoBlock" ||
		{ echo "ch-report: query failed" >&2; exit 1; }
}

section "rows per table (distinct events / stored rows, duplicates until merged)"
q "SELECT t AS table, events, rows FROM (
	SELECT 'views' AS t, uniqExact(event_id) AS events, count() AS rows FROM ugc.views
	UNION ALL SELECT 'player_events', uniqExact(event_id), count() FROM ugc.player_events
	UNION ALL SELECT 'page_views', uniqExact(event_id), count() FROM ugc.page_views
	UNION ALL SELECT 'actions', uniqExact(event_id), count() FROM ugc.actions
	UNION ALL SELECT 'likes', uniqExact(event_id), count() FROM ugc.likes
	UNION ALL SELECT 'reviews', uniqExact(event_id), count() FROM ugc.reviews
	UNION ALL SELECT 'bookmarks', uniqExact(event_id), count() FROM ugc.bookmarks) ORDER BY t"

section "top films by average share watched (ugc.top_films)"
q "SELECT film_id, viewers, finished_viewers AS finished, round(watched_hours, 2) AS hours,
	round(avg_share * 100, 1) AS avg_share_pct
	FROM ugc.top_films ORDER BY avg_share DESC, viewers DESC, film_id LIMIT $TOP"

section "least-finished films (ugc.least_finished)"
q "SELECT film_id, viewers, unfinished_viewers AS unfinished, round(unfinished_share * 100, 1) AS unfinished_pct,
	round(median_stop_share * 100, 1) AS median_stop_pct
	FROM ugc.least_finished ORDER BY unfinished_share DESC, viewers DESC, film_id LIMIT $TOP"

section "continue watching for a sample user (ugc.continue_watching)"
q "SELECT user_key, film_id, round(resume_position_ms / 60000, 1) AS resume_min,
	round(share * 100, 1) AS watched_pct, last_watched
	FROM ugc.continue_watching
	WHERE user_key IN (SELECT user_key FROM ugc.continue_watching GROUP BY user_key
	                   ORDER BY count() DESC, user_key LIMIT 1)
	ORDER BY last_ts DESC LIMIT $TOP"

section "language switches (ugc.language_switches)"
q "SELECT track, \`from\`, \`to\`, sum(switches) AS switches
	FROM ugc.language_switches GROUP BY track, \`from\`, \`to\`
	ORDER BY switches DESC, track, \`from\`, \`to\` LIMIT $TOP"

section "film ratings (ugc.film_ratings)"
q "SELECT film_id, likes, dislikes, round(like_ratio * 100, 1) AS like_pct, reviews,
	round(avg_review_rating, 2) AS avg_rating
	FROM ugc.film_ratings ORDER BY likes + dislikes + reviews DESC, film_id LIMIT $TOP"

section "pages and actions (ugc.page_views_daily, ugc.actions_by_key)"
q "SELECT url, sum(views) AS views FROM ugc.page_views_daily GROUP BY url ORDER BY views DESC, url LIMIT $TOP"
q "SELECT \`key\`, actions, users FROM ugc.actions_by_key ORDER BY actions DESC, \`key\` LIMIT $TOP"
