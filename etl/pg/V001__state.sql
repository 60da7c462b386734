-- V001: the current-state tables the read API (beacon-api, docs/read-api.md) answers from.
-- PostgreSQL 15.  Applied once per database by etl/pg/migrate.sh (recorded in
-- schema_migrations).  Fed by beacon-etl's PostgreSQL sink (etl/bcn_etl_pg.c), which
-- calls the apply_* functions below once per batch, inside one transaction, and commits
-- its Kafka offsets only after that transaction committed.
--
-- Why current state and not the raw events (as ClickHouse keeps them): the storage
-- research (docs/storage-research.md) measured the site's point reads on raw event
-- tables; "the film's rating" computed from like events collapsed PostgreSQL to 513 req/s.
-- Here every answer is one index range read of at most `limit` rows, and a film's rating
-- is one row of film_stats kept up to date by triggers in the same transaction.
--
-- Last write wins, by (ts, recv_ts, event_id): ts is the client's clock (a user's own
-- order of actions), recv_ts and event_id break ties.  Re-applying a batch (an ETL retry
-- after a timeout with unknown outcome, a rebalance, a crash before the offset commit)
-- changes nothing: an equal or older write never replaces a row, and the counters move
-- only when a row changes.  Removals are kept as rows (score 0, active false, deleted
-- true), so a remove that arrives before an older add still wins.
--
-- Only registered users' records are kept (the API answers /v1/me/* for a verified
-- token's user only); the sink drops anonymous heartbeats before they reach PostgreSQL.
-- Every apply_* function takes parallel arrays (one element per record, any order,
-- duplicates allowed), folds them to the newest write per key, and upserts in key
-- order (a stable lock order between concurrent writers).

CREATE TABLE IF NOT EXISTS likes (
    user_id  uuid     NOT NULL,
    film_id  uuid     NOT NULL,
    score    smallint NOT NULL,          -- 1 like, -1 dislike, 0 removed
    ts       bigint   NOT NULL,
    recv_ts  bigint   NOT NULL,
    event_id uuid     NOT NULL,
    PRIMARY KEY (user_id, film_id)
);

CREATE TABLE IF NOT EXISTS bookmarks (
    user_id  uuid    NOT NULL,
    film_id  uuid    NOT NULL,
    active   boolean NOT NULL,           -- false: removed
    ts       bigint  NOT NULL,
    recv_ts  bigint  NOT NULL,
    event_id uuid    NOT NULL,
    PRIMARY KEY (user_id, film_id)
);
-- GET /v1/me/bookmarks: newest first, keyset cursor (ts, film_id)
CREATE INDEX IF NOT EXISTS bookmarks_user_ts ON bookmarks (user_id, ts DESC, film_id DESC) WHERE active;

CREATE TABLE IF NOT EXISTS reviews (
    review_id uuid     NOT NULL PRIMARY KEY,
    film_id   uuid     NOT NULL,
    user_id   uuid     NOT NULL,         -- the author: only the author's writes apply
    rating    smallint NOT NULL,         -- 1..10 (0 on a delete)
    text      text     NOT NULL,
    deleted   boolean  NOT NULL,
    ts        bigint   NOT NULL,         -- of the last post (edit) or delete
    recv_ts   bigint   NOT NULL,
    event_id  uuid     NOT NULL
);
-- GET /v1/films/{id}/reviews: newest first, deleted ones hidden, keyset cursor (ts, review_id)
CREATE INDEX IF NOT EXISTS reviews_film_ts ON reviews (film_id, ts DESC, review_id DESC) WHERE NOT deleted;

-- Where a user is in a film: the newest view heartbeat, or a player "finish" event.
CREATE TABLE IF NOT EXISTS progress (
    user_id     uuid    NOT NULL,
    film_id     uuid    NOT NULL,
    position_ms bigint  NOT NULL,
    duration_ms bigint  NOT NULL,        -- 0: unknown
    finished    boolean NOT NULL,        -- "finish" event, or position >= 95 % of duration
    ts          bigint  NOT NULL,
    recv_ts     bigint  NOT NULL,
    event_id    uuid    NOT NULL,
    PRIMARY KEY (user_id, film_id)
);
-- GET /v1/me/history: every film, newest first; GET /v1/me/continue: unfinished ones
CREATE INDEX IF NOT EXISTS progress_user_ts ON progress (user_id, ts DESC, film_id DESC);
CREATE INDEX IF NOT EXISTS progress_user_open ON progress (user_id, ts DESC, film_id DESC) WHERE NOT finished;

