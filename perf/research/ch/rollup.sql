-- A research-only rollup in ClickHouse (not part of the project's schema): one row
-- per (film, user) with the furthest position, the film's duration and the
-- heartbeat count, as aggregate states, kept up to date by a materialized view on
-- every insert into ugc.views.  The analysts' whole-data questions then read
-- ~(users x films watched) rows instead of every heartbeat.  Statements end with ';'
-- at the end of a line.
CREATE TABLE ugc.views_by_user_film (
    film_id      UUID,
    user_key     UUID,
    max_position AggregateFunction(max, UInt32),
    max_duration AggregateFunction(max, UInt32),
    heartbeats   AggregateFunction(count)
) ENGINE = AggregatingMergeTree()
ORDER BY (film_id, user_key);
CREATE MATERIALIZED VIEW ugc.views_by_user_film_mv TO ugc.views_by_user_film AS
SELECT film_id, user_key, maxState(position_ms) AS max_position, maxState(duration_ms) AS max_duration,
       countState() AS heartbeats
FROM ugc.views GROUP BY film_id, user_key;
INSERT INTO ugc.views_by_user_film
SELECT film_id, user_key, maxState(position_ms), maxState(duration_ms), countState()
FROM ugc.views GROUP BY film_id, user_key;
