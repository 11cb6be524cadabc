-- Puts a stranded job back at the head of the queue, unless a worker registered it meanwhile
-- (RQ's prepare removes it from the intermediate list in the same MULTI that starts it).
-- KEYS: [1] the queue's intermediate list, [2] the queue, [3] the started registry
-- ARGV: [1] the job id
-- Returns 1 if the job was queued again, else 0.
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[1])
return 1
