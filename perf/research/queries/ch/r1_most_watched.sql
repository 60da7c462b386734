SELECT film_id, uniqExact(user_key) AS viewers
FROM ugc.views_by_user_film
GROUP BY film_id
ORDER BY viewers DESC, toString(film_id)
LIMIT 10
