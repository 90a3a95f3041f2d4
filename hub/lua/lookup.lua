-- KEYS: owner, expiry.  ARGV: id -> the hub holding a live claim on it, or nil
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if not owner then return false end
local exp = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]) or '0')
if exp <= now_ms() then return false end
return owner
