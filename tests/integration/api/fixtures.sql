-- Fixtures of tests/integration/test_api.sh, written through the same apply_*
-- functions beacon-etl's PostgreSQL sink calls (etl/pg/V001__state.sql), in
-- several batches so that later writes change or remove earlier ones.
--   users  U1 1111..., U2 2222..., U3 3333...
--   films  F1 aaaa..., F2 bbbb..., F3 cccc..., F4 dddd..., F5 eeee... (nothing)
\set ON_ERROR_STOP 1
\set U1 '11111111-1111-4111-8111-111111111111'
\set U2 '22222222-2222-4222-8222-222222222222'
\set U3 '33333333-3333-4333-8333-333333333333'
\set F1 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'
\set F2 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb'
\set F3 'cccccccc-cccc-4ccc-8ccc-cccccccccccc'
\set F4 'dddddddd-dddd-4ddd-8ddd-dddddddddddd'

-- likes: U1 likes F1 then changes to a dislike; U1 likes F2 then removes it;
-- U2 likes F1; U1 likes F3
SELECT apply_likes(ARRAY[:'U1', :'U1', :'U2', :'U1']::uuid[], ARRAY[:'F1', :'F2', :'F1', :'F3']::uuid[],
                   ARRAY[1, 1, 1, 1]::smallint[], ARRAY[1000, 1000, 1500, 1100]::bigint[],
                   ARRAY[1, 1, 1, 1]::bigint[],
                   ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid()]);
SELECT apply_likes(ARRAY[:'U1', :'U1']::uuid[], ARRAY[:'F1', :'F2']::uuid[],
                   ARRAY[-1, 0]::smallint[], ARRAY[2000, 3000]::bigint[], ARRAY[2, 2]::bigint[],
                   ARRAY[gen_random_uuid(), gen_random_uuid()]);

-- bookmarks: U1 adds F1..F4, then removes F2; U2 adds F1
SELECT apply_bookmarks(ARRAY[:'U1', :'U1', :'U1', :'U1', :'U2']::uuid[],
                       ARRAY[:'F1', :'F2', :'F3', :'F4', :'F1']::uuid[],
                       ARRAY[true, true, true, true, true], ARRAY[100, 200, 300, 400, 50]::bigint[],
                       ARRAY[1, 1, 1, 1, 1]::bigint[],
                       ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),
                             gen_random_uuid()]);
SELECT apply_bookmarks(ARRAY[:'U1']::uuid[], ARRAY[:'F2']::uuid[], ARRAY[false], ARRAY[500]::bigint[],
                       ARRAY[2]::bigint[], ARRAY[gen_random_uuid()]);

-- reviews of F1: R1 (U1, quotes, a newline and a backslash), R2 (U2, edited
-- later into UTF-8 text), R3 (U3, deleted later), R4 (U3, a tab and a C0
-- control) and R5 (U1) with the same ts as R4 (order: review_id DESC)
SELECT apply_reviews(
    ARRAY['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002',
          '00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000004',
          '00000000-0000-4000-8000-000000000005']::uuid[],
    ARRAY[:'F1', :'F1', :'F1', :'F1', :'F1']::uuid[],
    ARRAY[:'U1', :'U2', :'U3', :'U3', :'U1']::uuid[],
    ARRAY[8, 6, 2, 9, 10]::smallint[],
    ARRAY[E'Great "film"\nwith a \\ backslash', 'ok', 'bad', E'tab\there, bell\x01', 'best'],
    ARRAY[false, false, false, false, false],
    ARRAY[1000, 2000, 3000, 5000, 5000]::bigint[], ARRAY[1, 1, 1, 1, 1]::bigint[],
    ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid()]);
SELECT apply_reviews(
    ARRAY['00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003']::uuid[],
    ARRAY[:'F1', :'F1']::uuid[], ARRAY[:'U2', :'U3']::uuid[], ARRAY[7, 0]::smallint[],
    ARRAY['better on rewatch — ünïcödé ✓', ''], ARRAY[false, true],
    ARRAY[4000, 3500]::bigint[], ARRAY[2, 2]::bigint[], ARRAY[gen_random_uuid(), gen_random_uuid()]);

-- progress of U1: F1 unfinished; F2 finished by position (>= 95 %); F3 a
-- finish event; F4 watched twice (the newer position wins)
SELECT apply_progress(ARRAY[:'U1', :'U1', :'U1', :'U1']::uuid[], ARRAY[:'F1', :'F2', :'F3', :'F4']::uuid[],
                      ARRAY[60000, 7000000, 1000, 300000]::bigint[], ARRAY[7200000, 7200000, 0, 5400000]::bigint[],
                      ARRAY[false, false, true, false], ARRAY[1000, 2000, 3000, 4000]::bigint[],
                      ARRAY[1, 1, 1, 1]::bigint[],
                      ARRAY[gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid()]);
SELECT apply_progress(ARRAY[:'U1']::uuid[], ARRAY[:'F4']::uuid[], ARRAY[600000]::bigint[],
                      ARRAY[5400000]::bigint[], ARRAY[false], ARRAY[4500]::bigint[], ARRAY[2]::bigint[],
                      ARRAY[gen_random_uuid()]);
