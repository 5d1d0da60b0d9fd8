-- wrk script: one Flex Interactions request per call, a different prompt each time.
counter = 0
request = function()
  counter = counter + 1
  local body = '{"model":"gemini-3-flash-preview","input":"Classify record ' .. counter .. '","service_tier":"flex","store":false}'
  return wrk.format("POST", "/v1beta/interactions", {["x-goog-api-key"] = "sim-test-key", ["content-type"] = "application/json"}, body)
end
