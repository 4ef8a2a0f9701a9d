"""Running the analysis: one file in, its result out; the batched visit, worker processes, the cache and fixes."""
