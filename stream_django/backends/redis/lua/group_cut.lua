-- KEYS[1] B.g; ARGV: B, group name, how many activities to keep (0: the
-- whole group goes, as trimming to max_length drops it), at most how many to
-- cut, release ('1': drop the references of the cut entries here, one server
-- only), prefix. Cuts the group's oldest entries past the newest kept, a
-- bounded number per call; its counts keep counting them (a group left
-- empty goes). Returns {cut keys, 1 if more are left to cut else 0}.
--
-- requires: group_remove, release

local B, name, keep, limit = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local ge = B .. 'ge:' .. name
local n = redis.call('ZCARD', ge)
if n == 0 or n <= keep then return {{}, 0} end
local latest = redis.call('ZREVRANGE', ge, 0, 0)[1]
if keep > 0 then group_count(B, name, 0) end  -- a group stored before counts were kept
local cut = math.min(n - keep, limit)
local cut_keys = redis.call('ZRANGE', ge, 0, cut - 1)
redis.call('ZREMRANGEBYRANK', ge, 0, cut - 1)
for _, k in ipairs(cut_keys) do redis.call('HDEL', B .. 'x', k) end
if n - cut == 0 then drop_group(B, name, latest) end
if ARGV[5] == '1' then release_counts(ARGV[6], tally(cut_keys)) end
return {cut_keys, n - cut > keep and 1 or 0}
