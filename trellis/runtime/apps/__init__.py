"""App packages installed in a tenant: which version each release is based on, the shipped
documents of each installed version, and each release's provenance (the tenant's overlay).

Part of the versioned store rather than a feature: `tables` and `provenance` are called by
`MetadataStore` inside every publish (so any publish path records the overlay, and an upgrade is
one atomic publish), and import only the store's own tables. `install` (install, status,
upgrade) sits above the store and calls it like any other caller.
"""
