-- V002: apply_reviews decides a review's author before it folds the batch.
--
-- Why: V001 folded a batch to the newest write per review_id first and checked the author
-- only against an existing row.  When a review's first post and another user's write of the
-- same review_id (a newer delete, say) arrived in the same batch, the other user's write was
-- folded in, inserted, and became the review: the author's post was lost, and whether that
-- happened depended on where the batch boundaries fell (they move when the ETL restarts or
-- a rebalance drops a batch), so re-reading the same records could end in another state.
-- Now the author (and film) of each review_id is the existing row's, else the batch's
-- oldest write's by (ts, recv_ts, event_id); writes by anyone else, or naming another film,
-- are left out before the fold.  Same signature, same tables; re-applying a batch still
-- changes nothing.
CREATE OR REPLACE FUNCTION apply_reviews(r uuid[], f uuid[], u uuid[], ra smallint[], tx text[], d boolean[],
                                         t bigint[], rt bigint[], e uuid[])
RETURNS bigint LANGUAGE sql AS $$
    WITH x AS (
        SELECT * FROM unnest(r, f, u, ra, tx, d, t, rt, e)
            AS x(review_id, film_id, user_id, rating, text, deleted, ts, recv_ts, event_id)
    ), owner AS (
        SELECT DISTINCT ON (x.review_id) x.review_id,
               coalesce(v.user_id, x.user_id) AS user_id, coalesce(v.film_id, x.film_id) AS film_id
        FROM x LEFT JOIN reviews v ON v.review_id = x.review_id
        ORDER BY x.review_id, x.ts, x.recv_ts, x.event_id
    ), ins AS (
        INSERT INTO reviews AS v (review_id, film_id, user_id, rating, text, deleted, ts, recv_ts, event_id)
        SELECT DISTINCT ON (x.review_id) x.review_id, x.film_id, x.user_id, x.rating, x.text, x.deleted,
               x.ts, x.recv_ts, x.event_id
        FROM x JOIN owner o ON o.review_id = x.review_id AND o.user_id = x.user_id AND o.film_id = x.film_id
        ORDER BY x.review_id, x.ts DESC, x.recv_ts DESC, x.event_id DESC
        ON CONFLICT (review_id) DO UPDATE
        SET rating = EXCLUDED.rating, text = EXCLUDED.text, deleted = EXCLUDED.deleted,
            ts = EXCLUDED.ts, recv_ts = EXCLUDED.recv_ts, event_id = EXCLUDED.event_id
        WHERE v.user_id = EXCLUDED.user_id AND v.film_id = EXCLUDED.film_id
          AND (v.ts, v.recv_ts, v.event_id) < (EXCLUDED.ts, EXCLUDED.recv_ts, EXCLUDED.event_id)
        RETURNING 1)
    SELECT count(*) FROM ins
$$;
