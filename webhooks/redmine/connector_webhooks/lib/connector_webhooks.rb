# frozen_string_literal: true

require 'base64'
require 'json'
require 'net/http'
require 'openssl'
require 'timeout'
require 'uri'

# Builds, signs (Standard Webhooks, symmetric "v1") and sends the connector's events.
#
#   POST <connector_url>
#   content-type: application/json
#   webhook-id: redmine-issue-<id>-created | redmine-journal-<id>   (stable per event)
#   webhook-timestamp: <unix seconds of this attempt>
#   webhook-signature: v1,<base64 HMAC-SHA256("<id>.<timestamp>.<body>", base64-decoded secret)>
#
#   {"type":"issue.created"|"issue.updated","timestamp":"<event time, ISO 8601 UTC>",
#    "data":{"issue":<id>,"project":"<identifier>","journal":<id>|null,"user":"<login>"|null}}
#
# One attempt, synchronous, from the request (or e-mail/rake run) that committed the change, with
# short timeouts; a failure is logged and never affects the change itself. The connector re-reads
# the issue through the REST API, so a missed event is caught up by the next one of that issue.
module ConnectorWebhooks
  USER_AGENT = 'Redmine-connector_webhooks/1.0'
  LOG_PREFIX = '[connector_webhooks]'
  DEFAULT_TIMEOUT = 2.0
  MAX_TIMEOUT = 10.0

  class << self
    def issue_created(issue)
      deliver(type: 'issue.created', id: "redmine-issue-#{issue.id}-created", at: issue.created_on,
              issue: issue, journal_id: nil, user: issue.author)
    end

    def journal_created(journal)
      return unless journal.journalized_type == 'Issue'

      issue = journal.journalized
      return if issue.nil?

      deliver(type: 'issue.updated', id: "redmine-journal-#{journal.id}", at: journal.created_on,
              issue: issue, journal_id: journal.id, user: journal.user)
    end

    def settings
      value = Setting.plugin_connector_webhooks
      value.is_a?(Hash) ? value : {}
    end

    # The HMAC key of a "whsec_<base64>" secret (the prefix is optional), or nil when unusable.
    def secret_key(secret)
      text = secret.to_s.strip.delete_prefix('whsec_')
      return nil if text.empty?

      key = Base64.strict_decode64(text)
      key.empty? ? nil : key
    rescue ArgumentError
      nil
    end

    def sign(key, msg_id, timestamp, body)
      "v1,#{Base64.strict_encode64(OpenSSL::HMAC.digest('SHA256', key, "#{msg_id}.#{timestamp}.#{body}"))}"
    end

    def log_failure(what, error)
      Rails.logger.error("#{LOG_PREFIX} #{what}: #{error.class}: #{error.message}")
    end

    private

    def deliver(type:, id:, at:, issue:, journal_id:, user:)
      conf = settings
      url = conf['connector_url'].to_s.strip
      return if url.empty?

      login = user.respond_to?(:login) ? user.login.to_s : ''
      own = conf['connector_login'].to_s.strip
      if own.present? && login.casecmp?(own)
        Rails.logger.debug { "#{LOG_PREFIX} #{id}: made by the connector's user #{own}, not sent" }
        return
      end
      project = issue.project&.identifier
      wanted = conf['projects'].to_s.split(/[\s,]+/).reject(&:empty?)
      return if wanted.any? && !wanted.include?(project)

      key = secret_key(conf['secret'])
      if key.nil?
        Rails.logger.error("#{LOG_PREFIX} #{id}: not sent, the secret is missing or not whsec_<base64>")
        return
      end

      body = JSON.generate(
        'type' => type,
        'timestamp' => (at || Time.now).utc.iso8601,
        'data' => {'issue' => issue.id, 'project' => project, 'journal' => journal_id,
                   'user' => login.empty? ? nil : login}
      )
      timestamp = Time.now.to_i.to_s
      headers = {
        'Content-Type' => 'application/json',
        'User-Agent' => USER_AGENT,
        'webhook-id' => id,
        'webhook-timestamp' => timestamp,
        'webhook-signature' => sign(key, id, timestamp, body)
      }
      post(url, body, headers, timeout_of(conf), id)
    end

    def timeout_of(conf)
      value = Float(conf['timeout'].presence || DEFAULT_TIMEOUT)
      value.positive? ? [value, MAX_TIMEOUT].min : DEFAULT_TIMEOUT
    rescue ArgumentError, TypeError
      DEFAULT_TIMEOUT
    end

    def post(url, body, headers, timeout, id)
      uri = URI.parse(url)
      raise ArgumentError, 'connector URL must be http:// or https://' unless uri.is_a?(URI::HTTP) && uri.host

      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      http = Net::HTTP.new(uri.host, uri.port)
      http.use_ssl = uri.scheme == 'https'
      http.open_timeout = timeout
      http.read_timeout = timeout
      http.write_timeout = timeout
      http.ssl_timeout = timeout
      http.max_retries = 0
      request = Net::HTTP::Post.new(uri.request_uri, headers)
      request.body = body
      # Each step is bounded above; this caps a peer that trickles its answer byte by byte.
      response = Timeout.timeout(timeout * 3) { http.start { |h| h.request(request) } }
      ms = ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1000).round
      if response.is_a?(Net::HTTPSuccess)
        Rails.logger.info("#{LOG_PREFIX} #{id}: delivered, HTTP #{response.code} in #{ms} ms")
      else
        Rails.logger.warn("#{LOG_PREFIX} #{id}: the connector answered HTTP #{response.code} in #{ms} ms")
      end
      response
    rescue StandardError, Timeout::Error => e
      log_failure("#{id}: delivery to #{uri&.host}:#{uri&.port} failed", e)
      nil
    end
  end
end
