-- KEYS[1] flat entries; ARGV: origin, then optionally the origin's followers
-- zset and this feed's id: nothing happens while the feed is among them (a
-- purge overtaken by a new follow). Removes every entry that came from that
-- origin (unfollow); O(feed), and feeds are bounded by max_length. Returns the
-- removed keys.

local e, origin = KEYS[1], ARGV[1]
if ARGV[2] and redis.call('ZSCORE', ARGV[2], ARGV[3]) then return {} end
local removed = {}
for _, m in ipairs(redis.call('ZRANGE', e, 0, -1)) do
  if string.sub(m, 32) == origin then
    redis.call('ZREM', e, m)
    removed[#removed + 1] = string.sub(m, 1, 31)
  end
end
return removed
