-- The analysts' and the product's answers: plain views over the raw tables
-- (docs/data-model.md, "Answers", has each exact definition).  Repeatable: migrate.sh
-- re-applies this file (drop, then create) whenever it changes.  The same text serves both
-- modes: in a cluster ugc.<table> is the Distributed table, so every view reads all shards.
--
-- Duplicate safety: a raw table may hold the same record (same event_id) more than once until
-- a merge collapses it.  No answer counts raw rows: they use idempotent aggregates only
-- (uniqExact(event_id), groupUniqArray, max/min, argMax over (ts, recv_ts, toString(event_id))), so a
-- duplicate never changes a result, before or after merges, on one node or on a cluster.
-- "Last write wins" orders writes by (ts, recv_ts, toString(event_id)): the client's clock first (the
-- order the user acted in), then ingest time, then event_id to break exact ties.
--
-- Valid on ClickHouse 18.16 (Debian) and current releases: no LowCardinality, DateTime64,
-- range(a, b), -OrNull/-OrDefault combinators, WITH ... AS subqueries or CREATE OR REPLACE.

DROP TABLE IF EXISTS ugc.actions_by_key;
DROP TABLE IF EXISTS ugc.page_views_daily;
DROP TABLE IF EXISTS ugc.language_switches;
DROP TABLE IF EXISTS ugc.player_switches;
DROP TABLE IF EXISTS ugc.film_ratings;
DROP TABLE IF EXISTS ugc.current_reviews;
DROP TABLE IF EXISTS ugc.user_likes;
DROP TABLE IF EXISTS ugc.user_bookmarks;
DROP TABLE IF EXISTS ugc.continue_watching;
DROP TABLE IF EXISTS ugc.resume_position;
DROP TABLE IF EXISTS ugc.user_history;
DROP TABLE IF EXISTS ugc.least_finished;
DROP TABLE IF EXISTS ugc.top_films;
DROP TABLE IF EXISTS ugc.watch_share;
DROP TABLE IF EXISTS ugc.playback_points;

-- Every reported playback position: view heartbeats and player events.
CREATE VIEW IF NOT EXISTS ugc.playback_points AS
SELECT user_key, film_id, session_id, ts, recv_ts, event_id, position_ms, duration_ms,
       materialize('heartbeat') AS kind
FROM ugc.views
UNION ALL
SELECT user_key, film_id, session_id, ts, recv_ts, event_id, position_ms, duration_ms,
       event AS kind
FROM ugc.player_events;

-- Per (user_key, film_id): distinct watched 10-second segments / ceil(duration / 10 s).
-- A position p marks segment intDiv(p, 10000).  Within one session, the points sorted by
-- (ts, position_ms) are paired with their predecessor; when playback went forward by
-- dp = p1 - p0 with 0 <= dp <= 60 s and dp <= 2 * (t1 - t0) + 5 s (no seek: at most double
-- speed, 5 s of clock slack), every segment from p0's to p1's is watched too.
CREATE VIEW IF NOT EXISTS ugc.watch_share AS
SELECT
    user_key,
    film_id,
    duration_ms,
    segments_total,
    segments_watched,
    if(segments_total = 0, 0, segments_watched / segments_total) AS share,
    toUInt8(segments_total > 0 AND segments_watched * 10 >= segments_total * 9) AS finished,
    sessions,
    resume_position_ms,
    first_ts,
    last_ts,
    toDateTime(intDiv(first_ts, 1000), 'UTC') AS first_watched,
    toDateTime(intDiv(last_ts, 1000), 'UTC') AS last_watched
