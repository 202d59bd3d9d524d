-- wrk script for bench/idempotency_cost.py: a small form POST carrying an Idempotency-Key.
--   IDEM_KEY=unique  a new key per request (every request executes: the gate's first-execution
--                    path); IDEM_KEY=<text>: that key on every request (one execution, then replays)
local key = os.getenv("IDEM_KEY") or "unique"
local counter = 0
local prefix = ""
wrk.method = "POST"
wrk.body = "amount=1000&currency=eur&customer=cus_0123456789&description=order+1842"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

function init(args)
  -- Rounds run against the same instances: a new prefix per wrk run keeps keys unique.
  prefix = string.format("%d-%d-", os.time(), math.floor(os.clock() * 1e6))
  if key ~= "unique" then wrk.headers["Idempotency-Key"] = key end
end

function request()
  if key == "unique" then
    counter = counter + 1
    wrk.headers["Idempotency-Key"] = prefix .. counter
  end
  return wrk.format()
end
