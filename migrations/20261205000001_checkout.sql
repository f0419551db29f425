-- Checkout: buyer details, payment, invoices and credit notes, tickets, check-in.
--
-- None of these tables is written by the reservation hot path (`reserve_seats`); they are
-- written when a buyer confirms, when an admin marks a reservation paid or cancels it, and
-- when a payment deadline passes. The new column of `categories` has a default, so the
-- hot path's statements are unchanged.

-- VAT rate (percent) of a category's price. Prices are what the buyer pays, VAT included.
ALTER TABLE categories
    ADD COLUMN vat_rate numeric(5, 2) NOT NULL DEFAULT 21.00
        CHECK (vat_rate >= 0 AND vat_rate < 100);

-- The organizer's seller details and document numbering: one row, since one shop database
-- is one organizer. `signing_master` is the random master key tickets are signed with
-- when no `TICKET_SIGNING_KEY` is configured, made once so that every replica agrees.
CREATE TABLE shop_settings (
    id                  boolean PRIMARY KEY DEFAULT true CHECK (id),
    seller_name         text NOT NULL DEFAULT '',
    seller_address      text NOT NULL DEFAULT '',
    seller_vat_number   text,
    seller_country      text NOT NULL DEFAULT 'BE',
    invoice_pattern     text NOT NULL DEFAULT '%d',
    credit_note_pattern text NOT NULL DEFAULT 'CN-%d',
    signing_master      bytea
);
INSERT INTO shop_settings DEFAULT VALUES;

-- What a buyer gave and chose at checkout, one row per reservation.
CREATE TABLE checkouts (
    reservation_id uuid PRIMARY KEY REFERENCES reservations ON DELETE CASCADE,
    email          text NOT NULL,
    first_name     text NOT NULL,
    last_name      text NOT NULL,
    -- [{firstName, lastName, email}], one per seat in item order, or empty.
    attendees      jsonb NOT NULL DEFAULT '[]',
    -- {company, vatNumber, address, country} when the buyer asked for an invoice.
    invoice        jsonb,
    payment        text CHECK (payment IN ('free', 'offline', 'onsite')),
    -- Belgian structured communication of a bank transfer, digits only.
    communication  text UNIQUE,
    amount_due     numeric(12, 2),
    -- The priced lines at confirmation: [{category, quantity, unitPrice, vatRate, net,
    -- vat, gross}].
    lines          jsonb,
    confirmed_at   timestamptz,
    paid_at        timestamptz
);

-- Document numbers: one counter per kind. Taking a number locks the kind's row until the
-- transaction ends, so numbers are handed out one transaction at a time and a rollback
-- gives its number back: no gaps.
CREATE TABLE document_sequences (
    kind text PRIMARY KEY CHECK (kind IN ('invoice', 'creditNote')),
    last integer NOT NULL DEFAULT 0 CHECK (last >= 0)
);
INSERT INTO document_sequences (kind) VALUES ('invoice'), ('creditNote');

-- Numbers of voided documents, reused lowest first before the counter moves on. The key
-- makes a number enter the pool once.
CREATE TABLE pooled_numbers (
    kind     text NOT NULL,
    sequence integer NOT NULL,
    PRIMARY KEY (kind, sequence)
);

-- Invoices and credit notes. A voided document keeps its row; its number may appear again
-- on a later live one, never on two live ones.
CREATE TABLE invoices (
    id             bigserial PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('invoice', 'creditNote')),
    sequence       integer NOT NULL CHECK (sequence > 0),
    number         text NOT NULL,
    state          text NOT NULL CHECK (state IN ('issued', 'paid', 'voided')),
    reservation_id uuid NOT NULL REFERENCES reservations,
    event_id       bigint NOT NULL REFERENCES events,
    -- The invoice a credit note cancels.
    refers_to      bigint REFERENCES invoices,
    issued_at      timestamptz NOT NULL DEFAULT now(),
    voided_at      timestamptz,
    currency       text NOT NULL,
    seller         jsonb NOT NULL,
    buyer          jsonb NOT NULL,
    lines          jsonb NOT NULL,
    reverse_charge boolean NOT NULL,
    net            numeric(12, 2) NOT NULL,
    vat            numeric(12, 2) NOT NULL,
    gross          numeric(12, 2) NOT NULL
);
CREATE UNIQUE INDEX invoices_live_number ON invoices (kind, sequence) WHERE state <> 'voided';
CREATE UNIQUE INDEX invoices_live_per_reservation ON invoices (reservation_id, kind)
    WHERE state <> 'voided';
CREATE INDEX invoices_by_event ON invoices (event_id, kind, sequence);

-- Tickets: one per seat of a confirmed reservation. `code` is random and unguessable.
CREATE TABLE tickets (
    code           text PRIMARY KEY,
    reservation_id uuid NOT NULL REFERENCES reservations,
    event_id       bigint NOT NULL REFERENCES events,
    category_id    bigint NOT NULL REFERENCES categories,
    seat_number    integer NOT NULL,
    first_name     text NOT NULL,
    last_name      text NOT NULL,
    email          text,
    state          text NOT NULL DEFAULT 'valid' CHECK (state IN ('valid', 'cancelled')),
    issued_at      timestamptz NOT NULL DEFAULT now(),
    checked_in_at  timestamptz
);
CREATE INDEX tickets_by_reservation ON tickets (reservation_id);
CREATE INDEX tickets_by_event ON tickets (event_id, category_id);
CREATE UNIQUE INDEX tickets_live_seat ON tickets (category_id, seat_number)
    WHERE state = 'valid';

-- Reservations waiting for a bank transfer, by deadline, for the sweep.
CREATE INDEX reservations_awaiting_payment ON reservations (expires_at)
    WHERE status = 'awaitingPayment';

-- Gives seat rows to one reservation now (whose row the caller has locked), if the
-- background pass has not yet: tickets are issued for seat rows. Seats another
-- transaction is assigning are skipped; the counters guarantee enough free ones.
CREATE FUNCTION assign_seats_of(p_reservation uuid)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    res    reservations%ROWTYPE;
    picked integer[];
    got    integer;
BEGIN
    SELECT * INTO res FROM reservations WHERE id = p_reservation;
    IF NOT FOUND OR res.seats_assigned THEN
        RETURN;
    END IF;
    FOR i IN 1 .. cardinality(res.alloc_categories) LOOP
        picked := ARRAY(
            SELECT number FROM seats
            WHERE category_id = res.alloc_categories[i] AND reservation_id IS NULL
            ORDER BY number LIMIT res.alloc_quantities[i]
            FOR UPDATE SKIP LOCKED);
        UPDATE seats SET reservation_id = p_reservation
        WHERE category_id = res.alloc_categories[i] AND number = ANY (picked)
          AND reservation_id IS NULL;
        GET DIAGNOSTICS got = ROW_COUNT;
        IF got <> res.alloc_quantities[i] THEN
            RAISE EXCEPTION 'category % has too few free seat rows for its counters',
                res.alloc_categories[i];
        END IF;
    END LOOP;
    UPDATE reservations SET seats_assigned = true WHERE id = p_reservation;
END
$$;

-- Where an event takes place, as printed on its tickets.
ALTER TABLE events ADD COLUMN venue text;
