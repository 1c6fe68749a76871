-- KEYS[1] flat entries; ARGV: origin, the member to resume after ('' from
-- the start), how many members to read, release ('1': drop the references
-- of the removed entries here, one server only), prefix, then optionally
-- the origin's followers zset and this feed's id: nothing happens while the
-- feed is among them (a purge overtaken by a new follow). Removes the
-- entries that came from origin among the next members (unfollow), so one
-- call does a bounded amount of work whatever the feed's size. Returns
-- {removed keys, the member to resume after, '' when done}.
--
-- requires: release

local e, origin, limit = KEYS[1], ARGV[1], tonumber(ARGV[3])
if ARGV[6] and redis.call('ZSCORE', ARGV[6], ARGV[7]) then return {{}, ''} end
local low = ARGV[2] == '' and '-' or '(' .. ARGV[2]
local members = redis.call('ZRANGEBYLEX', e, low, '+', 'LIMIT', 0, limit)
local removed = {}
for _, m in ipairs(members) do
  if string.sub(m, 32) == origin then
    redis.call('ZREM', e, m)
    removed[#removed + 1] = string.sub(m, 1, 31)
  end
end
if ARGV[4] == '1' then release_counts(ARGV[5], tally(removed)) end
return {removed, #members == limit and members[#members] or ''}
