SELECT film_id, max(ts) AS last_ts, argMax(position_ms, (ts, recv_ts, toString(event_id))) AS resume_ms,
       max(duration_ms) AS duration_ms
FROM ugc.views WHERE user_key = toUUID($1)
GROUP BY film_id
ORDER BY last_ts DESC, toString(film_id)
LIMIT 50
