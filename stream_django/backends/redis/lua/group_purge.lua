-- KEYS[1] B.g; ARGV: B, origin, then optionally the origin's followers zset
-- and this feed's id (as FLAT_PURGE). Removes the entries that came from
-- origin; returns their keys.
--
-- requires: group_remove

local B, origin = ARGV[1], ARGV[2]
if ARGV[3] and redis.call('ZSCORE', ARGV[3], ARGV[4]) then return {} end
local doomed = {}
local all = redis.call('HGETALL', B .. 'x')
for i = 1, #all, 2 do
  if cjson.decode(all[i + 1])[3] == origin then doomed[#doomed + 1] = all[i] end
end
local only = {[origin] = true}
local removed = {}
for _, k in ipairs(doomed) do
  if remove_key(B, k, only) then removed[#removed + 1] = k end
end
return removed
