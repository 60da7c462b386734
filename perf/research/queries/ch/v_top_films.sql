SELECT film_id, viewers, finished_viewers, round(watched_hours, 2), round(avg_share, 4)
FROM ugc.top_films ORDER BY viewers DESC, watched_hours DESC, toString(film_id) LIMIT 10
