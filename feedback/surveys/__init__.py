"""Surveys: building them (`building`), sending personal links (`sending`),
taking the answers (`answering`) and reading the results (`results`). A survey
is written once, with questions in Chinese and English, and sent as invitations:
one random token per customer and survey, answered once, until it expires. The
answer page needs no account; each answer becomes feedback on the customer
(channel "survey") and, if the survey says so, bonus points. Import from the
module that defines a name; this package re-exports nothing."""
