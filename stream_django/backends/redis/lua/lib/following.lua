-- following(z, members): the score in z of each of members (nil where absent),
-- a thousand members per ZMSCORE.

local function following(z, members)
  local out = {}
  for i = 1, #members, 1000 do
    local scores = redis.call('ZMSCORE', z, unpack(members, i, math.min(i + 999, #members)))
    for j = 1, #scores do out[i + j - 1] = scores[j] end
  end
  return out
end
