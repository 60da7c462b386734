SELECT film_id, ts AS last_ts, position_ms AS resume_ms, duration_ms
FROM (SELECT DISTINCT ON (film_id) film_id, ts, position_ms, duration_ms
      FROM views WHERE user_key = $1
      ORDER BY film_id, ts DESC, recv_ts DESC, event_id DESC) s
ORDER BY last_ts DESC, film_id
LIMIT 50
