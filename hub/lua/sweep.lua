-- KEYS: owner, info, expiry, seq.  ARGV: presence channel, limit
local now = now_ms()
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local owner = redis.call('HGET', KEYS[1], id) or '?'
  redis.call('HDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  local s = redis.call('INCR', KEYS[4])
  redis.call('PUBLISH', ARGV[1], s .. '|L|' .. owner .. '|' .. id)
end
return #ids
