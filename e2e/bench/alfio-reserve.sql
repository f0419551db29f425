-- alf.io's way of taking seats, as one pgbench transaction: a reservation row, then 1-10
-- seats from the single queue of free seats, ORDER BY id LIMIT q FOR UPDATE SKIP LOCKED
-- (TicketRepository in alf.io), given to it.
\set q random(1, 10)
WITH r AS (
    INSERT INTO tickets_reservation (id, validity, status)
    VALUES (gen_random_uuid(), now() + interval '25 minutes', 'PENDING')
    RETURNING id
), picked AS (
    SELECT id FROM ticket
    WHERE event_id = 1 AND category_id = 1 AND status = 'FREE'
      AND tickets_reservation_id IS NULL
    ORDER BY id LIMIT :q
    FOR UPDATE SKIP LOCKED
)
UPDATE ticket t SET status = 'PENDING', tickets_reservation_id = r.id
FROM r, picked WHERE t.id = picked.id;
