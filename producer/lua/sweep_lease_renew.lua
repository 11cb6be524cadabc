-- Renews a sweep's driver lease if this driver holds it.
-- KEYS: [1] the lease
-- ARGV: [1] this driver's instance id, [2] the lease's time to live in seconds
-- Returns 1 if renewed, else 0.
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('expire', KEYS[1], ARGV[2])
end
return 0
