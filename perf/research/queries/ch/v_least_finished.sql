SELECT film_id, viewers, unfinished_viewers, round(unfinished_share, 4), round(avg_stop_share, 4)
FROM ugc.least_finished LIMIT 10
