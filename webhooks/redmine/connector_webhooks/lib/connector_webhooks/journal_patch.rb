# frozen_string_literal: true

module ConnectorWebhooks
  # Journal: "issue.updated" once a new journal of an issue has committed (a note, public or
  # private, and/or changed attributes). Redmine splits a private note made together with
  # attribute changes into two journals: each is its own event.
  module JournalPatch
    def self.included(base)
      base.after_create_commit :connector_webhooks_journal_created
    end

    private

    def connector_webhooks_journal_created
      ConnectorWebhooks.journal_created(self)
    rescue StandardError => e
      ConnectorWebhooks.log_failure("journal #{id} created", e)
    end
  end
end
