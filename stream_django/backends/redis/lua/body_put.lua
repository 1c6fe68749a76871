-- KEYS[1] body, KEYS[2] references; ARGV: json, foreign id, references to
-- add, prefix, key. Stores the body, indexes its foreign id and returns the
-- new reference count.
--
-- requires: fid_index

redis.call('SET', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then
  local index = fid_index(ARGV[4], KEYS[1], ARGV[2])
  local held = redis.call('GET', index)
  if not held then
    redis.call('SET', index, ARGV[5])
  elseif not string.find(' ' .. held .. ' ', ' ' .. ARGV[5] .. ' ', 1, true) then
    redis.call('SET', index, held .. ' ' .. ARGV[5])
  end
end
return redis.call('INCRBY', KEYS[2], tonumber(ARGV[3]))
