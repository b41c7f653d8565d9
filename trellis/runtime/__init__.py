"""The runtime: interprets a published release of metadata. Imports `trellis.platform` and
`trellis.metadata`; never the designer, the server, the CLI or a built-in app.

Inside, two floors (tests/test_layers.py keeps them apart):

- the core every read and write goes through: `storage` (tables and plans), `releases` (the
  versioned store), `registry` (a release compiled once), `values` (coercion), `expressions`,
  `query` (the query compiler), `records` (the one write path, with its write hooks), `access`
  and `identity` (who may do what), `templates`;
- the features that plug into it: `automation` (rules, scheduler, ledger, dispatcher),
  `approvals`, `channels`, `inbox`, `handover`, `scores`, `metrics`, `graphql` (the generated
  API), and `services` (with `worker`), which composes them:
  it hands out a tenant's services and the write hooks every `RecordsService` runs.

The core never imports a feature; a feature joins a write through a hook
(`records.hooks.WriteHook`), not by being called from the records service.
"""
