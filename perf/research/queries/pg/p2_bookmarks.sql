SELECT film_id, ts AS bookmarked_ts
FROM (SELECT DISTINCT ON (film_id) film_id, op, ts FROM bookmarks WHERE user_id = $1
      ORDER BY film_id, ts DESC, recv_ts DESC, event_id DESC) s
WHERE op = 'add'
ORDER BY bookmarked_ts DESC, film_id
LIMIT 100
