-- KEYS[1] body; ARGV: json. Replaces the data of an existing body; 1 if it existed.

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
