"""The console keeps no data of its own; this module lets it receive post_migrate (roles)."""
