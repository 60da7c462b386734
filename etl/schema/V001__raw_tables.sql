-- V001: the raw tables, one per beacon type (docs/data-model.md).
-- A template applied by etl/schema/migrate.sh (once per node; recorded in
-- ugc.schema_migrations).  Statements end with ';' at the end of a line.
-- Placeholders:
--   @LOCAL@           ''  (single)  |  '_local' (cluster)
--   @ENGINE(name)@    ReplacingMergeTree()  |
--                     ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/ugc/name', '{replica}')
--   @DISTRIBUTED(name)@  nothing (single)  |  CREATE TABLE IF NOT EXISTS ugc.name with the columns of
--                     ugc.name_local (MATERIALIZED ones as ALIAS) ENGINE = Distributed(cluster, ugc,
--                     name_local, cityHash64(toString(<user_key expression>)))
--   @NIL@             toUUID('00000000-0000-0000-0000-000000000000')
--
-- Every table ends with three MATERIALIZED columns derived from the record (never sent by the
-- ETL, not returned by SELECT *): user_key (user_id, or anon_id for an anonymous client: the
-- identity the answers use and the cluster shards by), event_time and event_date (from the
-- client's ts, UTC; event_date drives the monthly partitions).
-- Column names are exactly the keys of the record (docs/beacon-protocol.md §6): the ETL inserts
-- the record unchanged with INSERT INTO ugc.<table> FORMAT JSONEachRow.  Every row is kept;
-- ReplacingMergeTree with event_id last in the sorting key collapses re-inserted duplicates in
-- merges, and the answers never depend on that having happened (R__answers.sql).
-- No TTL (ClickHouse 18.16 has none): retention is ALTER TABLE ... DROP PARTITION by month.

CREATE DATABASE IF NOT EXISTS ugc;

-- view heartbeats: "the player is at position_ms of a duration_ms film".
CREATE TABLE IF NOT EXISTS ugc.views@LOCAL@ (
    event_id    UUID,
    type        String,
    ts          Int64,
    recv_ts     Int64,
    node        String,
    source      String,
    user_id     UUID,
    anon_id     UUID,
    session_id  UUID,
    film_id     UUID,
    position_ms UInt32,
    duration_ms UInt32,
    user_key    UUID MATERIALIZED if(user_id != @NIL@, user_id, anon_id),
    event_time  DateTime('UTC') MATERIALIZED toDateTime(intDiv(ts, 1000), 'UTC'),
    event_date  Date MATERIALIZED toDate(toDateTime(intDiv(ts, 1000), 'UTC'))
) ENGINE = @ENGINE(views)@
PARTITION BY toYYYYMM(event_date)
ORDER BY (user_key, film_id, ts, event_id);

@DISTRIBUTED(views)@;

-- player telemetry: open, play, pause, seek, quality/audio/subtitle changes, buffering, finish...
CREATE TABLE IF NOT EXISTS ugc.player_events@LOCAL@ (
    event_id    UUID,
    type        String,
    ts          Int64,
    recv_ts     Int64,
    node        String,
    source      String,
    user_id     UUID,
    anon_id     UUID,
    session_id  UUID,
    film_id     UUID,
    event       String,
    position_ms UInt32,
    duration_ms UInt32,
    `from`      String,
    `to`        String,
    user_key    UUID MATERIALIZED if(user_id != @NIL@, user_id, anon_id),
    event_time  DateTime('UTC') MATERIALIZED toDateTime(intDiv(ts, 1000), 'UTC'),
    event_date  Date MATERIALIZED toDate(toDateTime(intDiv(ts, 1000), 'UTC'))
) ENGINE = @ENGINE(player_events)@
PARTITION BY toYYYYMM(event_date)
ORDER BY (user_key, film_id, ts, event_id);

@DISTRIBUTED(player_events)@;

CREATE TABLE IF NOT EXISTS ugc.page_views@LOCAL@ (
    event_id    UUID,
    type        String,
    ts          Int64,
    recv_ts     Int64,
    node        String,
    source      String,
    user_id     UUID,
    anon_id     UUID,
    session_id  UUID,
    film_id     UUID,
    url         String,
    referrer    String,
    user_key    UUID MATERIALIZED if(user_id != @NIL@, user_id, anon_id),
    event_time  DateTime('UTC') MATERIALIZED toDateTime(intDiv(ts, 1000), 'UTC'),
    event_date  Date MATERIALIZED toDate(toDateTime(intDiv(ts, 1000), 'UTC'))
) ENGINE = @ENGINE(page_views)@
PARTITION BY toYYYYMM(event_date)
ORDER BY (event_date, url, event_id);

@DISTRIBUTED(page_views)@;

-- generic key/value actions (trailer_click, search, ...).
CREATE TABLE IF NOT EXISTS ugc.actions@LOCAL@ (
    event_id    UUID,
    type        String,
    ts          Int64,
    recv_ts     Int64,
    node        String,
    source      String,
    user_id     UUID,
    anon_id     UUID,
    session_id  UUID,
    film_id     UUID,
    `key`       String,
    `value`     String,
    user_key    UUID MATERIALIZED if(user_id != @NIL@, user_id, anon_id),
    event_time  DateTime('UTC') MATERIALIZED toDateTime(intDiv(ts, 1000), 'UTC'),
    event_date  Date MATERIALIZED toDate(toDateTime(intDiv(ts, 1000), 'UTC'))
) ENGINE = @ENGINE(actions)@
PARTITION BY toYYYYMM(event_date)
ORDER BY (`key`, event_date, event_id);

@DISTRIBUTED(actions)@;

-- likes: score 1 like, -1 dislike, 0 remove (authenticated users only).
CREATE TABLE IF NOT EXISTS ugc.likes@LOCAL@ (
    event_id    UUID,
    type        String,
    ts          Int64,
    recv_ts     Int64,
    node        String,
    source      String,
    user_id     UUID,
    anon_id     UUID,
    session_id  UUID,
    film_id     UUID,
    score       Int8,
    user_key    UUID MATERIALIZED if(user_id != @NIL@, user_id, anon_id),
    event_time  DateTime('UTC') MATERIALIZED toDateTime(intDiv(ts, 1000), 'UTC'),
    event_date  Date MATERIALIZED toDate(toDateTime(intDiv(ts, 1000), 'UTC'))
) ENGINE = @ENGINE(likes)@
PARTITION BY toYYYYMM(event_date)
ORDER BY (user_key, film_id, ts, event_id);

@DISTRIBUTED(likes)@;

-- reviews: op post (text, rating 1..10) or delete, per review_id.
CREATE TABLE IF NOT EXISTS ugc.reviews@LOCAL@ (
    event_id    UUID,
    type        String,
    ts          Int64,
    recv_ts     Int64,
    node        String,
    source      String,
    user_id     UUID,
    anon_id     UUID,
    session_id  UUID,
    film_id     UUID,
    op          String,
    review_id   UUID,
    rating      UInt8,
    `text`      String,
    user_key    UUID MATERIALIZED if(user_id != @NIL@, user_id, anon_id),
    event_time  DateTime('UTC') MATERIALIZED toDateTime(intDiv(ts, 1000), 'UTC'),
    event_date  Date MATERIALIZED toDate(toDateTime(intDiv(ts, 1000), 'UTC'))
) ENGINE = @ENGINE(reviews)@
PARTITION BY toYYYYMM(event_date)
ORDER BY (film_id, review_id, ts, event_id);

@DISTRIBUTED(reviews)@;

-- bookmarks: op add or remove.
CREATE TABLE IF NOT EXISTS ugc.bookmarks@LOCAL@ (
    event_id    UUID,
    type        String,
    ts          Int64,
    recv_ts     Int64,
    node        String,
    source      String,
    user_id     UUID,
    anon_id     UUID,
    session_id  UUID,
    film_id     UUID,
    op          String,
    user_key    UUID MATERIALIZED if(user_id != @NIL@, user_id, anon_id),
    event_time  DateTime('UTC') MATERIALIZED toDateTime(intDiv(ts, 1000), 'UTC'),
    event_date  Date MATERIALIZED toDate(toDateTime(intDiv(ts, 1000), 'UTC'))
) ENGINE = @ENGINE(bookmarks)@
PARTITION BY toYYYYMM(event_date)
ORDER BY (user_key, film_id, ts, event_id);

@DISTRIBUTED(bookmarks)@;
