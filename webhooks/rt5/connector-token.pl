#!/usr/bin/perl
# Creates an RT auth token for the connector's RT user and prints it (once: RT keeps only a hash).
#
#     perl connector-token.pl [USER] [DESCRIPTION]
#
# USER defaults to $ConnectorRTUser of RT's config ("connector"). Run it as a user that can read
# RT's config and database (root, or www-data on Debian). The same as an admin creating one in
# the web UI (Admin > Users > the user > Auth Tokens); the token goes into the connector's config
# and is sent as "Authorization: token <token>". Revoke it there (or delete it in that page).
use strict;
use warnings;

# Debian's request-tracker5 puts RT's libraries here; a source install: /opt/rt5/lib.
use lib grep { -d } ($ENV{RT_LIB_PATH} // ()), '/usr/share/request-tracker5/lib',
    '/usr/local/share/request-tracker5/lib', '/opt/rt5/lib';

use RT;
RT::LoadConfig();
RT::Init();

my $name = shift // RT->Config->Get('ConnectorRTUser') // 'connector';
my $description = shift // 'support-entitlement connector';

my $user = RT::User->new(RT->SystemUser);
$user->Load($name);
die "No RT user '$name': run the initialdata insert first (see README.md)\n" unless $user->Id;
die "RT user '$name' is not privileged; the connector needs a privileged user\n"
    unless $user->Privileged;

my $token = RT::AuthToken->new(RT->SystemUser);
my ($id, $msg, $auth_string) = $token->Create(Owner => $user->Id, Description => $description);
die "Could not create an auth token for '$name': $msg\n" unless $id;
print "$auth_string\n";
