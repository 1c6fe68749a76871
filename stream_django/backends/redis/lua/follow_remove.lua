-- KEYS[1] the zset; ARGV: counts hash, kept zset and holders zset ('' on the
-- following side), keep history ('1'/'0'), now (µs), then feeds. A follower
-- that keeps its history joins the kept set and stays among the holders
-- (removals still reach its copies). Returns how many follows went.
--
-- requires: next_score

local z, counts, kept, holders, keep = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1'
local removed = 0
for i = 6, #ARGV do
  local f = ARGV[i]
  if redis.call('ZREM', z, f) == 1 then
    local slug = string.match(f, '^[^:]*')
    if redis.call('HINCRBY', counts, slug, -1) <= 0 then redis.call('HDEL', counts, slug) end
    removed = removed + 1
    if kept ~= '' and keep then
      redis.call('ZADD', kept, string.format('%.0f', next_score(kept, tonumber(ARGV[5]))), f)
    end
  end
  if kept ~= '' and not keep then
    redis.call('ZREM', kept, f)
    redis.call('ZREM', holders, f)
  end
end
return removed
