SELECT likes, dislikes, reviews, round(avg_review_rating, 4)
FROM ugc.film_ratings WHERE film_id = toUUID($1)
