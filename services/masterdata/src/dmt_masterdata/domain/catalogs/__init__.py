"""The eleven catalogs: entries, listing, look-up, and deletion guarded by the records that use them."""
