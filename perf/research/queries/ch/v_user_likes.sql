SELECT score FROM ugc.user_likes WHERE user_id = toUUID($1) AND film_id = toUUID($2)
