# frozen_string_literal: true

# Sets up a Redmine 5 for the support-entitlement connector (README.md, section 3). Idempotent: run
# it again and it changes only what is missing. From the Redmine directory:
#
#   cd /usr/share/redmine
#   sudo -u www-data REDMINE_INSTANCE=default RAILS_ENV=production \
#       bundle exec rails runner -e production /path/to/webhooks/redmine/connector_setup.rb
#
# It does what an admin would do on these pages:
#   - Administration > "Load the default configuration" (trackers, statuses, priorities, roles,
#     workflows) when nothing is configured yet (REDMINE_LANG, default en);
#   - Administration > Settings > API: "Enable REST web service";
#   - Administration > Users > New user: the connector's user, an administrator, and its API key
#     (written to CONNECTOR_API_KEY_FILE with mode 0600, else printed on stderr);
#   - Projects > New project: "support" (private, issue tracking, every tracker) and "kb" (private,
#     wiki, documents and files: the closed knowledge base);
#   - Administration > Custom fields > New custom field > Issues: the fields below, for the
#     support project and every tracker;
#   - Administration > Roles and permissions > New role: "KB reader" (views the KB's wiki,
#     documents and files);
#   - Administration > Groups > New group: "kb-readers", a member of "kb" with "KB reader".
# It prints the ids the connector's configuration needs, as JSON on the last line of stdout.
#
# Environment (all optional): CONNECTOR_LOGIN (connector), CONNECTOR_MAIL
# (<login>@localhost.localdomain), CONNECTOR_API_KEY_FILE, REDMINE_LANG (en),
# SUPPORT_PROJECT (support), KB_PROJECT (kb), KB_ROLE (KB reader), KB_GROUP (kb-readers).

require 'json'

