# Support-entitlement connector: copy to /etc/request-tracker5/RT_SiteConfig.d/connector.pm
# (a source install: /opt/rt5/etc/RT_SiteConfig.d/), adjust the values, restart RT.
# Read by the "Connector webhook" scrip (initialdata next to this file) on every delivery.

# Where the scrip POSTs ticket events: the connector's RT 5 webhook endpoint.
Set($ConnectorWebhookURL, 'https://connector.example.com/webhooks/rt5');

# A file readable by the RT server's user (www-data on Debian) holding the webhook signing
# secret, whsec_<base64>, the same one the connector is given. One secret a line: during a
# rotation put the new one on a second line (deliveries are then signed with both).
Set($ConnectorWebhookSecretFile, '/etc/request-tracker5/connector-webhook-secret');

# The connector's own RT user: its changes send no webhooks (no loops).
Set($ConnectorRTUser, 'connector');

# Seconds that all deliveries of one RT request may take together (connect + send + answer).
# RT waits for them before answering its own user, so keep it short.
Set($ConnectorWebhookTimeout, 3);

# Used only by the initialdata insert: queues that get the connector's custom fields and the
# closed-KB Articles class, and the names of that group and class.
Set(@ConnectorQueues, 'General');
Set($ConnectorKBGroup, 'Closed KB readers');
Set($ConnectorKBClass, 'Closed KB');

1;
