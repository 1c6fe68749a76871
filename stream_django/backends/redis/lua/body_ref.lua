-- KEYS[1] body, KEYS[2] references; ARGV: references to add. Returns 1 if
-- the body exists (a body that is gone takes no reference).

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('INCRBY', KEYS[2], tonumber(ARGV[1]))
return 1
