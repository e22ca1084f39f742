"""KB access and portal registration applied to platforms: the whole-registry sync
(`connector.access.sync`) and the per-ticket step (`connector.access.keeper`)."""
