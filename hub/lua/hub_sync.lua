-- KEYS: owner, info, expiry, seq.  ARGV: hub, presence channel, comma-separated ids.
-- After a resync: "these are all the trainers joined through this hub".
local s = redis.call('INCR', KEYS[4])
redis.call('PUBLISH', ARGV[2], s .. '|S|' .. ARGV[1] .. '|' .. ARGV[3])
return s
