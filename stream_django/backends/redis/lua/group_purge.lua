-- KEYS[1] B.g; ARGV: B, origin, HSCAN cursor ('0' from the start), how many
-- entries to read, release ('1': drop the references of the removed
-- entries here, one server only), prefix, then optionally the origin's
-- followers zset and this feed's id (as FLAT_PURGE). Removes the entries that
-- came from origin among the next entries of the membership index, so one
-- call does a bounded amount of work whatever the feed's size. Returns
-- {removed keys, the cursor to resume at, '0' when done}.
--
-- requires: group_remove, release

local B, origin = ARGV[1], ARGV[2]
if ARGV[7] and redis.call('ZSCORE', ARGV[7], ARGV[8]) then return {{}, '0'} end
local scan = redis.call('HSCAN', B .. 'x', ARGV[3], 'COUNT', tonumber(ARGV[4]))
local all = scan[2]
local only = {[origin] = true}
local removed = {}
for i = 1, #all, 2 do
  if cjson.decode(all[i + 1])[3] == origin and remove_key(B, all[i], only) then
    removed[#removed + 1] = all[i]
  end
end
if ARGV[5] == '1' then release_counts(ARGV[6], tally(removed)) end
return {removed, scan[1]}
