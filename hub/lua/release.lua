-- KEYS: owner, info, expiry, seq.  ARGV: hub, presence channel, ids...
local n = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[1], id) == ARGV[1] then
    redis.call('HDEL', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    local s = redis.call('INCR', KEYS[4])
    redis.call('PUBLISH', ARGV[2], s .. '|L|' .. ARGV[1] .. '|' .. id)
    n = n + 1
  end
end
return n
