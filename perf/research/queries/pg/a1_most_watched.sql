SELECT film_id, count(*) AS viewers
FROM (SELECT DISTINCT film_id, user_key FROM views) d
GROUP BY film_id
ORDER BY viewers DESC, film_id
LIMIT 10
