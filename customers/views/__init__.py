"""The customers app's pages, one module per concern: `base` the lookups and
base views other apps' pages build on (the customer of a URL in the user's
scope, the filtered list, the form posted from a record's page, the customer
picker's mixin); `pick` the picker; `profile` the list, the 360° page and the
record's forms; `transfer` imports and exports; `merge` duplicates and merging;
`pool` the shared pool; `segments` saved segments."""
