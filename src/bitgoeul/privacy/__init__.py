"""Privacy rules that every door applies: obligations, pseudonyms, the decision's view of a
version, and the disclosure rules for secure data.  Below governance and query: it imports
neither, and both import it."""
