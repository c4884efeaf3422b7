"""From a result to what a state works from: drafts kept at private links, plans, documents."""
