# verify_webhook.rb - checks the signature of an Innbocks webhook delivery (Ruby 2.7+, standard
# library only). See docs/webhooks.md, "Verifying a delivery".
#
#   require_relative "verify_webhook"
#   InnbocksWebhook.verify(request.raw_post, request.headers["Innbocks-Timestamp"],
#                          request.headers["Innbocks-Signature"], secret)
#
# raw_body must be the bytes as received, before any JSON parsing.
require "openssl"

module InnbocksWebhook
  DEFAULT_TOLERANCE_SECONDS = 300

  # Returns true when one of the v1= signatures of signature_header is the HMAC-SHA256 of
  # timestamp + "." + raw_body under secret, and the timestamp lies within tolerance_seconds of
  # now (in either direction). Never raises on malformed input: it returns false. now (unix
  # seconds) is for tests; it defaults to the clock.
  def self.verify(raw_body, timestamp, signature_header, secret,
                  tolerance_seconds: DEFAULT_TOLERANCE_SECONDS, now: nil)
    return false unless raw_body.is_a?(String) && timestamp.is_a?(String) &&
                        signature_header.is_a?(String) && secret.is_a?(String) && !secret.empty?
    return false unless timestamp.b.match?(/\A[0-9]{1,15}\z/)
    now ||= Time.now.to_f
    return false if (now - timestamp.to_i).abs > tolerance_seconds

    expected = OpenSSL::HMAC.hexdigest("SHA256", secret.b, "#{timestamp}.".b + raw_body.b)
    # During a secret rotation the header carries one v1= part per secret: accept any of them.
    valid = false
    signature_header.b.split(",").each do |part|
      item = part.strip
      next unless item.start_with?("v1=")
      received = item[3..]
      # fixed_length_secure_compare raises on other lengths; a length says nothing secret.
      valid = true if received.bytesize == expected.bytesize &&
                      OpenSSL.fixed_length_secure_compare(received, expected)
    end
    valid
  end
end
