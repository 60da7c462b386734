SELECT coalesce((SELECT score FROM likes WHERE user_id = $1 AND film_id = $2
                 ORDER BY ts DESC, recv_ts DESC, event_id DESC LIMIT 1), 0) AS score
