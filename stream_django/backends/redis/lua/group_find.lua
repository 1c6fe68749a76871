-- KEYS[1] B.g; ARGV: B, keys. Returns {key, origin} pairs of the keys held.

local B = ARGV[1]
local found = {}
for i = 2, #ARGV do
  local v = redis.call('HGET', B .. 'x', ARGV[i])
  if v then
    found[#found + 1] = ARGV[i]
    found[#found + 1] = cjson.decode(v)[3]
  end
end
return found
