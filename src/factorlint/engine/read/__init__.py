"""Reading a file: its bytes and encoding, the byte prefilter, suppression comments, module names and file roles."""
