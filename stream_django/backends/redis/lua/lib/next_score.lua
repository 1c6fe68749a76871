-- next_score(z, now): the score of a new member of follow zset z. Scores grow
-- strictly within a set (a new member scores above the highest), so listings
-- keep the order of the follows.

local function next_score(z, now)
  local last = redis.call('ZREVRANGE', z, 0, 0, 'WITHSCORES')[2]
  if last and tonumber(last) >= now then return tonumber(last) + 1 end
  return now
end
