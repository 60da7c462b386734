SELECT film_id, max(ts) AS bookmarked_ts
FROM ugc.bookmarks WHERE user_key = toUUID($1)
GROUP BY film_id
HAVING argMax(op, (ts, recv_ts, toString(event_id))) = 'add'
ORDER BY bookmarked_ts DESC, toString(film_id)
LIMIT 100
