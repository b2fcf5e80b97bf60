# verify_cli.rb - runs ../verify_webhook.rb on test cases: reads a JSON array of
# {body_b64, timestamp, signature, secret, tolerance?, now?} on stdin and prints a JSON array of
# the results (true / false, or "error: ..." when the verifier raised). Used by
# tests/api/webhook_verifiers.test.mjs.
require "base64"
require "json"
require_relative "../verify_webhook"

results = JSON.parse($stdin.read).map do |c|
  opts = {}
  opts[:tolerance_seconds] = c["tolerance"] unless c["tolerance"].nil?
  opts[:now] = c["now"] unless c["now"].nil?
  begin
    InnbocksWebhook.verify(Base64.strict_decode64(c["body_b64"]), c["timestamp"], c["signature"],
                           c["secret"], **opts)
  rescue StandardError => e # the verifier must never raise: report it
    "error: #{e.class}: #{e.message}"
  end
end
puts JSON.generate(results)
