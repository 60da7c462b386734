-- A research-only rollup in ClickHouse (not part of the project's schema): the
-- furthest position and the film's duration per (film, user), kept up to date by a
-- materialized view on every insert into ugc.views.  ReplacingMergeTree(max_position)
-- keeps, when parts merge, the row with the furthest position; until then a (film, user)
-- pair may have several rows, so the queries use only aggregates a repeated pair cannot
-- change: uniqExact(user_key), and "finished" = some row reached 90 % (a user's furthest
-- position reaches 90 % of the film iff one of the partial maxima does; the duration
-- is the same on every heartbeat of a film).  The analysts' whole-data questions then
-- read one row per (film, user) instead of every heartbeat.  Statements end with ';' at
-- the end of a line.
CREATE TABLE ugc.views_by_user_film (
    film_id      UUID,
    user_key     UUID,
    max_position UInt32,
    max_duration UInt32
) ENGINE = ReplacingMergeTree(max_position)
ORDER BY (film_id, user_key);
CREATE MATERIALIZED VIEW ugc.views_by_user_film_mv TO ugc.views_by_user_film AS
SELECT film_id, user_key, max(position_ms) AS max_position, max(duration_ms) AS max_duration
FROM ugc.views GROUP BY film_id, user_key;
INSERT INTO ugc.views_by_user_film
SELECT film_id, user_key, max(position_ms), max(duration_ms)
FROM ugc.views GROUP BY film_id, user_key;
