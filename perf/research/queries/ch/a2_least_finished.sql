SELECT film_id, count() AS viewers, round(countIf(mp * 10 < d * 9) / count(), 4) AS unfinished_share
FROM (SELECT film_id, user_key, max(position_ms) AS mp, max(duration_ms) AS d
      FROM ugc.views GROUP BY film_id, user_key)
GROUP BY film_id
HAVING viewers >= 20
ORDER BY unfinished_share DESC, viewers DESC, toString(film_id)
LIMIT 10
