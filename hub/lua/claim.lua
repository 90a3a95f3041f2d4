-- KEYS: owner, info, expiry, seq.  ARGV: hub, id, info_json, ttl_ms, presence channel
local now = now_ms()
local owner = redis.call('HGET', KEYS[1], ARGV[2])
if owner then
  local exp = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[2]) or '0')
  if exp > now and owner ~= ARGV[1] then return {0, 0} end
  local s = redis.call('INCR', KEYS[4])
  redis.call('PUBLISH', ARGV[5], s .. '|L|' .. owner .. '|' .. ARGV[2])
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[2])
local s = redis.call('INCR', KEYS[4])
redis.call('PUBLISH', ARGV[5], s .. '|J|' .. ARGV[1] .. '|' .. ARGV[3])
return {1, s}
