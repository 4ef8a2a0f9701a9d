"""Agent security (TFS): model output reaching code, shells, SQL, unpickling and URLs; hardcoded keys; unsandboxed code agents."""
