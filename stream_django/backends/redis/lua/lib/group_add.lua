-- group_add(B, notify, maxlen, slack, per, keys, names, actors, origins, added, trimmed):
-- add activities to their groups (a key already there is not added again),
-- marking the groups unseen and unread in a notification feed; cut each group
-- written to its newest per activities (its count B.gn and actors B.ga keep
-- counting those cut); trim the feed back to maxlen groups once it holds more
-- than maxlen + slack. The keys written go to added, the keys cut or trimmed
-- to trimmed (a key both written and cut is in both). One call cuts at most
-- CUT_BUDGET entries per group cut and per trim, so a group stored before the
-- cap (or under a larger max_length) shrinks over several writes and never
-- stops the server (``manage.py stream_trim`` cuts the rest at once).

local CUT_BUDGET = 1000
--
-- requires: group_remove

local function group_add(B, notify, maxlen, slack, per, keys, names, actors, origins, added, trimmed)
  local g = B .. 'g'
  local touched = {}
  for i, k in ipairs(keys) do
    local name, actor = names[i], actors[i]
    if redis.call('HSETNX', B .. 'x', k, cjson.encode({name, actor, origins[i]})) == 1 then
      local ge = B .. 'ge:' .. name
      local latest = redis.call('ZREVRANGE', ge, 0, 0)[1]
      group_count(B, name, 1)
      redis.call('ZADD', ge, 0, k)
      touched[name] = true
      if not latest then
        redis.call('HSET', B .. 'gc', name, k)
        redis.call('ZADD', g, 0, k .. name)
      elseif k > latest then
        redis.call('ZREM', g, latest .. name)
        redis.call('ZADD', g, 0, k .. name)
      end
      redis.call('HINCRBY', B .. 'ga:' .. name, actor, 1)
      if notify then
        redis.call('SADD', B .. 'us', name)
        redis.call('SADD', B .. 'ur', name)
      end
      added[#added + 1] = k
    end
  end
  if per > 0 then
    for name in pairs(touched) do
      local ge = B .. 'ge:' .. name
      local cut = math.min(redis.call('ZCARD', ge) - per, CUT_BUDGET)
      if cut > 0 then
        for _, k in ipairs(redis.call('ZRANGE', ge, 0, cut - 1)) do
          redis.call('HDEL', B .. 'x', k)
          trimmed[#trimmed + 1] = k
        end
        redis.call('ZREMRANGEBYRANK', ge, 0, cut - 1)
      end
    end
  end
  if maxlen > 0 then
    local n = redis.call('ZCARD', g)
    if n > maxlen + slack then
      local budget = CUT_BUDGET
      for _, m in ipairs(redis.call('ZRANGE', g, 0, n - maxlen - 1)) do
        if budget <= 0 then break end
        local name = string.sub(m, 32)
        local ge = B .. 'ge:' .. name
        local keys = redis.call('ZRANGE', ge, 0, budget - 1)
        for _, k in ipairs(keys) do
          redis.call('HDEL', B .. 'x', k)
          trimmed[#trimmed + 1] = k
        end
        budget = budget - #keys
        if redis.call('ZCARD', ge) <= #keys then
          drop_group(B, name, string.sub(m, 1, 31))
        else
          redis.call('ZREMRANGEBYRANK', ge, 0, #keys - 1)
        end
      end
    end
  end
end
