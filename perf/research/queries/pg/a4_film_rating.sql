SELECT l.likes, l.dislikes, r.reviews, r.avg_rating
FROM (SELECT count(*) FILTER (WHERE score = 1) AS likes, count(*) FILTER (WHERE score = -1) AS dislikes
      FROM (SELECT DISTINCT ON (user_id) score FROM likes WHERE film_id = $1
            ORDER BY user_id, ts DESC, recv_ts DESC, event_id DESC) x) l,
     (SELECT count(*) AS reviews, coalesce(round(avg(rating), 4), 0) AS avg_rating
      FROM (SELECT DISTINCT ON (user_id, review_id) op, rating FROM reviews WHERE film_id = $1
            ORDER BY user_id, review_id, ts DESC, recv_ts DESC, event_id DESC) y
      WHERE op = 'post') r
