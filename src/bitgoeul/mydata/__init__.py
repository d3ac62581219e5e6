"""My Data: residents donate their own records for the purposes they choose, see every use,
and withdraw.  Importing the package registers its reader of consent coverage with the
decision context (``governance.queries.register_donation_terms``), so every door decides a
donated-data pool with its donors' consent read at that moment."""

from bitgoeul.governance.queries import register_donation_terms
from bitgoeul.mydata.coverage import donation_terms

register_donation_terms(donation_terms)
