SELECT position_ms AS resume_ms, duration_ms
FROM views WHERE user_key = $1 AND film_id = $2
ORDER BY ts DESC, recv_ts DESC, event_id DESC
LIMIT 1
