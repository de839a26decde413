-- wrk script: POST batches of 10 events with fresh UUIDs, as the tracker sends them (text/plain,
-- from the shop's storefront origin, with a browser's user agent).
local shop = os.getenv("BENCH_SHOP") or "bench-shop.myshopify.com"
local counter = 0
math.randomseed(os.time() + math.floor(os.clock() * 1000000))

local function uuid()
  return string.format("%08x-%04x-4%03x-%04x-%012x", math.random(0, 0xffffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), math.random(0x8000, 0xbfff), math.random(0, 0xffffffffffff))
end

request = function()
  counter = counter + 1
  local now = os.time() * 1000
  local events = {}
  local visitor = math.random(1, 200000) -- a batch is one browser's, as the tracker sends it
  for i = 1, 10 do
    events[i] = string.format('{"id":"%s","type":"product_view","ts":%d,"visitor_id":"v-%d","product_id":%d,"url":"https://%s/products/p"}',
      uuid(), now, visitor, math.random(1, 50000), shop)
  end
  local body = string.format('{"shop":"%s","sent_at":%d,"events":[%s]}', shop, now, table.concat(events, ","))
  return wrk.format("POST", nil, {["Content-Type"] = "text/plain", ["Origin"] = "https://" .. shop,
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0"}, body)
end
