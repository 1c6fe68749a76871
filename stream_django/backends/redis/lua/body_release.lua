-- KEYS[1] body, KEYS[2] references; ARGV: references to drop, prefix, key.
-- At zero, deletes the body, its count and its foreign-id index entry;
-- returns 1 when it did.
--
-- requires: release

return release(ARGV[2], KEYS[1], KEYS[2], tonumber(ARGV[1]), ARGV[3])
