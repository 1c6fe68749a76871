-- Aggregated and notification feeds, with key base B (sd:{timeline_aggregated:1}:):
--   B.g            zset, scores 0: latest key .. group name (groups by recency)
--   B.ge:<group>   zset, scores 0: the activity keys of a group
--   B.ga:<group>   hash actor -> number of the group's activities by that actor
--                  (those cut by the per-group cap included)
--   B.gn           hash group -> activity_count (those cut included; absent in
--                  groups written before the cap: their count is ZCARD ge)
--   B.gc           hash group -> key of the activity that created the group
--   B.x            hash key -> JSON [group, actor, origin] (membership index)
--   B.us, B.ur     sets of unseen / unread group names (notification feeds)
--
-- drop_group(B, name, latest) deletes a group; remove_key(B, k, allowed) removes
-- activity k (when its origin is among allowed, if given) and returns whether
-- it did.

-- group_count(B, name, n) adds n to the activity count of group name (first
-- set from the kept entries in a group written before counts were kept).
local function group_count(B, name, n)
  if redis.call('HEXISTS', B .. 'gn', name) == 0 then
    redis.call('HSET', B .. 'gn', name, redis.call('ZCARD', B .. 'ge:' .. name))
  end
  return redis.call('HINCRBY', B .. 'gn', name, n)
end

local function drop_group(B, name, latest)
  redis.call('ZREM', B .. 'g', latest .. name)
  redis.call('UNLINK', B .. 'ge:' .. name, B .. 'ga:' .. name)
  redis.call('HDEL', B .. 'gc', name)
  redis.call('HDEL', B .. 'gn', name)
  redis.call('SREM', B .. 'us', name)
  redis.call('SREM', B .. 'ur', name)
end

local function remove_key(B, k, allowed)
  local v = redis.call('HGET', B .. 'x', k)
  if not v then return false end
  local t = cjson.decode(v)
  local name, actor, origin = t[1], t[2], t[3]
  if allowed and not allowed[origin] then return false end
  redis.call('HDEL', B .. 'x', k)
  local ge, ga = B .. 'ge:' .. name, B .. 'ga:' .. name
  local latest = redis.call('ZREVRANGE', ge, 0, 0)[1]
  group_count(B, name, -1)
  redis.call('ZREM', ge, k)
  if redis.call('HINCRBY', ga, actor, -1) <= 0 then redis.call('HDEL', ga, actor) end
  local newest = redis.call('ZREVRANGE', ge, 0, 0)[1]
  if not newest then
    drop_group(B, name, latest)
  elseif newest ~= latest then
    redis.call('ZREM', B .. 'g', latest .. name)
    redis.call('ZADD', B .. 'g', 0, newest .. name)
  end
  return true
end
