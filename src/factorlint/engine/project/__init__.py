"""The project pass: cross-file facts of every file, bound together into one report."""