module ConnectorSetup
  module_function

  def env(name, default)
    value = ENV[name].to_s.strip
    value.empty? ? default : value
  end

  LOGIN = env('CONNECTOR_LOGIN', 'connector')
  MAIL = env('CONNECTOR_MAIL', "#{LOGIN}@localhost.localdomain")
  KEY_FILE = ENV['CONNECTOR_API_KEY_FILE'].to_s.strip
  LANG = env('REDMINE_LANG', 'en')
  SUPPORT = env('SUPPORT_PROJECT', 'support')
  KB = env('KB_PROJECT', 'kb')
  KB_ROLE = env('KB_ROLE', 'KB reader')
  KB_GROUP = env('KB_GROUP', 'kb-readers')

  # name => [format, possible values, written by the connector?, description]
  FIELDS = {
    'tier' => ['string', nil, true, 'Support tier (connector): individual, warranty, basic or none'],
    'first_response_due' => ['string', nil, true, 'First response due (connector), ISO 8601 date-time'],
    'resolution_due' => ['string', nil, true, 'Resolution due (connector), ISO 8601 date-time; empty: not regulated'],
    'flags' => ['string', nil, true, 'Connector flags, comma separated'],
    'product' => ['string', nil, false, 'Product code (as in the customer registry)'],
    'request_type' => ['list', %w[error information proposal], false, 'Request type'],
    'topic' => ['list', %w[installation functionality other], false, 'Topic']
  }.freeze

  def save!(record)
    record.save!
    record
  end

  def run
    # Mails this script triggers (account and security notifications) are rendered now, in this
    # thread: with the default async adapter they run in background threads that a runner does not
    # wait for, and that write to the database beside us (SQLite: "database is locked").
    ActiveJob::Base.queue_adapter = :inline
    if Redmine::DefaultData::Loader.no_data?
      Redmine::DefaultData::Loader.load(LANG)
      say "default configuration loaded (#{LANG})"
    end
    unless Setting.rest_api_enabled?
      Setting.rest_api_enabled = '1'
      say 'REST API enabled'
    end

    user = User.find_by_login(LOGIN) || User.new.tap do |u|
      u.login = LOGIN
      say "user #{LOGIN} created"
    end
    user.firstname = 'Support' if user.firstname.blank?
    user.lastname = 'Connector' if user.lastname.blank?
    user.mail = MAIL if user.mail.blank?
    user.admin = true
    user.status = User::STATUS_ACTIVE
    user.mail_notification = 'none'
    user.generate_password = true if user.new_record?
    save!(user)
    api_key = user.api_key # creates it if there is none
    if KEY_FILE.empty?
      say "API key of #{LOGIN}: #{api_key}"
    else
      File.open(KEY_FILE, File::WRONLY | File::CREAT | File::TRUNC, 0o600) { |f| f.write(api_key) }
      say "API key of #{LOGIN} written to #{KEY_FILE}"
    end

    trackers = Tracker.sorted.to_a
    support = Project.find_by(identifier: SUPPORT)
    if support.nil?
      support = save!(Project.new(identifier: SUPPORT, name: SUPPORT.capitalize, is_public: false,
                                  enabled_module_names: %w[issue_tracking], tracker_ids: trackers.map(&:id)))
      say "project #{SUPPORT} created (private)"
    end

    kb = Project.find_by(identifier: KB)
    if kb.nil?
      kb = save!(Project.new(identifier: KB, name: 'Knowledge base', is_public: false,
                             enabled_module_names: %w[wiki documents files], tracker_ids: []))
      say "project #{KB} created (private)"
    end

    staff_roles = Role.givable.select { |r| r.has_permission?(:view_private_notes) }
    fields = FIELDS.map do |name, (format, values, written, description)|
      field = IssueCustomField.find_by(name: name) || IssueCustomField.new(name: name, field_format: format)
      if field.new_record?
        field.possible_values = values if values
        field.description = description
        field.is_for_all = false
        field.is_filter = true
        field.searchable = false
        if written # the connector's own fields: staff see them, customers do not
          field.visible = false
          field.role_ids = staff_roles.map(&:id)
        else
          field.visible = true
        end
        field.tracker_ids = trackers.map(&:id)
        save!(field)
        say "custom field #{name} created (#{format})"
      end
      field.projects << support unless field.project_ids.include?(support.id)
      [name, field.id]
    end.to_h

    role = Role.find_by(name: KB_ROLE) || Role.new(name: KB_ROLE)
    if role.new_record?
      role.assignable = false
      role.permissions = %i[view_wiki_pages view_wiki_edits export_wiki_pages view_documents view_files]
      save!(role)
      say "role #{KB_ROLE} created"
    end

    group = Group.named(KB_GROUP).first || Group.new(name: KB_GROUP)
    if group.new_record?
      save!(group)
      say "group #{KB_GROUP} created"
    end
    membership = Member.find_by(project_id: kb.id, user_id: group.id)
    if membership.nil?
      membership = Member.new(project: kb, principal: group)
      membership.role_ids = [role.id]
      save!(membership)
      say "group #{KB_GROUP} is a member of #{KB} as #{KB_ROLE}"
    elsif !membership.role_ids.include?(role.id)
      membership.role_ids = membership.role_ids + [role.id]
      save!(membership)
    end

    summary = {
      'redmine' => Redmine::VERSION.to_s,
      'connector_user' => {'id' => user.id, 'login' => user.login},
      'projects' => {SUPPORT => support.id, KB => kb.id},
      'custom_fields' => fields,
      'kb_role' => {'id' => role.id, 'name' => role.name},
      'kb_group' => {'id' => group.id, 'name' => group.name},
      'staff_roles' => staff_roles.map { |r| {'id' => r.id, 'name' => r.name} },
      'trackers' => trackers.map { |t| {'id' => t.id, 'name' => t.name} },
      'statuses' => IssueStatus.sorted.map { |s| {'id' => s.id, 'name' => s.name, 'is_closed' => s.is_closed} }
    }
    puts JSON.generate(summary)
    summary
  end

  def say(text)
    warn "connector_setup: #{text}"
  end
end

CONNECTOR_SETUP = ConnectorSetup.run