FROM
(
    SELECT
        user_key,
        film_id,
        max(dur) AS duration_ms,
        intDiv(duration_ms + 9999, 10000) AS segments_total,
        length(arrayDistinct(arrayMap(s -> least(s, toUInt64(greatest(segments_total, 1) - 1)),
                                      groupUniqArrayArray(segs)))) AS segments_watched,
        uniqExact(session_id) AS sessions,
        argMax(last_pos, last_key) AS resume_position_ms,
        min(first_ts_s) AS first_ts,
        tupleElement(max(last_key), 1) AS last_ts
    FROM
    (
        SELECT
            user_key, film_id, session_id, dur, last_pos, last_key, first_ts_s,
            arrayJoin(arrayEnumerate(pts)) AS i,
            tupleElement(pts[i], 1) AS t1,
            tupleElement(pts[i], 2) AS p1,
            tupleElement(pts[greatest(i - 1, 1)], 1) AS t0,
            tupleElement(pts[greatest(i - 1, 1)], 2) AS p0,
            toInt64(p1) - toInt64(p0) AS dp,
            i > 1 AND dp >= 0 AND dp <= 60000 AND dp <= 2 * (t1 - t0) + 5000 AS filled,
            toUInt64(intDiv(p1, 10000)) AS s1,
            if(filled, toUInt64(intDiv(p0, 10000)), s1) AS lo,
            arrayMap(k -> lo + k, range(toUInt64(s1 - lo + 1))) AS segs
        FROM
        (
            SELECT
                user_key, film_id, session_id,
                arraySort(groupUniqArray((ts, position_ms))) AS pts,
                max(duration_ms) AS dur,
                argMax(position_ms, (ts, recv_ts, toString(event_id))) AS last_pos,
                max((ts, recv_ts, toString(event_id))) AS last_key,
                min(ts) AS first_ts_s
            FROM ugc.playback_points
            GROUP BY user_key, film_id, session_id
        )
    )
    GROUP BY user_key, film_id
);

-- Most-watched films: by viewers, by watched hours, by average share watched.
CREATE VIEW IF NOT EXISTS ugc.top_films AS
SELECT
    film_id,
    count() AS viewers,
    sum(finished) AS finished_viewers,
    sum(segments_watched) * 10 / 3600 AS watched_hours,
    avg(share) AS avg_share
FROM ugc.watch_share
WHERE segments_total > 0
GROUP BY film_id
ORDER BY viewers DESC, watched_hours DESC, film_id;

-- Least-finished films: share of viewers below 90 %, and where those viewers stopped
-- (their resume position as a share of the film).
CREATE VIEW IF NOT EXISTS ugc.least_finished AS
SELECT
    film_id,
    count() AS viewers,
    countIf(finished = 0) AS unfinished_viewers,
    unfinished_viewers / viewers AS unfinished_share,
    if(unfinished_viewers = 0, 0, sumIf(stop_share, finished = 0) / unfinished_viewers) AS avg_stop_share,
    if(unfinished_viewers = 0, 0, quantileExactIf(0.5)(stop_share, finished = 0)) AS median_stop_share
FROM
(
    SELECT film_id, finished, least(resume_position_ms / duration_ms, 1) AS stop_share
    FROM ugc.watch_share
    WHERE segments_total > 0
)
GROUP BY film_id
ORDER BY unfinished_share DESC, viewers DESC, film_id;

-- Per user: what they watched, newest first.
CREATE VIEW IF NOT EXISTS ugc.user_history AS
SELECT user_key, film_id, first_watched, last_watched, sessions, share, finished,
       resume_position_ms, duration_ms, last_ts
FROM ugc.watch_share
ORDER BY user_key, last_ts DESC, film_id;

-- Per user and film: where to resume (the last reported position).
CREATE VIEW IF NOT EXISTS ugc.resume_position AS
SELECT user_key, film_id, resume_position_ms, duration_ms, finished, last_watched, last_ts
FROM ugc.watch_share;

-- Per user: started and not finished (share < 90 %), newest first.
CREATE VIEW IF NOT EXISTS ugc.continue_watching AS
SELECT user_key, film_id, resume_position_ms, duration_ms, share, last_watched, last_ts
FROM ugc.watch_share
WHERE finished = 0
ORDER BY user_key, last_ts DESC, film_id;

-- Per user: current bookmarks (the last add/remove per film wins).
CREATE VIEW IF NOT EXISTS ugc.user_bookmarks AS
SELECT user_id, film_id, tupleElement(k, 1) AS bookmarked_ts,
       toDateTime(intDiv(bookmarked_ts, 1000), 'UTC') AS bookmarked_at
FROM
(
    SELECT user_id, film_id, argMax(op, (ts, recv_ts, toString(event_id))) AS last_op,
           max((ts, recv_ts, toString(event_id))) AS k
    FROM ugc.bookmarks
    GROUP BY user_id, film_id
)
WHERE last_op = 'add';

