-- KEYS[1] B.g; ARGV: B, notification ('1'/'0'), max groups (0 = unbounded),
-- slack, activities per group, then quads (key, group, actor, origin).
-- Returns {added, trimmed}.
--
-- requires: group_add

local keys, names, actors, origins, added, trimmed = {}, {}, {}, {}, {}, {}
-- An entry with an origin only while the feed follows it (see flat_add.lua).
local follows = ARGV[1] .. 'fg'
for i = 6, #ARGV, 4 do
  local origin = ARGV[i + 3]
  if origin == '' or redis.call('ZSCORE', follows, origin) then
    keys[#keys + 1], names[#names + 1] = ARGV[i], ARGV[i + 1]
    actors[#actors + 1], origins[#origins + 1] = ARGV[i + 2], origin
  end
end
group_add(ARGV[1], ARGV[2] == '1', tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), keys, names, actors, origins, added, trimmed)
return {added, trimmed}
