"""Views of the calls app: calls (log, list, page, edit, flag), escalations, and the caller
pages that show calls (the caller's page and the lookup panel)."""
