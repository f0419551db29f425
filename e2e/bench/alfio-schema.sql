-- The part of alf.io's schema its reservation statement touches, with 2,000,000 free seats.
DROP TABLE IF EXISTS ticket;
DROP TABLE IF EXISTS tickets_reservation;
CREATE TABLE tickets_reservation (
    id       uuid PRIMARY KEY,
    validity timestamptz NOT NULL,
    status   text NOT NULL
);
CREATE TABLE ticket (
    id                     bigserial PRIMARY KEY,
    event_id               integer NOT NULL,
    category_id            integer,
    status                 text NOT NULL,
    tickets_reservation_id uuid
);
INSERT INTO ticket (event_id, category_id, status)
SELECT 1, 1, 'FREE' FROM generate_series(1, 2000000);
CREATE INDEX ticket_category_status ON ticket (event_id, category_id, status);
VACUUM ANALYZE ticket;
