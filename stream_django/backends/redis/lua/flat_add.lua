-- KEYS[1] flat entries; ARGV: max_length (0 = unbounded), slack, then pairs
-- (key, origin). Returns {added keys, trimmed keys}.
--
-- requires: flat_add

local keys, origins, added, trimmed = {}, {}, {}, {}
for i = 3, #ARGV, 2 do
  keys[#keys + 1] = ARGV[i]
  origins[#origins + 1] = ARGV[i + 1]
end
flat_add(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), flat_items(keys, origins), added, trimmed)
return {added, trimmed}
