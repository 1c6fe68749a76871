-- find(e, k): the first member of flat entries e that is an entry of key k
-- (members [k, k .. '\255'): origins are UTF-8, which never contains byte 255).

local function find(e, k)
  return redis.call('ZRANGEBYLEX', e, '[' .. k, '(' .. k .. '\255', 'LIMIT', 0, 1)[1]
end
