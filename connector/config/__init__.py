"""The config layer: the admin's files (config, calendars, policy) read, checked against
`schemas/` and turned into settings and domain objects."""
