-- KEYS[1] flat entries; ARGV: max_length (0 = unbounded), slack, then pairs
-- (key, origin). Returns {added keys, trimmed keys}. KEYS[1] is B.e; B.fg
-- (the feed's follows) is read too.
--
-- requires: flat_add

-- An entry with an origin is written only while the feed follows it (the
-- feed's "fg", same slot): an unfollow that overtook the fan-out has taken
-- the follow away first and purges after, so nothing stays behind it.
local keys, origins, added, trimmed = {}, {}, {}, {}
local follows = string.sub(KEYS[1], 1, -2) .. 'fg'
for i = 3, #ARGV, 2 do
  local origin = ARGV[i + 1]
  if origin == '' or redis.call('ZSCORE', follows, origin) then
    keys[#keys + 1] = ARGV[i]
    origins[#origins + 1] = origin
  end
end
flat_add(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), flat_items(keys, origins), added, trimmed)
return {added, trimmed}
