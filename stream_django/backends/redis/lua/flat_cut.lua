-- KEYS[1] flat entries; ARGV: how many to keep, at most how many to cut,
-- release ('1': drop the references of the cut entries here, one server
-- only), prefix. Cuts the oldest entries past the newest kept, a bounded
-- number per call. Returns {cut keys, 1 if more are left to cut else 0}.
--
-- requires: release

local e, keep, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local over = redis.call('ZCARD', e) - keep
if over <= 0 then return {{}, 0} end
local cut = math.min(over, limit)
local cut_keys = {}
for _, m in ipairs(redis.call('ZRANGE', e, 0, cut - 1)) do cut_keys[#cut_keys + 1] = string.sub(m, 1, 31) end
redis.call('ZREMRANGEBYRANK', e, 0, cut - 1)
if ARGV[3] == '1' then release_counts(ARGV[4], tally(cut_keys)) end
return {cut_keys, over > cut and 1 or 0}
