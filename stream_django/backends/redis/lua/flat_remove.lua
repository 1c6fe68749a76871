-- KEYS[1] flat entries; ARGV: restrict ('1': only entries whose origin is
-- listed), n origins, the origins, then keys. Returns the removed keys.
--
-- requires: find

local e = KEYS[1]
local restrict = ARGV[1] == '1'
local norig = tonumber(ARGV[2])
local allowed = {}
for i = 3, 2 + norig do allowed[ARGV[i]] = true end
local removed = {}
for i = 3 + norig, #ARGV do
  local k = ARGV[i]
  local m = find(e, k)
  if m and (not restrict or allowed[string.sub(m, 32)]) then
    redis.call('ZREM', e, m)
    removed[#removed + 1] = k
  end
end
return removed
