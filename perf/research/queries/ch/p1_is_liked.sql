SELECT argMax(score, (ts, recv_ts, toString(event_id))) AS score
FROM ugc.likes WHERE user_key = toUUID($1) AND film_id = toUUID($2)
