SELECT film_id, last_ts, round(share, 4), finished, resume_position_ms
FROM ugc.user_history WHERE user_key = toUUID($1)
