SELECT film_id, count() AS viewers
FROM (SELECT film_id, user_key FROM ugc.views_by_user_film GROUP BY film_id, user_key)
GROUP BY film_id
ORDER BY viewers DESC, toString(film_id)
LIMIT 10
