-- KEYS[1] the zset (B.fr of the followed feed, B.fg of the following one);
-- ARGV: counts hash, kept zset and holders zset ('' on the following side),
-- now (µs), then feeds. A follower leaves the kept set and joins the holders.
-- Returns how many follows were new.
--
-- requires: next_score

local z, counts, kept, holders = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local now = next_score(z, tonumber(ARGV[4]))
local added = 0
for i = 5, #ARGV do
  local f = ARGV[i]
  if not redis.call('ZSCORE', z, f) then
    redis.call('ZADD', z, string.format('%.0f', now), f)
    redis.call('HINCRBY', counts, string.match(f, '^[^:]*'), 1)
    now = now + 1
    added = added + 1
  end
  if kept ~= '' then
    redis.call('ZREM', kept, f)
    redis.call('ZADD', holders, 0, f)
  end
end
return added
