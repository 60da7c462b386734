SELECT film_id, uniqExact(user_key) AS viewers
FROM ugc.views
GROUP BY film_id
ORDER BY viewers DESC, toString(film_id)
LIMIT 10
