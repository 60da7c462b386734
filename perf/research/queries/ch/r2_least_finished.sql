SELECT film_id, uniqExact(user_key) AS viewers,
       round(1 - uniqExactIf(user_key, max_position * 10 >= max_duration * 9) / viewers, 4) AS unfinished_share
FROM ugc.views_by_user_film
GROUP BY film_id
HAVING viewers >= 20
ORDER BY unfinished_share DESC, viewers DESC, toString(film_id)
LIMIT 10
