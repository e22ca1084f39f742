# frozen_string_literal: true

# connector_webhooks: Redmine 5 has no outgoing webhooks, so this plugin POSTs a small signed JSON
# event (Standard Webhooks) to the support-entitlement connector after an issue is created and after
# a journal (a note or a change of attributes) is saved. See README.md one folder up.

Redmine::Plugin.register :connector_webhooks do
  name 'Connector webhooks'
  author 'support-entitlement connector'
  description 'Sends signed webhooks (Standard Webhooks) to the support-entitlement connector ' \
              'on issue creation and on every new journal'
  version '1.0.0'
  requires_redmine version_or_higher: '5.0.0'

  settings default: {
    'connector_url' => '',      # e.g. https://connector.example.com/webhooks/redmine; empty: send nothing
    'secret' => '',             # whsec_<base64 of 24..64 random bytes>, the same as the connector's
    'connector_login' => 'connector', # changes made by this user are not sent (no loops)
    'projects' => '',           # project identifiers, comma separated; empty: every project
    'timeout' => '2'            # seconds for each of connect, write and read
  }, partial: 'settings/connector_webhooks_settings'
end

Issue.include ConnectorWebhooks::IssuePatch unless Issue.included_modules.include?(ConnectorWebhooks::IssuePatch)
Journal.include ConnectorWebhooks::JournalPatch unless Journal.included_modules.include?(ConnectorWebhooks::JournalPatch)
