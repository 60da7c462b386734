-- Indexes of the PostgreSQL research schema, built after the bulk load (one statement
-- per line: run.sh times each).
-- Primary keys on event_id (views: (event_id, ts), as a partitioned table's key must
--   contain the partition key): an ETL that retries a batch inserts with ON CONFLICT DO
--   NOTHING, so a record is stored once (ClickHouse instead keeps duplicates until a
--   merge, and its answers use idempotent aggregates).
-- The others serve the reads, in the order the queries want ("last write wins" =
--   newest (ts, recv_ts, event_id) first), so that no read sorts more than one
--   user's or one film's rows:
--   views (user_key, film_id, ts DESC): a user's history, resume position, continue
--     watching (ClickHouse: ORDER BY (user_key, film_id, ts, event_id));
--   likes (user_id, film_id, ts DESC, ...) INCLUDE (score): "is this film liked by me",
--     an index-only scan;
--   likes (film_id, user_id, ts DESC, ...) INCLUDE (score): a film's likes and dislikes
--     (the last score per user), an index-only scan in index order;
--   bookmarks (user_id, film_id, ts DESC, ...) INCLUDE (op): a user's bookmarks;
--   reviews (film_id, user_id, review_id, ts DESC, ...): a film's reviews in force.
ALTER TABLE views ADD PRIMARY KEY (event_id, ts);
CREATE INDEX views_user_film_ts ON views (user_key, film_id, ts DESC);
ALTER TABLE likes ADD PRIMARY KEY (event_id);
CREATE INDEX likes_user_film_ts ON likes (user_id, film_id, ts DESC, recv_ts DESC, event_id DESC) INCLUDE (score);
CREATE INDEX likes_film_user_ts ON likes (film_id, user_id, ts DESC, recv_ts DESC, event_id DESC) INCLUDE (score);
ALTER TABLE bookmarks ADD PRIMARY KEY (event_id);
CREATE INDEX bookmarks_user_film_ts ON bookmarks (user_id, film_id, ts DESC, recv_ts DESC, event_id DESC) INCLUDE (op);
ALTER TABLE reviews ADD PRIMARY KEY (event_id);
CREATE INDEX reviews_film_user_ts ON reviews (film_id, user_id, review_id, ts DESC, recv_ts DESC, event_id DESC);
