-- KEYS[1] the holders zset; ARGV: size. Returns the members at positions
-- size, 2 * size, ... (1-based), stopping before the last member.

local n = redis.call('ZCARD', KEYS[1])
local size = tonumber(ARGV[1])
local marks = {}
for p = size, n - 1, size do
  marks[#marks + 1] = redis.call('ZRANGE', KEYS[1], p - 1, p - 1)[1]
end
return marks
