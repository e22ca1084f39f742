"""The customer registry: reading it from JSON or CSV, checking it, importing it into storage,
and an in-memory registry for files that are not imported."""
