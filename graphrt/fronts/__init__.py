"""Front ends: the `graphrt` command (`cli`, `progress`) and the HTTP server (`server/`)."""
