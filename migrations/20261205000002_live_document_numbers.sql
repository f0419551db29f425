-- No two live documents (invoice or credit note) ever print the same number, whatever
-- patterns the organizer sets over time. The settings refuse patterns that would collide;
-- this index is the guard beyond what they can check.
CREATE UNIQUE INDEX invoices_live_number_text ON invoices (number) WHERE state <> 'voided';
