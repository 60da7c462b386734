SELECT likes, dislikes, reviews, avg_rating
FROM (SELECT countIf(s = 1) AS likes, countIf(s = -1) AS dislikes, 1 AS k
      FROM (SELECT argMax(score, (ts, recv_ts, toString(event_id))) AS s
            FROM ugc.likes WHERE film_id = toUUID($1) GROUP BY user_id))
ANY INNER JOIN
     (SELECT count() AS reviews, if(count() = 0, 0, round(avg(r), 4)) AS avg_rating, 1 AS k
      FROM (SELECT argMax(op, (ts, recv_ts, toString(event_id))) AS o,
                   argMax(rating, (ts, recv_ts, toString(event_id))) AS r
            FROM ugc.reviews WHERE film_id = toUUID($1) GROUP BY user_id, review_id)
      WHERE o = 'post') USING k
