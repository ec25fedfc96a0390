"""Getting files into an index: reading them (`sources`, `extract`) and keeping an index in step with
folders (`sync`)."""
