"""Every write to a customer: standardised, checked against the actor's rights,
locked, versioned and audited. Views, imports and jobs all come through here,
importing each service from the module of its concern: `records` (create, edit,
verify, reveal, tag), `lifecycle` (delete, restore), `contacts` (a company's
contacts, the collaborators) and `parts` (the phone, e-mail and tag rows they all
write). A change of owner goes through `customers.ownership`."""
