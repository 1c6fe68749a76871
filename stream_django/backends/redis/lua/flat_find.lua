-- KEYS[1] flat entries; ARGV keys. Returns {key, origin} pairs of the keys held.
--
-- requires: find

local found = {}
for i = 1, #ARGV do
  local m = find(KEYS[1], ARGV[i])
  if m then
    found[#found + 1] = ARGV[i]
    found[#found + 1] = string.sub(m, 32)
  end
end
return found