-- GET /v1/films/{id}/rating: counters kept by the triggers below, in the same
-- transaction as the row they count.
CREATE TABLE IF NOT EXISTS film_stats (
    film_id    uuid   NOT NULL PRIMARY KEY,
    likes      bigint NOT NULL DEFAULT 0,
    dislikes   bigint NOT NULL DEFAULT 0,
    reviews    bigint NOT NULL DEFAULT 0,   -- reviews in force (not deleted)
    rating_sum bigint NOT NULL DEFAULT 0    -- sum of their ratings
);

CREATE OR REPLACE FUNCTION film_stats_add(f uuid, dl bigint, dd bigint, dr bigint, ds bigint)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO film_stats AS s (film_id, likes, dislikes, reviews, rating_sum)
    VALUES (f, dl, dd, dr, ds)
    ON CONFLICT (film_id) DO UPDATE SET likes = s.likes + dl, dislikes = s.dislikes + dd,
        reviews = s.reviews + dr, rating_sum = s.rating_sum + ds
$$;

CREATE OR REPLACE FUNCTION likes_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dl bigint := (NEW.score = 1)::int;
    dd bigint := (NEW.score = -1)::int;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        dl := dl - (OLD.score = 1)::int;
        dd := dd - (OLD.score = -1)::int;
    END IF;
    IF dl <> 0 OR dd <> 0 THEN
        PERFORM film_stats_add(NEW.film_id, dl, dd, 0, 0);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION reviews_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dr bigint := (NOT NEW.deleted)::int;
    ds bigint := CASE WHEN NEW.deleted THEN 0 ELSE NEW.rating END;
BEGIN
    IF TG_OP = 'UPDATE' AND NOT OLD.deleted THEN
        dr := dr - 1;
        ds := ds - OLD.rating;
    END IF;
    IF dr <> 0 OR ds <> 0 THEN
        PERFORM film_stats_add(NEW.film_id, 0, 0, dr, ds);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS likes_count ON likes;
CREATE TRIGGER likes_count AFTER INSERT OR UPDATE ON likes FOR EACH ROW EXECUTE FUNCTION likes_count();
DROP TRIGGER IF EXISTS reviews_count ON reviews;
CREATE TRIGGER reviews_count AFTER INSERT OR UPDATE ON reviews FOR EACH ROW EXECUTE FUNCTION reviews_count();

-- apply_likes(user_id[], film_id[], score[], ts[], recv_ts[], event_id[]): rows changed.
CREATE OR REPLACE FUNCTION apply_likes(u uuid[], f uuid[], sc smallint[], t bigint[], rt bigint[], e uuid[])
RETURNS bigint LANGUAGE sql AS $$
    WITH ins AS (
        INSERT INTO likes AS l (user_id, film_id, score, ts, recv_ts, event_id)
        SELECT DISTINCT ON (user_id, film_id) user_id, film_id, score, ts, recv_ts, event_id
        FROM unnest(u, f, sc, t, rt, e) AS x(user_id, film_id, score, ts, recv_ts, event_id)
        ORDER BY user_id, film_id, ts DESC, recv_ts DESC, event_id DESC
        ON CONFLICT (user_id, film_id) DO UPDATE
        SET score = EXCLUDED.score, ts = EXCLUDED.ts, recv_ts = EXCLUDED.recv_ts, event_id = EXCLUDED.event_id
        WHERE (l.ts, l.recv_ts, l.event_id) < (EXCLUDED.ts, EXCLUDED.recv_ts, EXCLUDED.event_id)
        RETURNING 1)
    SELECT count(*) FROM ins
$$;

-- apply_bookmarks(user_id[], film_id[], active[], ts[], recv_ts[], event_id[]): rows changed.
CREATE OR REPLACE FUNCTION apply_bookmarks(u uuid[], f uuid[], a boolean[], t bigint[], rt bigint[], e uuid[])
RETURNS bigint LANGUAGE sql AS $$
    WITH ins AS (
        INSERT INTO bookmarks AS b (user_id, film_id, active, ts, recv_ts, event_id)
        SELECT DISTINCT ON (user_id, film_id) user_id, film_id, active, ts, recv_ts, event_id
        FROM unnest(u, f, a, t, rt, e) AS x(user_id, film_id, active, ts, recv_ts, event_id)
        ORDER BY user_id, film_id, ts DESC, recv_ts DESC, event_id DESC
        ON CONFLICT (user_id, film_id) DO UPDATE
        SET active = EXCLUDED.active, ts = EXCLUDED.ts, recv_ts = EXCLUDED.recv_ts, event_id = EXCLUDED.event_id
        WHERE (b.ts, b.recv_ts, b.event_id) < (EXCLUDED.ts, EXCLUDED.recv_ts, EXCLUDED.event_id)
        RETURNING 1)
    SELECT count(*) FROM ins
