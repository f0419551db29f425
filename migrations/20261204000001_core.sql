-- Events, categories, seats and reservations: the flash-sale core.
--
-- Seats are rows, because tickets, attendees and check-ins attach to a seat. But the hot
-- path touches no seat row: each category keeps its free count split over
-- `category_stripes` rows, and a reservation decrements one stripe and records which. Concurrent reservations so lock different small rows instead
-- of meeting at the head of one queue, and a sold-out category is answered from a plain
-- read. Seat rows are given to reservations just after, in batches, by `assign_seats`,
-- which every process runs in the background: the counters guarantee there are enough.
--
-- Hot-path tables carry no foreign key to `events` or `categories` on purpose: checking one
-- takes a shared lock on the parent row, and thousands of reservations sharing a lock on one
-- event row is exactly the single hot spot this schema avoids. Integrity on those paths is
-- kept by the functions below, which are the only writers.

CREATE TABLE events (
    id                          bigserial PRIMARY KEY,
    slug                        text NOT NULL UNIQUE,
    name                        text NOT NULL,
    timezone                    text NOT NULL,
    currency                    text NOT NULL,
    starts_at                   timestamptz,
    ends_at                     timestamptz,
    sale_starts_at              timestamptz,
    sale_ends_at                timestamptz,
    check_in_opens_at           timestamptz,
    check_in_closes_at          timestamptz,
    max_tickets_per_reservation integer NOT NULL CHECK (max_tickets_per_reservation > 0),
    reservation_timeout_seconds integer NOT NULL CHECK (reservation_timeout_seconds > 0),
    payment_deadline_hours      integer NOT NULL CHECK (payment_deadline_hours > 0),
    created_at                  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE categories (
    id       bigserial PRIMARY KEY,
    event_id bigint NOT NULL REFERENCES events ON DELETE CASCADE,
    slug     text NOT NULL,
    name     text NOT NULL,
    price    numeric(12, 2) NOT NULL CHECK (price >= 0),
    position integer NOT NULL,
    seats    integer NOT NULL CHECK (seats >= 0),
    stripes  integer NOT NULL CHECK (stripes > 0),
    -- Where seat assignment goes on from: the seats below were all given out when it
    -- passed them. A hint, not a rule: released seats below it are found on wrap-around.
    assign_cursor integer NOT NULL DEFAULT 0,
    UNIQUE (event_id, slug)
);

-- Free seats of a category, per stripe. Small, hot, updated in place: a low fill factor
-- leaves room for HOT updates so the primary key index is not touched on every reservation.
CREATE TABLE category_stripes (
    category_id bigint NOT NULL REFERENCES categories ON DELETE CASCADE,
    stripe      integer NOT NULL,
    free        integer NOT NULL CHECK (free >= 0),
    PRIMARY KEY (category_id, stripe)
) WITH (fillfactor = 10);

CREATE TABLE reservations (
    id               uuid PRIMARY KEY,
    event_id         bigint NOT NULL,
    status           text NOT NULL
                     CHECK (status IN ('held', 'awaitingPayment', 'paid', 'cancelled', 'expired')),
    email            text,
    expires_at       timestamptz,
    -- What the reservation took, as parallel arrays: one entry per category, with the
    -- stripe its seats came off (and go back to when it is released).
    alloc_categories bigint[] NOT NULL,
    alloc_stripes    integer[] NOT NULL,
    alloc_quantities integer[] NOT NULL,
    seats_assigned   boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (cardinality(alloc_categories) = cardinality(alloc_stripes)
           AND cardinality(alloc_categories) = cardinality(alloc_quantities))
);
CREATE INDEX reservations_held_by_event ON reservations (event_id, expires_at)
    WHERE status = 'held';
CREATE INDEX reservations_awaiting_seats ON reservations (created_at)
    WHERE NOT seats_assigned AND status IN ('held', 'awaitingPayment', 'paid');

-- One row per seat. `reservation_id` is the single place a seat is given to a reservation,
-- so no seat can belong to two at once.
CREATE TABLE seats (
    category_id    bigint NOT NULL REFERENCES categories ON DELETE CASCADE,
    number         integer NOT NULL,
    reservation_id uuid,
    PRIMARY KEY (category_id, number)
);
CREATE INDEX seats_free ON seats (category_id, number) WHERE reservation_id IS NULL;
-- Seat rows change in bulk during a sale; vacuum them early so the free-seat index does
-- not fill with dead entries.
ALTER TABLE seats SET (autovacuum_vacuum_scale_factor = 0.02);
CREATE INDEX seats_by_reservation ON seats (reservation_id) WHERE reservation_id IS NOT NULL;

-- Idempotency-Key replays: the first request's status and body, per event, for 24 hours.
CREATE TABLE idempotency_keys (
    event_id     bigint NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    status       integer,
    body         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);

-- Takes `quantity` seats of one category off one of its stripes, or raises:
-- `not_enough_seats` (BX412) when the category has fewer seats left, `rebalance_needed`
-- (BX503) when it has enough but no stripe it could lock holds them all. Returns the
-- stripe taken from.
--
-- Deadlock freedom: a reservation never waits for a stripe lock while holding another
-- one. Stripes are locked with SKIP LOCKED, so a busy stripe is passed over rather than
-- waited for; only with `p_wait` (the last attempt of a request, after a rebalance) does
-- it wait, and then for one stripe per category, categories in ascending id order. The
-- seats left are moved between stripes by `rebalance_stripes`, a statement of its own.
CREATE FUNCTION take_from_stripe(p_category bigint, p_stripes integer, p_quantity integer,
                                 p_wait boolean)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    frees   integer[];
    n       integer;
    start   integer;
    s       integer;
BEGIN
    -- First try: one random stripe, no read of the others.
    s := floor(random() * p_stripes)::integer;
    PERFORM 1 FROM category_stripes
    WHERE category_id = p_category AND stripe = s AND free >= p_quantity
    FOR UPDATE SKIP LOCKED;
    IF FOUND THEN
        UPDATE category_stripes SET free = free - p_quantity
        WHERE category_id = p_category AND stripe = s;
        RETURN s;
    END IF;

    -- A plain read, no lock: a sold-out category is answered without contending.
    SELECT array_agg(free ORDER BY stripe) INTO frees
    FROM category_stripes WHERE category_id = p_category;
    n := coalesce(array_length(frees, 1), 0);
    IF n = 0 OR (SELECT sum(f) FROM unnest(frees) AS f) < p_quantity THEN
        RAISE EXCEPTION 'not_enough_seats' USING ERRCODE = 'BX412';
    END IF;

    -- Every stripe that looked able to hold the whole request, from a random start.
    start := floor(random() * n)::integer;
    FOR k IN 0 .. n - 1 LOOP
        s := (start + k) % n;
        CONTINUE WHEN frees[s + 1] < p_quantity;
        IF p_wait THEN
            PERFORM 1 FROM category_stripes
            WHERE category_id = p_category AND stripe = s AND free >= p_quantity
            FOR UPDATE;
        ELSE
            PERFORM 1 FROM category_stripes
            WHERE category_id = p_category AND stripe = s AND free >= p_quantity
            FOR UPDATE SKIP LOCKED;
        END IF;
        IF FOUND THEN
            UPDATE category_stripes SET free = free - p_quantity
            WHERE category_id = p_category AND stripe = s;
            RETURN s;
        END IF;
    END LOOP;

    -- Enough seats, but none of the stripes holds the request, or those that do are busy.
    RAISE EXCEPTION 'rebalance_needed' USING ERRCODE = 'BX503';
END
$$;

-- Gathers the seats left in each of the event's categories into as few stripes as leave
-- every one able to hold a whole reservation (at least twice the event's maximum), so the
-- last seats of a sale can still be taken one stripe at a time. Locks the stripes of each
-- category in ascending order and holds no other lock. Counters are only counts, so moving
-- seats between stripes changes nothing else.
CREATE FUNCTION rebalance_stripes(p_event text, p_categories text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c       record;
    total   integer;
    chunk   integer;
    m       integer;
BEGIN
    FOR c IN
        SELECT cat.id, cat.stripes, ev.max_tickets_per_reservation AS max
        FROM categories cat JOIN events ev ON ev.id = cat.event_id
        WHERE ev.slug = p_event AND cat.slug = ANY (p_categories)
        ORDER BY cat.id
    LOOP
        PERFORM 1 FROM category_stripes WHERE category_id = c.id ORDER BY stripe FOR UPDATE;
        SELECT coalesce(sum(free), 0) INTO total FROM category_stripes WHERE category_id = c.id;
        chunk := greatest(2 * c.max, 20);
        m := least(c.stripes, greatest(1, total / chunk));
        UPDATE category_stripes
        SET free = CASE WHEN stripe < m
                        THEN total / m + CASE WHEN stripe < total % m THEN 1 ELSE 0 END
                        ELSE 0 END
        WHERE category_id = c.id;
    END LOOP;
END
$$;

-- Creates a held reservation in one statement: checks the event's rules, takes the seats
-- off the counters, records what it took. Rule violations raise SQLSTATE BX4xx with the
-- API's error code as the message, which rolls the whole statement back. Returns the
-- hold's end.
CREATE FUNCTION reserve_seats(p_event text, p_categories text[], p_quantities integer[],
                              p_reservation uuid, p_email text, p_wait boolean)
RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
    ev         events%ROWTYPE;
    category_ids        bigint[];
    category_stripes    integer[];
    category_quantities integer[];
    total      integer;
    expires    timestamptz;
    categories bigint[] := '{}';
    stripes    integer[] := '{}';
    quantities integer[] := '{}';
BEGIN
    SELECT * INTO ev FROM events WHERE slug = p_event;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'event_not_found' USING ERRCODE = 'BX404';
    END IF;
    IF ev.sale_starts_at IS NOT NULL AND now() < ev.sale_starts_at THEN
        RAISE EXCEPTION 'sale_not_open' USING ERRCODE = 'BX422';
    END IF;
    IF ev.sale_ends_at IS NOT NULL AND now() >= ev.sale_ends_at THEN
        RAISE EXCEPTION 'sale_closed' USING ERRCODE = 'BX422';
    END IF;
    SELECT array_agg(c.id ORDER BY c.id), array_agg(c.stripes ORDER BY c.id),
           array_agg(q.quantity ORDER BY c.id)
    INTO category_ids, category_stripes, category_quantities
    FROM unnest(p_categories, p_quantities) AS q(slug, quantity)
    JOIN categories c ON c.event_id = ev.id AND c.slug = q.slug;
    IF coalesce(cardinality(category_ids), 0) <> cardinality(p_categories) THEN
        RAISE EXCEPTION 'unknown_category' USING ERRCODE = 'BX422';
    END IF;
    SELECT sum(q) INTO total FROM unnest(p_quantities) AS q;
    IF total > ev.max_tickets_per_reservation THEN
        RAISE EXCEPTION 'over_maximum' USING ERRCODE = 'BX422';
    END IF;

    FOR i IN 1 .. cardinality(category_ids) LOOP
        categories := categories || category_ids[i];
        stripes := stripes
            || take_from_stripe(category_ids[i], category_stripes[i], category_quantities[i],
                                p_wait);
        quantities := quantities || category_quantities[i];
    END LOOP;

    -- Whole seconds, rounded up: the API shows whole seconds, and a hold must never end
    -- before the time it shows.
    expires := date_trunc('second', now() + make_interval(secs => ev.reservation_timeout_seconds)
                                    + interval '999999 microseconds');
    INSERT INTO reservations (id, event_id, status, email, expires_at,
                              alloc_categories, alloc_stripes, alloc_quantities)
    VALUES (p_reservation, ev.id, 'held', p_email, expires, categories, stripes, quantities);
    RETURN expires;
END
$$;

-- Gives seat rows to reservations that have none yet, oldest first, at most `p_limit`
-- reservations per call; returns how many it served. Reservations another process is
-- serving are skipped. The counters already guarantee enough free seats exist, so a
-- shortfall is a bug and raises, rolling the batch back.
CREATE FUNCTION assign_seats(p_limit integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    res     record;
    served  integer := 0;
    c       bigint;
    need    integer;
    got     integer;
    picked  integer[];
    cursor_categories bigint[] := '{}';
    cursor_numbers    integer[] := '{}';
    k       integer;
BEGIN
    FOR res IN
        SELECT id, alloc_categories, alloc_quantities FROM reservations
        WHERE NOT seats_assigned AND status IN ('held', 'awaitingPayment', 'paid')
        ORDER BY created_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    LOOP
        FOR i IN 1 .. cardinality(res.alloc_categories) LOOP
            c := res.alloc_categories[i];
            need := res.alloc_quantities[i];
            k := array_position(cursor_categories, c);
            IF k IS NULL THEN
                cursor_categories := cursor_categories || c;
                cursor_numbers := cursor_numbers
                    || (SELECT assign_cursor FROM categories WHERE id = c);
                k := cardinality(cursor_categories);
            END IF;
            -- From the cursor on, then once more from the first seat for seats released
            -- behind it.
            FOR pass IN 1 .. 2 LOOP
                -- The numbers are picked first: an UPDATE ... IN (SELECT ... LIMIT) may be
                -- planned as a semi join that runs the LIMIT once per row.
                picked := ARRAY(
                    SELECT number FROM seats
                    WHERE category_id = c AND reservation_id IS NULL
                      AND number > CASE WHEN pass = 1 THEN cursor_numbers[k] ELSE 0 END
                    ORDER BY number LIMIT need
                    FOR UPDATE SKIP LOCKED);
                UPDATE seats SET reservation_id = res.id
                WHERE category_id = c AND number = ANY (picked) AND reservation_id IS NULL;
                GET DIAGNOSTICS got = ROW_COUNT;
                IF got <> cardinality(picked) THEN
                    RAISE EXCEPTION 'seat rows of category % changed under their lock', c;
                END IF;
                need := need - got;
                IF got > 0 THEN
                    cursor_numbers[k] := picked[got];
                END IF;
                EXIT WHEN need = 0;
            END LOOP;
            IF need > 0 THEN
                RAISE EXCEPTION 'category % has too few free seat rows for its counters', c;
            END IF;
        END LOOP;
        UPDATE reservations SET seats_assigned = true WHERE id = res.id;
        served := served + 1;
    END LOOP;
    UPDATE categories SET assign_cursor = cur.number
    FROM unnest(cursor_categories, cursor_numbers) AS cur(category, number)
    WHERE id = cur.category AND assign_cursor <> cur.number;
    RETURN served;
END
$$;

-- Gives back what reservations (whose rows the caller has locked) took, frees their seat
-- rows, and sets their status. All the stripes concerned are locked first, in
-- (category, stripe) order.
CREATE FUNCTION release_reservations(p_ids uuid[], p_status text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM category_stripes cs
    WHERE (cs.category_id, cs.stripe) IN (
        SELECT a.category, a.stripe
        FROM reservations r,
             unnest(r.alloc_categories, r.alloc_stripes) AS a(category, stripe)
        WHERE r.id = ANY (p_ids))
    ORDER BY cs.category_id, cs.stripe
    FOR UPDATE;

    UPDATE category_stripes cs SET free = cs.free + back.n
    FROM (SELECT a.category, a.stripe, sum(a.quantity)::integer AS n
          FROM reservations r,
               unnest(r.alloc_categories, r.alloc_stripes, r.alloc_quantities)
                 AS a(category, stripe, quantity)
          WHERE r.id = ANY (p_ids)
          GROUP BY 1, 2) AS back
    WHERE cs.category_id = back.category AND cs.stripe = back.stripe;

    UPDATE seats SET reservation_id = NULL WHERE reservation_id = ANY (p_ids);
    UPDATE reservations SET status = p_status, updated_at = now() WHERE id = ANY (p_ids);
END
$$;

-- Expires holds of one event past their end, at most `p_limit` per call. Rows another
-- sweeper has locked are skipped, so several processes sweep at once. Returns how many
-- reservations it expired.
CREATE FUNCTION expire_holds(p_event bigint, p_limit integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    SELECT array_agg(id) INTO ids FROM (
        SELECT id FROM reservations
        WHERE event_id = p_event AND status = 'held' AND expires_at <= now()
        ORDER BY expires_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED) AS due;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM release_reservations(ids, 'expired');
    RETURN array_length(ids, 1);
END
$$;

-- Cancels a held reservation and gives its seats back at once; returns the new status.
-- Raises `reservation_not_found` (BX404), or `conflict` (BX409) when it is not held. A
-- hold already past its end is expired instead, and the caller answers `conflict` for it.
CREATE FUNCTION cancel_hold(p_reservation uuid)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    res reservations%ROWTYPE;
BEGIN
    SELECT * INTO res FROM reservations WHERE id = p_reservation FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'reservation_not_found' USING ERRCODE = 'BX404';
    END IF;
    IF res.status <> 'held' THEN
        RAISE EXCEPTION 'conflict' USING ERRCODE = 'BX409';
    END IF;
    IF res.expires_at <= now() THEN
        PERFORM release_reservations(ARRAY[p_reservation], 'expired');
        RETURN 'expired';
    END IF;
    PERFORM release_reservations(ARRAY[p_reservation], 'cancelled');
    RETURN 'cancelled';
END
$$;
