"""Every write to interactions, tasks and service tickets: checked, locked,
audited, one module per concern — logging and correcting interactions
(`interactions`), tasks (`tasks`), after-sales tickets and their SLA clock
(`tickets`), and the value checks they share (`values`). Import from the module
that defines a name; this package re-exports nothing."""
