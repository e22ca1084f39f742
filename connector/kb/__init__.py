"""Closed knowledge-base access and portal registration applied to platforms: the whole-registry
sync (`connector.kb.sync`) and the per-ticket step (`connector.kb.keeper`)."""
