SELECT argMax(position_ms, (ts, recv_ts, toString(event_id))) AS resume_ms, max(duration_ms) AS duration_ms
FROM ugc.views WHERE user_key = toUUID($1) AND film_id = toUUID($2)
