-- flat_items(keys, origins), flat_add(e, maxlen, slack, items, added, trimmed):
-- write entries into flat entries e (a key already there is not written again),
-- appending the keys written to added; trim e back to maxlen once it holds more
-- than maxlen + slack, appending the keys trimmed to trimmed.

-- The members to write, with their lexical bounds, built once per batch.
local function flat_items(keys, origins)
  local items = {}
  for i, k in ipairs(keys) do
    items[i] = {k, '[' .. k, '(' .. k .. '\255', k .. origins[i]}
  end
  return items
end

local function flat_add(e, maxlen, slack, items, added, trimmed)
  for _, it in ipairs(items) do
    if not redis.call('ZRANGEBYLEX', e, it[2], it[3], 'LIMIT', 0, 1)[1] then
      redis.call('ZADD', e, 0, it[4])
      added[#added + 1] = it[1]
    end
  end
  if maxlen > 0 then
    local n = redis.call('ZCARD', e)
    if n > maxlen + slack then
      local doomed = redis.call('ZRANGE', e, 0, n - maxlen - 1)
      redis.call('ZREMRANGEBYRANK', e, 0, n - maxlen - 1)
      for _, m in ipairs(doomed) do trimmed[#trimmed + 1] = string.sub(m, 1, 31) end
    end
  end
end
