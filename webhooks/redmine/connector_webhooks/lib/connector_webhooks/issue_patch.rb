# frozen_string_literal: true

module ConnectorWebhooks
  # Issue: "issue.created" once the creating transaction has committed (web form, REST API,
  # e-mail, imports and copies all create through Issue#save).
  module IssuePatch
    def self.included(base)
      base.after_create_commit :connector_webhooks_issue_created
    end

    private

    def connector_webhooks_issue_created
      ConnectorWebhooks.issue_created(self)
    rescue StandardError => e # never let the webhook break Redmine's own save
      ConnectorWebhooks.log_failure("issue #{id} created", e)
    end
  end
end
