SELECT film_id, count(*) AS viewers,
       round(avg(CASE WHEN mp::bigint * 10 < d::bigint * 9 THEN 1 ELSE 0 END), 4) AS unfinished_share
FROM (SELECT film_id, user_key, max(position_ms) AS mp, max(duration_ms) AS d
      FROM views GROUP BY film_id, user_key) s
GROUP BY film_id
HAVING count(*) >= 20
ORDER BY unfinished_share DESC, viewers DESC, film_id
LIMIT 10
