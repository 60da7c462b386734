SELECT film_id, bookmarked_ts FROM ugc.user_bookmarks WHERE user_id = toUUID($1)
ORDER BY bookmarked_ts DESC LIMIT 100