-- Per user: one like or dislike per film (the last write wins; score 0 removes).
CREATE VIEW IF NOT EXISTS ugc.user_likes AS
SELECT user_id, film_id, last_score AS score, tupleElement(k, 1) AS liked_ts,
       toDateTime(intDiv(liked_ts, 1000), 'UTC') AS liked_at
FROM
(
    SELECT user_id, film_id, argMax(score, (ts, recv_ts, toString(event_id))) AS last_score,
           max((ts, recv_ts, toString(event_id))) AS k
    FROM ugc.likes
    GROUP BY user_id, film_id
)
WHERE last_score != 0;

-- Reviews in force: per (author, film, review_id) the last post/delete wins; a post after a
-- post is an edit.
CREATE VIEW IF NOT EXISTS ugc.current_reviews AS
SELECT user_id, film_id, review_id, last_rating AS rating, last_text AS text,
       tupleElement(k, 1) AS posted_ts, toDateTime(intDiv(posted_ts, 1000), 'UTC') AS posted_at
FROM
(
    SELECT user_id, film_id, review_id,
           argMax(op, (ts, recv_ts, toString(event_id))) AS last_op,
           argMax(rating, (ts, recv_ts, toString(event_id))) AS last_rating,
           argMax(`text`, (ts, recv_ts, toString(event_id))) AS last_text,
           max((ts, recv_ts, toString(event_id))) AS k
    FROM ugc.reviews
    GROUP BY user_id, film_id, review_id
)
WHERE last_op = 'post';

-- Per film: likes, dislikes, like ratio, reviews in force and their average rating.
CREATE VIEW IF NOT EXISTS ugc.film_ratings AS
SELECT
    film_id,
    sum(l) AS likes,
    sum(d) AS dislikes,
    if(likes + dislikes = 0, 0, likes / (likes + dislikes)) AS like_ratio,
    sum(r) AS reviews,
    if(reviews = 0, 0, sum(rs) / reviews) AS avg_review_rating
FROM
(
    SELECT film_id, toUInt64(score = 1) AS l, toUInt64(score = -1) AS d,
           toUInt64(0) AS r, toUInt64(0) AS rs
    FROM ugc.user_likes
    UNION ALL
    SELECT film_id, toUInt64(0) AS l, toUInt64(0) AS d, toUInt64(1) AS r, toUInt64(rating) AS rs
    FROM ugc.current_reviews
)
GROUP BY film_id
ORDER BY film_id;

-- Player telemetry per film and day (UTC, client time).
CREATE VIEW IF NOT EXISTS ugc.player_switches AS
SELECT
    film_id,
    event_date AS day,
    uniqExactIf(event_id, event = 'quality_change') AS quality_switches,
    uniqExactIf(event_id, event = 'audio_change') AS audio_switches,
    uniqExactIf(event_id, event = 'subtitle_change') AS subtitle_switches,
    uniqExactIf(event_id, event = 'buffering') AS buffering_events,
    uniqExactIf(event_id, event = 'error') AS errors,
    uniqExact(user_key) AS viewers
FROM ugc.player_events
GROUP BY film_id, day
ORDER BY film_id, day;

-- Audio and subtitle language switches (from -> to) per film and day.
CREATE VIEW IF NOT EXISTS ugc.language_switches AS
SELECT
    film_id,
    event_date AS day,
    if(event = 'audio_change', 'audio', 'subtitle') AS track,
    `from`,
    `to`,
    uniqExact(event_id) AS switches,
    uniqExact(user_key) AS viewers
FROM ugc.player_events
WHERE event IN ('audio_change', 'subtitle_change')
GROUP BY film_id, day, track, `from`, `to`
ORDER BY film_id, day, track, `from`, `to`;

-- Page views per URL and day (UTC, client time).
CREATE VIEW IF NOT EXISTS ugc.page_views_daily AS
SELECT event_date AS day, url, uniqExact(event_id) AS views, uniqExact(user_key) AS visitors
FROM ugc.page_views
GROUP BY day, url
ORDER BY day, url;

-- Generic actions per key.
CREATE VIEW IF NOT EXISTS ugc.actions_by_key AS
SELECT `key`, uniqExact(event_id) AS actions, uniqExact(user_key) AS users,
       uniqExact(`value`) AS distinct_values, min(ts) AS first_ts, max(ts) AS last_ts
FROM ugc.actions
GROUP BY `key`
ORDER BY actions DESC, `key`;
