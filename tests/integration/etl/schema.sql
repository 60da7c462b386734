-- Fallback single-node schema for beacon-etl's tests and benchmarks, used
-- only when the schema owner's etl/schema/migrate.sh is absent.  One raw
-- table per beacon type, columns = the record keys (docs/beacon-protocol.md
-- section 6), ReplacingMergeTree by event_id: a re-sent row collapses on
-- merge, and `FINAL` gives the deduplicated view.
CREATE DATABASE IF NOT EXISTS ugc;
CREATE TABLE IF NOT EXISTS ugc.views (event_id UUID, type String, ts UInt64, recv_ts UInt64, node String, source String, user_id UUID, anon_id UUID, session_id UUID, film_id UUID, position_ms UInt32, duration_ms UInt32) ENGINE = ReplacingMergeTree() ORDER BY event_id;
CREATE TABLE IF NOT EXISTS ugc.player_events (event_id UUID, type String, ts UInt64, recv_ts UInt64, node String, source String, user_id UUID, anon_id UUID, session_id UUID, film_id UUID, event String, position_ms UInt32, duration_ms UInt32, `from` String, `to` String) ENGINE = ReplacingMergeTree() ORDER BY event_id;
CREATE TABLE IF NOT EXISTS ugc.page_views (event_id UUID, type String, ts UInt64, recv_ts UInt64, node String, source String, user_id UUID, anon_id UUID, session_id UUID, film_id UUID, url String, referrer String) ENGINE = ReplacingMergeTree() ORDER BY event_id;
CREATE TABLE IF NOT EXISTS ugc.actions (event_id UUID, type String, ts UInt64, recv_ts UInt64, node String, source String, user_id UUID, anon_id UUID, session_id UUID, film_id UUID, key String, value String) ENGINE = ReplacingMergeTree() ORDER BY event_id;
CREATE TABLE IF NOT EXISTS ugc.likes (event_id UUID, type String, ts UInt64, recv_ts UInt64, node String, source String, user_id UUID, anon_id UUID, session_id UUID, film_id UUID, score Int8) ENGINE = ReplacingMergeTree() ORDER BY event_id;
CREATE TABLE IF NOT EXISTS ugc.reviews (event_id UUID, type String, ts UInt64, recv_ts UInt64, node String, source String, user_id UUID, anon_id UUID, session_id UUID, film_id UUID, op String, review_id UUID, rating UInt8, text String) ENGINE = ReplacingMergeTree() ORDER BY event_id;
CREATE TABLE IF NOT EXISTS ugc.bookmarks (event_id UUID, type String, ts UInt64, recv_ts UInt64, node String, source String, user_id UUID, anon_id UUID, session_id UUID, film_id UUID, op String) ENGINE = ReplacingMergeTree() ORDER BY event_id;
