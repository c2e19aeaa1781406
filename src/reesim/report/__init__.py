"""Reports of results: terminal summary tables, CSV summaries, HTML validation reports."""
