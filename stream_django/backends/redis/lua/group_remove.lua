-- KEYS[1] B.g; ARGV: B, restrict, n origins, origins, keys. Returns removed keys.
--
-- requires: group_remove

local B = ARGV[1]
local norig = tonumber(ARGV[3])
local allowed = nil
if ARGV[2] == '1' then
  allowed = {}
  for i = 4, 3 + norig do allowed[ARGV[i]] = true end
end
local removed = {}
for i = 4 + norig, #ARGV do
  if remove_key(B, ARGV[i], allowed) then removed[#removed + 1] = ARGV[i] end
end
return removed
