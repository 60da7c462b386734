-- PostgreSQL 15 schema of the storage research (docs/storage-research.md).
-- The same records as the project's ClickHouse tables (etl/schema/V001__raw_tables.sql),
-- column for column, so that both stores load the same TSV files unchanged.
--
-- views: partitioned by month on ts (client time, ms), like ClickHouse's
--   PARTITION BY toYYYYMM(event_date): retention drops a month; the stream phase's
--   rows land in the November partition.
-- likes, bookmarks, reviews: small (millions of rows), read by user or by film:
--   not partitioned (a per-user read would otherwise probe every month).
-- user_key: the identity every per-user answer uses (user_id, else anon_id), a stored
--   generated column, as ClickHouse's MATERIALIZED user_key.
-- Indexes (primary keys included) are created by indexes.sql *after* the bulk COPY
-- (the usual way to bulk-load PostgreSQL); the steady-rate stream then inserts into
-- the indexed tables.

CREATE TABLE views (
    event_id    uuid    NOT NULL,
    type        text    NOT NULL,
    ts          bigint  NOT NULL,
    recv_ts     bigint  NOT NULL,
    node        text    NOT NULL,
    source      text    NOT NULL,
    user_id     uuid    NOT NULL,
    anon_id     uuid    NOT NULL,
    session_id  uuid    NOT NULL,
    film_id     uuid    NOT NULL,
    position_ms integer NOT NULL,
    duration_ms integer NOT NULL,
    user_key    uuid GENERATED ALWAYS AS (
                    CASE WHEN user_id <> '00000000-0000-0000-0000-000000000000' THEN user_id ELSE anon_id END) STORED
) PARTITION BY RANGE (ts);
CREATE TABLE views_2026_08 PARTITION OF views FOR VALUES FROM (1785542400000) TO (1788220800000);
CREATE TABLE views_2026_09 PARTITION OF views FOR VALUES FROM (1788220800000) TO (1790812800000);
CREATE TABLE views_2026_10 PARTITION OF views FOR VALUES FROM (1790812800000) TO (1793491200000);
CREATE TABLE views_2026_11 PARTITION OF views FOR VALUES FROM (1793491200000) TO (1796083200000);
CREATE TABLE views_default PARTITION OF views DEFAULT;

CREATE TABLE likes (
    event_id    uuid     NOT NULL,
    type        text     NOT NULL,
    ts          bigint   NOT NULL,
    recv_ts     bigint   NOT NULL,
    node        text     NOT NULL,
    source      text     NOT NULL,
    user_id     uuid     NOT NULL,
    anon_id     uuid     NOT NULL,
    session_id  uuid     NOT NULL,
    film_id     uuid     NOT NULL,
    score       smallint NOT NULL
);

CREATE TABLE reviews (
    event_id    uuid     NOT NULL,
    type        text     NOT NULL,
    ts          bigint   NOT NULL,
    recv_ts     bigint   NOT NULL,
    node        text     NOT NULL,
    source      text     NOT NULL,
    user_id     uuid     NOT NULL,
    anon_id     uuid     NOT NULL,
    session_id  uuid     NOT NULL,
    film_id     uuid     NOT NULL,
    op          text     NOT NULL,
    review_id   uuid     NOT NULL,
    rating      smallint NOT NULL,
    text        text     NOT NULL
);

CREATE TABLE bookmarks (
    event_id    uuid    NOT NULL,
    type        text    NOT NULL,
    ts          bigint  NOT NULL,
    recv_ts     bigint  NOT NULL,
    node        text    NOT NULL,
    source      text    NOT NULL,
    user_id     uuid    NOT NULL,
    anon_id     uuid    NOT NULL,
    session_id  uuid    NOT NULL,
    film_id     uuid    NOT NULL,
    op          text    NOT NULL
);