$$;

-- apply_reviews(review_id[], film_id[], user_id[], rating[], text[], deleted[], ts[], recv_ts[],
-- event_id[]): rows changed.  A post or delete of a review_id that another user wrote is
-- ignored (a review belongs to the user who first wrote it), as is one naming another film.
CREATE OR REPLACE FUNCTION apply_reviews(r uuid[], f uuid[], u uuid[], ra smallint[], tx text[], d boolean[],
                                         t bigint[], rt bigint[], e uuid[])
RETURNS bigint LANGUAGE sql AS $$
    WITH ins AS (
        INSERT INTO reviews AS v (review_id, film_id, user_id, rating, text, deleted, ts, recv_ts, event_id)
        SELECT DISTINCT ON (review_id) review_id, film_id, user_id, rating, text, deleted, ts, recv_ts, event_id
        FROM unnest(r, f, u, ra, tx, d, t, rt, e) AS x(review_id, film_id, user_id, rating, text, deleted, ts, recv_ts, event_id)
        ORDER BY review_id, ts DESC, recv_ts DESC, event_id DESC
        ON CONFLICT (review_id) DO UPDATE
        SET rating = EXCLUDED.rating, text = EXCLUDED.text, deleted = EXCLUDED.deleted,
            ts = EXCLUDED.ts, recv_ts = EXCLUDED.recv_ts, event_id = EXCLUDED.event_id
        WHERE v.user_id = EXCLUDED.user_id AND v.film_id = EXCLUDED.film_id
          AND (v.ts, v.recv_ts, v.event_id) < (EXCLUDED.ts, EXCLUDED.recv_ts, EXCLUDED.event_id)
        RETURNING 1)
    SELECT count(*) FROM ins
$$;

-- apply_progress(user_id[], film_id[], position_ms[], duration_ms[], finish[], ts[], recv_ts[],
-- event_id[]): rows changed.  finish: the record is a player "finish" event.  A duration of 0
-- (unknown) keeps the one known; finished = a finish event, or position >= 95 % of a known
-- duration.
CREATE OR REPLACE FUNCTION apply_progress(u uuid[], f uuid[], p bigint[], du bigint[], fin boolean[],
                                          t bigint[], rt bigint[], e uuid[])
RETURNS bigint LANGUAGE sql AS $$
    WITH ins AS (
        INSERT INTO progress AS g (user_id, film_id, position_ms, duration_ms, finished, ts, recv_ts, event_id)
        SELECT DISTINCT ON (user_id, film_id) user_id, film_id, position_ms, duration_ms,
               fin OR (duration_ms > 0 AND position_ms * 20 >= duration_ms * 19), ts, recv_ts, event_id
        FROM unnest(u, f, p, du, fin, t, rt, e) AS x(user_id, film_id, position_ms, duration_ms, fin, ts, recv_ts, event_id)
        ORDER BY user_id, film_id, ts DESC, recv_ts DESC, event_id DESC
        ON CONFLICT (user_id, film_id) DO UPDATE
        SET position_ms = EXCLUDED.position_ms,
            duration_ms = CASE WHEN EXCLUDED.duration_ms > 0 THEN EXCLUDED.duration_ms ELSE g.duration_ms END,
            finished = EXCLUDED.finished OR (EXCLUDED.duration_ms = 0 AND g.duration_ms > 0
                                             AND EXCLUDED.position_ms * 20 >= g.duration_ms * 19),
            ts = EXCLUDED.ts, recv_ts = EXCLUDED.recv_ts, event_id = EXCLUDED.event_id
        WHERE (g.ts, g.recv_ts, g.event_id) < (EXCLUDED.ts, EXCLUDED.recv_ts, EXCLUDED.event_id)
        RETURNING 1)
    SELECT count(*) FROM ins
$$;
